package app

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the store. Keys sort by time so cursors walk newest first.
var (
	bucketEvents = []byte("events")  // Key → event JSON
	bucketByNS   = []byte("by_ns")   // ns code ‖ Key → nil
	bucketIDs    = []byte("ids")     // entry id → Key (idempotent retries, lookups by id)
	bucketOutbox = []byte("outbox")  // Key → nil: recorded, not yet in the keyword index
	bucketTally  = []byte("tally15") // quarter-hour slot(8) ‖ ns code → count(8)
	bucketMeta   = []byte("meta")    // settings, index generation
	bucketTokens = []byte("tokens")  // sha256(secret) → token JSON
)

var allBuckets = [][]byte{bucketEvents, bucketByNS, bucketIDs, bucketOutbox, bucketTally, bucketMeta, bucketTokens}

// lockTimeout bounds how long a second process waits for the data directory:
// it must hear "in use" promptly, not hang.
const lockTimeout = time.Second

func openDB(dir string) (*bolt.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: unable to create data directory: %w", err)
	}
	path := filepath.Join(dir, "auditlog.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, Errorf(ECONFLICT, "the data directory %s is in use by another Audit Log process; stop it or use --data to choose another directory", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	// Concurrent Record calls within 2 ms share a commit; a lone call waits
	// at most that long, little next to the fsync it then makes.
	db.MaxBatchDelay = 2 * time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
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
	return db, nil
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

// nsCode is the one-byte form of a namespace used in index keys.
func nsCode(n Namespace) byte {
	for i, x := range Namespaces {
		if x == n {
			return byte(i + 1)
		}
	}
	return 0
}

func nsFromCode(c byte) Namespace {
	if c == 0 || int(c) > len(Namespaces) {
		return ""
	}
	return Namespaces[c-1]
}

func byNSKey(n Namespace, k Key) []byte {
	b := make([]byte, 17)
	b[0] = nsCode(n)
	copy(b[1:], k[:])
	return b
}

func tallyKey(ts time.Time, n Namespace) []byte {
	b := make([]byte, 9)
	binary.BigEndian.PutUint64(b, uint64(SlotOf(ts)))
	b[8] = nsCode(n)
	return b
}

// addTally moves the count of ts's slot and n's namespace by delta.
func addTally(tx *bolt.Tx, ts time.Time, n Namespace, delta int64) error {
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

// idEncoding keeps server-made ids URL-safe and in key (time) order.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

func serverID(k Key) string { return idEncoding.EncodeToString(k[:]) }

// Cursors are opaque to clients: the key of the last entry of a page.
func encodeCursor(k Key) string { return base64.RawURLEncoding.EncodeToString(k[:]) }

func decodeCursor(s string) (Key, error) {
	var k Key
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != len(k) {
		return k, Errorf(EINVALID, "cursor is not valid: pass the \"next\" value of a previous page")
	}
	copy(k[:], b)
	return k, nil
}

// getEvent decodes the entry at k; ok is false when there is none (purged).
func getEvent(tx *bolt.Tx, k []byte) (Event, bool, error) {
	v := tx.Bucket(bucketEvents).Get(k)
	if v == nil {
		return Event{}, false, nil
	}
	var e Event
	if err := json.Unmarshal(v, &e); err != nil {
		return Event{}, false, fmt.Errorf("store: entry %x is unreadable: %w", k, err)
	}
	return e, true, nil
}

// appendEvents stores already-validated events in tx. An event whose id is
// already stored is not stored again; its existing entry is returned instead.
// An entry past cutoff (expired, not yet purged) does not count as stored.
func appendEvents(tx *bolt.Tx, events []Event, receivedAt, cutoff time.Time) ([]Event, error) {
	evb, ids := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs)
	out := make([]Event, len(events))
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
		k := MakeKey(e.Timestamp, seq)
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
func deleteEvent(tx *bolt.Tx, k Key, e *Event) error {
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
