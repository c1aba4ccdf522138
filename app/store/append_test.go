package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// checkValue checks the stored value's layout, written out plainly: the
// canonical form packed with the entry dictionary (s2's own decoder reads it
// back here, not the store's), then the two links.
func checkValue(t *testing.T, got, canonical []byte, prev, hash app.Digest) {
	t.Helper()
	if len(got) < 1+linksLen || got[0] != 0x81 {
		t.Fatalf("value %x is not packed", got)
	}
	body := got[:len(got)-linksLen]
	unpacked, err := entryDict.Decode(nil, body[1:])
	if err != nil || !bytes.Equal(unpacked, canonical) {
		t.Fatalf("value unpacks to %x, %v; want %x", unpacked, err, canonical)
	}
	if len(body) >= len(canonical) {
		t.Errorf("packed to %d bytes from %d", len(body), len(canonical))
	}
	if want := append(prev[:], hash[:]...); !bytes.Equal(got[len(body):], want) {
		t.Errorf("links %x, want %x", got[len(body):], want)
	}
}

// openTemp opens a store in a directory of its own, closed when tb ends.
func openTemp(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// A batch's entries are cut from shared buffers and its counters move once
// per slot: every key and value must still be what one entry at a time
// wrote, and every returned entry must show its own links.
func TestABatchWritesEveryEntryAsOneAtATimeWould(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	ev := func(id string, ns app.Namespace, ago time.Duration) app.Event {
		return app.Event{ID: id, Namespace: ns, Action: "x_done", Detail: "did " + id, Actor: "Maya", Timestamp: now.Add(-ago)}
	}
	withMeta := ev("m", app.Spaces, 20*time.Minute)
	withMeta.Metadata = map[string]string{"b": "2", "a": "1"}
	withMeta.Targets = []app.Target{{Type: "space", Name: "Finance"}}
	batches := [][]app.Event{
		{ev("a", app.Users, time.Hour), ev("", app.Users, time.Hour), withMeta, ev("a", app.Users, 0), ev("b", app.APITokens, 3*time.Hour)},
		{ev("b", app.APITokens, 0), ev("c", app.Users, time.Hour+time.Minute), ev("", app.Connections, 5*time.Minute)},
	}
	var stored []app.Event // in recording order
	seen := map[string]bool{}
	for _, batch := range batches {
		out, err := s.Commit(ctx, app.Commit{Events: batch, ReceivedAt: now})
		if err != nil || len(out) != len(batch) {
			t.Fatalf("Commit = %d, %v", len(out), err)
		}
		for _, e := range out {
			if !seen[e.ID] {
				seen[e.ID] = true
				stored = append(stored, e)
			}
		}
	}
	if len(stored) != 6 {
		t.Fatalf("%d entries stored, want 6 (two repeat an id)", len(stored))
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		var prev app.Digest
		tally := map[string]int{}
		for i, e := range stored {
			if e.Seq != uint64(i+1) {
				t.Errorf("entry %d has seq %d", i, e.Seq)
			}
			k := tx.Bucket(bucketChain).Get(seqKey(e.Seq))
			key := app.MakeKey(e.Timestamp, e.Seq)
			if !bytes.Equal(k, key[:]) {
				t.Fatalf("chain link %d = %x, want %x", e.Seq, k, key)
			}
			canonical := app.EncodeEntry(&e)
			hash := app.ChainHash(prev, canonical)
			checkValue(t, tx.Bucket(bucketEvents).Get(k), canonical, prev, hash)
			if e.PrevHash != hex.EncodeToString(prev[:]) || e.Hash != hex.EncodeToString(hash[:]) {
				t.Errorf("entry %d shows links %s → %s, want %x → %x", i, e.PrevHash, e.Hash, prev, hash)
			}
			got := tx.Bucket(bucketIDs).Get([]byte(e.ID))
			if made := e.ID == serverID(key); made && got != nil || !made && !bytes.Equal(got, k) {
				t.Errorf("id %q filed under %x (the store made it: %v); want %x, or nothing for an id the store made", e.ID, got, made, k)
			}
			if got, _, err := lookupID(&unpacker{tx: tx}, tx.Bucket(bucketIDs).Cursor(), e.ID); err != nil || !bytes.Equal(got, k) {
				t.Errorf("id %q → %x, want %x", e.ID, got, k)
			}
			if !inNSBlocks(t, tx, nsCode(e.Namespace), app.Key(k)) {
				t.Errorf("entry %d has no namespace key", i)
			}
			tally[string(tallyKey(e.Timestamp, e.Namespace))]++
			prev = hash
		}
		if h := readHead(tx); h.seq != 6 || h.hash != prev {
			t.Errorf("head = %d %x, want 6 %x", h.seq, h.hash, prev)
		}
		n := 0
		err := tx.Bucket(bucketTally).ForEach(func(k, v []byte) error {
			n++
			if got := int(binary.BigEndian.Uint64(v)); got != tally[string(k)] {
				t.Errorf("counter %x = %d, want %d", k, got, tally[string(k)])
			}
			return nil
		})
		if n != len(tally) {
			t.Errorf("%d counters, want %d", n, len(tally))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Entries packed with dictionary 1 are read with it for as long as they are
// kept: a change to it would make every one of them unreadable.
func TestTheEntryDictionaryNeverChanges(t *testing.T) {
	const want = "0ca01eb2af11f8ca036928cd4cc5d13942041b564b18cb269bf474d9abb339aa"
	if got := fmt.Sprintf("%x", sha256.Sum256(dictionary1)); got != want {
		t.Fatalf("dictionary 1 is now %s (%d bytes); it must stay %s: make a new dictionary with a new marker instead", got, len(dictionary1), want)
	}
	if entryDict == nil {
		t.Fatal("dictionary 1 was refused")
	}
}

// Stores written before values were packed hold the canonical form as it
// is; those values read as before, beside packed ones. A packed value that is
// damaged is unreadable, never a panic nor a wrong entry.
func TestUnpackedAndDamagedPackedValuesAreReadAsTheyAre(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old := app.Event{ID: "old", Namespace: app.Users, Action: "user_invited", Detail: "Invited Ünal", Actor: "Maya", Timestamp: now.Add(-time.Hour)}
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{old}, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	var key app.Key
	err := s.db.Update(func(tx *bolt.Tx) error {
		copy(key[:], tx.Bucket(bucketIDs).Get([]byte("old")))
		v := tx.Bucket(bucketEvents).Get(key[:])
		canonical, prev, hash, err := (&unpacker{tx: tx}).split(v)
		if err != nil || v[0] != packedEntry {
			t.Fatalf("stored %x: %v", v, err)
		}
		plain := append(append(append([]byte(nil), canonical...), prev[:]...), hash[:]...)
		return tx.Bucket(bucketEvents).Put(key[:], plain)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Get(ctx, "old")
	if err != nil || !ok || got.Detail != old.Detail || got.Hash == "" {
		t.Fatalf("an unpacked value reads as %+v, %v", got, err)
	}
	links := 0
	if err := s.Chain(ctx, 1, func(l *app.Link) bool {
		links++
		if d, _ := app.DecodeEntry(l.Canonical); d.ID != "old" {
			t.Errorf("link %d holds %q", l.Seq, d.ID)
		}
		return true
	}); err != nil || links != 1 {
		t.Fatalf("chain: %d links, %v", links, err)
	}

	e := app.Event{ID: "new", Namespace: app.Users, Action: "user_invited", Detail: "Invited Ada", Actor: "Maya", Timestamp: now}
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{e}, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	var packed []byte
	s.db.View(func(tx *bolt.Tx) error {
		packed = bytes.Clone(tx.Bucket(bucketEvents).Get(tx.Bucket(bucketIDs).Get([]byte("new"))))
		return nil
	})
	body := packed[:len(packed)-linksLen]
	for i := 1; i < len(body); i++ {
		for _, damaged := range [][]byte{body[:i], append(bytes.Clone(body[:i]), 0xff, 0xff, 0xff, 0xff, 0xff)} {
			v := append(append([]byte(nil), damaged...), packed[len(body):]...)
			canonical, _, _, err := (&unpacker{}).split(v)
			if err == nil {
				_, err = app.DecodeEntry(canonical)
			}
			if err == nil {
				t.Fatalf("a packed value cut to %d bytes of %d reads", i, len(body))
			}
		}
	}
	// A purge reads both forms in one pass: the unpacked one first, so its
	// bytes (the file's own) must not become the buffer the next is unpacked into.
	var tombs []app.Digest
	if err := s.Chain(ctx, 1, func(l *app.Link) bool { tombs = append(tombs, sha256.Sum256(l.Canonical)); return true }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(ctx, now.Add(time.Second), 10); err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want both", n, err)
	}
	i := 0
	if err := s.Chain(ctx, 1, func(l *app.Link) bool {
		if !l.Purged() || l.Digest != tombs[i] {
			t.Errorf("link %d after the purge: purged %v, digest %x, want %x", l.Seq, l.Purged(), l.Digest, tombs[i])
		}
		i++
		return true
	}); err != nil || i != 2 {
		t.Fatalf("chain after the purge: %d links, %v", i, err)
	}
}

// An id the store made spells its entry's key and is not filed in the id
// bucket; it is still found, and a retry with it (an export imported again)
// records nothing. An id that merely spells another entry's key is an id
// like any other.
func TestIDsTheStoreMadeAreFoundByTheKeyTheySpell(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	ev := func(id, detail string) app.Event {
		return app.Event{ID: id, Namespace: app.Users, Action: "x_done", Detail: detail, Timestamp: now}
	}
	out, err := s.Commit(ctx, app.Commit{Events: []app.Event{ev("", "made"), ev("x", "client")}, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	made, client := out[0], out[1]
	if e, ok, err := s.Get(ctx, made.ID); err != nil || !ok || e.Seq != made.Seq {
		t.Fatalf("Get(%s) = %d %v %v", made.ID, e.Seq, ok, err)
	}
	again, err := s.Commit(ctx, app.Commit{Events: []app.Event{ev(made.ID, "made, sent again")}, ReceivedAt: now})
	if err != nil || again[0].Seq != made.Seq || again[0].Detail != "made" {
		t.Fatalf("sending %s again: %+v, %v; want the stored entry", made.ID, again[0], err)
	}
	// The client's entry's key, spelled as the store spells ids, and spelled
	// another way (the last character has two spare bits): neither is its id.
	spelled := serverID(app.MakeKey(client.Timestamp, client.Seq))
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	alt := spelled[:25] + string(alphabet[strings.IndexByte(alphabet, spelled[25])|3])
	if alt == spelled {
		t.Fatal("no other spelling")
	}
	for _, id := range []string{spelled, alt} {
		if _, ok, _ := s.Get(ctx, id); ok {
			t.Fatalf("Get(%s) found an entry with another id", id)
		}
		out, err := s.Commit(ctx, app.Commit{Events: []app.Event{ev(id, "new")}, ReceivedAt: now})
		if err != nil || out[0].Seq == client.Seq || out[0].ID != id {
			t.Fatalf("recording %s: %+v, %v; want a new entry", id, out[0], err)
		}
		if e, ok, err := s.Get(ctx, id); err != nil || !ok || e.Seq != out[0].Seq {
			t.Fatalf("Get(%s) after recording it = %d %v %v", id, e.Seq, ok, err)
		}
	}
	if n, _ := s.Len(ctx); n != 4 {
		t.Fatalf("%d entries, want 4", n)
	}
}

// The id bucket's pages are split fuller when a batch's ids go in runs, as
// numbered or time-ordered ids do, and half full when they land anywhere:
// either way the pages end up mostly used.
func TestTheIDBucketFillsItsPagesWhateverTheIDs(t *testing.T) {
	r := mathrand.New(mathrand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		id   func(i int) string
		min  float64
	}{
		{"numbered", func(i int) string { return fmt.Sprintf("order-%d", i) }, 0.8},
		{"random", func(int) string { return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()) }, 0.6},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := openTemp(t)
			now := time.Now().UTC()
			const n = 40_000
			for b := 0; b < n; b += app.MaxBatch {
				batch := make([]app.Event, app.MaxBatch)
				for i := range batch {
					batch[i] = app.Event{ID: c.id(b + i), Namespace: app.Users, Action: "x_done", Timestamp: now.Add(time.Duration(b+i-n) * time.Millisecond)}
				}
				if _, err := s.Commit(context.Background(), app.Commit{Events: batch, ReceivedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			s.db.View(func(tx *bolt.Tx) error {
				st := tx.Bucket(bucketIDs).Stats()
				if fill := float64(st.LeafInuse) / float64(st.LeafAlloc); st.KeyN != n || fill < c.min {
					t.Errorf("%d ids on pages %.2f full; want at least %.2f", st.KeyN, fill, c.min)
				}
				return nil
			})
		})
	}
}

// An id the store made, sent again after its entry expired but before the
// purge, records one new entry, which retries and lookups then find: the id
// bucket, where the new entry is filed, is asked before the expired entry
// the id spells. An unreadable entry there is an error, not a new entry.
func TestAStoreMadeIDSentAgainAfterItsEntryExpiredIsRecordedOnce(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old, err := s.Commit(ctx, app.Commit{Events: []app.Event{{Namespace: app.Users, Action: "x_done", Detail: "old", Timestamp: now.Add(-40 * 24 * time.Hour)}}, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	id := old[0].ID
	cutoff := now.Add(-30 * 24 * time.Hour)
	var seqs []uint64
	for _, detail := range []string{"again", "and again"} {
		out, err := s.Commit(ctx, app.Commit{Events: []app.Event{{ID: id, Namespace: app.Users, Action: "x_done", Detail: detail, Timestamp: now}}, ReceivedAt: now, Cutoff: cutoff})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, out[0].Seq)
	}
	if seqs[0] == old[0].Seq || seqs[1] != seqs[0] {
		t.Fatalf("sent again twice after it expired: seqs %v (the expired one %d); want one new entry", seqs, old[0].Seq)
	}
	if e, ok, err := s.Get(ctx, id); err != nil || !ok || e.Seq != seqs[0] {
		t.Fatalf("Get(%s) = seq %d %v %v; want the new entry %d", id, e.Seq, ok, err, seqs[0])
	}

	made, err := s.Commit(ctx, app.Commit{Events: []app.Event{{Namespace: app.Users, Action: "x_done", Detail: "to damage", Timestamp: now}}, ReceivedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	k := app.MakeKey(made[0].Timestamp, made[0].Seq)
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketEvents).Put(k[:], []byte{packedEntry, 0xff, 0xff}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{{ID: made[0].ID, Namespace: app.Users, Action: "x_done", Timestamp: now}}, ReceivedAt: now}); err == nil {
		t.Fatal("a retry of an id whose entry is unreadable was recorded")
	}
}

// The id bucket has one fill for a whole transaction, which may hold several
// requests: it is chosen from all of their ids.
func TestRequestsSharingATransactionChooseTheIDBucketsFillTogether(t *testing.T) {
	s := openTemp(t)
	now := time.Now().UTC()
	r := mathrand.New(mathrand.NewPCG(3, 4))
	request := func(id func(i int) string) app.Commit {
		c := app.Commit{ReceivedAt: now}
		for i := range 500 {
			c.Events = append(c.Events, app.Event{ID: id(i), Namespace: app.Users, Action: "x_done", Timestamp: now})
		}
		return c
	}
	numbered := func(i int) string { return fmt.Sprintf("n-%04d", i) }
	random := func(int) string { return fmt.Sprintf("%016x", r.Uint64()) }
	for _, c := range []struct {
		name     string
		requests []app.Commit
		want     float64
	}{
		{"numbered", []app.Commit{request(numbered)}, clusteredIDFill},
		{"random", []app.Commit{request(random)}, scatteredIDFill},
		{"numbered, then random", []app.Commit{request(func(i int) string { return "a" + numbered(i) }), request(random)}, scatteredIDFill},
		{"random, then numbered", []app.Commit{request(random), request(func(i int) string { return "b" + numbered(i) })}, scatteredIDFill},
	} {
		err := s.db.Update(func(tx *bolt.Tx) error {
			if _, err := writeCommits(tx, c.requests); err != nil {
				return err
			}
			if got := tx.Bucket(bucketIDs).FillPercent; got != c.want {
				t.Errorf("%s: fill %.2f, want %.2f", c.name, got, c.want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Stores of formats 2 (nothing packed, every id filed), 3 (no learned
// dictionaries), 4 (an outbox) and 5 (a key per entry for its namespace) open and are marked as of this format; one
// of a later format is refused rather than read with its entries taken for
// damage.
func TestAStoreOfALaterFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	setFormat := func(f string) {
		if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(app.StateMeta)).Put(metaFormat, []byte(f)) }); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, older := range []string{"2", "3", "4", "5"} {
		setFormat(older)
		if s, err = Open(dir); err != nil {
			t.Fatalf("a format %s store: %v", older, err)
		}
		s.db.View(func(tx *bolt.Tx) error {
			if got := string(tx.Bucket([]byte(app.StateMeta)).Get(metaFormat)); got != format {
				t.Errorf("format %q after opening, want %q", got, format)
			}
			return nil
		})
	}
	// A later format may keep its buckets otherwise: refused, the file is
	// left as it is, its clean stop remembered.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketNSBlocks) }); err != nil {
		t.Fatal(err)
	}
	setFormat("7")
	before, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(err.Error(), "later version") {
		t.Fatalf("a format 7 store: %v", err)
	}
	if after, err := os.ReadFile(filepath.Join(dir, FileName)); err != nil || !bytes.Equal(before, after) {
		t.Errorf("refusing a format 7 store changed its file (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, cleanMarker)); err != nil {
		t.Errorf("refusing a format 7 store forgot that it was stopped cleanly: %v", err)
	}
}

// A purge that finds nothing to delete writes nothing: the hourly purge of
// a quiet log costs no commit and no fsync.
func TestAPurgeWithNothingExpiredWritesNothing(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := s.Commit(ctx, app.Commit{Events: []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: "Invited Bo", Actor: "Maya", Timestamp: now}}, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	txid := func() int {
		tx, err := s.db.Begin(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		return tx.ID()
	}
	before := txid()
	if n, err := s.Purge(ctx, now.Add(-time.Hour), 10000); err != nil || n != 0 {
		t.Fatalf("purge of nothing = %d, %v", n, err)
	}
	if after := txid(); after != before {
		t.Fatalf("a purge of nothing committed: transaction %d became %d", before, after)
	}
	if n, err := s.Purge(ctx, now.Add(time.Hour), 10000); err != nil || n != 1 {
		t.Fatalf("purge of the entry = %d, %v", n, err)
	}
}
