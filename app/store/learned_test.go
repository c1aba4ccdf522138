package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	mathrand "math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// workspaceEvents makes n entries in the words of one workspace: its people,
// pipelines and products, which dictionary 1 does not know.
func workspaceEvents(rng *mathrand.Rand, from int, n int, at time.Time) []app.Event {
	people := []string{"Priya Natarajan", "Jonas Lindqvist", "Amara Okonkwo", "Mateo Fernández", "Yuki Tanabe", "Colette Marchand"}
	things := []string{"orders_daily", "customer_churn_weekly", "inventory_snapshot", "marketing_attribution", "finance_ledger_sync", "clickstream_sessions"}
	spaces := []string{"Growth Analytics", "Finance Reporting", "Supply Chain", "Customer Insights"}
	out := make([]app.Event, n)
	for i := range out {
		who, what, where := people[rng.IntN(len(people))], things[rng.IntN(len(things))], spaces[rng.IntN(len(spaces))]
		out[i] = app.Event{
			ID:        fmt.Sprintf("ext-%07d", from+i),
			Namespace: app.DataPipelines,
			Action:    "pipeline_modified",
			Detail:    fmt.Sprintf("%s changed the schedule of pipeline %s in space %s to every %d minutes", who, what, where, 5+rng.IntN(55)),
			Actor:     who,
			Targets:   []app.Target{{Type: "pipeline", ID: fmt.Sprintf("pl_%s_%04d", what, rng.IntN(10000)), Name: what}},
			Timestamp: at.Add(time.Duration(from+i) * time.Millisecond),
		}
	}
	return out
}

// recordPastLearning records requests of size entries until the store has
// learned a dictionary and packed one more request with it, and returns
// what each request recorded.
func recordPastLearning(t *testing.T, s *Store, seed uint64, size int) [][]app.Event {
	t.Helper()
	rng := mathrand.New(mathrand.NewPCG(seed, seed+1))
	start := time.Now().UTC().Add(-time.Hour)
	var recorded [][]app.Event
	for n := 0; n < learnFirst+size; n += size {
		out, err := s.Commit(context.Background(), app.Commit{Events: workspaceEvents(rng, n, size, start), ReceivedAt: start})
		if err != nil {
			t.Fatal(err)
		}
		recorded = append(recorded, out)
	}
	return recorded
}

// forgetBuiltDictionaries makes the next read build each dictionary again
// from the file's bytes, as a new process does.
func forgetBuiltDictionaries() {
	builtDictionaries.Lock()
	builtDictionaries.m = nil
	builtDictionaries.Unlock()
}

// valueSizes sums the stored values' bytes (less the links) of the entries
// with the given ids, and tells which marker each starts with.
func valueSizes(t *testing.T, s *Store, events []app.Event) (total int, markers map[byte]int) {
	t.Helper()
	markers = map[byte]int{}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, e := range events {
			k := tx.Bucket(bucketIDs).Get([]byte(e.ID))
			v := tx.Bucket(bucketEvents).Get(k)
			if v == nil {
				return fmt.Errorf("no value for %s", e.ID)
			}
			total += len(v) - linksLen
			markers[v[0]]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total, markers
}

// Once a store has recorded enough entries it learns a dictionary from
// them, packs what comes next with it at about half the bytes, and reads
// every entry back as it was recorded, in this process and the next.
func TestAStoreLearnsADictionaryFromItsOwnEntries(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer func() { s.Close() }()
	ctx := context.Background()
	recorded := recordPastLearning(t, s, 7, 2000)
	first, last := recorded[0], recorded[len(recorded)-1]
	before, markers := valueSizes(t, s, first)
	if markers[packedEntry] != len(first) {
		t.Fatalf("the first entries start with %v, want all %#x (dictionary 1)", markers, packedEntry)
	}
	after, markers := valueSizes(t, s, last)
	if markers[packedLearned] != len(last) {
		t.Fatalf("the entries recorded after %d start with %v, want all %#x (learned)", learnFirst, markers, packedLearned)
	}
	t.Logf("an entry packed with dictionary 1: %d bytes; with the learned one: %d", before/len(first), after/len(last))
	if 10*after > 7*before {
		t.Errorf("the learned dictionary packs entries to %d bytes where dictionary 1 took %d: want under 0.7 of it", after/len(last), before/len(first))
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketDictionaries).Cursor().First()
		if k == nil || binary.BigEndian.Uint64(k) != 2 {
			return fmt.Errorf("the first learned dictionary is numbered %x, want 2", k)
		}
		if at := binary.BigEndian.Uint64(v); at < learnFirst || at >= uint64(learnFirst+2000) {
			return fmt.Errorf("learned at sequence %d, want the first commit at %d or past it", at, learnFirst)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	readBack := func(when string) {
		t.Helper()
		for _, out := range recorded {
			keys := make([]app.Key, len(out))
			for i, e := range out {
				keys[i] = keyOfID(t, s, e.ID)
			}
			got, _, err := s.Read(ctx, keys)
			if err != nil || len(got) != len(out) {
				t.Fatalf("%s: read %d of %d entries: %v", when, len(got), len(out), err)
			}
			for i := range out {
				if !reflect.DeepEqual(got[i], out[i]) {
					t.Fatalf("%s: entry %s reads back as\n%+v\nwant\n%+v", when, out[i].ID, got[i], out[i])
				}
			}
		}
		n, broken := 0, error(nil)
		err := s.Chain(ctx, 1, func(l *app.Link) bool {
			n++
			if app.ChainHash(l.PrevHash, l.Canonical) != l.Hash {
				broken = fmt.Errorf("link %d does not hash to its hash", l.Seq)
				return false
			}
			return true
		})
		if err == nil {
			err = broken
		}
		if err != nil || n != len(recorded)*2000 {
			t.Fatalf("%s: walked %d links of %d: %v", when, n, len(recorded)*2000, err)
		}
	}
	readBack("in the process that learned it")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	forgetBuiltDictionaries()
	s = mustOpen(t, dir)
	readBack("after a restart")
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// mustOpen opens the store in dir, for a test that closes it and opens it
// there again.
func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keyOfID is the key the id bucket files id under.
func keyOfID(t *testing.T, s *Store, id string) app.Key {
	t.Helper()
	var k app.Key
	if err := s.db.View(func(tx *bolt.Tx) error {
		copy(k[:], tx.Bucket(bucketIDs).Get([]byte(id)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return k
}

// A learned dictionary whose bytes were damaged is never used to unpack,
// though the process built it before the damage: the entries packed with it
// are reported unreadable, naming it, the others are served, and the store
// learns another dictionary from the entries it can read and packs with that.
func TestADamagedLearnedDictionaryIsReportedNotMisread(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	recorded := recordPastLearning(t, s, 3, 1000)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDictionaries)
		v := bytes.Clone(b.Get(dictionaryKey(2)))
		if v == nil {
			return fmt.Errorf("no dictionary 2")
		}
		v[len(v)/2] ^= 0x20
		return b.Put(dictionaryKey(2), v)
	})
	if err != nil {
		t.Fatal(err)
	}

	learnedOnes := recorded[len(recorded)-1]
	keys := []app.Key{keyOfID(t, s, recorded[0][0].ID), keyOfID(t, s, learnedOnes[0].ID)}
	got, _, err := s.Read(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != recorded[0][0].ID {
		t.Fatalf("read %d entries (%v): want the one packed with dictionary 1, and not the other", len(got), got)
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "dictionary 2 is damaged") {
		t.Fatalf("the health check says %v, want the damaged dictionary named", err)
	}
	start := time.Now().UTC().Add(-time.Hour)
	more := workspaceEvents(mathrand.New(mathrand.NewPCG(1, 2)), 100000, 10, start)
	out, err := s.Commit(ctx, app.Commit{Events: more, ReceivedAt: start})
	if err != nil {
		t.Fatalf("recording after the damage: %v", err)
	}
	if _, markers := valueSizes(t, s, out); markers[packedLearned] != len(out) {
		t.Fatalf("entries recorded after the damage start with %v, want all %#x (learned)", markers, packedLearned)
	}
	keys = nil
	for _, e := range out {
		keys = append(keys, keyOfID(t, s, e.ID))
	}
	if got, _, err := s.Read(ctx, keys); err != nil || len(got) != len(out) || !reflect.DeepEqual(got, out) {
		t.Fatalf("entries recorded after the damage read back as %d of %d: %v", len(got), len(out), err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketDictionaries).Cursor().Last(); k == nil || binary.BigEndian.Uint64(k) != 3 {
			t.Errorf("the newest dictionary is numbered %x, want 3: learned in place of the damaged one", k)
		}
		return nil
	})
}

// A dictionary is learned at the first few thousand entries, again as the
// store grows by four times, and at least every million entries.
func TestDictionariesAreLearnedAsTheStoreGrows(t *testing.T) {
	var at []uint64
	last := uint64(0)
	for seq := uint64(0); seq <= 4_000_000; seq += 1000 {
		if learnDue(seq, last) {
			at = append(at, seq)
			last = seq
		}
	}
	want := []uint64{5000, 25000, 125000, 625000, 1625000, 2625000, 3625000}
	if !reflect.DeepEqual(at, want) {
		t.Fatalf("learned at %v, want %v", at, want)
	}
}
