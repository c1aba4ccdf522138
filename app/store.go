package app

import (
	"context"
	"time"
)

// Store keeps the entries and the workspace's state durably; it is the source
// of truth, and the keyword index is rebuilt from it. The Log holds one:
// app/store keeps it in a bbolt file. Implementations must be safe for
// concurrent use and copy what they return out of their transactions.
type Store interface {
	// Commit stores c's entries and applies its state changes in one
	// transaction, all or nothing, and returns once that is durable. Each
	// entry is then pending for the index (see Pending). An entry whose ID is
	// already stored is not stored again (unless the stored one is older than
	// c.Cutoff: expired, not yet purged); the stored entry is returned in its
	// place. Entries without an ID get one made from their key.
	Commit(ctx context.Context, c Commit) ([]Event, error)
	// Get returns the entry with the given id; ok is false when there is none.
	Get(ctx context.Context, id string) (e Event, ok bool, err error)
	// Read returns the entries at keys, in that order, leaving out the keys
	// whose entry is gone (purged since the index named them).
	Read(ctx context.Context, keys []Key) ([]Event, []Key, error)
	// Walk calls fn for each entry in r, newest first, until fn returns false.
	Walk(ctx context.Context, r Range, fn func(Key, *Event) bool) error
	// Counts adds up the per-slot counters of the slots [from, to) into t,
	// for the namespaces given (all when none are).
	Counts(ctx context.Context, from, to int64, namespaces []Namespace, t Tally) error
	// CountSlots is Counts adding into c.
	CountSlots(ctx context.Context, from, to int64, namespaces []Namespace, c *SlotCounts) error
	// Pending returns the first limit entries (by sequence number) recorded
	// but not yet confirmed by the index, in key order. A key whose entry is
	// gone comes without one. Entries for the index come without their
	// chain hashes.
	Pending(ctx context.Context, limit int) ([]IndexDoc, error)
	// Indexed confirms that the index holds every entry recorded up to
	// sequence number seq (or that it is gone): Pending returns none of
	// them again.
	Indexed(ctx context.Context, seq uint64) error
	// Scan returns up to limit stored entries oldest first, strictly after
	// the key after (the zero Key: from the oldest), for a rebuild; like
	// Pending's, without their chain hashes.
	Scan(ctx context.Context, after Key, limit int) ([]IndexDoc, error)
	// Len is about how many entries are stored.
	Len(ctx context.Context) (int, error)
	// Purge deletes up to limit entries older than cutoff, oldest first, with
	// every trace of them, and returns how many it deleted.
	Purge(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// ErasePurged erases what the entries purged so far left behind in the
	// store's files, beyond reading them back: what the store keeps of them
	// for its own use (compression dictionaries, say), and their bytes in
	// space it freed but has not yet written over. It does nothing when
	// nothing was purged since it last ran.
	ErasePurged(ctx context.Context, cutoff time.Time) error
	// State returns the value of one piece of workspace state; ok is false
	// when it is not set.
	State(ctx context.Context, kind StateKind, key string) (value []byte, ok bool, err error)
	// States returns every piece of state of one kind.
	States(ctx context.Context, kind StateKind) ([]StateValue, error)
	// Chain calls fn for each link of the chain in recording order, from
	// sequence number from on, until fn returns false.
	Chain(ctx context.Context, from uint64, fn func(*Link) bool) error
	// Head is the chain's newest link.
	Head(ctx context.Context) (ChainHead, error)
	// DropLinks deletes the links up to and including seq, once an anchor
	// (a signed checkpoint every entry up to seq is purged behind) replaces them.
	DropLinks(ctx context.Context, seq uint64) error
	// Check reports whether the store answers.
	Check() error
	Close() error
}

// Commit is one durable change: entries to append and workspace state to set,
// together, so that state and the entry that records its change never part.
type Commit struct {
	Events     []Event      // validated (Normalize)
	ReceivedAt time.Time    // stamped on every new entry
	Cutoff     time.Time    // the retention window's start: an id whose entry is older may be reused
	State      []StateValue // set, or deleted where Value is nil
}

// StateKind names one kind of workspace state (settings, tokens, ...).
type StateKind string

// The kinds of state the Log keeps.
const (
	StateMeta   StateKind = "meta"   // settings, retention, index generation
	StateTokens StateKind = "tokens" // sha256(secret) → token JSON
	StateNotes  StateKind = "notes"  // the app's own bookkeeping (a demo being loaded)
	// StateServiceUsers: service user id → service user JSON.
	StateServiceUsers StateKind = "service_users"
)

// StateKinds lists every kind of state the Log keeps; a new kind belongs
// here too (a cluster copies the ones that are not NodeLocal).
var StateKinds = []StateKind{StateMeta, StateTokens, StateNotes, StateServiceUsers, StateMembers, StateInvites, StateSessions, StateCheckpoints}

// StateValue is one piece of workspace state.
type StateValue struct {
	Kind  StateKind
	Key   string
	Value []byte // nil deletes
}

// NodeLocal reports whether this piece of state describes this copy of the
// log rather than the workspace: the app's own notes, which index generation
// the store has filled, and the checkpoints (and the anchor) this copy signed
// with its own key. A cluster keeps such state on each node instead of
// replicating it.
func (v StateValue) NodeLocal() bool {
	switch v.Kind {
	case StateNotes, StateCheckpoints:
		return true
	case StateMeta:
		return v.Key == metaIndexGeneration || v.Key == metaAnchor || v.Key == metaPurgedBefore
	}
	return false
}

// Range is a part of the store to walk: entries strictly before the key
// Before (the zero Key: from the newest), not older than After (zero:
// unbounded), of one namespace when Namespace is set.
type Range struct {
	Before    Key
	After     time.Time
	Namespace Namespace
}

// Link is one entry's place in the chain, as the store holds it.
type Link struct {
	Seq uint64
	Key Key
	// Canonical is the entry's canonical form (EncodeEntry), or nil once the
	// entry is purged; then Digest stands in for it. It is valid only while
	// the function it is handed to runs.
	Canonical []byte
	Digest    Digest
	PrevHash  Digest // as stored with the entry (zero once purged)
	Hash      Digest // as stored with the entry, or with its digest once purged
	Gone      bool   // the link names an entry the store no longer holds
	// Unreadable says why the entry's stored bytes cannot be read: they were
	// damaged after they were written. Canonical and the hashes are unset.
	Unreadable error
}

// Purged reports whether the entry's content is gone (expired).
func (l *Link) Purged() bool { return l.Canonical == nil && l.Unreadable == nil }

// ChainHead is the newest link of the chain: its sequence number and hash,
// and the newest timestamp among all the entries linked so far.
type ChainHead struct {
	Seq    uint64
	Hash   Digest
	Newest time.Time
}
