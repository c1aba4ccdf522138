package store_test

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/store"

	bolt "go.etcd.io/bbolt"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func entry(ns app.Namespace, id string, ago time.Duration) app.Event {
	return app.Event{ID: id, Namespace: ns, Action: "x_done", Detail: id, Actor: "Maya", Timestamp: now.Add(-ago)}
}

func TestStateAndItsEntryCommitTogether(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	out, err := s.Commit(ctx, app.Commit{
		Events:     []app.Event{entry(app.APITokens, "", 0)},
		ReceivedAt: now,
		State:      []app.StateValue{{Kind: app.StateTokens, Key: "h1", Value: []byte(`{"id":"tok_1"}`)}},
	})
	if err != nil || len(out) != 1 || out[0].ID == "" || !out[0].ReceivedAt.Equal(now) {
		t.Fatalf("Commit = %+v, %v", out, err)
	}
	v, ok, err := s.State(ctx, app.StateTokens, "h1")
	if err != nil || !ok || string(v) != `{"id":"tok_1"}` {
		t.Fatalf("State = %q, %v, %v", v, ok, err)
	}
	if _, err := s.Commit(ctx, app.Commit{State: []app.StateValue{{Kind: app.StateTokens, Key: "h1"}}}); err != nil {
		t.Fatal(err)
	}
	if all, err := s.States(ctx, app.StateTokens); err != nil || len(all) != 0 {
		t.Fatalf("after deleting: %+v, %v", all, err)
	}
	if got, ok, _ := s.Get(ctx, out[0].ID); !ok || got.Detail != out[0].Detail {
		t.Fatalf("Get(%q) = %+v, %v", out[0].ID, got, ok)
	}
}

func TestCommitAllStoresCommitsInOrderAsOne(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	later := now.Add(time.Second)
	out, err := s.CommitAll(ctx, []app.Commit{
		{Events: []app.Event{entry(app.Users, "evt-1", time.Hour)}, ReceivedAt: now, State: []app.StateValue{{Kind: app.StateMeta, Key: "k", Value: []byte("1")}}},
		{Events: []app.Event{entry(app.Users, "evt-1", 0), entry(app.Spaces, "evt-2", 0)}, ReceivedAt: later, State: []app.StateValue{{Kind: app.StateMeta, Key: "k", Value: []byte("2")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The second commit's evt-1 is the first one's: stored once.
	if len(out) != 2 || !out[1][0].ReceivedAt.Equal(now) || out[1][0].Timestamp != out[0][0].Timestamp || !out[1][1].ReceivedAt.Equal(later) {
		t.Fatalf("CommitAll = %+v", out)
	}
	if n, _ := s.Len(ctx); n != 2 {
		t.Fatalf("%d entries stored, want 2", n)
	}
	if v, _, _ := s.State(ctx, app.StateMeta, "k"); string(v) != "2" {
		t.Fatalf("state is %q, want the later commit's", v)
	}
}

func TestAnIDStoredAlreadyReturnsTheStoredEntry(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	first := entry(app.Users, "evt-1", time.Hour)
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{first}, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	retry := first
	retry.Detail = "changed on the retry"
	out, err := s.Commit(ctx, app.Commit{Events: []app.Event{retry}, ReceivedAt: now})
	if err != nil || out[0].Detail != "evt-1" {
		t.Fatalf("retry = %+v, %v; want the stored entry", out, err)
	}
	if n, _ := s.Len(ctx); n != 1 {
		t.Fatalf("%d entries stored, want 1", n)
	}
}

func TestWalkGoesNewestFirstWithinANamespaceAndRange(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	var events []app.Event
	for i, ns := range []app.Namespace{app.Users, app.Spaces, app.Users, app.Users} {
		events = append(events, entry(ns, string(rune('a'+i)), time.Duration(4-i)*time.Hour))
	}
	if _, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	var got string
	err := s.Walk(ctx, app.Range{Namespace: app.Users, After: now.Add(-3 * time.Hour)}, func(_ app.Key, e *app.Event) bool {
		got += e.ID
		return true
	})
	if err != nil || got != "dc" {
		t.Fatalf("walk = %q, %v; want the users entries of the last 3 hours, newest first", got, err)
	}
}

// Read gives back only the keys asked for that hold an entry: a key the
// store does not hold (purged since the index named it) is left out, not
// answered with the entry stored after it.
func TestReadLeavesOutKeysItDoesNotHold(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	stored, err := s.Commit(ctx, app.Commit{Events: []app.Event{entry(app.Users, "a", 3*time.Hour), entry(app.Users, "b", 2*time.Hour), entry(app.Users, "c", time.Hour)}, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	var keys []app.Key
	err = s.Walk(ctx, app.Range{}, func(k app.Key, _ *app.Event) bool { keys = append(keys, k); return true })
	if err != nil || len(keys) != len(stored) {
		t.Fatalf("walk: %d keys, %v", len(keys), err)
	}
	between := keys[1] // b's key, one nanosecond earlier: before b, after a
	binary.BigEndian.PutUint64(between[:8], binary.BigEndian.Uint64(between[:8])-1)
	last := app.Key{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	events, found, err := s.Read(ctx, []app.Key{keys[0], between, keys[2], last, {}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, "") != "ca" || len(found) != 2 || found[0] != keys[0] || found[1] != keys[2] {
		t.Fatalf("Read = %q at %x; want c and a, at their own keys", ids, found)
	}
}

func TestPurgeRemovesEveryTraceOfExpiredEntries(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{entry(app.Users, "old", 48*time.Hour), entry(app.Users, "new", time.Hour)}, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Purge(ctx, now.Add(-24*time.Hour), 10)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if _, ok, _ := s.Get(ctx, "old"); ok {
		t.Fatal("the purged entry is still found by id")
	}
	// Neither was indexed: the purged one is still pending, without its event.
	pending, _ := s.Pending(ctx, 10)
	if len(pending) != 2 || pending[0].Event != nil || pending[1].Event == nil || pending[1].Event.ID != "new" {
		t.Fatalf("outbox after purge = %+v", pending)
	}
	tally := app.Tally{}
	if err := s.Counts(ctx, 0, app.SlotOf(now)+1, nil, tally); err != nil || len(tally) != 1 {
		t.Fatalf("counters after purge = %v, %v", tally, err)
	}
}

func TestASecondOpenIsToldTheDirectoryIsInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := store.Open(dir); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("second open: %v, want a conflict", err)
	}
}

// Entries arrive in time order, so the buckets keyed by time or sequence only
// grow at the end: their pages are to be left nearly full, not half empty.
func TestEntriesInTimeOrderFillTheirPages(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for batch := range 20 {
		events := make([]app.Event, 500)
		for i := range events {
			n := batch*500 + i
			events[i] = entry(app.Namespaces[n%len(app.Namespaces)], fmt.Sprintf("evt-%d", n), time.Duration(10000-n)*time.Second)
		}
		if _, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, store.FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		// The namespaces' blocks hold a few bytes a key, in values of a
		// few hundred bytes, whose pages bbolt fills less: what counts
		// is their bytes an entry.
		if b := tx.Bucket([]byte("ns_blocks")); b == nil {
			t.Error("no bucket for the namespaces' blocks")
		} else if per := float64(b.Stats().LeafAlloc) / 10000; per > 12 {
			t.Errorf("the namespaces' blocks take %.1f bytes an entry, want at most 12", per)
		}
		for _, name := range []string{"events", "chain"} {
			b := tx.Bucket([]byte(name))
			if b == nil {
				t.Errorf("no bucket %q", name)
				continue
			}
			st := b.Stats()
			if fill := float64(st.LeafInuse) / float64(st.LeafAlloc); fill < 0.8 {
				t.Errorf("bucket %q: leaf pages %.0f%% full (%d of %d bytes), want at least 80%%", name, 100*fill, st.LeafInuse, st.LeafAlloc)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A store-made id spells the entry's time and sequence number, so a client
// can send it ahead of the store. The entry the store then names is not
// given the client's entry's id: each id leads to its own entry.
func TestAnIDSentAheadOfTheStoreIsNotGivenToAnotherEntry(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	first, err := s.Commit(ctx, app.Commit{Events: []app.Event{entry(app.Users, "", time.Hour)}, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	spell := func(at time.Time, seq uint64) string {
		k := app.MakeKey(at, seq)
		return base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding).EncodeToString(k[:])
	}
	if want := spell(now.Add(-time.Hour), first[0].Seq); first[0].ID != want {
		t.Fatalf("the store made %q, the test spells %q: the test no longer knows how ids are made", first[0].ID, want)
	}
	// The second event of the next request is the store's sequence number 3.
	claimed := spell(now, first[0].Seq+2)
	forged := entry(app.Users, claimed, 0)
	forged.Detail = "forged"
	genuine := entry(app.Users, "", 0)
	genuine.Detail = "genuine"
	out, err := s.Commit(ctx, app.Commit{Events: []app.Event{forged, genuine}, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ID != claimed || out[1].ID == claimed || out[1].Seq != first[0].Seq+2 {
		t.Fatalf("ids = %q (seq %d), %q (seq %d); want %q and another", out[0].ID, out[0].Seq, out[1].ID, out[1].Seq, claimed)
	}
	for _, e := range out {
		if got, ok, err := s.Get(ctx, e.ID); err != nil || !ok || got.Detail != e.Detail {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", e.ID, got.Detail, ok, err, e.Detail)
		}
	}
	// Sent again, the entry's own id is found as stored.
	again := genuine
	again.ID = out[1].ID
	if re, err := s.Commit(ctx, app.Commit{Events: []app.Event{again}, ReceivedAt: now}); err != nil || re[0].Seq != out[1].Seq {
		t.Fatalf("resent: %+v, %v", re, err)
	}
	if n, _ := s.Len(ctx); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
}
