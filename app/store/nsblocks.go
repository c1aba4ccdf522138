package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"auditlog/app"
)

// bucketNSBlocks lists each namespace's entries, for a walk of one
// namespace: in a bucket of its own, named by its code (so that entries in
// time order only ever go at its end, and fill its pages), Key of the
// block's oldest entry → the keys of the block, oldest first
// (encodeNSBlock). It replaces a key per entry (bucketByNSKeys), whose 17
// bytes and bbolt's 16 of bookkeeping made an eighth of the store, and
// whose insert an eighth of the writer's time per entry: a request's
// entries now rewrite a block or two of each of their namespaces instead,
// and an entry takes about eight bytes.
var bucketNSBlocks = []byte("ns_blocks")

// bucketByNSKeys is the key per entry that stores of format 5 and before
// kept for each namespace (ns code ‖ Key → nil); Open turns it into blocks.
var bucketByNSKeys = []byte("by_ns")

// nsBlockMax is how many keys a block holds at most: a block is rewritten
// whole when an entry joins it, and read whole by a walk that reaches it.
// 64 keys take about 400 bytes, ten to a page: a page holds blocks of
// several sizes well.
const nsBlockMax = 64

// nsKey is an entry's key in its namespace.
type nsKey struct {
	ns  byte
	key app.Key
}

func compareNSKeys(a, b nsKey) int {
	if a.ns != b.ns {
		return int(a.ns) - int(b.ns)
	}
	return bytes.Compare(a.key[:], b.key[:])
}

// nsBucket is namespace ns's bucket of blocks, created when create is set;
// nil when there is none. Its keys are the time's: its pages are split
// nearly full, as the other buckets keyed by time are.
func nsBucket(blocks *bolt.Bucket, ns byte, create bool) (b *bolt.Bucket, err error) {
	if create {
		b, err = blocks.CreateBucketIfNotExists([]byte{ns})
	} else {
		b = blocks.Bucket([]byte{ns})
	}
	if b != nil {
		b.FillPercent = appendFill
	}
	return b, err
}

// putNamespace files keys, sorted, as the blocks of namespace ns, which has
// none.
func putNamespace(blocks *bolt.Bucket, ns byte, keys []app.Key) error {
	if len(keys) == 0 {
		return nil
	}
	b, err := nsBucket(blocks, ns, true)
	if err != nil {
		return err
	}
	return putNSBlocks(b, nil, keys)
}

// keysByNamespace lists the keys of the entries from the key from up to to
// (nil: from the first, to the last) by namespace, read from the entries
// themselves; an entry that does not decode is left out.
func keysByNamespace(u *unpacker, from, to []byte) map[byte][]app.Key {
	keys := map[byte][]app.Key{}
	c := u.tx.Bucket(bucketEvents).Cursor()
	k, v := c.First()
	if from != nil {
		k, v = c.Seek(from)
	}
	for ; k != nil && (to == nil || bytes.Compare(k, to) < 0); k, v = c.Next() {
		if e, err := decodeValue(u, v); err == nil && len(k) == len(app.Key{}) {
			ns := nsCode(e.Namespace)
			keys[ns] = append(keys[ns], app.Key(k))
		}
	}
	return keys
}

// encodeNSBlock writes keys, ascending, as each one's distance from the key
// before it (the first: from itself): the nanoseconds later, and the
// sequence number's difference, zigzagged. A namespace's entries in a row
// are seconds apart and were mostly recorded in that order: 5 to 8 bytes.
func encodeNSBlock(keys []app.Key) []byte {
	b := make([]byte, 0, 7*len(keys))
	prev := keys[0]
	for _, k := range keys {
		b = binary.AppendUvarint(b, keyNanos(k)-keyNanos(prev))
		b = binary.AppendVarint(b, int64(k.Seq()-prev.Seq()))
		prev = k
	}
	return b
}

var errNSBlock = errors.New("does not decode")

// decodeNSBlock reads the keys of the block whose key is bk, ascending.
func decodeNSBlock(bk, v []byte) ([]app.Key, error) {
	if len(bk) != len(app.Key{}) {
		return nil, fmt.Errorf("store: namespace block key %x: %w", bk, errNSBlock)
	}
	prev := app.Key(bk)
	keys := make([]app.Key, 0, len(v)/5)
	for len(v) > 0 {
		dt, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, fmt.Errorf("store: namespace block %x: %w", bk, errNSBlock)
		}
		v = v[n:]
		ds, n := binary.Varint(v)
		if n <= 0 {
			return nil, fmt.Errorf("store: namespace block %x: %w", bk, errNSBlock)
		}
		v = v[n:]
		k := keyAt(keyNanos(prev)+dt, prev.Seq()+uint64(ds))
		if len(keys) == 0 && k != prev || len(keys) > 0 && bytes.Compare(k[:], prev[:]) <= 0 {
			return nil, fmt.Errorf("store: namespace block %x: keys out of order: %w", bk, errNSBlock)
		}
		keys = append(keys, k)
		prev = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("store: namespace block %x is empty: %w", bk, errNSBlock)
	}
	return keys, nil
}

// nsBlockAt finds the block of a namespace's bucket b that k belongs in:
// the last that starts at or before k, or else the first, which starts
// after it. bk is nil when b holds no block. next is the key of the block
// after it, nil for none: keys from next on belong there.
func nsBlockAt(b *bolt.Bucket, k app.Key) (bk, bv, next []byte) {
	c := b.Cursor()
	after, afterV := c.Seek(k[:])
	if after != nil && bytes.Equal(after, k[:]) {
		bk, bv = after, afterV
		after, _ = c.Next()
	} else {
		if after == nil {
			bk, bv = c.Last()
		} else {
			bk, bv = c.Prev()
		}
		if bk == nil && after != nil { // k is older than every block: the first
			bk, bv = after, afterV
			c.Seek(after)
			after, _ = c.Next()
		}
	}
	return bytes.Clone(bk), bytes.Clone(bv), bytes.Clone(after)
}

// groupByBlock calls fn for each block of a namespace's bucket b that
// keys, sorted, reach, with the keys the block holds (none: b holds no
// block, bk is nil) and the keys that belong in it. A block that does not
// decode is made again from the entries it lists (rebuildNSBlock), and
// said to be rebuilt, to be written again whatever fn does with it.
func groupByBlock(b *bolt.Bucket, ns byte, u *unpacker, keys []app.Key, fn func(bk []byte, have []app.Key, rebuilt bool, in []app.Key) error) error {
	for len(keys) > 0 {
		bk, bv, next := nsBlockAt(b, keys[0])
		n := len(keys)
		if next != nil {
			n, _ = slices.BinarySearchFunc(keys, app.Key(next), compareKeys)
		}
		var have []app.Key
		rebuilt := false
		if bk != nil {
			var err error
			if have, err = decodeNSBlock(bk, bv); err != nil {
				have, rebuilt = rebuildNSBlock(u, ns, bk, next), true
			}
		}
		if err := fn(bk, have, rebuilt, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// rebuildNSBlock lists the entries of namespace ns from the block key bk up
// to next (nil: to the last), which a block that no longer decodes held,
// from the entries themselves. Its bytes can only have changed on disk; the
// namespace's walk passes it over and the health check names it meanwhile
// (walkNamespace), and the next write that reaches it writes it whole
// again, rather than fail every request that files an entry there.
func rebuildNSBlock(u *unpacker, ns byte, bk, next []byte) []app.Key {
	return keysByNamespace(u, bk, next)[ns]
}

func compareKeys(a, b app.Key) int { return bytes.Compare(a[:], b[:]) }

// putNSBlocks writes keys, ascending, as the blocks of b that replace the
// block bk (nil: none): in as many blocks as nsBlockMax needs, of equal
// size, so that each has room for entries that arrive late.
func putNSBlocks(b *bolt.Bucket, bk []byte, keys []app.Key) error {
	if bk != nil && (len(keys) == 0 || !bytes.Equal(bk, keys[0][:])) {
		if err := b.Delete(bk); err != nil {
			return err
		}
	}
	parts := (len(keys) + nsBlockMax - 1) / nsBlockMax
	for i := range parts {
		part := keys[i*len(keys)/parts : (i+1)*len(keys)/parts]
		if err := b.Put(bytes.Clone(part[0][:]), encodeNSBlock(part)); err != nil {
			return err
		}
	}
	return nil
}

// eachNamespace calls fn with each namespace's run of keys, sorted.
func eachNamespace(keys []nsKey, fn func(ns byte, keys []app.Key) error) error {
	var run []app.Key
	for i := 0; i < len(keys); {
		ns := keys[i].ns
		run = run[:0]
		for ; i < len(keys) && keys[i].ns == ns; i++ {
			run = append(run, keys[i].key)
		}
		if err := fn(ns, run); err != nil {
			return err
		}
	}
	return nil
}

// addToNSBlocks files keys, sorted, in their namespaces' blocks; u reads
// the entries of a block that has to be made again.
func addToNSBlocks(blocks *bolt.Bucket, u *unpacker, keys []nsKey) error {
	return eachNamespace(keys, func(ns byte, keys []app.Key) error {
		b, err := nsBucket(blocks, ns, true)
		if err != nil {
			return err
		}
		return groupByBlock(b, ns, u, keys, func(bk []byte, have []app.Key, _ bool, in []app.Key) error {
			merged := make([]app.Key, 0, len(have)+len(in))
			i, j := 0, 0
			for i < len(have) || j < len(in) {
				switch {
				case j == len(in) || i < len(have) && compareKeys(have[i], in[j]) < 0:
					merged = append(merged, have[i])
					i++
				case i < len(have) && have[i] == in[j]: // filed already
					merged = append(merged, have[i])
					i, j = i+1, j+1
				default:
					merged = append(merged, in[j])
					j++
				}
			}
			return putNSBlocks(b, bk, merged)
		})
	})
}

// removeFromNSBlocks takes keys, sorted, out of their namespaces' blocks;
// u reads the entries of a block that has to be made again.
func removeFromNSBlocks(blocks *bolt.Bucket, u *unpacker, keys []nsKey) error {
	return eachNamespace(keys, func(ns byte, keys []app.Key) error {
		b, err := nsBucket(blocks, ns, false)
		if b == nil || err != nil {
			return err
		}
		return groupByBlock(b, ns, u, keys, func(bk []byte, have []app.Key, rebuilt bool, out []app.Key) error {
			if bk == nil {
				return nil
			}
			kept := slices.DeleteFunc(slices.Clone(have), func(k app.Key) bool {
				_, found := slices.BinarySearchFunc(out, k, compareKeys)
				return found
			})
			if len(kept) == len(have) && !rebuilt {
				return nil
			}
			return putNSBlocks(b, bk, kept)
		})
	})
}

// nsBlocksMissing tells a store that keeps a key per entry of each
// namespace (format 5 and before), which blockNamespaces turns into blocks.
func nsBlocksMissing(tx *bolt.Tx) bool { return tx.Bucket(bucketByNSKeys) != nil }

// blockNamespaces files the keys of the old namespace bucket in blocks and
// deletes it, in one transaction: a store is never left with half of them.
func blockNamespaces(tx *bolt.Tx) error {
	blocks, err := tx.CreateBucketIfNotExists(bucketNSBlocks)
	if err != nil {
		return err
	}
	keys := map[byte][]app.Key{}
	err = tx.Bucket(bucketByNSKeys).ForEach(func(k, _ []byte) error {
		if len(k) == 1+len(app.Key{}) { // anything else is no namespace key: nothing to keep
			keys[k[0]] = append(keys[k[0]], app.Key(k[1:]))
		}
		return nil
	})
	for ns, nsKeys := range keys {
		if err == nil {
			err = putNamespace(blocks, ns, nsKeys)
		}
	}
	if err != nil {
		return err
	}
	return tx.DeleteBucket(bucketByNSKeys)
}

func keyNanos(k app.Key) uint64 { return binary.BigEndian.Uint64(k[:8]) }

func keyAt(nanos, seq uint64) (k app.Key) {
	binary.BigEndian.PutUint64(k[:8], nanos)
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// walkNamespace hands fn the keys of namespace ns strictly before start,
// newest first, while it asks for more. A block that does not decode is
// handed to damaged and passed over, as a damaged entry is: the rest is
// served, and the health check names it.
func walkNamespace(blocks *bolt.Bucket, ns byte, start app.Key, fn func(app.Key) (more bool, err error), damaged func(error)) error {
	b, err := nsBucket(blocks, ns, false)
	if b == nil || err != nil {
		return err
	}
	c := b.Cursor()
	// The block that starts last before start, then those before it.
	k, v := c.Seek(start[:])
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		keys, err := decodeNSBlock(k, v)
		if err != nil {
			damaged(err)
			continue
		}
		for i := len(keys) - 1; i >= 0; i-- {
			if compareKeys(keys[i], start) >= 0 {
				continue
			}
			if more, err := fn(keys[i]); !more || err != nil {
				return err
			}
		}
	}
	return nil
}

// NamespaceRepair is a namespace whose blocks did not list the entries the
// store holds of it, and were made again.
type NamespaceRepair struct {
	Namespace   app.Namespace
	Listed, Has int // keys its blocks listed (those that decoded), entries the store holds
}

// RepairNamespaces compares each namespace's blocks with the entries the
// store holds of it, read one by one, and makes again the blocks of each
// that differs. Bytes changed on disk can leave a block that still decodes
// but names other keys: its entries would be missing from their
// namespace's listing and export without a word. doctor runs it; it reads
// every entry, in one transaction, so that no entry is filed meanwhile.
func (s *Store) RepairNamespaces(ctx context.Context) ([]NamespaceRepair, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	var repairs []NamespaceRepair
	err := s.update("the namespaces' blocks", func(tx *bolt.Tx) error {
		has := keysByNamespace(&unpacker{tx: tx}, nil, nil)
		if err := ctx.Err(); err != nil {
			return err
		}
		blocks := tx.Bucket(bucketNSBlocks)
		for i := range app.Namespaces {
			ns := byte(i + 1)
			var listed []app.Key
			damaged := false
			if b := blocks.Bucket([]byte{ns}); b != nil {
				_ = b.ForEach(func(k, v []byte) error {
					keys, err := decodeNSBlock(k, v)
					listed, damaged = append(listed, keys...), damaged || err != nil
					return nil
				})
			}
			if !damaged && slices.Equal(listed, has[ns]) {
				continue
			}
			repairs = append(repairs, NamespaceRepair{Namespace: app.Namespaces[i], Listed: len(listed), Has: len(has[ns])})
			if blocks.Bucket([]byte{ns}) != nil {
				if err := blocks.DeleteBucket([]byte{ns}); err != nil {
					return err
				}
			}
			if err := putNamespace(blocks, ns, has[ns]); err != nil {
				return err
			}
		}
		if len(repairs) == 0 {
			return errNothingToRepair // nothing written: no commit
		}
		return nil
	})
	if errors.Is(err, errNothingToRepair) {
		err = nil
	}
	return repairs, err
}

var errNothingToRepair = errors.New("nothing to repair")
