package store

import (
	"context"
	"slices"
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
