package app

import (
	"encoding/binary"
	"encoding/hex"
	"time"
)

// Key is an entry's place in the store: its timestamp (unix nanoseconds) and a
// sequence number, both big-endian, so byte order is time order.
type Key [16]byte

// MakeKey builds the key for an entry recorded with sequence number seq.
func MakeKey(ts time.Time, seq uint64) Key {
	var k Key
	binary.BigEndian.PutUint64(k[:8], uint64(ts.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// Time returns the timestamp the key sorts by.
func (k Key) Time() time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))).UTC() }

// Seq returns the sequence number the entry was recorded with.
func (k Key) Seq() uint64 { return binary.BigEndian.Uint64(k[8:]) }

// String is the hex form, which sorts like the key itself; the index uses it as document ID.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ParseKey reads the hex form back.
func ParseKey(s string) (Key, bool) {
	var k Key
	if len(s) != 32 {
		return k, false
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, false
	}
	return k, true
}

// TallySlot is the span a Tally counts in. Every timezone's offset from UTC
// is a whole number of quarter hours (India's +5:30, Nepal's +5:45), so days
// in any workspace timezone are sums of whole slots.
const TallySlot = 15 * time.Minute

const slotSeconds = int64(TallySlot / time.Second)

// SlotOf is the slot that t falls in: unix seconds / 900, rounded down.
func SlotOf(t time.Time) int64 {
	s := t.Unix()
	if s < 0 && s%slotSeconds != 0 {
		return s/slotSeconds - 1
	}
	return s / slotSeconds
}

// TallyCell is one cell of a Tally: a quarter-hour slot and a namespace.
type TallyCell struct {
	Slot      int64
	Namespace Namespace
}

// Start is when the cell's slot begins.
func (c TallyCell) Start() time.Time { return time.Unix(c.Slot*slotSeconds, 0).UTC() }

// Tally counts matching entries per quarter hour and namespace. Both the
// namespace counts and the activity chart are sums over it, in any timezone.
type Tally map[TallyCell]int

// Within narrows the tally to [after, before) (zero bounds are open). It can
// only do so when the bounds fall on whole slots; ok is false otherwise.
func (t Tally) Within(after, before time.Time) (Tally, bool) {
	if !WholeSlots(after, before) {
		return nil, false
	}
	out := Tally{}
	for cell, n := range t {
		start := cell.Start()
		if (!after.IsZero() && start.Before(after)) || (!before.IsZero() && !start.Before(before)) {
			continue
		}
		out[cell] = n
	}
	return out, true
}

// IndexDoc is one entry handed to the index.
type IndexDoc struct {
	Key   Key
	Event *Event
}

// SearchIndex is what the Log needs from a keyword index. The index holds only
// what it needs to answer; the store holds the entries. Implementations must be
// safe for concurrent use.
type SearchIndex interface {
	// Index adds or replaces documents; indexing the same key twice is harmless.
	// When it returns nil the documents are durable. With attended set,
	// someone waits on the log (a read, a write's acknowledgement):
	// indexing runs one batch fewer at a time.
	Index(docs []IndexDoc, attended bool) error
	// Search returns the keys of entries matching every part of q (terms,
	// namespaces, actions, actors, time range), newest first, strictly older than
	// before (the zero Key means from the newest), at most limit of them.
	Search(q *Query, before Key, limit int) ([]Key, error)
	// Tally counts the entries matching q per quarter hour (TallySlot) and
	// namespace, handing each cell's count to add (a cell may come more than
	// once, its counts to be summed). The counts go where the caller keeps
	// them: the page's rows, rather than a map of a month's cells built on
	// every keystroke.
	Tally(q *Query, add func(cell TallyCell, n int)) error
	// DropBefore removes whatever holds only entries older than cutoff.
	DropBefore(cutoff time.Time) error
	// Generation identifies this index's contents: it changes whenever the index
	// was created afresh (first start, deleted or unreadable directory), which
	// tells the Log to rebuild it from the store.
	Generation() string
	// Reset empties the index and gives it a new generation.
	Reset() error
	Close() error
}
