package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/index"

	bolt "go.etcd.io/bbolt"
)

// These tests record entries through a real Log, stop it, change the store
// file the way someone with access to it could, and verify.

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type chainFixture struct {
	t     *testing.T
	dir   string
	clock *clock
	log   *app.Log
}

func newChainFixture(t *testing.T, entries int) *chainFixture {
	f := &chainFixture{t: t, dir: t.TempDir(), clock: &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}}
	f.open()
	t.Cleanup(f.close)
	var events []app.Event
	for i := range entries {
		events = append(events, app.Event{
			Namespace: app.APITokens, Action: "token_created", Actor: "Maya Chen",
			Detail:    fmt.Sprintf("Created API token \"deploy-%02d\"", i),
			Timestamp: f.clock.Now().Add(-time.Duration(entries-i) * time.Minute),
		})
	}
	if len(events) > 0 {
		if _, err := f.log.Record(context.Background(), events); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *chainFixture) open() {
	f.t.Helper()
	st, err := Open(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	key, err := SigningKey(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	f.log, err = app.Open(app.Config{
		Store: st, Signer: key, Now: f.clock.Now,
		OpenIndex: func() (app.SearchIndex, error) { return index.Open(filepath.Join(f.dir, "index")) },
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *chainFixture) close() {
	if f.log != nil {
		f.log.Close()
		f.log = nil
	}
}

// tamper stops the Log (which signs the head on its way out), changes the
// file, and opens it again.
func (f *chainFixture) tamper(change func(tx *bolt.Tx) error) {
	f.t.Helper()
	f.close()
	db, err := bolt.Open(filepath.Join(f.dir, FileName), 0o600, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := db.Update(change); err != nil {
		f.t.Fatal(err)
	}
	db.Close()
	f.open()
}

func (f *chainFixture) verify() app.Verification {
	f.t.Helper()
	v, err := f.log.Verify(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *chainFixture) wantBreak(kind string, seq uint64) {
	f.t.Helper()
	v := f.verify()
	if v.Break == nil {
		f.t.Fatalf("verification found the chain intact (%+v), want it %s at %d", v, kind, seq)
	}
	if v.Break.Kind != kind || v.Break.Seq != seq {
		f.t.Fatalf("break = %+v, want %s at sequence %d", v.Break, kind, seq)
	}
}

// keyOf is the store key of the entry with sequence number seq.
func keyOf(tx *bolt.Tx, seq uint64) []byte {
	return append([]byte(nil), tx.Bucket(bucketChain).Get(seqKey(seq))[:16]...)
}

func TestAnUntouchedChainVerifiesAndIsSigned(t *testing.T) {
	f := newChainFixture(t, 20)
	f.close()
	f.open() // closing signed the head
	v := f.verify()
	if !v.Intact() || v.Entries != 20 || v.To != 20 || v.Signed != 20 || v.Unsigned != 0 || v.Checkpoints != 1 {
		t.Fatalf("verification = %+v", v)
	}
}

func TestFlippingOneByteOfAnEntryIsFoundAsAnEdit(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error {
		k := keyOf(tx, 7)
		v := append([]byte(nil), tx.Bucket(bucketEvents).Get(k)...)
		i := strings.Index(string(v), "deploy-06")
		v[i] = 'D'
		return tx.Bucket(bucketEvents).Put(k, v)
	})
	f.wantBreak(app.BreakEdited, 7)
}

func TestDeletingAnEntryIsFoundMissing(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error { return tx.Bucket(bucketEvents).Delete(keyOf(tx, 12)) })
	f.wantBreak(app.BreakMissing, 12)
}

func TestDeletingAnEntryWithItsLinkIsFoundMissing(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketEvents).Delete(keyOf(tx, 12)); err != nil {
			return err
		}
		return tx.Bucket(bucketChain).Delete(seqKey(12))
	})
	f.wantBreak(app.BreakMissing, 12)
}

func TestAnEntryPutInFromOutsideIsFoundInserted(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error {
		k := keyOf(tx, 5)
		forged := app.MakeKey(time.Date(2026, 11, 25, 11, 50, 30, 0, time.UTC), 999)
		return tx.Bucket(bucketEvents).Put(forged[:], append([]byte(nil), tx.Bucket(bucketEvents).Get(k)...))
	})
	f.wantBreak(app.BreakInserted, 20)
}

func TestSwappingTwoEntriesIsFoundReordered(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error {
		a, b := keyOf(tx, 4), keyOf(tx, 9)
		ev := tx.Bucket(bucketEvents)
		va, vb := append([]byte(nil), ev.Get(a)...), append([]byte(nil), ev.Get(b)...)
		if err := ev.Put(a, vb); err != nil {
			return err
		}
		return ev.Put(b, va)
	})
	f.wantBreak(app.BreakReordered, 4)
}

func TestCuttingOffTheTailIsFoundMissing(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error {
		// Remove the last three entries and their links, and set the head back,
		// as a careful intruder would.
		for seq := uint64(18); seq <= 20; seq++ {
			if err := tx.Bucket(bucketEvents).Delete(keyOf(tx, seq)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketChain).Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		_, _, hash, _ := (&unpacker{tx: tx}).split(tx.Bucket(bucketEvents).Get(keyOf(tx, 17)))
		h := readHead(tx)
		h.seq, h.hash = 17, hash
		return writeHead(tx, h)
	})
	f.wantBreak(app.BreakMissing, 18)
}

func TestARehashedForgeryIsCaughtByTheSignature(t *testing.T) {
	f := newChainFixture(t, 20)
	f.tamper(func(tx *bolt.Tx) error {
		// Change an entry and hash the whole chain again, links and head: every
		// link is consistent; only the signed checkpoint can tell.
		head := chainHead{}
		for seq := uint64(1); seq <= 20; seq++ {
			k := keyOf(tx, seq)
			canonical, _, _, err := (&unpacker{tx: tx}).split(tx.Bucket(bucketEvents).Get(k))
			if err != nil {
				return err
			}
			e, err := app.DecodeEntry(canonical)
			if err != nil {
				return err
			}
			if seq == 3 {
				e.Actor = "Someone Else"
			}
			if head, err = putEntry(tx, app.Key(k), &e, head); err != nil {
				return err
			}
		}
		return writeHead(tx, head)
	})
	f.wantBreak(app.BreakForged, 20)
}

func TestAPurgedChainStillVerifiesFromItsAnchor(t *testing.T) {
	f := newChainFixture(t, 20)
	ctx := context.Background()
	if _, err := f.log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// A day later more is recorded and signed; then the first entries expire.
	f.clock.Advance(24 * time.Hour)
	if _, err := f.log.Record(ctx, []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: "Invited Bo", Actor: "Maya Chen"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * 24 * time.Hour)
	if n, err := f.log.Purge(); err != nil || n != 20 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	v := f.verify()
	if !v.Intact() || !v.Anchored || v.From != 21 || v.Entries != 1 {
		t.Fatalf("verification after the purge = %+v", v)
	}
	// The anchor cannot be moved past entries that have not expired.
	f.tamper(func(tx *bolt.Tx) error {
		k := binary.BigEndian.AppendUint64(nil, 21)
		return tx.Bucket(bucketChain).Delete(k)
	})
	f.wantBreak(app.BreakMissing, 21)
}

func TestAnOlderStoreIsChainedWhenOpened(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Write entries the way stores did before the chain: JSON values.
	err = s.db.Update(func(tx *bolt.Tx) error {
		for i := range 5 {
			k := app.MakeKey(time.Date(2026, 11, 20, 10, i, 0, 0, time.UTC), uint64(i+1))
			v := fmt.Sprintf(`{"id":"old-%d","timestamp":%q,"namespace":"users","action":"user_invited","detail":"Invited %d","actor":"Maya","received_at":"2026-11-20T10:00:00Z"}`, i, k.Time().Format(time.RFC3339), i)
			if err := tx.Bucket(bucketEvents).Put(k[:], []byte(v)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte(app.StateMeta)).Delete(metaFormat)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seqs []uint64
	err = s.Chain(context.Background(), 1, func(l *app.Link) bool {
		e, err := app.DecodeEntry(l.Canonical)
		if err != nil || e.ID != fmt.Sprintf("old-%d", l.Seq-1) {
			t.Errorf("link %d: %+v, %v", l.Seq, e, err)
		}
		seqs = append(seqs, l.Seq)
		return true
	})
	if err != nil || len(seqs) != 5 {
		t.Fatalf("chain after migration = %v, %v", seqs, err)
	}
}

func TestEntriesPurgedBeforeTheRetentionWasRaisedAreNoBreak(t *testing.T) {
	f := newChainFixture(t, 0)
	ctx := context.Background()
	f.recordLateEntries()
	f.close()
	f.openWithRetention(3 * 24 * time.Hour) // purges as it opens
	if v, err := f.log.VerifyNow(ctx); err != nil || !v.Intact() || v.Purged != 10 {
		t.Fatalf("verification after the purge = %+v, %v", v, err)
	}
	// The retention is raised to 30 days: the purged entries are younger than
	// the new window, but they went under the old one, which a checkpoint signed.
	f.close()
	f.openWithRetention(30 * 24 * time.Hour)
	if v := f.verify(); !v.Intact() || v.Purged != 10 {
		t.Fatalf("verification after raising the retention = %+v", v)
	}
}

// recordLateEntries records a fresh entry, then ten five days old (sent
// late): the old ones expire under a 3-day retention while the fresh one
// keeps the chain's early links (no anchor can pass it), so they leave
// their digests.
func (f *chainFixture) recordLateEntries() {
	f.t.Helper()
	now := f.clock.Now()
	events := []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: "Invited Bo", Actor: "Maya", Timestamp: now}}
	for i := range 10 {
		events = append(events, app.Event{Namespace: app.Users, Action: "user_removed", Detail: fmt.Sprintf("Removed %d", i), Actor: "Maya", Timestamp: now.Add(-5*24*time.Hour + time.Duration(i)*time.Minute)})
	}
	if _, err := f.log.Record(context.Background(), events); err != nil {
		f.t.Fatal(err)
	}
}

func (f *chainFixture) openWithRetention(d time.Duration) { f.openWrapped(d, nil) }

// openWrapped opens the Log with retention d on the store as wrap gives it.
func (f *chainFixture) openWrapped(d time.Duration, wrap func(*Store) app.Store) {
	f.t.Helper()
	opened, err := Open(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	var st app.Store = opened
	if wrap != nil {
		st = wrap(opened)
	}
	key, err := SigningKey(f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	f.log, err = app.Open(app.Config{
		Store: st, Signer: key, Now: f.clock.Now, Retention: d, Operator: "Maya",
		OpenIndex: func() (app.SearchIndex, error) { return index.Open(filepath.Join(f.dir, "index")) },
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// A verification says how far it has got: its last report is the whole
// chain, and no report goes back or past the total.
func TestVerifyingReportsHowFarItHasGot(t *testing.T) {
	s := openTemp(t)
	for b := range 3 {
		if _, err := s.Commit(context.Background(), app.Commit{Events: largeBatch(fmt.Sprintf("p%d", b), 500), ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var reports [][2]int
	v, err := app.VerifyChainReporting(context.Background(), s, nil, time.Now(), func(done, total int) {
		reports = append(reports, [2]int{done, total})
	})
	if err != nil || !v.Intact() || v.Entries != 1500 {
		t.Fatalf("verification = %+v, %v", v, err)
	}
	if len(reports) == 0 || reports[len(reports)-1] != [2]int{1500, 1500} {
		t.Fatalf("reports %v, want the last to be 1500 of 1500", reports)
	}
	for i, r := range reports {
		if r[0] > r[1] || (i > 0 && r[0] < reports[i-1][0]) {
			t.Fatalf("report %d of %v goes back or past its total", i, reports)
		}
	}
}

// cutShort is a store whose purge stops the process, as it were, right
// after its deletes commit: nothing the Log does after them happens.
type cutShort struct{ *Store }

func (c cutShort) Purge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	n, err := c.Store.Purge(ctx, cutoff, limit)
	if err == nil {
		err = errors.New("killed after the deletes")
	}
	return n, err
}

// A purge cut short after its deletes, then a start that finds nothing left
// to purge, must still leave the cutoff noted: raising the retention later
// would otherwise report the purged entries as missing, a break.
func TestAPurgeCutShortAfterItsDeletesIsNoBreakOnceTheRetentionIsRaised(t *testing.T) {
	f := newChainFixture(t, 0)
	f.recordLateEntries()
	f.close()
	f.openWrapped(3*24*time.Hour, func(st *Store) app.Store { return cutShort{st} })
	f.close()
	f.openWithRetention(3 * 24 * time.Hour) // finds nothing left to purge
	f.close()
	f.openWithRetention(30 * 24 * time.Hour)
	if v := f.verify(); !v.Intact() || v.Purged != 10 {
		t.Fatalf("verification after raising the retention = %+v", v)
	}
}
