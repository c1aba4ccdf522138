package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/index"
)

// quiet keeps the nodes' logs out of the test output unless asked for.
func quiet() *slog.Logger {
	if os.Getenv("AUDITLOG_CLUSTER_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// freePorts finds n free ports on loopback.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// member is one node of a test cluster: its configuration, and the node and
// Log while it runs.
type member struct {
	cfg       Config
	retention time.Duration // the Log's, as --retention gives it
	node      *Node
	log       *app.Log
}

type testCluster struct {
	t       testing.TB
	members []*member
}

// newCluster configures n embedded nodes on loopback and starts them all.
// A port found free may be taken before its node listens on it (by another
// test's connection, or a route one node dials to another): the cluster is
// then set up again on other ports.
func newCluster(t testing.TB, n int) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	// Cleanups run last first: the nodes stop before their directories go,
	// or a node still writing its stream makes the removal fail.
	root := t.TempDir()
	t.Cleanup(c.stopAll)
	for attempt := 1; ; attempt++ {
		var routes []string
		for _, p := range freePorts(t, n) {
			routes = append(routes, fmt.Sprintf("127.0.0.1:%d", p))
		}
		base := filepath.Join(root, fmt.Sprintf("attempt%d", attempt))
		c.members = nil
		for i := range n {
			c.members = append(c.members, &member{cfg: Config{
				Name:         fmt.Sprintf("n%d", i+1),
				Listen:       routes[i],
				Routes:       routes,
				DataDir:      filepath.Join(base, fmt.Sprintf("n%d", i+1)),
				WriteTimeout: 2 * time.Second,
				Logger:       quiet(),
			}})
		}
		var err error
		for i := range c.members {
			if err = c.tryStart(i); err != nil {
				break
			}
		}
		if err == nil {
			break
		}
		c.stopAll()
		if !strings.Contains(err.Error(), "address already in use") || attempt == 5 {
			t.Fatal(err)
		}
	}
	for _, m := range c.members {
		c.waitReady(m)
	}
	return c
}

// startAll starts every member that is not running, together: one alone has no quorum to wait for.
func (c *testCluster) startAll() {
	c.t.Helper()
	for i, m := range c.members {
		if m.node == nil {
			c.start(i)
		}
	}
	for _, m := range c.members {
		c.waitReady(m)
	}
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	if err := c.tryStart(i); err != nil {
		c.t.Fatal(err)
	}
}

// tryStart starts member i, or says why it could not.
func (c *testCluster) tryStart(i int) error {
	m := c.members[i]
	// As serve does: the Log is opened after the node, and reloads its
	// settings whenever another node changes them.
	var opened atomic.Pointer[app.Log]
	cfg := m.cfg
	cfg.OnState = func(v app.StateValue) {
		if l := opened.Load(); l != nil && v.Kind == app.StateMeta {
			if err := l.ReloadState(context.Background()); err != nil {
				c.t.Errorf("node %s: reloading the settings: %v", m.cfg.Name, err)
			}
		}
	}
	node, err := Open(cfg)
	if err != nil {
		return fmt.Errorf("node %s: %w", m.cfg.Name, err)
	}
	log, err := openLog(node, m.cfg.DataDir, m.retention)
	if err != nil {
		return fmt.Errorf("node %s: log: %w", m.cfg.Name, err)
	}
	opened.Store(log)
	m.node, m.log = node, log
	return nil
}

func openLog(node *Node, dir string, retention time.Duration) (*app.Log, error) {
	return app.Open(app.Config{
		Store:     node,
		Retention: retention,
		Operator:  "ops@example.com",
		OpenIndex: func() (app.SearchIndex, error) { return index.Open(filepath.Join(dir, "index")) },
		Logger:    quiet(),
	})
}

func (c *testCluster) waitReady(m *member) {
	c.t.Helper()
	select {
	case <-m.node.ready:
	case <-time.After(60 * time.Second):
		c.t.Fatalf("node %s never joined the stream: %v", m.cfg.Name, m.node.Status(context.Background()).Error)
	}
}

func (c *testCluster) stop(i int) {
	m := c.members[i]
	if m.log != nil {
		if err := m.log.Close(); err != nil {
			c.t.Errorf("closing %s: %v", m.cfg.Name, err)
		}
	}
	m.node, m.log = nil, nil
}

func (c *testCluster) stopAll() {
	var wg sync.WaitGroup
	for i := range c.members {
		wg.Go(func() { c.stop(i) })
	}
	wg.Wait()
}

// running lists the members that run.
func (c *testCluster) running() []*member {
	var out []*member
	for _, m := range c.members {
		if m.node != nil {
			out = append(out, m)
		}
	}
	return out
}

// waitApplied waits until every running member has applied seq.
func (c *testCluster) waitApplied(seq uint64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, m := range c.running() {
		if !m.node.waitApplied(ctx, seq) {
			c.t.Fatalf("node %s applied %d of %d", m.cfg.Name, m.node.Applied(), seq)
		}
	}
}

// last is the stream's last sequence as the running members know it.
func (c *testCluster) last() uint64 {
	var last uint64
	for _, m := range c.running() {
		last = max(last, m.node.last.Load())
	}
	return last
}

// settle waits until every running member has applied all that any of them has heard of.
func (c *testCluster) settle() {
	c.t.Helper()
	c.waitApplied(c.last())
}

// waitingCopies lists the state changes m has still to copy into the bucket.
func waitingCopies(t testing.TB, m *member) []app.StateValue {
	t.Helper()
	w, err := m.node.local.States(context.Background(), stateCopies)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// waitCopied waits until every running member has copied every state change
// it applied into the state bucket, and the bucket holds the whole state.
func (c *testCluster) waitCopied() {
	c.t.Helper()
	c.settle()
	deadline := time.Now().Add(60 * time.Second)
	for _, m := range c.running() {
		for len(waitingCopies(c.t, m)) > 0 {
			if time.Now().After(deadline) {
				c.t.Fatalf("node %s has %d state changes still to copy into the bucket", m.cfg.Name, len(waitingCopies(c.t, m)))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	kv := c.running()[0].node.kv
	for {
		_, err := kv.Get(context.Background(), seededKey)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the state bucket never held the whole state: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRetentionFollowed waits until every running member has set the
// stream's MaxAge (or found it right) since it last applied a retention.
func (c *testCluster) waitRetentionFollowed() {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, m := range c.running() {
		for m.node.retentionDue() {
			if time.Now().After(deadline) {
				c.t.Fatalf("node %s never set the stream's retention", m.cfg.Name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// maxAge is how long the stream keeps messages, as m hears it.
func maxAge(t testing.TB, m *member) time.Duration {
	t.Helper()
	info, err := m.node.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Config.MaxAge
}

// forgetAndRebuild does what the retention does to the stream, once every
// state change is in the bucket: the stream forgets its messages. Then
// member i loses its data directory and rebuilds, and one more entry (with
// the id next) is recorded on the first member and applied everywhere.
func (c *testCluster) forgetAndRebuild(i int, next string) {
	c.t.Helper()
	c.waitCopied()
	if err := c.members[0].node.stream.Purge(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.stop(i)
	if err := os.RemoveAll(c.members[i].cfg.DataDir); err != nil {
		c.t.Fatal(err)
	}
	c.start(i)
	c.waitReady(c.members[i])
	recordOn(c.t, c.members[0], event(next, 0))
	c.settle()
}

// ids lists a member's stored entry ids, oldest first.
func ids(t testing.TB, m *member) []string {
	t.Helper()
	var out []string
	var after app.Key
	for {
		docs, err := m.node.Scan(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if d.Event != nil {
				out = append(out, d.Event.ID)
			}
		}
		if len(docs) < 1000 {
			return out
		}
		after = docs[len(docs)-1].Key
	}
}

// sameEverywhere checks that every running member holds the same ids in the
// same order, each once, and returns them.
func (c *testCluster) sameEverywhere() []string {
	c.t.Helper()
	c.settle()
	run := c.running()
	want := ids(c.t, run[0])
	seen := map[string]bool{}
	for _, id := range want {
		if seen[id] {
			c.t.Fatalf("node %s holds %s twice", run[0].cfg.Name, id)
		}
		seen[id] = true
	}
	head, err := run[0].node.Head(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	for _, m := range run[1:] {
		if got := ids(c.t, m); !slices.Equal(got, want) {
			c.t.Fatalf("node %s holds %d entries, node %s %d, or in another order", m.cfg.Name, len(got), run[0].cfg.Name, len(want))
		}
		// The same entries in the same order make the same tamper-evident chain.
		if h, err := m.node.Head(context.Background()); err != nil || h.Seq != head.Seq || h.Hash != head.Hash {
			c.t.Fatalf("node %s's chain head is %d %x, node %s's %d %x (%v)", m.cfg.Name, h.Seq, h.Hash, run[0].cfg.Name, head.Seq, head.Hash, err)
		}
	}
	return want
}

// event is a valid entry; id may be empty for a server-made one.
func event(id string, i int) app.Event {
	return app.Event{ID: id, Namespace: app.DataPipelines, Action: "pipeline_run", Detail: fmt.Sprintf("Ran pipeline %d", i), Actor: "ci@example.com"}
}

// recordOn records events on m and returns them as acknowledged.
func recordOn(t testing.TB, m *member, events ...app.Event) []app.Event {
	t.Helper()
	out, err := m.log.Record(context.Background(), events)
	if err != nil {
		t.Fatalf("recording on %s: %v", m.cfg.Name, err)
	}
	return out
}

// bucketTokens says what the state bucket holds of tokens, and which stream
// sequence each copy was tagged with, for a failure to show how a token
// went missing.
func bucketTokens(t testing.TB, m *member) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lister, err := m.node.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Sprintf("(the bucket's keys: %v)", err)
	}
	var out []string
	for key := range lister.Keys() {
		if !strings.HasPrefix(key, string(app.StateTokens)+".") && key != seededKey {
			continue
		}
		e, err := m.node.kv.Get(ctx, key)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", key, err))
			continue
		}
		if key == seededKey {
			out = append(out, fmt.Sprintf("%s as of %s, revision %d", key, e.Value(), e.Revision()))
			continue
		}
		var sv stateValue
		_ = json.Unmarshal(e.Value(), &sv)
		out = append(out, fmt.Sprintf("%s: seq %d, deleted %v, revision %d", key, sv.Seq, sv.Value == nil, e.Revision()))
	}
	return fmt.Sprintf("the bucket as node %s (applied %d) reads it: [%s]", m.cfg.Name, m.node.Applied(), strings.Join(out, "; "))
}

// ownAccountIntact checks that m's chain links its own entries and that its
// index takes them, newest (the id of the entry recorded last, whose detail
// says "pipeline") first.
func ownAccountIntact(t *testing.T, m *member, newest string) {
	t.Helper()
	ctx := context.Background()
	v, err := m.log.Verify(ctx)
	if err != nil || !v.Intact() {
		t.Fatalf("node %s's chain: %+v, %v", m.cfg.Name, v.Break, err)
	}
	if err := m.log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := app.ParseQuery("pipeline", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	page, err := m.log.Search(ctx, q, "", 10)
	if err != nil || len(page.Events) == 0 || page.Events[0].ID != newest {
		t.Fatalf("node %s's index does not find its newest entry, %s: %+v, %v", m.cfg.Name, newest, page, err)
	}
}
