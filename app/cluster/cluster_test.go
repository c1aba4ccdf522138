package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"auditlog/app"
)

func TestAnEntryWrittenOnOneNodeIsReadOnAnother(t *testing.T) {
	c := newCluster(t, 3)
	a, cc := c.members[0], c.members[2]
	out := recordOn(t, a, event("deploy-1", 1), event("", 2))
	if out[1].ID == "" {
		t.Fatal("the server made no id")
	}
	// The writer reads its own write at once.
	if _, err := a.log.Get(context.Background(), out[1].ID); err != nil {
		t.Fatalf("node A does not have what it acknowledged: %v", err)
	}
	c.settle()
	for _, want := range out {
		got, err := cc.log.Get(context.Background(), want.ID)
		if err != nil {
			t.Fatalf("node C: %v", err)
		}
		if !got.ReceivedAt.Equal(want.ReceivedAt) || got.Detail != want.Detail {
			t.Errorf("node C holds %+v, node A acknowledged %+v", got, want)
		}
	}
	// A retry of the same id on another node is the same entry, stored
	// once, and node C says it was stored before.
	again, err := cc.log.Ingest(context.Background(), []app.Event{event("deploy-1", 99), event("deploy-2", 100)})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Entries[0]; !got.ReceivedAt.Equal(out[0].ReceivedAt) || got.Detail != out[0].Detail {
		t.Errorf("a retry on node C returned %+v, want the entry node A stored: %+v", got, out[0])
	}
	if !slices.Equal(again.Existing, []bool{true, false}) {
		t.Errorf("node C says of the retry and a new event: existing %v, want [true false]", again.Existing)
	}
	if all := c.sameEverywhere(); len(all) != 3 {
		t.Fatalf("the nodes hold %d entries, want 3", len(all))
	}
}

func TestTheStreamKeepsMessagesAsLongAsTheRetention(t *testing.T) {
	c := newCluster(t, 3)
	c.stop(0)
	c.members[0].retention = 48 * time.Hour
	c.start(0)
	c.waitReady(c.members[0])
	c.settle()
	// The stream's configuration follows once the change is applied; on a
	// busy machine that can lag the entries a little.
	var maxAge time.Duration
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := c.members[2].node.stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if maxAge = info.Config.MaxAge; maxAge == 48*time.Hour || time.Now().After(deadline) {
			break
		}
	}
	if maxAge != 48*time.Hour {
		t.Fatalf("the stream keeps messages for %s; the retention is 48h", maxAge)
	}
	if v, _, _ := c.members[2].node.State(context.Background(), app.StateMeta, metaRetention); len(v) != 8 {
		t.Fatal("node C's store lacks the retention set on node A")
	}
}

func TestATokenCreatedOnOneNodeWorksOnAnotherAndRevokedStopsThere(t *testing.T) {
	c := newCluster(t, 3)
	a, cc := c.members[0], c.members[2]
	ctx := context.Background()
	secret, tok, err := a.log.CreateToken(ctx, "ci", []app.Scope{app.ScopeIngest}, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c.settle()
	if _, err := cc.log.Authenticate(ctx, secret); err != nil {
		t.Fatalf("node C refuses a token made on node A: %v", err)
	}
	if _, err := cc.log.RevokeToken(ctx, tok.ID, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	c.settle()
	if _, err := a.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("node A still takes a token revoked on node C: %v", err)
	}
	c.sameEverywhere()
}

func TestSettingsChangedOnOneNodeShowOnAnotherWithoutARestart(t *testing.T) {
	c := newCluster(t, 3)
	a, cc := c.members[0], c.members[2]
	ctx := context.Background()
	name, keep := "Platform Team", 45*24*time.Hour
	if _, err := a.log.ChangeSettings(ctx, app.SettingsChange{Workspace: &name, Retention: &keep}, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	c.settle()
	// Node C hears a state change after storing it; a write of its own,
	// applied after that, returns once it has been heard.
	recordOn(t, cc, event("after-rename", 1))
	if got := cc.log.Settings().Workspace; got != name {
		t.Errorf("node C calls the workspace %q, want %q as renamed on node A", got, name)
	}
	if got := cc.log.Retention(); got != keep {
		t.Errorf("node C keeps entries for %s, want %s as set on node A", got, keep)
	}
}

// writers record batches with ids of their own on the given members until
// stop is closed, retrying a failed batch with the same ids as a client
// would, and return every id acknowledged.
func writers(t *testing.T, on []*member, clients int, stop <-chan struct{}, acked chan<- int) map[string]int {
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			m := on[w%len(on)]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				batch := []app.Event{event(fmt.Sprintf("w%d-%d-a", w, i), i), event(fmt.Sprintf("w%d-%d-b", w, i), i)}
				for {
					out, err := m.log.Record(context.Background(), batch)
					if err == nil {
						mu.Lock()
						for _, e := range out {
							got[e.ID]++
						}
						mu.Unlock()
						if acked != nil {
							select {
							case acked <- len(out):
							default:
							}
						}
						break
					}
					if app.ErrorCode(err) != app.EUNAVAILABLE {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	return got
}

func TestEveryAcknowledgedEntrySurvivesANodeStoppedMidIngestAndItCatchesUp(t *testing.T) {
	c := newCluster(t, 3)
	a, b, cc := c.members[0], c.members[1], c.members[2]
	stop := make(chan struct{})
	acked := make(chan int, 1)
	result := make(chan map[string]int)
	go func() { result <- writers(t, []*member{a, cc}, 4, stop, acked) }()
	// Stop B once entries flow, keep writing, then stop.
	n := 0
	for n < 200 {
		n += <-acked
	}
	c.stop(1)
	for n = 0; n < 200; {
		n += <-acked
	}
	close(stop)
	got := <-result
	for id, times := range got {
		if times != 1 {
			t.Fatalf("%s acknowledged %d times", id, times)
		}
	}
	stored := c.sameEverywhere() // A and C
	if len(stored) != len(got) {
		t.Fatalf("the survivors hold %d entries; %d were acknowledged", len(stored), len(got))
	}
	for _, id := range stored {
		if got[id] != 1 {
			t.Fatalf("%s is stored but was never acknowledged", id)
		}
	}
	// B comes back and catches up on what it missed.
	c.start(1)
	c.waitReady(b)
	recordOn(t, a, event("after-restart", 0))
	if all := c.sameEverywhere(); len(all) != len(stored)+1 {
		t.Fatalf("after B caught up the nodes hold %d entries, want %d", len(all), len(stored)+1)
	}
}

func TestWithoutAQuorumNothingIsAcknowledgedAndWritesResumeWithIt(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	recordOn(t, a, event("before", 0))
	c.stop(1)
	c.stop(2)
	_, err := a.log.Record(context.Background(), []app.Event{event("without-quorum", 0)})
	if app.ErrorCode(err) != app.EUNAVAILABLE {
		t.Fatalf("a write without quorum got %v, want an %q error", err, app.EUNAVAILABLE)
	}
	if _, err := a.log.Get(context.Background(), "without-quorum"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("the refused entry is readable: %v", err)
	}
	if s := a.node.Status(context.Background()); s.Quorum {
		t.Errorf("status claims a quorum with one node of three: %+v", s)
	}
	c.start(1)
	// The first writes may still meet a stream electing its leader.
	var out []app.Event
	for out == nil {
		out, err = a.log.Record(context.Background(), []app.Event{event("with-quorum", 0)})
		if err != nil && app.ErrorCode(err) != app.EUNAVAILABLE {
			t.Fatal(err)
		}
	}
	if s := a.node.Status(context.Background()); !s.Quorum || s.Known != 3 || s.Replicas != 3 {
		t.Errorf("status with two nodes of three up: %+v", s)
	}
	c.startAll()
	c.sameEverywhere()
}

func TestANodeWhoseDataDirIsLostRebuildsFromTheStream(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	for i := range 20 {
		recordOn(t, a, event("", i), event(fmt.Sprintf("lost-%d", i), i))
	}
	c.stop(2)
	if err := os.RemoveAll(c.members[2].cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	recordOn(t, a, event("while-gone", 0))
	c.start(2)
	c.waitReady(c.members[2])
	if all := c.sameEverywhere(); len(all) != 41 {
		t.Fatalf("the nodes hold %d entries, want 41", len(all))
	}
}

func TestWorkspaceStateOutlivesTheStreamsMessages(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	ctx := context.Background()
	secret, _, err := a.log.CreateToken(ctx, "ci", []app.Scope{app.ScopeRead}, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	recordOn(t, a, event("old", 0))
	c.forgetAndRebuild(2, "new")
	cc := c.members[2]
	if _, err := cc.log.Authenticate(ctx, secret); err != nil {
		t.Fatalf("the rebuilt node lost a token whose entry aged out: %v\n%s", err, bucketTokens(t, a))
	}
	if _, err := cc.log.Get(ctx, "new"); err != nil {
		t.Fatalf("the rebuilt node does not apply new entries: %v", err)
	}
}

// A node that was down while a token was made and the stream forgot the
// message keeps its store, and its own replica of the stream may still hold
// the old messages when it asks where the stream starts: it must take the
// token from the bucket all the same, not go on across the gap.
func TestANodeBackAfterTheStreamForgotWhatItMissedTakesTheStateFromTheBucket(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	ctx := context.Background()
	recordOn(t, a, event("before", 0))
	c.settle()
	c.stop(2)
	secret, _, err := a.log.CreateToken(ctx, "ci", []app.Scope{app.ScopeRead}, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	recordOn(t, a, event("while-down", 0))
	c.waitCopied()
	if err := a.node.stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	c.start(2)
	c.waitReady(c.members[2])
	recordOn(t, a, event("after", 0))
	c.settle()
	cc := c.members[2]
	if _, err := cc.log.Authenticate(ctx, secret); err != nil {
		t.Fatalf("the node back lost a token made while it was down: %v\n%s", err, bucketTokens(t, a))
	}
	if _, err := cc.log.Get(ctx, "after"); err != nil {
		t.Fatalf("the node back does not apply new entries: %v", err)
	}
}

func TestAStateChangeTheBucketMissedIsCopiedOnceItIsBackEvenAfterARestart(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	ctx := context.Background()
	// Without the bucket, every node's copy fails.
	dropBucket := func() {
		t.Helper()
		if err := a.node.js.DeleteKeyValue(ctx, a.node.bucketConfig().Bucket); err != nil {
			t.Fatal(err)
		}
	}
	dropBucket()
	first, _, err := a.log.CreateToken(ctx, "while the bucket was gone", []app.Scope{app.ScopeRead}, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c.settle()
	for _, m := range c.running() {
		if n := len(waitingCopies(t, m)); n == 0 {
			t.Fatalf("node %s holds no record of the change it could not copy", m.cfg.Name)
		}
	}
	// The bucket back while the nodes run: the copies are made.
	if _, err := a.node.js.CreateKeyValue(ctx, a.node.bucketConfig()); err != nil {
		t.Fatal(err)
	}
	c.forgetAndRebuild(2, "rebuilt-c")
	if _, err := c.members[2].log.Authenticate(ctx, first); err != nil {
		t.Fatalf("the rebuilt node lacks a token whose copy into the bucket failed at first: %v", err)
	}
	// Gone again, with the copy of a new name for the workspace, and every
	// node restarted before it is back (each node makes it again at
	// start): the records outlive the restart, and a node that finds the
	// bucket new copies the whole state into it again.
	name := "Platform Team"
	if _, err := a.log.ChangeSettings(ctx, app.SettingsChange{Workspace: &name}, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	c.waitCopied()
	dropBucket()
	second, _, err := a.log.CreateToken(ctx, "across a restart", []app.Scope{app.ScopeRead}, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c.settle()
	c.stopAll()
	c.startAll()
	c.forgetAndRebuild(1, "rebuilt-b")
	if _, err := c.members[1].log.Authenticate(ctx, second); err != nil {
		t.Fatalf("the rebuilt node lacks a token whose copy was still to be made when every node restarted: %v", err)
	}
	if got := c.members[1].log.Settings().Workspace; got != name {
		t.Fatalf("the rebuilt node calls the workspace %q; its new name, %q, was lost with the bucket and not copied again", got, name)
	}
	// The bucket was seeded again by nodes holding entries: what the
	// rebuilt node took from it is the workspace's state, not another node's
	// account of its own file.
	ownAccountIntact(t, c.members[1], "rebuilt-b")
}

func TestANodeCatchingUpLeavesTheStreamsRetentionAlone(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	ctx := context.Background()
	// Node C is down while the retention changes twice: at its start, its
	// store says 30 days, and the stream it replays says 2, then 90.
	c.stop(2)
	for _, days := range []int{2, 90} {
		keep := time.Duration(days) * 24 * time.Hour
		if _, err := a.log.ChangeSettings(ctx, app.SettingsChange{Retention: &keep}, "admin@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	c.settle()
	c.waitRetentionFollowed()
	if got := maxAge(t, a); got != 90*24*time.Hour {
		t.Fatalf("the stream keeps messages for %s, the retention is 90 days", got)
	}
	updates, err := a.node.nc.SubscribeSync("$JS.EVENT.ADVISORY.STREAM.UPDATED." + a.node.cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	a.node.nc.Flush()
	c.start(2)
	c.waitReady(c.members[2])
	c.settle()
	c.waitRetentionFollowed()
	if m, err := updates.NextMsg(500 * time.Millisecond); err == nil {
		t.Fatalf("the stream's configuration changed while node C caught up: %s", m.Data)
	}
	if got := maxAge(t, a); got != 90*24*time.Hour {
		t.Fatalf("after node C caught up the stream keeps messages for %s, the retention is 90 days", got)
	}
	// The advisories are seen: a change now is.
	keep := 45 * 24 * time.Hour
	if _, err := c.members[2].log.ChangeSettings(ctx, app.SettingsChange{Retention: &keep}, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := updates.NextMsg(10 * time.Second); err != nil {
		t.Fatalf("no advisory of a retention changed on a node that is caught up: %v", err)
	}
}

func TestASingleNodeRunsAClusterOfOne(t *testing.T) {
	dir := t.TempDir()
	node, err := Open(Config{Name: "solo", DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	log, err := openLog(node, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	m := &member{cfg: node.cfg, node: node, log: log}
	out := recordOn(t, m, event("", 0))
	if _, err := log.Get(context.Background(), out[0].ID); err != nil {
		t.Fatal(err)
	}
	s := node.Status(context.Background())
	if !s.Quorum || s.Replicas != 1 || s.Lag != 0 || s.Applied == 0 {
		t.Fatalf("status of a node on its own: %+v", s)
	}
}

func TestConflictingFlagsAreRefused(t *testing.T) {
	_, err := Open(Config{DataDir: t.TempDir(), Routes: []string{"127.0.0.1:6222"}, ExternalURLs: []string{"nats://127.0.0.1:4222"}})
	var e *app.Error
	if !errors.As(err, &e) || e.Code != app.EINVALID {
		t.Fatalf("got %v", err)
	}
}

// A retention lowered on one node purges on every node, at once: until then
// the others only hid what it left out, and a retention raised again before
// their hourly purge showed it again there, though the README promises it
// is deleted for good.
func TestALowerRetentionPurgesOnEveryNode(t *testing.T) {
	c := newCluster(t, 3)
	a := c.members[0]
	ctx := context.Background()
	long, short := 45*24*time.Hour, 30*24*time.Hour
	if _, err := a.log.ChangeSettings(ctx, app.SettingsChange{Retention: &long}, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	c.settle()
	old := event("forty-days-old", 1)
	old.Timestamp = time.Now().Add(-40 * 24 * time.Hour).UTC()
	recordOn(t, a, old)
	c.settle()
	if _, err := a.log.ChangeSettings(ctx, app.SettingsChange{Retention: &short}, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	c.settle()
	for _, m := range c.members {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, found, err := m.node.local.Get(ctx, "forty-days-old")
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s still stores the entry the lower retention left out", m.cfg.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, err := a.log.ChangeSettings(ctx, app.SettingsChange{Retention: &long}, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	c.settle()
	for _, m := range c.members {
		if _, err := m.log.Get(ctx, "forty-days-old"); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("node %s shows the purged entry again once the retention is raised: %v", m.cfg.Name, err)
		}
	}
}
