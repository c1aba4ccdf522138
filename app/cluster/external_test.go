package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// natsProcess is one nats-server process of an external deployment.
type natsProcess struct {
	args []string
	cmd  *exec.Cmd
	url  string
}

func (p *natsProcess) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command("nats-server", p.args...)
	if os.Getenv("AUDITLOG_CLUSTER_LOG") != "" {
		p.cmd.Stderr = os.Stderr
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *natsProcess) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		p.cmd = nil
	}
}

// The external engine: three nats-server processes clustered on loopback, as
// an operator runs them, and three nodes that join them with --nats and a
// user and password.
func TestExternalNATSDeployment(t *testing.T) {
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Skip("nats-server is not installed (apt-get install nats-server): the external engine is not tested")
	}
	ports := freePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3+i]))
	}
	base := t.TempDir()
	var procs []*natsProcess
	for i := range 3 {
		p := &natsProcess{
			url: fmt.Sprintf("nats://127.0.0.1:%d", ports[i]),
			args: []string{
				"-a", "127.0.0.1", "-p", fmt.Sprint(ports[i]), "-n", fmt.Sprintf("ext%d", i+1),
				"-js", "-sd", filepath.Join(base, fmt.Sprintf("nats%d", i+1)),
				"--cluster_name", "ext", "--cluster", routes[i], "--routes", strings.Join(routes, ","),
				"--user", "auditlog", "--pass", "s3cret",
			},
		}
		p.start(t)
		procs = append(procs, p)
		defer p.stop()
	}
	c := &testCluster{t: t}
	for i := range 3 {
		c.members = append(c.members, &member{cfg: Config{
			Name:         fmt.Sprintf("n%d", i+1),
			ExternalURLs: []string{procs[i].url},
			User:         "auditlog", Password: "s3cret",
			DataDir:      filepath.Join(base, fmt.Sprintf("n%d", i+1)),
			WriteTimeout: 2 * time.Second,
			Logger:       quiet(),
		}})
	}
	c.startAll()
	defer c.stopAll()
	a, cc := c.members[0], c.members[2]
	if r := a.node.replicas; r != 3 {
		t.Fatalf("a stream on a clustered deployment has %d replicas, want 3", r)
	}
	recordOn(t, a, event("external-1", 1))
	c.settle()
	if _, err := cc.log.Get(t.Context(), "external-1"); err != nil {
		t.Fatalf("node C: %v", err)
	}

	// One NATS server dies mid-ingest: its node reconnects to the others.
	stop := make(chan struct{})
	acked := make(chan int, 1)
	result := make(chan map[string]int)
	go func() { result <- writers(t, []*member{a, cc}, 4, stop, acked) }()
	for n := 0; n < 100; {
		n += <-acked
	}
	procs[1].stop()
	for n := 0; n < 100; {
		n += <-acked
	}
	close(stop)
	got := <-result
	stored := c.sameEverywhere()
	if len(stored) != len(got)+1 {
		t.Fatalf("the nodes hold %d entries; %d were acknowledged", len(stored), len(got)+1)
	}
	for id, times := range got {
		if times != 1 {
			t.Fatalf("%s acknowledged %d times", id, times)
		}
	}
	procs[1].start(t)
	recordOn(t, c.members[1], event("after-restart", 0))
	c.sameEverywhere()
}
