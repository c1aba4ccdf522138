package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// pendingAges returns how long before now each pending entry is stamped, in
// the order Pending gives them (nil stands for an entry purged since).
func pendingAges(t *testing.T, s *Store, now time.Time, limit int) []any {
	t.Helper()
	docs, err := s.Pending(context.Background(), limit)
	if err != nil {
		t.Fatal(err)
	}
	var ages []any
	for _, d := range docs {
		if d.Event == nil {
			ages = append(ages, nil)
			continue
		}
		ages = append(ages, now.Sub(d.Event.Timestamp))
	}
	return ages
}

// The entries pending for the index are those recorded after the index's
// mark: the first by sequence number, given in time order. The mark only
// moves on, and outlives a restart.
func TestPendingStartsAfterTheIndexsMark(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer func() { s.Close() }()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	h := time.Hour
	var events []app.Event
	for _, age := range []time.Duration{1 * h, 3 * h, 2 * h, 5 * h, 4 * h} { // recorded in this order
		events = append(events, app.Event{Namespace: app.Users, Action: "user_invited", Detail: "x", Actor: "Maya", Timestamp: now.Add(-age)})
	}
	out, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	same := func(when string, got []any, want ...any) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: pending %v, want %v", when, got, want)
		}
	}
	same("at first", pendingAges(t, s, now, 10), 5*h, 4*h, 3*h, 2*h, 1*h)
	same("the first two recorded", pendingAges(t, s, now, 2), 3*h, 1*h)

	if err := s.Indexed(ctx, out[1].Seq); err != nil {
		t.Fatal(err)
	}
	same("after the first two are indexed", pendingAges(t, s, now, 10), 5*h, 4*h, 2*h)
	if err := s.Indexed(ctx, out[0].Seq); err != nil {
		t.Fatal(err)
	}
	same("after a mark behind the one set", pendingAges(t, s, now, 10), 5*h, 4*h, 2*h)

	if n, err := s.Purge(ctx, now.Add(-4*h-30*time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	same("after the oldest is purged", pendingAges(t, s, now, 10), nil, 4*h, 2*h)

	if err := s.Indexed(ctx, out[3].Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir)
	same("after a restart", pendingAges(t, s, now, 10), 4*h)
	if err := s.Indexed(ctx, out[4].Seq); err != nil {
		t.Fatal(err)
	}
	same("once all are indexed", pendingAges(t, s, now, 10))
}

// A store of format 4 kept an outbox: a key for each entry not yet indexed.
// Opened now, the index's mark is set before the first of them, and the
// outbox goes; one whose outbox was empty is marked as indexed through.
func TestAnOutboxOfFormat4BecomesTheIndexsMark(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for _, waiting := range []int{0, 3} {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		var events []app.Event
		for i := range 6 {
			events = append(events, app.Event{Namespace: app.Users, Action: "user_invited", Detail: "x", Actor: "Maya", Timestamp: now.Add(-time.Duration(i) * time.Hour)})
		}
		out, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		// As format 4 left it: the last few recorded in the outbox, no mark.
		err = s.db.Update(func(tx *bolt.Tx) error {
			outbox, err := tx.CreateBucket(bucketOutbox)
			if err != nil {
				return err
			}
			for _, e := range out[len(out)-waiting:] {
				k := app.MakeKey(e.Timestamp, e.Seq)
				if err := outbox.Put(k[:], nil); err != nil {
					return err
				}
			}
			meta := tx.Bucket([]byte(app.StateMeta))
			if err := meta.Delete(metaIndexedThrough); err != nil {
				return err
			}
			return meta.Put(metaFormat, []byte("4"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = Open(dir); err != nil {
			t.Fatal(err)
		}
		docs, err := s.Pending(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, d := range docs {
			seqs = append(seqs, d.Event.Seq)
		}
		slices.Sort(seqs)
		var want []uint64
		for _, e := range out[len(out)-waiting:] {
			want = append(want, e.Seq)
		}
		if !slices.Equal(seqs, want) {
			t.Errorf("%d waiting in the outbox: pending after opening %v, want %v", waiting, seqs, want)
		}
		s.db.View(func(tx *bolt.Tx) error {
			if tx.Bucket(bucketOutbox) != nil {
				t.Errorf("%d waiting in the outbox: the outbox is still there", waiting)
			}
			return nil
		})
		s.Close()
	}
}

// A link that does not read as the link at its place is left out of what is
// pending, reported, and the entries after it are still indexed.
func TestPendingPassesOverALinkThatDoesNotRead(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	var events []app.Event
	for i := range 3 {
		events = append(events, app.Event{Namespace: app.Users, Action: "user_invited", Detail: "x", Actor: "Maya", Timestamp: now.Add(-time.Duration(3-i) * time.Hour)})
	}
	out, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	// The second link names a key of another sequence number, far ahead.
	err = s.db.Update(func(tx *bolt.Tx) error {
		forged := app.MakeKey(now, 1<<40)
		return tx.Bucket(bucketChain).Put(seqKey(out[1].Seq), forged[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Key.Seq() != out[0].Seq || docs[1].Key.Seq() != out[2].Seq {
		t.Fatalf("pending %v, want the first and the third entry", docs)
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "link 2 is unreadable") {
		t.Fatalf("the health check says %v, want the link named", err)
	}
}

// The chain's head, the format and the index's mark describe this file, not
// the workspace: a commit's state cannot set them (a cluster copies state
// from node to node), and they are not listed as state.
func TestTheStoresOwnAccountIsNotWorkspaceState(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC()
	first := app.Event{Namespace: app.Users, Action: "user_invited", Detail: "x", Actor: "Maya", Timestamp: now.Add(-time.Minute)}
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{first}, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	others := []app.StateValue{
		{Kind: app.StateMeta, Key: string(metaChainHead), Value: make([]byte, 48)},
		{Kind: app.StateMeta, Key: string(metaFormat), Value: []byte("9")},
		{Kind: app.StateMeta, Key: string(metaIndexedThrough), Value: seqKey(1 << 40)},
		{Kind: app.StateMeta, Key: "retention_days", Value: []byte("30")},
	}
	second := first
	second.Timestamp = now
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{second}, ReceivedAt: now, State: others}); err != nil {
		t.Fatal(err)
	}
	state, err := s.States(ctx, app.StateMeta)
	if err != nil {
		t.Fatal(err)
	}
	if len(state) != 1 || state[0].Key != "retention_days" {
		t.Fatalf("meta state %+v, want the retention alone", state)
	}
	for _, own := range others[:3] {
		if _, ok, _ := s.State(ctx, app.StateMeta, own.Key); ok {
			t.Errorf("State(%q) found", own.Key)
		}
	}
	if docs, err := s.Pending(ctx, 10); err != nil || len(docs) != 2 {
		t.Fatalf("pending %d entries, %v: want both", len(docs), err)
	}
	var prev app.Digest
	n, broken := 0, error(nil)
	err = s.Chain(ctx, 1, func(l *app.Link) bool {
		n++
		if l.PrevHash != prev || app.ChainHash(prev, l.Canonical) != l.Hash {
			broken = fmt.Errorf("link %d does not follow the one before", l.Seq)
		}
		prev = l.Hash
		return true
	})
	if err != nil || broken != nil || n != 2 {
		t.Fatalf("chain of %d links: %v %v", n, err, broken)
	}
}
