package cli

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	crashRounds = flag.Int("crash.rounds", 3, "rounds of TestCrashRounds")
	long        = flag.Bool("long", false, "run the long versions of the crash and load tests (100 crash rounds, 60 s of load)")
)

// proc is the binary running one command, killed with SIGKILL when the test
// says so or when it ends.
type proc struct {
	cmd    *exec.Cmd
	ready  chan string // the server's URL, once it says where it runs
	launch chan string // and its launch URL
}

func spawn(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, ready: make(chan string, 1), launch: make(chan string, 1)}
	t.Cleanup(p.kill)
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), "Audit Log is running at "); ok {
				p.ready <- rest[:strings.Index(rest, "/launch")]
				p.launch <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, out)
	}()
	return p
}

func (p *proc) url(t *testing.T) string {
	t.Helper()
	select {
	case u := <-p.ready:
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not say where it runs within 60s")
		return ""
	}
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

// ledger is what the writers were told: acknowledged ids, and the batches
// in flight when the server died, to be sent again (by id, so once).
type ledger struct {
	mu      sync.Mutex
	current map[string]bool // timestamped now: must survive every round
	old     map[string]bool // timestamped just inside the retention: a shorter one purges them
	pending []batch
	oldAge  time.Duration // how old the old entries are made
}

type batch struct {
	body string
	old  bool
}

func (l *ledger) ack(b batch, ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if b.old {
			l.old[id] = true
		} else {
			l.current[id] = true
		}
	}
}

func (l *ledger) retry(b batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, b)
}

func (l *ledger) takePending() []batch {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = nil
	return p
}

// send posts one batch; false when the server did not acknowledge it.
func (l *ledger) send(url, token string, b batch) bool {
	res, err := post(url, token, b.body)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var body struct{ IDs []string }
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != http.StatusCreated {
		return false
	}
	l.ack(b, body.IDs)
	return true
}

// writers post batches until stop is closed; a batch not acknowledged is
// kept to be sent again to the next server.
func (l *ledger) writers(url, token string, round int, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				old := i%3 == 2
				var sb strings.Builder
				for j := range 50 {
					id := fmt.Sprintf("r%d-%d-%d-%d", round, w, i, j)
					if old {
						fmt.Fprintf(&sb, `{"id":"old-%s","namespace":"connections","action":"connection_updated","detail":"Updated connection oldcrash %s","timestamp":%q}`+"\n",
							id, id, time.Now().Add(-l.oldAge).UTC().Format(time.RFC3339Nano))
					} else {
						fmt.Fprintf(&sb, `{"id":"cur-%s","namespace":"connections","action":"connection_updated","detail":"Updated connection kiwicrash crashround%dx %s"}`+"\n", id, round, id)
					}
				}
				b := batch{body: sb.String(), old: old}
				if !l.send(url, token, b) {
					l.retry(b)
					return // the server is gone
				}
			}
		}()
	}
	return &wg
}

// walk pages through the entries q finds and counts each id.
func walk(t *testing.T, url, token, q string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := ""
	for {
		var page struct {
			Events []struct{ ID string }
			Next   string
		}
		if status := getJSON(t, url+"/api/v1/events?limit=500&q="+q+"&cursor="+cursor, token, &page); status != 200 {
			t.Fatalf("listing q=%s: status %d", q, status)
		}
		for _, e := range page.Events {
			seen[e.ID]++
		}
		if page.Next == "" {
			return seen
		}
		cursor = page.Next
	}
}

// TestCrashRounds kills the server with SIGKILL while writers post, while
// it purges after a shorter retention, while it reindexes and while it
// exports; after each round every acknowledged entry is there exactly once
// and found by keyword, and the chain verifies. -crash.rounds sets how many
// rounds; -long runs 100.
func TestCrashRounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	rounds := *crashRounds
	if *long {
		rounds = 100
	}
	dir := t.TempDir()
	token := createToken(t, dir)
	l := &ledger{current: map[string]bool{}, old: map[string]bool{}}
	jitter := func(lo, hi time.Duration) time.Duration { return lo + rand.N(hi-lo) }
	serve := func(extra ...string) *proc {
		return spawn(t, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0", "--no-browser"}, extra...)...)
	}
	// The retention only ever shrinks, by 3 days a round: raising it again
	// would make entries purged under the shorter one look removed (see the
	// Guarantees in the README).
	retention := func(round int) int { return 400 - 3*round }
	for round := 1; round <= rounds; round++ {
		start := time.Now()
		// Mid-request: writers posting, old entries among them.
		l.oldAge = time.Duration(retention(round)-1) * 24 * time.Hour
		p := serve("--retention", fmt.Sprintf("%dd", retention(round)), "--purge") // a purge killed last round may be left to do
		url := p.url(t)
		stop := make(chan struct{})
		wg := l.writers(url, token, round, stop)
		time.Sleep(jitter(300*time.Millisecond, 1200*time.Millisecond))
		p.kill()
		close(stop)
		wg.Wait()

		// Mid-purge: a shorter retention purges the old entries at start.
		p = serve("--retention", fmt.Sprintf("%dd", retention(round+1)), "--purge")
		stop = make(chan struct{})
		var purgeWriters *sync.WaitGroup
		killAt := time.After(jitter(50*time.Millisecond, 800*time.Millisecond))
		select {
		case url = <-p.ready:
			purgeWriters = l.writers(url, token, round+100000, stop)
			<-killAt
		case <-killAt:
		}
		p.kill()
		close(stop)
		if purgeWriters != nil {
			purgeWriters.Wait()
		}

		// Mid-reindex.
		r := spawn(t, "reindex", "--data", dir)
		time.Sleep(jitter(20*time.Millisecond, 500*time.Millisecond))
		r.kill()

		// Mid-export, with writers posting.
		p = serve()
		url = p.url(t)
		stop = make(chan struct{})
		wg = l.writers(url, token, round+200000, stop)
		req, _ := http.NewRequest("GET", url+"/api/v1/export?format=ndjson", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if res, err := http.DefaultClient.Do(req); err == nil {
			io.CopyN(io.Discard, res.Body, 4096)
			p.kill()
			res.Body.Close()
		}
		p.kill()
		close(stop)
		wg.Wait()

		// The check: what was in flight is sent again, by id, and then every
		// acknowledged entry is there once.
		p = serve()
		url = p.url(t)
		for _, b := range l.takePending() {
			// An old batch may now lie beyond the shorter retention, and be refused.
			if !l.send(url, token, b) && !b.old {
				t.Fatalf("round %d: resending a batch after the restart failed", round)
			}
		}
		all := walk(t, url, token, "")
		for id, n := range all {
			if n != 1 {
				t.Fatalf("round %d: entry %s listed %d times", round, id, n)
			}
		}
		for id := range l.current {
			if all[id] != 1 {
				t.Fatalf("round %d: acknowledged entry %s is lost", round, id)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			found := walk(t, url, token, "kiwicrash")
			missing := 0
			for id := range l.current {
				if found[id] != 1 {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d of %d acknowledged entries cannot be found by keyword", round, missing, len(l.current))
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The server says the chain is intact too, before it is killed once
		// more and verify reads the store alone, as it lies on disk.
		var health json.RawMessage
		status := getJSON(t, url+"/healthz", "", &health)
		p.kill()
		out, stderr, err := run(t, "verify", "--data", dir)
		if status != 200 {
			t.Fatalf("round %d: /healthz %d %s\nverify on disk: %v\n%s%s", round, status, health, err, out, stderr)
		}
		if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "intact") {
			t.Fatalf("round %d: verify: %v\n%s%s", round, err, out, stderr)
		}
		purged := 0
		for id := range l.old {
			if all[id] == 0 {
				purged++
			}
		}
		t.Logf("round %d (%s): %d acknowledged entries present once and found by keyword; %d of %d old ones purged; %s",
			round, time.Since(start).Round(time.Millisecond), len(l.current), purged, len(l.old), strings.SplitN(out, "\n", 2)[0])
	}
}
