package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// groupOf holds the lead while n large commits queue, then lets them go
// together, and returns each one's result.
func groupOf(t *testing.T, s *Store, batches [][]app.Event) ([][]app.Event, []error) {
	t.Helper()
	s.groupMu.Lock()
	s.leading = true // as if another commit were being written
	s.groupMu.Unlock()
	outs, errs := make([][]app.Event, len(batches)), make([]error, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() {
			outs[i], errs[i] = s.Commit(context.Background(), app.Commit{Events: b, ReceivedAt: time.Now()})
		})
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.groupMu.Lock()
		n := len(s.queue)
		if n == len(batches) {
			s.queue[0].done <- false // the writer before them is done
			s.groupMu.Unlock()
			break
		}
		s.groupMu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d commits queued", n, len(batches))
		}
	}
	wg.Wait()
	return outs, errs
}

func largeBatch(prefix string, n int) []app.Event {
	events := make([]app.Event, n)
	for i := range events {
		events[i] = app.Event{ID: fmt.Sprintf("%s-%d", prefix, i), Namespace: app.Users, Action: "x_done", Detail: "d", Actor: "Maya",
			Timestamp: time.Now().Add(-time.Duration(n-i) * time.Second)}
	}
	return events
}

func lastTx(t *testing.T, s *Store) int {
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLargeCommitsThatQueueTogetherShareOneTransaction(t *testing.T) {
	s := openTemp(t)
	before := lastTx(t, s)
	batches := [][]app.Event{largeBatch("a", batchBelow), largeBatch("b", batchBelow), largeBatch("c", 2*batchBelow)}
	outs, errs := groupOf(t, s, batches)
	for i := range batches {
		if errs[i] != nil || len(outs[i]) != len(batches[i]) {
			t.Fatalf("commit %d: %d entries, %v", i, len(outs[i]), errs[i])
		}
		for j, e := range outs[i] {
			if e.ID != batches[i][j].ID || e.Hash == "" {
				t.Fatalf("commit %d entry %d came back as %+v", i, j, e)
			}
		}
	}
	if n := lastTx(t, s) - before; n != 1 {
		t.Errorf("%d write transactions for three queued commits, want 1", n)
	}
	if s.leading || len(s.queue) > 0 {
		t.Errorf("the lead was kept (%v) or commits left queued (%d)", s.leading, len(s.queue))
	}
	v, err := app.VerifyChain(context.Background(), s, nil, time.Now())
	if err != nil || !v.Intact() || v.Entries != 4*batchBelow {
		t.Fatalf("verification = %+v, %v", v, err)
	}
}

func TestOneFailingCommitInAGroupDoesNotFailTheOthers(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	out, err := s.Commit(ctx, app.Commit{Events: []app.Event{largeBatch("damaged", 1)[0]}, ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// An entry that no longer decodes: a retry of its id cannot be answered.
	err = s.db.Update(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIDs).Get([]byte(out[0].ID))
		return tx.Bucket(bucketEvents).Put(k, []byte{1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := largeBatch("x", batchBelow)
	bad[50].ID = out[0].ID
	outs, errs := groupOf(t, s, [][]app.Event{largeBatch("a", batchBelow), bad, largeBatch("b", batchBelow)})
	if errs[1] == nil {
		t.Errorf("the commit repeating a damaged entry's id succeeded")
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || len(outs[i]) != batchBelow {
			t.Errorf("commit %d beside a failing one: %d entries, %v", i, len(outs[i]), errs[i])
		}
		for _, e := range outs[i] {
			if got, ok, err := s.Get(ctx, e.ID); err != nil || !ok || got.Hash != e.Hash {
				t.Fatalf("entry %s is not stored as returned: %+v, %v, %v", e.ID, got, ok, err)
			}
		}
	}
	if _, ok, _ := s.Get(ctx, "x-0"); ok {
		t.Errorf("an entry of the failed commit was stored")
	}
}
