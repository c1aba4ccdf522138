package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// The id bucket finds an entry by its id, for idempotent retries and for
// lookups. Its keys are the first 8 bytes of the id's SHA-256 followed by the
// entry's key, with no value: 40 bytes a key with bbolt's header, whatever
// the id. Keyed by the id itself, the bucket cost a 36-character UUID 100
// bytes an entry, and ids that grow with time (store-made ones, ULIDs,
// UUIDv7) left every page half full, as bbolt splits a page in the middle
// and a key that sorts last never comes back to it. Hashed keys spread
// evenly, and the rare ids that share 8 bytes of hash are told apart by the
// entry itself.
const (
	idPrefixLen = 8
	idKeyLen    = idPrefixLen + len(app.Key{})
)

// bucketIDsByValue is the id bucket before ids were hashed: id → Key.
var bucketIDsByValue = []byte("ids")

// putIDKey writes id's key for the entry at k into b, idKeyLen bytes.
func putIDKey(b []byte, id string, k app.Key) {
	h := sha256.Sum256([]byte(id))
	copy(b, h[:idPrefixLen])
	copy(b[idPrefixLen:], k[:])
}

// lookupID returns the key of the newest entry recorded with id. An id sent
// again after its entry expired, but before the purge, is recorded anew, so
// two entries may share an id for a while.
func lookupID(tx *bolt.Tx, id string) (app.Key, bool, error) {
	var prefix [idKeyLen]byte
	putIDKey(prefix[:], id, app.Key{})
	events := tx.Bucket(bucketEvents)
	var found app.Key
	ok := false
	c := tx.Bucket(bucketIDs).Cursor()
	for k, _ := c.Seek(prefix[:idPrefixLen]); k != nil && bytes.HasPrefix(k, prefix[:idPrefixLen]); k, _ = c.Next() {
		v := events.Get(k[idPrefixLen:])
		if v == nil {
			continue
		}
		canonical, _, _, err := splitValue(v, nil)
		var h app.EntryHead
		if err == nil {
			h, err = app.ReadEntryHead(canonical)
		}
		if err != nil {
			return found, false, fmt.Errorf("the entry of %s (key %x) is unreadable: %w", keyTime(k[idPrefixLen:]), k[idPrefixLen:], err)
		}
		if h.ID == id {
			copy(found[:], k[idPrefixLen:]) // keys sort by time: the last is the newest
			ok = true
		}
	}
	return found, ok, nil
}

// hashIDs moves a store written before ids were hashed to the hashed id
// bucket. The old bucket goes in the last transaction; until then a crash
// leaves it whole, and the next start builds the new one again.
func hashIDs(db *bolt.DB) error {
	var pending bool
	err := db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketIDsByValue) == nil {
			return nil
		}
		pending = true
		// Anything here is from an attempt that did not finish.
		if err := tx.DeleteBucket(bucketIDs); err != nil {
			return err
		}
		_, err := tx.CreateBucket(bucketIDs)
		return err
	})
	if err != nil || !pending {
		return err
	}
	// All the new keys, sorted, then written in that order: each
	// transaction appends to the end of the bucket rather than all over it.
	// 24 bytes an entry: 24 MB for a million.
	var keys [][idKeyLen]byte
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIDsByValue).ForEach(func(id, k []byte) error {
			if len(k) != len(app.Key{}) {
				return fmt.Errorf("the id %q maps to %d bytes", id, len(k))
			}
			var b [idKeyLen]byte
			putIDKey(b[:], string(id), app.Key(k))
			keys = append(keys, b)
			return nil
		})
	})
	if err != nil {
		return err
	}
	slices.SortFunc(keys, func(a, b [idKeyLen]byte) int { return bytes.Compare(a[:], b[:]) })
	const step = 100_000
	for len(keys) > 0 || pending {
		n := min(len(keys), step)
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketIDs)
			b.FillPercent = appendFill
			for i := range keys[:n] {
				if err := b.Put(keys[i][:], nil); err != nil {
					return err
				}
			}
			if n == len(keys) {
				pending = false
				return tx.DeleteBucket(bucketIDsByValue)
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
