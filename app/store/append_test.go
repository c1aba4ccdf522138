package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// encodeValue is the stored value's layout, written out plainly: existing
// stores and exported proofs depend on it staying byte for byte.
func encodeValue(canonical []byte, prev, hash app.Digest) []byte {
	v := make([]byte, 0, len(canonical)+linksLen)
	return append(append(append(v, canonical...), prev[:]...), hash[:]...)
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
			if got := tx.Bucket(bucketEvents).Get(k); !bytes.Equal(got, encodeValue(canonical, prev, hash)) {
				t.Errorf("value of entry %d =\n%x\nwant\n%x", i, got, encodeValue(canonical, prev, hash))
			}
			if e.PrevHash != hex.EncodeToString(prev[:]) || e.Hash != hex.EncodeToString(hash[:]) {
				t.Errorf("entry %d shows links %s → %s, want %x → %x", i, e.PrevHash, e.Hash, prev, hash)
			}
			if got := tx.Bucket(bucketIDs).Get([]byte(e.ID)); !bytes.Equal(got, k) {
				t.Errorf("id %q → %x, want %x", e.ID, got, k)
			}
			if v := tx.Bucket(bucketByNS).Get(append([]byte{nsCode(e.Namespace)}, k...)); v == nil {
				t.Errorf("entry %d has no namespace key", i)
			}
			if v := tx.Bucket(bucketOutbox).Get(k); v == nil {
				t.Errorf("entry %d is not in the outbox", i)
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
