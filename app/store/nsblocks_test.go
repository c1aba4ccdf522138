package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"auditlog/app"
)

// inNSBlocks tells whether key is filed in namespace ns's blocks.
func inNSBlocks(t *testing.T, tx *bolt.Tx, ns byte, key app.Key) bool {
	t.Helper()
	b := tx.Bucket(bucketNSBlocks).Bucket([]byte{ns})
	if b == nil {
		return false
	}
	bk, bv, _ := nsBlockAt(b, key)
	if bk == nil {
		return false
	}
	keys, err := decodeNSBlock(bk, bv)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(keys, key)
}

// checkNSBlocks compares every namespace's blocks with want (each
// namespace's keys), walked from the newest and from keys inside them, and
// checks that each block is keyed by its first key and holds at most
// nsBlockMax.
func checkNSBlocks(t *testing.T, b *bolt.Bucket, want map[byte][]app.Key) {
	t.Helper()
	err := b.ForEachBucket(func(ns []byte) error {
		return b.Bucket(ns).ForEach(func(k, v []byte) error {
			keys, err := decodeNSBlock(k, v)
			if err != nil {
				return err
			}
			if len(keys) > nsBlockMax {
				t.Errorf("block %x holds %d keys", k, len(keys))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for ns := byte(1); ns <= byte(len(app.Namespaces)); ns++ {
		keys := slices.Clone(want[ns])
		slices.SortFunc(keys, func(a, b app.Key) int { return bytes.Compare(b[:], a[:]) }) // newest first
		starts := []app.Key{lastKey}
		for range 5 {
			if len(keys) > 0 {
				k := keys[r.IntN(len(keys))]
				starts = append(starts, k, keyAt(keyNanos(k)+1, 0))
			}
		}
		for _, start := range starts {
			var got []app.Key
			err := walkNamespace(b, ns, start, func(k app.Key) (bool, error) {
				got = append(got, k)
				return true, nil
			}, func(err error) { t.Fatal(err) })
			if err != nil {
				t.Fatal(err)
			}
			var exp []app.Key
			for _, k := range keys {
				if bytes.Compare(k[:], start[:]) < 0 {
					exp = append(exp, k)
				}
			}
			if !slices.Equal(got, exp) {
				t.Fatalf("namespace %d before %x: walked %d keys, want %d", ns, start[:], len(got), len(exp))
			}
		}
	}
}

// Entries join their namespaces' blocks in any order (live traffic at the
// end, an import anywhere, a retry of keys already filed), and leave them
// in any order; a walk from anywhere sees exactly the keys filed.
func TestNamespaceBlocksHoldWhatWasFiledInAnyOrder(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "blocks.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	want := map[byte][]app.Key{}
	seq := uint64(0)
	base := uint64(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := base
	newKey := func(at uint64) nsKey {
		seq++
		return nsKey{byte(1 + r.IntN(len(app.Namespaces))), keyAt(at, seq)}
	}
	for round := range 60 {
		var batch []nsKey
		switch round % 4 {
		case 0, 1: // live traffic: later and later
			for range 1 + r.IntN(1500) {
				now += uint64(r.IntN(3)) * uint64(time.Second)
				batch = append(batch, newKey(now))
			}
		case 2: // an import: anywhere before now, same instants included
			for range 1 + r.IntN(800) {
				batch = append(batch, newKey(base+uint64(r.Int64N(int64(now-base+1)))))
			}
			for i := range min(20, len(batch)) {
				k := batch[i]
				batch = append(batch, nsKey{k.ns, keyAt(keyNanos(k.key), seq+uint64(i)+1)})
			}
			seq += 21
		case 3: // keys filed already, sent again
			for ns, keys := range want {
				for range min(len(keys), 30) {
					batch = append(batch, nsKey{ns, keys[r.IntN(len(keys))]})
				}
			}
		}
		var gone []nsKey
		if round%5 == 4 { // a purge: the oldest, and some anywhere
			for ns, keys := range want {
				slices.SortFunc(keys, func(a, b app.Key) int { return bytes.Compare(a[:], b[:]) })
				for i, k := range keys {
					if i < len(keys)/4 || r.IntN(10) == 0 {
						gone = append(gone, nsKey{ns, k})
					}
				}
			}
		}
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketNSBlocks)
			if err != nil {
				return err
			}
			slices.SortFunc(batch, compareNSKeys)
			batch = slices.Compact(batch)
			if err := addToNSBlocks(b, &unpacker{tx: tx}, batch); err != nil {
				return err
			}
			slices.SortFunc(gone, compareNSKeys)
			return removeFromNSBlocks(b, &unpacker{tx: tx}, gone)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range batch {
			if !slices.Contains(want[k.ns], k.key) {
				want[k.ns] = append(want[k.ns], k.key)
			}
		}
		for _, k := range gone {
			want[k.ns] = slices.DeleteFunc(want[k.ns], func(x app.Key) bool { return x == k.key })
		}
		err = db.View(func(tx *bolt.Tx) error {
			checkNSBlocks(t, tx.Bucket(bucketNSBlocks), want)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, keys := range want {
		total += len(keys)
	}
	if total < 3000 {
		t.Fatalf("only %d keys filed at the end: the test reaches too little", total)
	}
}

// A store of format 5 kept a key per entry for its namespace. Opened, it
// files them in blocks, drops the old bucket, and walks each namespace as
// before.
func TestAStoreWithAKeyPerEntryForItsNamespaceIsWalkedAsBefore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	start := time.Now().Add(-48 * time.Hour)
	for range 4 {
		events := make([]app.Event, 700)
		for i := range events {
			events[i] = app.Event{
				Timestamp: start.Add(time.Duration(r.Int64N(int64(47 * time.Hour)))),
				Namespace: app.Namespaces[r.IntN(len(app.Namespaces))],
				Action:    "thing_done", Actor: "Maya", Detail: fmt.Sprintf("thing %d", i),
			}
		}
		if _, err := s.Commit(context.Background(), app.Commit{Events: events, ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(s *Store, ns app.Namespace) []app.Key {
		var keys []app.Key
		err := s.Walk(context.Background(), app.Range{Namespace: ns}, func(k app.Key, e *app.Event) bool {
			if e.Namespace != ns {
				t.Fatalf("a walk of %s met an entry of %s", ns, e.Namespace)
			}
			keys = append(keys, k)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	before := map[app.Namespace][]app.Key{}
	for _, ns := range app.Namespaces {
		before[ns] = walk(s, ns)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Back to format 5: the keys one by one, no blocks.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		old, err := tx.CreateBucket(bucketByNSKeys)
		if err != nil {
			return err
		}
		blocks := tx.Bucket(bucketNSBlocks)
		err = blocks.ForEachBucket(func(ns []byte) error {
			return blocks.Bucket(ns).ForEach(func(k, v []byte) error {
				keys, err := decodeNSBlock(k, v)
				for _, key := range keys {
					if err == nil {
						err = old.Put(append([]byte{ns[0]}, key[:]...), nil)
					}
				}
				return err
			})
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketNSBlocks); err != nil {
			return err
		}
		return tx.Bucket([]byte(app.StateMeta)).Put(metaFormat, []byte("5"))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	total := 0
	for _, ns := range app.Namespaces {
		got := walk(s, ns)
		if !slices.Equal(got, before[ns]) || len(got) == 0 {
			t.Errorf("%s: %d entries walked, %d before", ns, len(got), len(before[ns]))
		}
		total += len(got)
	}
	if total != 2800 {
		t.Errorf("%d entries walked in all, want 2800", total)
	}
	err = s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketByNSKeys) != nil {
			t.Error("the key per entry is still there")
		}
		if f := string(tx.Bucket([]byte(app.StateMeta)).Get(metaFormat)); f != format {
			t.Errorf("format %q, want %q", f, format)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A block that no longer decodes is passed over by the walk that reaches
// it, as a damaged entry is, and the health check names it: not skipped in
// silence, and not the whole namespace refused. The next entry filed in it
// has it made again from the entries, rather than fail.
func TestADamagedNamespaceBlockIsReportedAndTheRestWalked(t *testing.T) {
	for _, bad := range [][]byte{
		{0x80},       // cut short
		{},           // empty
		{0, 2},       // the first key is not the block's
		{0, 0, 0, 0}, // a key twice
		{0, 0, 0, 1}, // a key before the one before it
	} {
		k := keyAt(1e18, 7)
		if _, err := decodeNSBlock(k[:], bad); err == nil {
			t.Errorf("block %x decodes", bad)
		}
	}
	s := openTemp(t)
	events := make([]app.Event, 300)
	for i := range events {
		events[i] = app.Event{Timestamp: time.Now().Add(time.Duration(i-300) * time.Second), Namespace: app.Users,
			Action: "user_invited", Actor: "Maya", Detail: fmt.Sprintf("invite %d", i)}
	}
	if _, err := s.Commit(context.Background(), app.Commit{Events: events, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var lost int
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNSBlocks).Bucket([]byte{nsCode(app.Users)})
		k, v := b.Cursor().First()
		keys, err := decodeNSBlock(k, v)
		lost = len(keys)
		if err != nil {
			return err
		}
		return b.Put(bytes.Clone(k), []byte{0x80})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("the health check before the walk: %v", err)
	}
	n := 0
	err = s.Walk(context.Background(), app.Range{Namespace: app.Users}, func(app.Key, *app.Event) bool { n++; return true })
	if err != nil || n != len(events)-lost || lost == 0 {
		t.Errorf("a walk over a damaged block of %d keys: %v, %d of %d entries", lost, err, n, len(events))
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), "namespace block") {
		t.Errorf("the health check after the walk: %v, want the block named", err)
	}
	late := events[5]
	late.ID, late.Timestamp, late.Detail = "", late.Timestamp.Add(time.Millisecond), "a late invite"
	if _, err := s.Commit(context.Background(), app.Commit{Events: []app.Event{late}, ReceivedAt: time.Now()}); err != nil {
		t.Fatalf("an entry filed in the damaged block: %v", err)
	}
	n = 0
	err = s.Walk(context.Background(), app.Range{Namespace: app.Users}, func(app.Key, *app.Event) bool { n++; return true })
	if err != nil || n != len(events)+1 {
		t.Errorf("after the block was made again: %v, %d of %d entries", err, n, len(events)+1)
	}
}

// A block whose bytes changed but still decode names other keys than the
// entries': they would be missing from their namespace without a word.
// RepairNamespaces (doctor) finds it by reading the entries, and makes the
// namespace's list again; a second run finds nothing to do.
func TestRepairNamespacesFindsABlockThatNamesOtherKeys(t *testing.T) {
	s := openTemp(t)
	events := make([]app.Event, 500)
	for i := range events {
		events[i] = app.Event{Timestamp: time.Now().Add(time.Duration(i-500) * time.Second), Namespace: app.Namespaces[i%3],
			Action: "thing_done", Actor: "Maya", Detail: fmt.Sprintf("thing %d", i)}
	}
	if _, err := s.Commit(context.Background(), app.Commit{Events: events, ReceivedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	walk := func(ns app.Namespace) int {
		n := 0
		if err := s.Walk(context.Background(), app.Range{Namespace: ns}, func(app.Key, *app.Event) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if repairs, err := s.RepairNamespaces(context.Background()); err != nil || len(repairs) != 0 {
		t.Fatalf("a sound store: %+v, %v", repairs, err)
	}
	want := walk(app.Namespaces[1])
	// One bit of a block's third byte: the second key moves a little in
	// time, to where no entry is, and the rest with it.
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNSBlocks).Bucket([]byte{2})
		k, v := b.Cursor().First()
		v = bytes.Clone(v)
		v[2] ^= 1
		_, err := decodeNSBlock(k, v)
		if err != nil {
			return fmt.Errorf("the changed block does not decode: %w", err)
		}
		return b.Put(bytes.Clone(k), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := walk(app.Namespaces[1]); got >= want {
		t.Fatalf("the changed block still lists %d of %d entries: the test changes nothing", got, want)
	}
	repairs, err := s.RepairNamespaces(context.Background())
	if err != nil || len(repairs) != 1 || repairs[0].Namespace != app.Namespaces[1] || repairs[0].Has != want {
		t.Fatalf("repairs %+v, %v; want %s made again with %d entries", repairs, err, app.Namespaces[1], want)
	}
	for i, ns := range app.Namespaces[:3] {
		if got := walk(ns); got != len(events)/3+boolInt(i < len(events)%3) {
			t.Errorf("%s lists %d entries after the repair", ns, got)
		}
	}
	if repairs, err := s.RepairNamespaces(context.Background()); err != nil || len(repairs) != 0 {
		t.Fatalf("after the repair: %+v, %v", repairs, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
