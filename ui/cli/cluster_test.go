package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freePorts finds n free ports on loopback.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var ls []net.Listener
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return addrs
}

// startCluster starts n serve processes that form one cluster on loopback,
// together (one alone has no quorum), and waits until each answers /healthz
// with a quorum.
func startCluster(t *testing.T, n int) (nodes []*server, dirs []string) {
	t.Helper()
	ports := freePorts(t, 2*n)
	routes := strings.Join(ports[:n], ",")
	return startNodes(t, n, nil, func(i int) []string {
		return []string{"--cluster-listen", ports[i], "--cluster", routes, "--nats-listen", ports[n+i]}
	})
}

// startNodes starts n serve processes, each with its own data directory and
// the flags flags(i), and waits until each reports a quorum.
func startNodes(t *testing.T, n int, env []string, flags func(i int) []string) (nodes []*server, dirs []string) {
	t.Helper()
	addrs := freePorts(t, n)
	base := t.TempDir()
	for i := range n {
		dir := filepath.Join(base, fmt.Sprintf("n%d", i+1))
		dirs = append(dirs, dir)
		nodes = append(nodes, launchServer(t, env, append([]string{"serve", "--data", dir, "--addr", addrs[i], "--no-browser"}, flags(i)...)...))
	}
	for i, node := range nodes {
		node.waitListening(t, fmt.Sprintf("node %d", i+1))
	}
	for i := range n {
		waitFor(t, 30*time.Second, fmt.Sprintf("node %d to report a quorum", i+1), func() bool {
			res, err := http.Get(nodes[i].url + "/healthz")
			if err != nil {
				return false
			}
			defer res.Body.Close()
			var h struct {
				Cluster *struct{ Quorum bool }
			}
			json.NewDecoder(res.Body).Decode(&h)
			return res.StatusCode == http.StatusOK && h.Cluster != nil && h.Cluster.Quorum
		})
	}
	return nodes, dirs
}

// waitFor polls cond until it holds; what is eventually consistent gets a
// generous deadline, which only a broken cluster reaches.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestThreeServeProcessesFormAClusterThatSurvivesAKill starts three
// auditlog serve processes as one cluster, creates a token through one,
// ingests on all three, reads on another, and kills one with SIGKILL while
// they ingest: every acknowledged entry is on both survivors.
func TestThreeServeProcessesFormAClusterThatSurvivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary three times")
	}
	binary(t) // built before the cluster starts
	nodes, dirs := startCluster(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]

	// The token is made through node A's running server and works on B.
	token := createToken(t, dirs[0])
	res, err := post(a.url, token, `{"namespace":"connections","action":"connection_created","detail":"Created connection kiwiconn first"}`+"\n")
	if err != nil {
		t.Fatal(err)
	}
	var first struct{ IDs []string }
	json.NewDecoder(res.Body).Decode(&first)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || len(first.IDs) != 1 {
		t.Fatalf("ingest on node A: status %d, ids %v", res.StatusCode, first.IDs)
	}
	waitFor(t, 10*time.Second, "node B to show the entry written on node A", func() bool {
		return getJSON(t, b.url+"/api/v1/events/"+first.IDs[0], token, nil) == http.StatusOK
	})

	writers := startWriters([]string{a.url, b.url, c.url, a.url, b.url, c.url}, token, 20)
	time.Sleep(2 * time.Second)
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	time.Sleep(time.Second) // the survivors go on without it
	acked := append(first.IDs, writers.stop()...)
	if len(acked) < 100 {
		t.Fatalf("only %d entries acknowledged; the test proves little", len(acked))
	}

	// Asked by several clients at once, as the survivors are many entries
	// to look up one by one.
	ids := make(chan string)
	missing := make(chan string, len(acked))
	var check sync.WaitGroup
	for range 8 {
		check.Add(1)
		go func() {
			defer check.Done()
			for id := range ids {
				for _, node := range []*server{a, b} {
					deadline := time.Now().Add(10 * time.Second)
					for status(node.url+"/api/v1/events/"+id, token) != http.StatusOK {
						if time.Now().After(deadline) {
							missing <- id + " on " + node.url
							break
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
			}
		}()
	}
	for _, id := range acked {
		ids <- id
	}
	close(ids)
	check.Wait()
	close(missing)
	for m := range missing {
		t.Errorf("acknowledged entry %s is missing", m)
	}
	t.Logf("%d acknowledged entries on both survivors of a kill -9", len(acked))
}

func TestClusterFlagsThatCannotGoTogetherAreRefusedBeforeAnythingOpens(t *testing.T) {
	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"--cluster", "h1:6222,h2:6222,h3:6222"}, "--cluster-listen"},
		{[]string{"--nats", "nats://h:4222", "--cluster-listen", "0.0.0.0:6222"}, "--nats joins"},
		{[]string{"--nats", "nats://h:4222", "--nats-listen", "4223"}, "--nats joins"},
		{[]string{"--nats-creds", "a.creds"}, "--nats-creds goes with --nats"},
		{[]string{"--nats", "nats://h:4222", "--nats-tls-cert", "c.pem"}, "--nats-tls-key"},
		{[]string{"--nats", "nats://h:4222", "--nats-password", "x"}, "--nats-user"},
	} {
		dir := t.TempDir()
		_, _, err := runIn(t, dir, append([]string{"serve", "--no-browser", "--addr", "127.0.0.1:0"}, tt.args...)...)
		if !isUsage(err) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("serve %v: %v, want a usage error naming %s", tt.args, err, tt.says)
		}
		if entries, _ := filepath.Glob(filepath.Join(dir, "*")); len(entries) > 0 {
			t.Errorf("serve %v left %v behind", tt.args, entries)
		}
	}
}

// The external engine: a nats-server an operator runs, with a user and
// password, and two serve processes that join it with --nats.
func TestServeJoinsAnExistingNATSDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	if _, err := exec.LookPath("nats-server"); err != nil {
		t.Skip("nats-server is not installed (apt-get install nats-server): serve --nats is not tested")
	}
	binary(t)
	port := freePorts(t, 1)[0]
	nats := exec.Command("nats-server", "-a", "127.0.0.1", "-p", port[strings.LastIndex(port, ":")+1:], "-n", "ext",
		"-js", "-sd", t.TempDir(), "--user", "auditlog", "--pass", "s3cret")
	if err := nats.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		nats.Process.Kill()
		nats.Wait()
	})
	// The password comes from the environment, out of the process list.
	nodes, dirs := startNodes(t, 2, []string{"NATS_PASSWORD=s3cret"}, func(int) []string {
		return []string{"--nats", "nats://" + port, "--nats-user", "auditlog"}
	})
	token := createToken(t, dirs[0])
	res, err := post(nodes[0].url, token, `{"namespace":"connections","action":"connection_created","detail":"Created connection external"}`+"\n")
	if err != nil {
		t.Fatal(err)
	}
	var ok struct{ IDs []string }
	json.NewDecoder(res.Body).Decode(&ok)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || len(ok.IDs) != 1 {
		t.Fatalf("ingest through the external engine: status %d, ids %v", res.StatusCode, ok.IDs)
	}
	waitFor(t, 10*time.Second, "the other node to show the entry", func() bool {
		return getJSON(t, nodes[1].url+"/api/v1/events/"+ok.IDs[0], token, nil) == http.StatusOK
	})
	var h struct {
		Cluster *struct{ Mode string }
	}
	getJSON(t, nodes[1].url+"/healthz", "", &h)
	if h.Cluster == nil || h.Cluster.Mode != "external" {
		t.Errorf("/healthz of a node on an external engine: %+v", h.Cluster)
	}
}

// status is the status of a GET, 0 when there is no answer.
func status(url, token string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
