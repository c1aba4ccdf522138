package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
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

// day is when the tests of a dictionary's life record.
var day = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// markedEvents makes n entries recorded at `at`, each naming a person and a
// token no other entry names, whose bytes a test then looks for in the file.
func markedEvents(from, n int, at time.Time) []app.Event {
	out := make([]app.Event, n)
	for i := range out {
		out[i] = app.Event{
			ID:        fmt.Sprintf("marked-%07d", from+i),
			Namespace: app.APITokens,
			Action:    "token_revoked",
			Detail:    fmt.Sprintf("Zebedee Quuxington revoked API token xyzzy-%07d", from+i),
			Actor:     "Zebedee Quuxington",
			IP:        "203.0.113.77",
			Timestamp: at.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return out
}

// commitAt records events received at `at`, in requests of 1000.
func commitAt(t *testing.T, s *Store, events []app.Event, at time.Time) []app.Event {
	t.Helper()
	var out []app.Event
	for len(events) > 0 {
		n := min(1000, len(events))
		got, err := s.Commit(context.Background(), app.Commit{Events: events[:n], ReceivedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		out, events = append(out, got...), events[n:]
	}
	return out
}

// fileHolds tells which of words the store's file holds, as bytes anywhere:
// in its entries, its dictionaries or its free pages.
func fileHolds(t *testing.T, dir string, words ...string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	var held []string
	for _, w := range words {
		if bytes.Contains(b, []byte(w)) {
			held = append(held, w)
		}
	}
	return held
}

// Purged entries are beyond recovery: once the purge is done, and a day
// more for the entries a dictionary learned from them may still pack, the
// file holds no byte of them, neither in a dictionary learned from them nor
// in the pages they were in, which bbolt frees but does not overwrite. The
// entries recorded since read back as they were.
func TestAPurgeLeavesNoByteOfThePurgedEntriesInTheFile(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer func() { s.Close() }()
	ctx := context.Background()
	t0 := day.Add(-40 * 24 * time.Hour)
	commitAt(t, s, markedEvents(0, learnFirst+2000, t0), t0)
	if held := fileHolds(t, dir, "Quuxington"); len(held) == 0 {
		t.Fatal("the marked entries are not in the file: the test looks for the wrong bytes")
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if d := readDictionaryUse(tx); d.inUse == 0 {
			return fmt.Errorf("no dictionary was learned from the marked entries")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	later := t0.Add(dictionaryLinger + time.Hour)
	kept := commitAt(t, s, workspaceEvents(mathrand.New(mathrand.NewPCG(5, 6)), 0, 300, later), later)
	if total := purgeAndErase(t, s, later.Add(-time.Minute)); total != learnFirst+2000 {
		t.Fatalf("purged %d entries, want the %d marked ones", total, learnFirst+2000)
	}
	if held := fileHolds(t, dir, "Quuxington", "xyzzy", "203.0.113.77"); len(held) > 0 {
		t.Fatalf("after the purge the file still holds %q", held)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	forgetBuiltDictionaries()
	s = mustOpen(t, dir)
	keys := make([]app.Key, len(kept))
	for i, e := range kept {
		keys[i] = keyOfID(t, s, e.ID)
	}
	if got, _, err := s.Read(ctx, keys); err != nil || !reflect.DeepEqual(got, kept) {
		t.Fatalf("the entries recorded after the marked ones read back as %d of %d: %v", len(got), len(kept), err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A dictionary is learned from entries of a few hours, and packs no entry
// more than a day after the oldest of them: the words of last month's
// entries, imported, are in no dictionary that today's entries are packed
// with, and a dictionary never packs an entry that would keep it, and what it
// holds, alive for more than a day after that.
func TestADictionaryHoldsEntriesOfHoursAndPacksOnlyThoseOfADay(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer s.Close()
	imported := day.Add(-20 * 24 * time.Hour)
	commitAt(t, s, markedEvents(0, learnFirst+1000, imported), day)
	recent := commitAt(t, s, workspaceEvents(mathrand.New(mathrand.NewPCG(7, 8)), 0, learnRetry+2000, day.Add(-time.Hour)), day)
	if _, markers := valueSizes(t, s, recent[len(recent)-500:]); markers[packedLearned] != 500 {
		t.Fatalf("the newest entries start with %v, want all %#x (learned from the recent ones)", markers, packedLearned)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		k := keyOfID(t, s, recent[len(recent)-1].ID)
		v := tx.Bucket(bucketEvents).Get(k[:])
		n, _ := binary.Uvarint(v[1:])
		if d := tx.Bucket(bucketDictionaries).Get(dictionaryKey(n)); d == nil || bytes.Contains(d, []byte("Quuxington")) {
			return fmt.Errorf("the dictionary today's entries are packed with (%d) holds words of the imported ones, or is missing", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	soon := commitAt(t, s, workspaceEvents(mathrand.New(mathrand.NewPCG(9, 10)), 50000, 100, day.Add(-30*time.Minute)), day)
	if _, markers := valueSizes(t, s, soon); markers[packedLearned] != len(soon) {
		t.Fatalf("entries of the same hours start with %v, want all %#x (learned)", markers, packedLearned)
	}
	after := day.Add(dictionaryLinger + time.Minute)
	out := commitAt(t, s, workspaceEvents(mathrand.New(mathrand.NewPCG(11, 12)), 60000, 100, after), after)
	if _, markers := valueSizes(t, s, out); markers[packedEntry] != len(out) {
		t.Fatalf("entries a day after the dictionary's samples start with %v, want all %#x (dictionary 1)", markers, packedEntry)
	}
}

// A purge cut short by a crash after its entries were deleted, before what
// they left behind was erased, is finished after the restart, though nothing
// more is then purged.
func TestAPurgeCutShortBeforeTheErasureIsFinishedAfterARestart(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	t0 := day.Add(-40 * 24 * time.Hour)
	commitAt(t, s, markedEvents(0, 3000, t0), t0)
	later := t0.Add(dictionaryLinger + time.Hour)
	commitAt(t, s, workspaceEvents(mathrand.New(mathrand.NewPCG(5, 6)), 0, 100, later), later)
	ctx := context.Background()
	if n, err := s.Purge(ctx, later.Add(-time.Minute), 10000); err != nil || n != 3000 {
		t.Fatalf("purged %d, %v; want the 3000 marked entries", n, err)
	}
	if err := s.Close(); err != nil { // the crash, as far as the file goes
		t.Fatal(err)
	}
	if held := fileHolds(t, dir, "Quuxington"); len(held) == 0 {
		t.Fatal("the purged entries' pages hold none of their bytes: the test proves nothing")
	}
	s = mustOpen(t, dir)
	defer s.Close()
	if n, err := s.Purge(ctx, later.Add(-time.Minute), 10000); err != nil || n != 0 {
		t.Fatalf("Purge after the restart = %d, %v; want nothing more to purge", n, err)
	}
	if err := s.ErasePurged(ctx, later.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if held := fileHolds(t, dir, "Quuxington", "xyzzy", "203.0.113.77"); len(held) > 0 {
		t.Fatalf("after the restart's purge the file still holds %q", held)
	}
}

// purgeAndErase purges everything before cutoff and erases what it left.
func purgeAndErase(t *testing.T, s *Store, cutoff time.Time) int {
	t.Helper()
	ctx := context.Background()
	total := 0
	for {
		n, err := s.Purge(ctx, cutoff, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if total += n; n < 5000 {
			break
		}
	}
	if err := s.ErasePurged(ctx, cutoff); err != nil {
		t.Fatal(err)
	}
	return total
}

// A workspace that goes quiet: its last entries are purged an hour after
// they expire, when the dictionary learned from them may still pack entries
// of their day. Nothing more is ever purged, and the dictionary goes anyway
// once its day is past the retention.
func TestTheDictionaryOfAWorkspaceThatWentQuietGoes(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer s.Close()
	t0 := day.Add(-40 * 24 * time.Hour)
	commitAt(t, s, markedEvents(0, learnFirst+2000, t0), t0)
	if n := purgeAndErase(t, s, t0.Add(time.Hour)); n != learnFirst+2000 {
		t.Fatalf("purged %d, want every entry", n)
	}
	for hour := 2; hour <= 48; hour++ {
		purgeAndErase(t, s, t0.Add(time.Duration(hour)*time.Hour))
	}
	if held := fileHolds(t, dir, "Quuxington", "xyzzy", "203.0.113.77"); len(held) > 0 {
		t.Fatalf("two days after its last entries were purged the file still holds %q", held)
	}
}

// Pages a reader (an export, a verification) still holds while the purge
// runs are zeroed once it is done, though nothing more is purged; pages
// already zero are not written again.
func TestPagesAReaderHeldAreZeroedOnceItIsDone(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	defer s.Close()
	ctx := context.Background()
	t0 := day.Add(-40 * 24 * time.Hour)
	commitAt(t, s, markedEvents(0, 3000, t0), t0)
	later := t0.Add(dictionaryLinger + time.Hour)
	commitAt(t, s, workspaceEvents(mathrand.New(mathrand.NewPCG(5, 6)), 0, 100, later), later)

	reader, err := s.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback() // on failure: the store does not close while a reader is open
	if n := purgeAndErase(t, s, later.Add(-time.Minute)); n != 3000 {
		t.Fatalf("purged %d, want the 3000 marked entries", n)
	}
	if held := fileHolds(t, dir, "Quuxington"); len(held) == 0 {
		t.Fatal("nothing of the purged entries was left while the reader held their pages: the test proves nothing")
	}
	if err := reader.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := s.ErasePurged(ctx, later.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if held := fileHolds(t, dir, "Quuxington", "xyzzy", "203.0.113.77"); len(held) > 0 {
		t.Fatalf("after the reader was done the file still holds %q", held)
	}
	if zeroed, busy, err := s.scrubFreePages(ctx); err != nil || busy || zeroed > 8 {
		t.Fatalf("a second scrub zeroed %d pages (busy %v, %v): want only what the last commits freed", zeroed, busy, err)
	}
}

// The scrub holds new reads back only for a moment: a read that goes on for
// longer (a walk of the whole chain) leaves the scrub to the next purge, and
// reads started meanwhile go on as soon as it gives up.
func TestAScrubWaitsForReadsOnlyAMoment(t *testing.T) {
	s := openTemp(t)
	started, shortDone, longDone := make(chan struct{}), make(chan struct{}), make(chan bool)
	go s.view(func() string { return "a long read" }, func(*bolt.Tx) error {
		close(started)
		select { // it goes on until the read started after it is done
		case <-shortDone:
			longDone <- true
		case <-time.After(10 * time.Second):
			longDone <- false
		}
		return nil
	})
	<-started
	go func() {
		for { // once the gate is closed
			s.readers.mu.Lock()
			closed := s.readers.closed
			s.readers.mu.Unlock()
			if closed {
				break
			}
			time.Sleep(time.Millisecond)
		}
		s.view(func() string { return "a short read" }, func(*bolt.Tx) error { return nil })
		close(shortDone)
	}()
	if s.readers.closeFor(scrubPatience) {
		t.Fatal("the gate closed with a read under way")
	}
	if !<-longDone {
		t.Fatal("a read started while the gate was closed was still held back after it gave up")
	}
}
