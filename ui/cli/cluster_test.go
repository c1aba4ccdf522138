package cli

import (
	"bufio"
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
	ports := freePorts(t, 3*n)
	routes := strings.Join(ports[:n], ",")
	base := t.TempDir()
	found := make([]chan string, n)
	for i := range n {
		dir := filepath.Join(base, fmt.Sprintf("n%d", i+1))
		dirs = append(dirs, dir)
		cmd := exec.Command(binary(t), "serve", "--data", dir, "--addr", ports[n+i], "--no-browser",
			"--cluster-listen", ports[i], "--cluster", routes, "--nats-listen", ports[2*n+i])
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		nodes = append(nodes, &server{cmd: cmd})
		found[i] = make(chan string, 1)
		go func() {
			lines := bufio.NewScanner(out)
			for lines.Scan() {
				if rest, ok := strings.CutPrefix(lines.Text(), "Audit Log is running at "); ok {
					found[i] <- rest[:strings.Index(rest, "/launch")]
				}
			}
		}()
	}
	for i := range n {
		select {
		case nodes[i].url = <-found[i]:
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not say where it runs within 30s", i+1)
		}
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

	var mu sync.Mutex
	acked := first.IDs
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w, node := range []*server{a, b, c, a, b, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var body strings.Builder
				for j := range 20 {
					fmt.Fprintf(&body, `{"namespace":"connections","action":"connection_updated","detail":"Updated connection kiwiconn w%d-%d-%d"}`+"\n", w, i, j)
				}
				res, err := post(node.url, token, body.String())
				if err != nil {
					return // its node is gone
				}
				var ok struct{ IDs []string }
				json.NewDecoder(res.Body).Decode(&ok)
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					mu.Lock()
					acked = append(acked, ok.IDs...)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	time.Sleep(time.Second) // the survivors go on without it
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d entries acknowledged; the test proves little", len(acked))
	}

	for _, node := range []*server{a, b} {
		for _, id := range acked {
			waitFor(t, 10*time.Second, fmt.Sprintf("acknowledged entry %s on %s", id, node.url), func() bool {
				return getJSON(t, node.url+"/api/v1/events/"+id, token, nil) == http.StatusOK
			})
		}
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
