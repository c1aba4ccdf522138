package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	bolt "go.etcd.io/bbolt"

	"auditlog/app"
)

// Entry values are compressed one by one, since each is read on its own,
// and an entry of 300 bytes has little to match against itself. What repeats
// is the vocabulary every entry shares: namespace and action names, target
// types, the metadata the server adds, each behind its four-byte length in
// the canonical form. A dictionary of that vocabulary lets an entry's words
// refer to it. S2 (a Snappy successor, from the module the cluster code
// already builds on) was chosen over zstd: on the benchmark's entries it
// saves nearly as much (0.68 of the bytes against zstd's 0.69) at a tenth of
// the CPU to pack and a twelfth to unpack (2.1 and 0.3 µs an entry), and
// packing runs inside the store's single write transaction.

// packedEntry marks a value whose canonical form is packed with S2 and
// dictionary 1. A canonical form starts with its version (1), a value of
// the JSON-era store with '{'.
const packedEntry = 0x81

// dictionaryWords is dictionary 1. Entries packed with it can only be read
// with it: it must never change (TestTheEntryDictionaryNeverChanges). A
// better dictionary gets a new marker, and both are kept.
const dictionaryWords = `
connections data_pipelines data_products spaces users service_users api_tokens
connection data_pipeline data_product space user service_user api_token workspace audit_log invite invitee pipeline member
auditlog_token_fingerprint auditlog_token_id
connection_created connection_updated connection_deleted connection_schema_refreshed connection_invite_consumed
pipeline_created pipeline_modified pipeline_deleted pipeline_executed pipeline_run pipeline_run_finished pipeline_run_failed
data_product_created data_product_updated data_product_deleted data_product_shared data_product_exported
data_product_invite_sent data_product_invite_accepted
space_created space_settings_updated space_member_added space_member_removed space_archived
user_created user_invited user_invite_accepted user_invite_revoked user_removed user_role_changed
user_signed_in user_signed_out user_sign_in_failed
service_user_created service_user_updated service_user_deleted service_user_disabled service_user_key_rotated
service_user_role_changed service_user_permissions_updated
token_created token_revoked token_regenerated token_expired token_scopes_updated
retention_changed integrity_check_failed Anonymous
`

// dictionaryProse is what details are commonly made of, without lengths.
const dictionaryProse = ` created the updated the deleted the changed the renamed the invited to from by with in of and for on was role Viewer Editor Admin Owner`

// dictionary1 is dictionary 1's bytes: each word as the canonical form
// writes a string (its length, then its bytes), then the prose. Its first
// eight bytes are a version byte and zeros, as every entry begins, for the
// first repeat offset to point at.
var dictionary1 = func() []byte {
	d := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for _, w := range strings.Fields(dictionaryWords) {
		d = binary.BigEndian.AppendUint32(d, uint32(len(w)))
		d = append(d, w...)
	}
	return append(d, dictionaryProse...)
}()

var entryDict = s2.MakeDictManual(dictionary1, 0)

// packedLearned marks a value packed with S2 and a dictionary learned from
// the store's own entries, whose number follows as a uvarint. Dictionary 1
// knows the words every workspace shares; what an entry spends most of its
// bytes on is what only this workspace says: its people, its pipelines and
// products, the way its systems phrase details. A dictionary made of a few
// hundred of its own recent entries halves what dictionary 1 leaves (the
// benchmark's month: 211 → 98 bytes an entry with one learned from 5,000
// entries, 91 from 100,000).
const packedLearned = 0x82

// bucketDictionaries holds the learned dictionaries: number(8) → the
// sequence number of the entry it was learned at(8) ‖ its bytes ‖ SHA-256 of
// both. One is never changed while the store lives: entries packed with it
// can only be read with it. It is deleted once no entry is (see
// dropUnusedDictionaries).
var bucketDictionaries = []byte("dictionaries")

// A dictionary is learned once the store has recorded learnFirst entries,
// then again as it grows: each time it has grown by four times what it held
// at the last, and at least every learnEvery entries, so that a workspace's
// changing vocabulary (new people, new pipelines) is learned within about a
// month of the benchmark's traffic. A dictionary is at most 64 KiB: less
// than a tenth of a byte an entry.
const (
	learnFirst = 5000
	learnEvery = 1000000
	learnFrom  = 20000 // the newest entries a dictionary is sampled from
	learnTake  = 512   // how many of them, evenly spread, at most
	learnRetry = 1000  // entries recorded before a learning that found too little is tried again
)

// A dictionary holds the words of the entries it was sampled from, verbatim,
// and lives as long as the entries packed with it: unless both are bounded,
// it keeps a purged entry's actor, detail and address readable in the file
// long after the retention, which promises that expired entries cannot be
// recovered. So a dictionary samples entries of a few hours (sampleWindow)
// and packs no entry later than dictionaryLinger after the oldest it
// sampled; it is deleted once the last entry packed with it is purged. What
// it holds of an entry is then gone at most dictionaryLinger (and the
// purge's hour) after the entry itself. A later entry is packed with a newer
// dictionary, learned when due, or else with dictionary 1. Times are the
// entries' own, not the clock's: an import of last month learns its
// dictionaries as it goes, as live traffic does. At a steady 35,000 entries
// a day the store keeps about 60 dictionaries: 4 MB, 4 bytes an entry.
const (
	sampleWindow     = 12 * time.Hour
	dictionaryLinger = 24 * time.Hour
)

// learnDue tells whether a dictionary is to be learned at sequence number
// seq, the last one having been learned at last (0: none yet).
func learnDue(seq, last uint64) bool {
	if last == 0 {
		return seq >= learnFirst
	}
	return seq-last >= min(4*last, learnEvery)
}

// metaDictionary is the store's account of its learned dictionaries: which
// one entries are packed with now, and when it was learned.
var metaDictionary = []byte("dictionary")

// dictionaryUse is what metaDictionary holds.
type dictionaryUse struct {
	inUse      uint64    // the dictionary entries are packed with; 0: dictionary 1
	highest    uint64    // the highest number learned: numbers are never used twice
	learnedSeq uint64    // the sequence number the newest was learned at
	oldest     time.Time // the time of the oldest entry it sampled
	triedSeq   uint64    // the sequence number learning last found too little at
}

const dictionaryUseLen = 5 * 8

func (d dictionaryUse) encode() []byte {
	v := make([]byte, 0, dictionaryUseLen)
	for _, n := range []uint64{d.inUse, d.highest, d.learnedSeq, uint64(d.oldest.UnixNano()), d.triedSeq} {
		v = binary.BigEndian.AppendUint64(v, n)
	}
	return v
}

// packsUntil is the time of the latest entry the dictionary in use packs.
func (d dictionaryUse) packsUntil() time.Time { return d.oldest.Add(dictionaryLinger) }

// spentBy tells whether a dictionary is in use that can pack no entry at or
// after cutoff: it is to pack nothing more, and to go with its entries.
func (d dictionaryUse) spentBy(cutoff time.Time) bool {
	return d.inUse != 0 && d.packsUntil().Before(cutoff)
}

// readDictionaryUse reads metaDictionary. A store written before it was kept
// packs with its newest dictionary, whose samples' times are unknown: it is
// taken as sampled long ago, so that entries are packed with another.
func readDictionaryUse(tx *bolt.Tx) dictionaryUse {
	if v := tx.Bucket([]byte(app.StateMeta)).Get(metaDictionary); len(v) == dictionaryUseLen {
		n := func(i int) uint64 { return binary.BigEndian.Uint64(v[8*i:]) }
		return dictionaryUse{inUse: n(0), highest: n(1), learnedSeq: n(2), oldest: time.Unix(0, int64(n(3))).UTC(), triedSeq: n(4)}
	}
	d := dictionaryUse{oldest: time.Unix(0, 0).UTC()}
	if k, v := tx.Bucket(bucketDictionaries).Cursor().Last(); len(k) == 8 && len(v) >= 8 {
		d.inUse, d.highest, d.learnedSeq = binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(v)
	}
	return d
}

func putDictionaryUse(tx *bolt.Tx, d dictionaryUse) error {
	return tx.Bucket([]byte(app.StateMeta)).Put(metaDictionary, d.encode())
}

// learned is a learned dictionary, ready to pack or unpack with.
type learned struct {
	number     uint64
	seq        uint64 // the sequence number it was learned at
	dict       *s2.Dict
	packsUntil time.Time // when packing: the latest entry it may pack
}

// builtDictionaries caches the dictionaries built from the store's bytes by
// the SHA-256 of those bytes, which every stored dictionary carries: a
// process builds each once, whichever store (and transaction) it came from,
// and a dictionary learned by a transaction that was then rolled back can
// never be taken for another stored under the same number. Each keeps the
// bytes it was built from, which the file's must still equal: damage to them
// is found while the process runs, not at its next start.
var builtDictionaries struct {
	sync.Mutex
	m map[app.Digest]built
}

type built struct {
	from []byte
	dict *s2.Dict
}

// maxBuiltDictionaries bounds the cache (a built dictionary holds about 100
// KiB); a process with more stores than that builds some again.
const maxBuiltDictionaries = 64

// dictionaryKey is the key of dictionary n.
func dictionaryKey(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// readDictionary reads dictionary number n, stored as v, checking its bytes
// against their hash. A built one is taken from the cache.
func readDictionary(n uint64, v []byte) (*learned, error) {
	if len(v) < 8+s2.MinDictSize+sha256.Size {
		return nil, fmt.Errorf("dictionary %d is damaged: %d bytes", n, len(v))
	}
	body := v[:len(v)-sha256.Size]
	sum := app.Digest(v[len(body):])
	l := &learned{number: n, seq: binary.BigEndian.Uint64(body)}
	builtDictionaries.Lock()
	defer builtDictionaries.Unlock()
	if b, ok := builtDictionaries.m[sum]; ok && bytes.Equal(b.from, body[8:]) {
		l.dict = b.dict
		return l, nil
	}
	if sha256.Sum256(body) != sum {
		return nil, fmt.Errorf("dictionary %d is damaged: its bytes do not match their hash", n)
	}
	// A copy: bbolt's bytes are the mapped file, valid only in the
	// transaction, and the dictionary keeps what it is given.
	from := bytes.Clone(body[8:])
	if l.dict = s2.MakeDictManual(from, 0); l.dict == nil {
		return nil, fmt.Errorf("dictionary %d is damaged: S2 refuses it", n)
	}
	if len(builtDictionaries.m) >= maxBuiltDictionaries {
		clear(builtDictionaries.m)
	}
	if builtDictionaries.m == nil {
		builtDictionaries.m = map[app.Digest]built{}
	}
	builtDictionaries.m[sum] = built{from, l.dict}
	return l, nil
}

// dictionary returns learned dictionary n as tx holds it.
func dictionary(tx *bolt.Tx, n uint64) (*learned, error) {
	var v []byte
	if b := tx.Bucket(bucketDictionaries); b != nil {
		v = b.Get(dictionaryKey(n))
	}
	if v == nil {
		return nil, fmt.Errorf("dictionary %d is missing", n)
	}
	return readDictionary(n, v)
}

// dictionaryToPack returns the dictionary a transaction packs entries with,
// its chain's head being at seq and the latest of its entries at newest: the
// one in use, or one learned now when that is due, or nil (dictionary 1).
// Entries later than its packsUntil are packed with dictionary 1 (see
// batchWriter.putEntry). A dictionary in use that no longer reads is not
// packed with: readers report it, and another is learned in its place.
func dictionaryToPack(tx *bolt.Tx, seq uint64, newest time.Time) (*learned, error) {
	use := readDictionaryUse(tx)
	var inUse *learned
	if use.inUse != 0 {
		if l, err := dictionary(tx, use.inUse); err == nil {
			inUse = l
			inUse.packsUntil = use.packsUntil()
		}
	}
	damaged := use.inUse != 0 && inUse == nil
	due := learnDue(seq, use.learnedSeq) || damaged ||
		(use.learnedSeq != 0 && newest.After(use.packsUntil()) && seq-use.learnedSeq >= learnRetry)
	changed := damaged
	if damaged {
		use.inUse = 0
	}
	if due && (use.triedSeq == 0 || seq-use.triedSeq >= learnRetry || damaged) {
		sample, oldest := sampleEntries(tx)
		// One sampled from no later entries than the one in use would pack
		// no later ones either.
		useful := inUse == nil || oldest.After(use.oldest)
		if useful && len(sample) >= len(dictionary1)+learnAtLeast {
			number := max(use.highest, lastDictionary(tx)) + 1
			v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(sample)+sha256.Size), seq)
			v = append(v, sample...)
			sum := sha256.Sum256(v)
			v = append(v, sum[:]...)
			if err := tx.Bucket(bucketDictionaries).Put(dictionaryKey(number), v); err != nil {
				return nil, err
			}
			use = dictionaryUse{inUse: number, highest: number, learnedSeq: seq, oldest: oldest}
			if err := putDictionaryUse(tx, use); err != nil {
				return nil, err
			}
			l, err := readDictionary(number, v)
			if err == nil {
				l.packsUntil = use.packsUntil()
			}
			return l, err
		}
		use.triedSeq, changed = seq, true // too little to learn from, or nothing later
	}
	if changed {
		return inUse, putDictionaryUse(tx, use)
	}
	return inUse, nil
}

// learnAtLeast is the fewest bytes of entries worth a dictionary: a few
// entries' worth.
const learnAtLeast = 4 << 10

// lastDictionary is the highest number of a stored dictionary (1: none).
func lastDictionary(tx *bolt.Tx) uint64 {
	if k, _ := tx.Bucket(bucketDictionaries).Cursor().Last(); len(k) == 8 {
		return binary.BigEndian.Uint64(k)
	}
	return 1
}

// sampleEntries returns the bytes a dictionary is learned from, and the
// time of the oldest entry they hold: dictionary 1, then the canonical forms
// of up to learnTake of the entries of the newest learnFrom links that are
// at most sampleWindow older than the latest of them, evenly spread (entries
// side by side often come from one system, and say one thing), up to the 64
// KiB S2 allows. Entries purged, or that do not read, are passed over.
func sampleEntries(tx *bolt.Tx) ([]byte, time.Time) {
	var keys []app.Key
	var latest time.Time
	c := tx.Bucket(bucketChain).Cursor()
	visited := 0
	for k, v := c.Last(); k != nil && visited < learnFrom; k, v = c.Prev() {
		visited++
		if len(v) == len(app.Key{}) { // a tombstone (an entry purged) is longer
			keys = append(keys, app.Key(v))
			if t := app.Key(v).Time(); t.After(latest) {
				latest = t
			}
		}
	}
	keys = slices.DeleteFunc(keys, func(k app.Key) bool { return k.Time().Before(latest.Add(-sampleWindow)) })
	sample := append(make([]byte, 0, s2.MaxDictSize), dictionary1...)
	oldest := latest
	events := tx.Bucket(bucketEvents)
	u := unpacker{tx: tx}
	step := max(1, len(keys)/learnTake)
	// Oldest first: the newest entries, likeliest to be echoed, are nearest
	// the end, where S2's offsets to them are shortest.
	for i := len(keys) - 1; i >= 0; i -= step {
		v := events.Get(keys[i][:])
		if v == nil {
			continue
		}
		canonical, _, _, err := u.split(v)
		if err != nil {
			continue // its reader reports it
		}
		if len(sample)+len(canonical) > s2.MaxDictSize {
			break
		}
		sample = append(sample, canonical...)
		if t := keys[i].Time(); t.Before(oldest) {
			oldest = t
		}
	}
	return sample, oldest
}

// packValue returns the body of canonical's stored value: packed with d (nil:
// dictionary 1) in scratch (grown as needed, and returned for the next
// entry) when that is smaller; else canonical itself.
func packValue(canonical, scratch []byte, d *learned) (body, scratchOut []byte) {
	if need := 1 + binary.MaxVarintLen64 + s2.MaxEncodedLen(len(canonical)); cap(scratch) < need {
		scratch = make([]byte, need)
	}
	scratch = scratch[:cap(scratch)]
	var packed []byte
	if d == nil {
		scratch[0] = packedEntry
		packed = entryDict.Encode(scratch[1:], canonical)
		packed = scratch[:1+len(packed)]
	} else {
		scratch[0] = packedLearned
		n := 1 + binary.PutUvarint(scratch[1:], d.number)
		packed = scratch[:n+len(d.dict.Encode(scratch[n:], canonical))]
	}
	if len(packed) >= len(canonical) {
		return canonical, scratch
	}
	return packed, scratch
}

// isPacked tells whether a value's first byte marks it packed.
func isPacked(first byte) bool { return first == packedEntry || first == packedLearned }

// maxUnpacked bounds what a packed value may claim to hold, far above any
// entry (a whole request is at most a few MB): a damaged length must not ask
// for gigabytes.
const maxUnpacked = 16 << 20

// unpacker reads the values of one walk (a drain, a purge, the chain, a
// page) in the transaction tx, its packed ones unpacked into one buffer: a
// canonical form it returns is valid until its next call. An unpacked form
// is the file's own bytes, which must never become that buffer: bbolt maps
// the file read-only.
type unpacker struct {
	tx      *bolt.Tx // where the learned dictionaries are read
	learned *learned // the last one met: a walk's entries mostly share one
	buf     []byte
}

// split parts a value into the canonical form and the two hashes.
func (u *unpacker) split(v []byte) (canonical []byte, prev, hash app.Digest, err error) {
	if len(v) < linksLen+1 {
		return nil, prev, hash, fmt.Errorf("value of %d bytes is too short", len(v))
	}
	n := len(v) - linksLen
	copy(prev[:], v[n:])
	copy(hash[:], v[n+sha256.Size:])
	canonical, err = u.unpack(v[:n])
	return canonical, prev, hash, err
}

// unpack returns the canonical form a value's body holds, unpacked when it
// is packed.
func (u *unpacker) unpack(body []byte) ([]byte, error) {
	if len(body) == 0 || !isPacked(body[0]) {
		return body, nil
	}
	dict, block := entryDict, body[1:]
	if body[0] == packedLearned {
		n, used := binary.Uvarint(block)
		if used <= 0 {
			return nil, fmt.Errorf("packed entry: no dictionary number")
		}
		if u.learned == nil || u.learned.number != n {
			if u.tx == nil {
				return nil, fmt.Errorf("packed entry: dictionary %d is not at hand", n)
			}
			l, err := dictionary(u.tx, n)
			if err != nil {
				return nil, fmt.Errorf("packed entry: %w", err)
			}
			u.learned = l
		}
		dict, block = u.learned.dict, block[used:]
	}
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("packed entry: %w", err)
	}
	if n > maxUnpacked {
		return nil, fmt.Errorf("packed entry: claims %d bytes", n)
	}
	if cap(u.buf) < n {
		u.buf = make([]byte, n)
	}
	out, err := dict.Decode(u.buf[:n], block)
	if err != nil {
		return nil, fmt.Errorf("packed entry: %w", err)
	}
	u.buf = out[:0]
	return out, nil
}

// head reads the head of the entry stored at k as v (see app.ReadEntryHead),
// and its canonical form and hash.
func (u *unpacker) head(k, v []byte) (h app.EntryHead, canonical []byte, hash app.Digest, err error) {
	canonical, _, hash, err = u.split(v)
	if err == nil {
		h, err = app.ReadEntryHead(canonical)
	}
	if err != nil {
		return h, nil, hash, unreadable(k, err)
	}
	return h, canonical, hash, nil
}

// unreadable is the error for the entry at key k that does not read.
func unreadable(k []byte, err error) error {
	return fmt.Errorf("the entry of %s (key %x) is unreadable: %w", keyTime(k), k, err)
}

// dropUnusedDictionaries deletes the learned dictionaries no stored entry is
// packed with any longer, for the entries purged before cutoff to take what a
// dictionary holds of them along. The one in use is kept, unless every entry
// it may pack is before cutoff: it then packs nothing more, and goes too
// once its entries are purged.
// The entries are scanned outside the writer, which commits need; a
// dictionary in use while they were is kept for the next time.
func (s *Store) dropUnusedDictionaries(cutoff time.Time) (int, error) {
	retire := false
	err := s.view(func() string { return "the dictionary in use" }, func(tx *bolt.Tx) error {
		retire = readDictionaryUse(tx).spentBy(cutoff)
		return nil
	})
	if err == nil && retire {
		err = s.update("the dictionary in use", func(tx *bolt.Tx) error {
			use := readDictionaryUse(tx)
			if !use.spentBy(cutoff) {
				return nil
			}
			use.inUse = 0
			return putDictionaryUse(tx, use)
		})
	}
	if err != nil {
		return 0, err
	}
	unused := map[uint64]bool{}
	err = s.view(func() string { return "the entries' dictionaries" }, func(tx *bolt.Tx) error {
		inUse := readDictionaryUse(tx).inUse
		c := tx.Bucket(bucketDictionaries).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) == 8 && binary.BigEndian.Uint64(k) != inUse {
				unused[binary.BigEndian.Uint64(k)] = true
			}
		}
		if len(unused) == 0 {
			return nil
		}
		c = tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(v) > 1 && v[0] == packedLearned {
				n, _ := binary.Uvarint(v[1:])
				delete(unused, n)
			}
		}
		return nil
	})
	if err != nil || len(unused) == 0 {
		return 0, err
	}
	dropped := 0
	err = s.update("the dictionaries no entry uses", func(tx *bolt.Tx) error {
		inUse := readDictionaryUse(tx).inUse
		b := tx.Bucket(bucketDictionaries)
		for n := range unused {
			if n == inUse {
				continue
			}
			if err := b.Delete(dictionaryKey(n)); err != nil {
				return err
			}
			dropped++
		}
		return nil
	})
	return dropped, err
}
