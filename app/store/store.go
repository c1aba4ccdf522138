// Package store keeps the Audit Log's entries and workspace state in one
// bbolt file: the source of truth behind app.Store. Keys sort by time, so a
// cursor walks newest first; every entry also has a namespace key, an id key,
// a quarter-hour counter and an outbox key, all written in the entry's own
// transaction.
package store

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the store. Keys sort by time so cursors walk newest first.
var (
	bucketEvents = []byte("events")  // Key → event JSON
	bucketByNS   = []byte("by_ns")   // ns code ‖ Key → nil
	bucketIDs    = []byte("ids")     // entry id → Key (idempotent retries, lookups by id)
	bucketOutbox = []byte("outbox")  // Key → nil: recorded, not yet in the keyword index
	bucketTally  = []byte("tally15") // quarter-hour slot(8) ‖ ns code → count(8)
)

// Workspace state lives in one bucket per kind, named after it.
var stateKinds = []app.StateKind{app.StateMeta, app.StateTokens, app.StateNotes}

var entryBuckets = [][]byte{bucketEvents, bucketByNS, bucketIDs, bucketOutbox, bucketTally}

// FileName is the store's file inside the data directory.
const FileName = "auditlog.db"

// lockTimeout bounds how long a second process waits for the data directory:
// it must hear "in use" promptly, not hang.
const lockTimeout = time.Second

// batchBelow: requests with fewer entries than this share commits with
// others arriving together; a larger one already amortizes its own fsync.
const batchBelow = 100

// Store is the bbolt store. It implements app.Store.
type Store struct {
	db *bolt.DB
}

var _ app.Store = (*Store)(nil)

// Open opens (or creates) the store in dir. A second process gets an
// app.ECONFLICT error within lockTimeout instead of waiting.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: unable to create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, app.Errorf(app.ECONFLICT, "the data directory %s is in use by another Audit Log process; stop it or use --data to choose another directory", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	// Concurrent small commits within 2 ms share one; a lone call waits at
	// most that long, little next to the fsync it then makes.
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range entryBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		for _, k := range stateKinds {
			if _, err := tx.CreateBucketIfNotExists([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: unable to create buckets: %w", err)
	}
	if err := db.Update(recountTally); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: unable to count entries: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Check reports whether the store answers.
func (s *Store) Check() error { return s.db.View(func(tx *bolt.Tx) error { return nil }) }

// Commit stores entries and state in one transaction. Small commits arriving
// together share a transaction and an fsync (bbolt's Batch, which may run the
// function twice: its results are set afresh each time).
func (s *Store) Commit(ctx context.Context, c app.Commit) ([]app.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []app.Event
	write := s.db.Batch
	if len(c.Events) >= batchBelow || len(c.State) > 0 {
		write = s.db.Update
	}
	err := write(func(tx *bolt.Tx) error {
		for _, v := range c.State {
			if err := putState(tx, v); err != nil {
				return err
			}
		}
		var err error
		out, err = appendEvents(tx, c.Events, c.ReceivedAt.UTC(), c.Cutoff)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to commit: %w", err)
	}
	return out, nil
}

// CommitAll stores several commits in one transaction, in order, all or
// none: a cluster node applies what its stream delivered at once with one
// fsync instead of one each.
func (s *Store) CommitAll(ctx context.Context, cs []app.Commit) ([][]app.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]app.Event, len(cs))
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, c := range cs {
			for _, v := range c.State {
				if err := putState(tx, v); err != nil {
					return err
				}
			}
			var err error
			if out[i], err = appendEvents(tx, c.Events, c.ReceivedAt.UTC(), c.Cutoff); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to commit: %w", err)
	}
	return out, nil
}

func putState(tx *bolt.Tx, v app.StateValue) error {
	b, err := tx.CreateBucketIfNotExists([]byte(v.Kind))
	if err != nil {
		return err
	}
	if v.Value == nil {
		return b.Delete([]byte(v.Key))
	}
	return b.Put([]byte(v.Key), v.Value)
}

// State returns one piece of workspace state.
func (s *Store) State(ctx context.Context, kind app.StateKind, key string) ([]byte, bool, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(kind)); b != nil {
			out = bytes.Clone(b.Get([]byte(key)))
		}
		return nil
	})
	return out, out != nil, err
}

// States returns every piece of state of one kind, in key order.
func (s *Store) States(ctx context.Context, kind app.StateKind) ([]app.StateValue, error) {
	var out []app.StateValue
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(kind))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out = append(out, app.StateValue{Kind: kind, Key: string(k), Value: bytes.Clone(v)})
			return nil
		})
	})
	return out, err
}

// Get returns the entry with the given id.
func (s *Store) Get(ctx context.Context, id string) (app.Event, bool, error) {
	var e app.Event
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketIDs).Get([]byte(id))
		if k == nil {
			return nil
		}
		var err error
		e, ok, err = getEvent(tx, k)
		return err
	})
	return e, ok, err
}

// Read returns the entries at keys that are still stored.
func (s *Store) Read(ctx context.Context, keys []app.Key) ([]app.Event, []app.Key, error) {
	events := make([]app.Event, 0, len(keys))
	found := make([]app.Key, 0, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, k := range keys {
			e, ok, err := getEvent(tx, k[:])
			if err != nil {
				return err
			}
			if ok {
				events, found = append(events, e), append(found, k)
			}
		}
		return nil
	})
	return events, found, err
}

// lastKey sorts after every key the store holds.
var lastKey = app.Key{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Walk walks r newest first. One namespace walks that namespace's keys only.
func (s *Store) Walk(ctx context.Context, r app.Range, fn func(app.Key, *app.Event) bool) error {
	start := r.Before
	if start == (app.Key{}) {
		start = lastKey
	}
	var prefix []byte
	if r.Namespace != "" {
		prefix = []byte{nsCode(r.Namespace)}
	}
	return s.db.View(func(tx *bolt.Tx) error {
		var c *bolt.Cursor
		if prefix != nil {
			c = tx.Bucket(bucketByNS).Cursor()
		} else {
			c = tx.Bucket(bucketEvents).Cursor()
		}
		// The newest key strictly before start: seek to it, then step back.
		seek := append(append([]byte{}, prefix...), start[:]...)
		k, _ := c.Seek(seek)
		if k == nil {
			k, _ = c.Last()
		}
		if k != nil && bytes.Compare(k, seek) >= 0 {
			k, _ = c.Prev()
		}
		for n := 0; k != nil; k, _ = c.Prev() {
			if prefix != nil {
				if k[0] != prefix[0] {
					break
				}
				k = k[1:]
			}
			var key app.Key
			copy(key[:], k)
			if !r.After.IsZero() && key.Time().Before(r.After) {
				break
			}
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			e, ok, err := getEvent(tx, key[:])
			if err != nil {
				return err
			}
			if ok && !fn(key, &e) {
				return nil
			}
		}
		return nil
	})
}

// Counts sums the counters of the slots [from, to).
func (s *Store) Counts(ctx context.Context, from, to int64, namespaces []app.Namespace, t app.Tally) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTally).Cursor()
		start := make([]byte, 8)
		binary.BigEndian.PutUint64(start, uint64(from))
		for k, v := c.Seek(start); k != nil; k, v = c.Next() {
			slot := int64(binary.BigEndian.Uint64(k[:8]))
			if slot >= to {
				break
			}
			n := nsFromCode(k[8])
			if len(namespaces) > 0 && !containsNS(namespaces, n) {
				continue
			}
			t[app.TallyCell{Slot: slot, Namespace: n}] += int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
}

// Pending returns the oldest entries the index has not confirmed.
func (s *Store) Pending(ctx context.Context, limit int) ([]app.IndexDoc, error) {
	var docs []app.IndexDoc
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		k, _ := c.First()
		var err error
		docs, err = readDocs(tx, c, k, limit)
		return err
	})
	return docs, err
}

// Indexed takes keys out of the outbox.
func (s *Store) Indexed(ctx context.Context, keys []app.Key) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		for _, k := range keys {
			if err := b.Delete(k[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Scan reads stored entries oldest first, after the key after.
func (s *Store) Scan(ctx context.Context, after app.Key, limit int) ([]app.IndexDoc, error) {
	var docs []app.IndexDoc
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		k, _ := c.First()
		if after != (app.Key{}) {
			k, _ = c.Seek(after[:])
			if k != nil && bytes.Equal(k, after[:]) {
				k, _ = c.Next()
			}
		}
		var err error
		docs, err = readDocs(tx, c, k, limit)
		return err
	})
	return docs, err
}

// readDocs reads up to limit entries for the index, from the key k on as the
// cursor c walks. A key whose entry is gone comes back without one.
func readDocs(tx *bolt.Tx, c *bolt.Cursor, k []byte, limit int) ([]app.IndexDoc, error) {
	var docs []app.IndexDoc
	for ; k != nil && len(docs) < limit; k, _ = c.Next() {
		var d app.IndexDoc
		copy(d.Key[:], k)
		e, ok, err := getEvent(tx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			d.Event = &e
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// Len counts the stored entries.
func (s *Store) Len(ctx context.Context) (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	return n, err
}

// Purge deletes up to limit entries older than cutoff in one transaction.
func (s *Store) Purge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	end := app.MakeKey(cutoff, 0)
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		// Collect first, then delete: deleting while iterating can skip keys.
		var keys []app.Key
		var events []app.Event
		c := tx.Bucket(bucketEvents).Cursor()
		for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
			if bytes.Compare(k, end[:]) >= 0 {
				break
			}
			e, ok, err := getEvent(tx, k)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			var key app.Key
			copy(key[:], k)
			keys, events = append(keys, key), append(events, e)
		}
		for i := range keys {
			if err := deleteEvent(tx, keys[i], &events[i]); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge failed: %w", err)
	}
	return n, nil
}

// recountTally fills empty counters from the entries, for a store written
// before the counters had their present form.
func recountTally(tx *bolt.Tx) error {
	if k, _ := tx.Bucket(bucketTally).Cursor().First(); k != nil {
		return nil
	}
	c := tx.Bucket(bucketEvents).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		e, ok, err := getEvent(tx, k)
		if err != nil || !ok {
			return err
		}
		if err := addTally(tx, e.Timestamp, e.Namespace, 1); err != nil {
			return err
		}
	}
	if old := []byte("tally"); tx.Bucket(old) != nil {
		return tx.DeleteBucket(old) // the hourly counters these replace
	}
	return nil
}

// nsCode is the one-byte form of a namespace used in store keys.
func nsCode(n app.Namespace) byte {
	for i, x := range app.Namespaces {
		if x == n {
			return byte(i + 1)
		}
	}
	return 0
}

func nsFromCode(c byte) app.Namespace {
	if c == 0 || int(c) > len(app.Namespaces) {
		return ""
	}
	return app.Namespaces[c-1]
}

func containsNS(list []app.Namespace, n app.Namespace) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

func byNSKey(n app.Namespace, k app.Key) []byte {
	b := make([]byte, 17)
	b[0] = nsCode(n)
	copy(b[1:], k[:])
	return b
}

func tallyKey(ts time.Time, n app.Namespace) []byte {
	b := make([]byte, 9)
	binary.BigEndian.PutUint64(b, uint64(app.SlotOf(ts)))
	b[8] = nsCode(n)
	return b
}

// addTally moves the count of ts's slot and n's namespace by delta.
func addTally(tx *bolt.Tx, ts time.Time, n app.Namespace, delta int64) error {
	b := tx.Bucket(bucketTally)
	k := tallyKey(ts, n)
	var count int64
	if v := b.Get(k); len(v) == 8 {
		count = int64(binary.BigEndian.Uint64(v))
	}
	count += delta
	if count <= 0 {
		return b.Delete(k)
	}
	v := make([]byte, 8)
	binary.BigEndian.PutUint64(v, uint64(count))
	return b.Put(k, v)
}

// idEncoding keeps store-made ids URL-safe and in key (time) order.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

func serverID(k app.Key) string { return idEncoding.EncodeToString(k[:]) }

// getEvent decodes the entry at k; ok is false when there is none (purged).
func getEvent(tx *bolt.Tx, k []byte) (app.Event, bool, error) {
	v := tx.Bucket(bucketEvents).Get(k)
	if v == nil {
		return app.Event{}, false, nil
	}
	var e app.Event
	if err := json.Unmarshal(v, &e); err != nil {
		return app.Event{}, false, fmt.Errorf("store: entry %x is unreadable: %w", k, err)
	}
	return e, true, nil
}

// appendEvents stores already-validated events in tx. An event whose id is
// already stored is not stored again; its existing entry is returned instead.
// An entry past cutoff (expired, not yet purged) does not count as stored.
func appendEvents(tx *bolt.Tx, events []app.Event, receivedAt, cutoff time.Time) ([]app.Event, error) {
	evb, ids := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs)
	out := make([]app.Event, len(events))
	for i, e := range events {
		if e.ID != "" {
			if k := ids.Get([]byte(e.ID)); k != nil {
				existing, ok, err := getEvent(tx, k)
				if err != nil {
					return nil, err
				}
				if ok && !existing.Timestamp.Before(cutoff) {
					out[i] = existing
					continue
				}
			}
		}
		seq, err := evb.NextSequence()
		if err != nil {
			return nil, err
		}
		k := app.MakeKey(e.Timestamp, seq)
		if e.ID == "" {
			e.ID = serverID(k)
		}
		e.ReceivedAt = receivedAt
		v, err := json.Marshal(&e)
		if err != nil {
			return nil, err
		}
		if err := evb.Put(k[:], v); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketByNS).Put(byNSKey(e.Namespace, k), nil); err != nil {
			return nil, err
		}
		if err := ids.Put([]byte(e.ID), k[:]); err != nil {
			return nil, err
		}
		if err := tx.Bucket(bucketOutbox).Put(k[:], nil); err != nil {
			return nil, err
		}
		if err := addTally(tx, e.Timestamp, e.Namespace, 1); err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// deleteEvent removes every trace of the entry at k.
func deleteEvent(tx *bolt.Tx, k app.Key, e *app.Event) error {
	for _, del := range []struct {
		bucket []byte
		key    []byte
	}{
		{bucketEvents, k[:]},
		{bucketByNS, byNSKey(e.Namespace, k)},
		{bucketOutbox, k[:]},
	} {
		if err := tx.Bucket(del.bucket).Delete(del.key); err != nil {
			return err
		}
	}
	// Only drop the id mapping if it still points here: a retry after the purge may have reused it.
	ids := tx.Bucket(bucketIDs)
	if cur := ids.Get([]byte(e.ID)); cur != nil && string(cur) == string(k[:]) {
		if err := ids.Delete([]byte(e.ID)); err != nil {
			return err
		}
	}
	return addTally(tx, e.Timestamp, e.Namespace, -1)
}
