// Package store keeps the Audit Log's entries and workspace state in one
// bbolt file: the source of truth behind app.Store. Keys sort by time, so a
// cursor walks newest first; every entry also has a namespace key, an id key
// (unless the store made its id, which spells its key), a link in the chain
// and a quarter-hour counter, all written in the entry's own transaction.
package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the store. Keys sort by time so cursors walk newest first.
var (
	bucketEvents = []byte("events")  // Key → canonical form (packed) ‖ prev hash ‖ hash
	bucketIDs    = []byte("ids")     // id a client sent → Key (idempotent retries, lookups by id)
	bucketTally  = []byte("tally15") // quarter-hour slot(8) ‖ ns code → count(8)
	bucketChain  = []byte("chain")   // seq(8) → Key, or Key ‖ digest ‖ hash once purged
)

// Keys of the meta state this package keeps itself.
var (
	metaChainHead = []byte("chain_head") // seq(8) ‖ hash(32) ‖ newest timestamp(8)
	metaFormat    = []byte("format")     // the value encoding; absent: JSON
	metaScrubDue  = []byte("scrub_due")  // set: entries were purged, and their pages not yet blanked
	// seq(8): every entry recorded up to that sequence number is in the
	// keyword index, or gone. What is after it in the chain is the outbox.
	metaIndexedThrough = []byte("indexed_through")
)

// bucketOutbox held a key for each entry not yet in the keyword index, until
// format 5: putting it and deleting it once indexed were two of an entry's
// seven writes to the tree, on bbolt's one writer. The chain already lists
// the entries in the order they were recorded, so a mark in it says as much.
var bucketOutbox = []byte("outbox")

// format 6: values are the canonical form, packed when that makes it
// smaller (with dictionary 1 or one learned from the store's entries), ‖
// prev hash ‖ hash, chained; store-made ids are not filed in the id bucket;
// what the keyword index holds is a mark in the chain, not an outbox; each
// namespace's keys are filed in blocks (bucketNSBlocks).
// Stores of formats 2 (nothing packed, every id filed), 3 (no learned
// dictionaries), 4 (an outbox) and 5 (a key per entry for its namespace)
// are read as they are, and become format 6 when opened: a version that
// reads only an earlier format would misread what is written next. A store
// of a later format is refused rather than misread.
const format = "6"

// olderFormats are the formats this one reads, and brings to its own.
var olderFormats = []string{"2", "3", "4", "5"}

// storeOwn tells whether a piece of meta state is the store's own account of
// this file (the chain's head, the format, the index's mark), kept beside the
// workspace's meta state but not part of it: States leaves it out, and a
// commit never writes it. A cluster copies the workspace's state from node to
// node, and a node given another's chain head or mark would link its next
// entry to the other's chain, or take its index to hold entries it never
// indexed. A cluster's state bucket seeded by an earlier release may hold
// such pieces, copied from some node's file; they are ignored.
func storeOwn(kind app.StateKind, key []byte) bool {
	if kind != app.StateMeta {
		return false
	}
	for _, own := range [][]byte{metaChainHead, metaFormat, metaIndexedThrough, metaDictionary, metaScrubDue} {
		if bytes.Equal(key, own) {
			return true
		}
	}
	return false
}

// Workspace state lives in one bucket per kind, named after it.
var stateKinds = []app.StateKind{app.StateMeta, app.StateTokens, app.StateNotes, app.StateServiceUsers}

var entryBuckets = [][]byte{bucketEvents, bucketNSBlocks, bucketIDs, bucketTally, bucketChain, bucketDictionaries}

// FileName is the store's file inside the data directory.
const FileName = "auditlog.db"

// lockTimeout bounds how long a second process waits for the data directory:
// it must hear "in use" promptly, not hang.
const lockTimeout = time.Second

// batchBelow: requests with fewer entries than this share commits with
// others arriving within bbolt's batch delay; larger ones share a commit
// only with those that queued while another was written (commitGrouped).
const batchBelow = 100

// Store is the bbolt store. It implements app.Store.
type Store struct {
	db   *bolt.DB
	dir  string
	path string

	mu     sync.Mutex
	damage []string // what was found damaged while serving, for the health check
	broken bool     // pages that do not parse were met: no more writes

	// Something was purged since the learned dictionaries were last looked
	// at and the free pages blanked (see Purge); metaScrubDue says so in
	// the file, for a crash in between.
	purgedSince atomic.Bool

	// The read transactions open through view, which a scrub of the free
	// pages holds back for a moment (see ErasePurged).
	readers readGate
	eraseMu sync.Mutex // one ErasePurged at a time

	// Large commits waiting while another is written; see commitGrouped.
	groupMu sync.Mutex
	queue   []*queued
	leading bool // a commit is writing the queue
}

var _ app.Store = (*Store)(nil)

// Exists tells whether dir holds a store, or held one: a store file that
// went missing is a loss to report, not a directory without a log.
func Exists(dir string) bool {
	for _, name := range []string{FileName, existsMarker} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// UncleanStop reports whether the store in dir was last closed without
// notice (a crash, a kill, a power cut), so that Open checks every page of
// it first, and how large the file is: on a slow or cold disk that takes
// seconds, which a person starting the Audit Log should be told of.
func UncleanStop(dir string) (unclean bool, size int64) {
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || info.Size() == 0 {
		return false, 0 // nothing to check: a new store, or one Open refuses
	}
	_, err = os.Stat(filepath.Join(dir, cleanMarker))
	return err != nil, info.Size()
}

// Open opens (or creates) the store in dir. A second process gets an
// app.ECONFLICT error within lockTimeout instead of waiting. A store that
// fails its checks (see checkFile; bbolt's consistency check too when the
// last shutdown was not clean) is refused with an app.EUNAVAILABLE error
// naming the file and what is wrong, before anything is written to it.
func Open(dir string) (*Store, error) { return OpenReporting(dir, nil) }

// OpenReporting is Open, calling checking (if set) with the file's size
// when it begins checking every page after an unclean stop: on a slow disk
// that takes seconds, which a person should be told of. It is called only
// once no other process holds the store, so a second command run beside a
// long one is not told of a check that never happens.
func OpenReporting(dir string, checking func(size int64)) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: unable to create data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	var damaged *Damaged
	exists, err := checkFile(dir)
	if err == nil && exists {
		if unclean, size := UncleanStop(dir); unclean {
			err = checkConsistency(path, func() {
				if checking != nil {
					checking(size)
				}
			})
		}
	}
	if errors.As(err, &damaged) {
		return nil, damaged.asAppError()
	}
	if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, app.Errorf(app.ECONFLICT, "the data directory %s is in use by another Audit Log process; stop it or use --data to choose another directory", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("store: unable to open %s: %w", path, err)
	}
	// A store of a later format is refused before anything is written to
	// it: not a bucket made, not its clean stop forgotten.
	if err := db.View(func(tx *bolt.Tx) error { return laterFormat(tx) }); err != nil {
		db.Close()
		return nil, refusedFormat(path, err)
	}
	// From here on the file may change: until Close says otherwise, the
	// next start checks it.
	if err := os.Remove(filepath.Join(dir, cleanMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	SyncDir(dir)
	// Concurrent small commits within 2 ms share one; a lone call waits at
	// most that long, little next to the fsync it then makes.
	db.MaxBatchDelay = 2 * time.Millisecond
	err = updateIf(db, missingBuckets, func(tx *bolt.Tx) error {
		for _, b := range allBuckets() {
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
	if err := updateIf(db, tallyMissing, recountTally); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: unable to count entries: %w", err)
	}
	if err := migrateToChain(db); err != nil {
		db.Close()
		if _, ok := err.(errLaterFormat); ok {
			return nil, refusedFormat(path, err)
		}
		return nil, fmt.Errorf("store: unable to chain the entries of an older store: %w", err)
	}
	if err := updateIf(db, nsBlocksMissing, blockNamespaces); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: unable to file the namespaces' entries in blocks: %w", err)
	}
	if err := updateIf(db, func(tx *bolt.Tx) bool { return tx.Bucket([]byte(app.StateMeta)).Get(metaIndexedThrough) == nil }, markIndexed); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: unable to mark what the index holds: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, existsMarker)); err != nil {
		if err := writeMarker(dir, existsMarker); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: unable to mark that a log exists here: %w", err)
		}
	}
	s := &Store{db: db, dir: dir, path: path}
	s.readers.cond = sync.NewCond(&s.readers.mu)
	err = db.View(func(tx *bolt.Tx) error {
		s.purgedSince.Store(tx.Bucket([]byte(app.StateMeta)).Get(metaScrubDue) != nil)
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// updateIf runs fn in a write transaction only when needed, asked in a read
// one, says there is something to do: Open's steps that set up or upgrade a
// store change nothing on nearly every start, and a commit that changes
// nothing still writes and syncs the file.
func updateIf(db *bolt.DB, needed func(*bolt.Tx) bool, fn func(*bolt.Tx) error) error {
	var need bool
	if err := db.View(func(tx *bolt.Tx) error { need = needed(tx); return nil }); err != nil || !need {
		return err
	}
	return db.Update(fn)
}

func allBuckets() [][]byte {
	all := slices.Clone(entryBuckets)
	for _, k := range stateKinds {
		all = append(all, []byte(k))
	}
	return all
}

func missingBuckets(tx *bolt.Tx) bool {
	for _, b := range allBuckets() {
		if tx.Bucket(b) == nil {
			return true
		}
	}
	return false
}

// tallyMissing tells a store whose counters are not kept yet (written
// before they were, or emptied), which recountTally then counts.
func tallyMissing(tx *bolt.Tx) bool {
	if counted, _ := tx.Bucket(bucketTally).Cursor().First(); counted != nil {
		return false // and the entries are not read: a damaged page among them is met while serving
	}
	entry, _ := tx.Bucket(bucketEvents).Cursor().First()
	return entry != nil
}

// Close closes the file and notes that it was closed cleanly, which spares
// the next start the full consistency check.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return err
	}
	s.mu.Lock()
	broken := s.broken || len(s.damage) > 0
	s.mu.Unlock()
	if broken {
		return nil // let the next start check it
	}
	// The file is closed whatever happens here; on a full disk the marker
	// may not fit, and the next start merely checks the file.
	_ = writeMarker(s.dir, cleanMarker)
	return nil
}

// Check reports whether the store answers, and any damage met while serving
// (an app.EUNAVAILABLE error naming it), for the health check.
func (s *Store) Check() error {
	s.mu.Lock()
	damage := slices.Clone(s.damage)
	s.mu.Unlock()
	if len(damage) > 0 {
		return &app.Error{Code: app.EUNAVAILABLE, Message: fmt.Sprintf("the store %s is damaged: %s; the rest is served. %s", s.path, strings.Join(damage, "; "), restoreAdvice(s.dir))}
	}
	return s.view(func() string { return "the first page" }, func(tx *bolt.Tx) error { return nil })
}

// maxDamage bounds how many damaged places the health check lists.
const maxDamage = 10

// noteDamage remembers a damaged place for the health check.
func (s *Store) noteDamage(what string, broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = s.broken || broken
	if slices.Contains(s.damage, what) {
		return
	}
	if len(s.damage) < maxDamage {
		s.damage = append(s.damage, what)
	}
}

// view runs fn in a read transaction. A damaged page makes bbolt panic, or
// fault on the mapped file; that becomes an app.EUNAVAILABLE error naming
// where (what where returns), the damage is noted for the health check and
// writes stop, and the rest of the store keeps being served.
func (s *Store) view(where func() string, fn func(tx *bolt.Tx) error) (err error) {
	s.readers.enter()
	defer s.readers.leave()
	tx, err := s.db.Begin(false)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			what := fmt.Sprintf("%s cannot be read (%v)", where(), r)
			s.noteDamage(what, true)
			err = &app.Error{Code: app.EUNAVAILABLE, Message: "the store is damaged: " + what + "; other entries can still be read"}
		}
		_ = tx.Rollback()
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn(tx)
}

// update runs fn in a write transaction, turning a panic over a damaged page
// into an error as view does; bbolt rolls the transaction back.
func (s *Store) update(where string, fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			what := fmt.Sprintf("%s cannot be read (%v)", where, r)
			s.noteDamage(what, true)
			err = &app.Error{Code: app.EUNAVAILABLE, Message: "the store is damaged: " + what}
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return s.db.Update(fn)
}

// writable refuses writes to a store found damaged: writing on top of pages
// that do not parse spreads the damage.
func (s *Store) writable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return &app.Error{Code: app.EUNAVAILABLE, Message: fmt.Sprintf("the store %s is damaged, so nothing more is written to it: %s. %s", s.path, strings.Join(s.damage, "; "), restoreAdvice(s.dir))}
	}
	return nil
}

// entryReader serves the entries of a page, in one transaction, through one
// cursor (Bucket.Get allocates a cursor and its path down the tree for every
// entry, a third of what reading a page of fifty allocated), unpacking each
// into one buffer (app.DecodeEntry copies what it keeps).
type entryReader struct {
	s *Store
	c *bolt.Cursor
	u unpacker
}

func (s *Store) entryReader(tx *bolt.Tx) *entryReader {
	return &entryReader{s: s, c: tx.Bucket(bucketEvents).Cursor(), u: unpacker{tx: tx}}
}

// read serves the entry stored at k; ok is false when there is none
// (purged) or it does not decode.
func (r *entryReader) read(k []byte) (app.Event, bool) {
	at, v := r.c.Seek(k)
	if v == nil || !bytes.Equal(at, k) {
		return app.Event{}, false
	}
	return r.serve(k, v)
}

// serve decodes the value v stored at k for serving: an entry that does not
// decode is noted as damage and left out, so the rest of a page is still
// served.
func (r *entryReader) serve(k, v []byte) (app.Event, bool) {
	e, err := decodeValue(&r.u, v)
	if err != nil {
		r.s.noteDamage(unreadable(k, err).Error(), false)
		return app.Event{}, false
	}
	return e, true
}

// keyTime names a key by its time, as damage reports do.
func keyTime(k []byte) string {
	var key app.Key
	copy(key[:], k)
	return key.Time().Format(time.RFC3339Nano)
}

// Commit stores entries and state in one transaction. Small commits arriving
// together share a transaction and an fsync (bbolt's Batch, which may run the
// function twice: its results are set afresh each time).
func (s *Store) Commit(ctx context.Context, c app.Commit) ([]app.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.writable(); err != nil {
		return nil, err
	}
	if len(c.Events) >= batchBelow && len(c.State) == 0 {
		return s.commitGrouped(c)
	}
	var out []app.Event
	write := s.db.Batch
	if len(c.State) > 0 {
		write = s.db.Update
	}
	err := write(func(tx *bolt.Tx) error {
		outs, err := writeCommits(tx, []app.Commit{c})
		if err == nil {
			out = outs[0]
		}
		return err
	})
	if err != nil {
		return nil, s.writeError(err)
	}
	return out, nil
}

// writeCommits writes cs in tx in order, each commit's state and then its
// entries, and returns each commit's entries.
func writeCommits(tx *bolt.Tx, cs []app.Commit) ([][]app.Event, error) {
	out := make([][]app.Event, len(cs))
	var runs idRuns
	// One dictionary for the transaction, and one reader for the entries
	// its retries are answered with (its dictionaries read once).
	var dict *learned
	if newest, ok := newestEntry(cs); ok {
		var err error
		if dict, err = dictionaryToPack(tx, readHead(tx).seq, newest); err != nil {
			return nil, err
		}
	}
	u := unpacker{tx: tx}
	for i, c := range cs {
		for _, v := range c.State {
			if err := putState(tx, v); err != nil {
				return nil, err
			}
		}
		var err error
		if out[i], err = appendEvents(tx, &u, dict, c.Events, c.ReceivedAt.UTC(), c.Cutoff, &runs); err != nil {
			return nil, err
		}
	}
	tx.Bucket(bucketIDs).FillPercent = runs.fill()
	return out, nil
}

// newestEntry is the time of the latest entry cs record, for the choice of
// dictionary; ok is false when they record none, and need no dictionary.
func newestEntry(cs []app.Commit) (newest time.Time, ok bool) {
	for _, c := range cs {
		for i := range c.Events {
			if t := c.Events[i].Timestamp; !ok || t.After(newest) {
				newest, ok = t, true
			}
		}
	}
	return newest, ok
}

// queued is one large commit waiting for its turn. done hears true once it
// is written (out and err are then set), or false when it is to write the
// queue itself.
type queued struct {
	c    app.Commit
	out  []app.Event
	err  error
	done chan bool
}

// commitGrouped writes a large commit together with the others that arrived
// while the one before was being written, in one transaction and one fsync:
// with several clients sending 1000 entries each, the fsync and the pages
// rewritten at the top of every bucket's tree were paid once per request,
// and the requests waited for each other anyway (bbolt has one writer). No
// commit waits for company: one that finds nobody writing writes at once.
// Every commit still returns only once its own entries are on disk, and if
// the shared transaction fails, each is written alone, so one request's
// failure is not another's.
func (s *Store) commitGrouped(c app.Commit) ([]app.Event, error) {
	q := &queued{c: c, done: make(chan bool, 1)}
	s.groupMu.Lock()
	s.queue = append(s.queue, q)
	if s.leading {
		s.groupMu.Unlock()
		if <-q.done {
			return q.out, q.err
		}
		s.groupMu.Lock() // handed the lead: the queue is ours to write
	}
	s.leading = true
	group := s.queue
	s.queue = nil
	s.groupMu.Unlock()

	// Whatever happens here, even a panic over a damaged page, the lead
	// passes on and every commit of the group hears its fate: none waits
	// for ever.
	defer func() {
		r := recover()
		s.groupMu.Lock()
		if len(s.queue) > 0 {
			s.queue[0].done <- false
		} else {
			s.leading = false
		}
		s.groupMu.Unlock()
		for _, w := range group {
			if w != q {
				if r != nil {
					w.out, w.err = nil, fmt.Errorf("store: unable to commit: %v", r)
				}
				w.done <- true
			}
		}
		if r != nil {
			panic(r)
		}
	}()
	s.writeGroup(group)
	return q.out, q.err
}

// writeGroup writes the commits of group in one transaction, or each in its
// own if that fails.
func (s *Store) writeGroup(group []*queued) {
	cs := make([]app.Commit, len(group))
	for i, w := range group {
		cs[i] = w.c
	}
	var outs [][]app.Event
	err := s.db.Update(func(tx *bolt.Tx) (err error) {
		outs, err = writeCommits(tx, cs)
		return err
	})
	if err == nil {
		for i, w := range group {
			w.out = outs[i]
		}
		return
	}
	if len(group) == 1 {
		group[0].out, group[0].err = nil, s.writeError(err)
		return
	}
	for i, w := range group {
		w.out, w.err = nil, nil
		err := s.db.Update(func(tx *bolt.Tx) (err error) {
			outs, err = writeCommits(tx, cs[i:i+1])
			return err
		})
		if err != nil {
			w.err = s.writeError(err)
		} else {
			w.out = outs[0]
		}
	}
}

// writeError says what a failed write means for the client: a full disk or
// a read-only one is not the app's fault, and nothing was written.
func (s *Store) writeError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return &app.Error{Code: app.ENOSPACE, Message: fmt.Sprintf("the disk holding %s is full: nothing was recorded; send again once space is freed", s.path)}
	case errors.Is(err, syscall.EROFS):
		return &app.Error{Code: app.EUNAVAILABLE, Message: fmt.Sprintf("the disk holding %s is read-only: nothing was recorded", s.path)}
	}
	return fmt.Errorf("store: unable to commit: %w", err)
}

// CommitAll stores several commits in one transaction, in order, all or
// none: a cluster node applies what its stream delivered at once with one
// fsync instead of one each.
func (s *Store) CommitAll(ctx context.Context, cs []app.Commit) ([][]app.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out [][]app.Event
	err := s.db.Update(func(tx *bolt.Tx) (err error) {
		out, err = writeCommits(tx, cs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: unable to commit: %w", err)
	}
	return out, nil
}

func putState(tx *bolt.Tx, v app.StateValue) error {
	if storeOwn(v.Kind, []byte(v.Key)) {
		return nil
	}
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
	err := s.view(func() string { return fmt.Sprintf("the %s state %q", kind, key) }, func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(kind)); b != nil && !storeOwn(kind, []byte(key)) {
			out = bytes.Clone(b.Get([]byte(key)))
		}
		return nil
	})
	return out, out != nil, err
}

// States returns every piece of state of one kind, in key order.
func (s *Store) States(ctx context.Context, kind app.StateKind) ([]app.StateValue, error) {
	var out []app.StateValue
	err := s.view(func() string { return fmt.Sprintf("the %s state", kind) }, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(kind))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if !storeOwn(kind, k) {
				out = append(out, app.StateValue{Kind: kind, Key: string(k), Value: bytes.Clone(v)})
			}
			return nil
		})
	})
	return out, err
}

// Get returns the entry with the given id.
func (s *Store) Get(ctx context.Context, id string) (app.Event, bool, error) {
	var e app.Event
	var ok bool
	err := s.view(func() string { return fmt.Sprintf("the entry with id %q", id) }, func(tx *bolt.Tx) error {
		// An entry that is there but does not decode is said to be
		// unreadable: "no such entry" would hide that the store is damaged.
		damaged := func() error {
			return &app.Error{Code: app.EUNAVAILABLE, Message: fmt.Sprintf("the entry with id %q is in the store but cannot be read: the store is damaged there (see /healthz). %s", id, restoreAdvice(s.dir))}
		}
		k, _, err := lookupID(&unpacker{tx: tx}, tx.Bucket(bucketIDs).Cursor(), id)
		if err != nil {
			s.noteDamage(err.Error(), false)
			return damaged()
		}
		if k == nil {
			return nil
		}
		r := s.entryReader(tx)
		at, v := r.c.Seek(k)
		if v == nil || !bytes.Equal(at, k) {
			return nil // expired, or never stored
		}
		if e, ok = r.serve(k, v); !ok {
			return damaged()
		}
		return nil
	})
	return e, ok, err
}

// Read returns the entries at keys that are still stored.
func (s *Store) Read(ctx context.Context, keys []app.Key) ([]app.Event, []app.Key, error) {
	events := make([]app.Event, 0, len(keys))
	found := make([]app.Key, 0, len(keys))
	var at []byte
	err := s.view(func() string { return "the entry of " + keyTime(at) }, func(tx *bolt.Tx) error {
		r := s.entryReader(tx)
		for _, k := range keys {
			at = k[:]
			e, ok := r.read(k[:])
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

// Walk walks r newest first. One namespace walks that namespace's blocks of
// keys only.
func (s *Store) Walk(ctx context.Context, r app.Range, fn func(app.Key, *app.Event) bool) error {
	start := r.Before
	if start == (app.Key{}) {
		start = lastKey
	}
	at := start[:]
	return s.view(func() string { return "the entries before " + keyTime(at) }, func(tx *bolt.Tx) error {
		entries := s.entryReader(tx)
		n := 0
		// visit hands on the entry at key, or stops the walk: false once
		// fn has had enough, or the range has ended.
		visit := func(key app.Key, e app.Event, ok bool) (bool, error) {
			if !r.After.IsZero() && key.Time().Before(r.After) {
				return false, nil
			}
			if n++; n%4096 == 0 && ctx.Err() != nil {
				return false, ctx.Err()
			}
			at = key[:]
			return !ok || fn(key, &e), nil
		}
		if r.Namespace != "" {
			return walkNamespace(tx.Bucket(bucketNSBlocks), nsCode(r.Namespace), start, func(key app.Key) (bool, error) {
				e, ok := entries.read(key[:])
				return visit(key, e, ok)
			}, func(err error) { s.noteDamage(err.Error(), false) })
		}
		// The newest key strictly before start: seek to it, then step back.
		c := tx.Bucket(bucketEvents).Cursor()
		k, v := c.Seek(start[:])
		if k == nil {
			k, v = c.Last()
		}
		if k != nil && bytes.Compare(k, start[:]) >= 0 {
			k, v = c.Prev()
		}
		for ; k != nil; k, v = c.Prev() {
			key := app.Key(k)
			var e app.Event
			var ok bool
			if v != nil {
				e, ok = entries.serve(key[:], v)
			}
			if more, err := visit(key, e, ok); !more || err != nil {
				return err
			}
		}
		return nil
	})
}

// Counts sums the counters of the slots [from, to).
func (s *Store) Counts(ctx context.Context, from, to int64, namespaces []app.Namespace, t app.Tally) error {
	return s.eachCounter(from, to, namespaces, func(slot int64, n app.Namespace, count int) {
		t[app.TallyCell{Slot: slot, Namespace: n}] += count
	})
}

// CountSlots sums the counters of the slots [from, to) into c.
func (s *Store) CountSlots(ctx context.Context, from, to int64, namespaces []app.Namespace, c *app.SlotCounts) error {
	return s.eachCounter(from, to, namespaces, c.Add)
}

// eachCounter calls fn with each counter of the slots [from, to).
func (s *Store) eachCounter(from, to int64, namespaces []app.Namespace, fn func(slot int64, n app.Namespace, count int)) error {
	return s.view(func() string { return "the quarter-hour counters" }, func(tx *bolt.Tx) error {
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
			fn(slot, n, int(binary.BigEndian.Uint64(v)))
		}
		return nil
	})
}

// Pending returns the first entries recorded after the index's mark, in the
// order of their keys. An entry purged since comes without its event.
func (s *Store) Pending(ctx context.Context, limit int) ([]app.IndexDoc, error) {
	var docs []app.IndexDoc
	var at []byte
	err := s.view(func() string { return "the entries not yet indexed, after " + keyTime(at) }, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketChain).Cursor()
		k, v := c.Seek(seqKey(indexedThrough(tx) + 1))
		next := func() []byte {
			// A link holds its entry's key, followed by the entry's digest
			// and hash once it is purged. One that does not is left out:
			// the index is told it got as far as the links after it, not
			// as far as what a damaged link's bytes would say.
			for ; k != nil && !wellLinked(k, v); k, v = c.Next() {
				s.noteDamage(fmt.Sprintf("link %d is unreadable (%d bytes)", binary.BigEndian.Uint64(k), len(v)), false)
			}
			if k == nil {
				return nil
			}
			key := v[:len(app.Key{})]
			k, v = c.Next()
			return key
		}
		docs = s.readDocs(tx, next, limit, &at)
		return nil
	})
	// Bleve numbers a batch's documents in the order given: in time order,
	// the terms of a quarter hour or a second have their documents side by
	// side, as an import from several clients at once would not.
	slices.SortFunc(docs, func(a, b app.IndexDoc) int { return bytes.Compare(a.Key[:], b.Key[:]) })
	return docs, err
}

// wellLinked tells whether v reads as the link at seqKey k: its entry's key
// (with that sequence number), alone or with the purged entry's digest and
// hash.
func wellLinked(k, v []byte) bool {
	key := len(app.Key{})
	return (len(v) == key || len(v) == key+linksLen) && app.Key(v[:key]).Seq() == binary.BigEndian.Uint64(k)
}

// indexedThrough is the sequence number every entry up to which is in the
// keyword index, or gone (or its link unreadable).
func indexedThrough(tx *bolt.Tx) uint64 {
	if v := tx.Bucket([]byte(app.StateMeta)).Get(metaIndexedThrough); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Indexed moves the index's mark to seq, when that is further on.
func (s *Store) Indexed(ctx context.Context, seq uint64) error {
	if err := s.writable(); err != nil {
		return err
	}
	return s.update("the index's mark", func(tx *bolt.Tx) error {
		if seq <= indexedThrough(tx) {
			return nil
		}
		return tx.Bucket([]byte(app.StateMeta)).Put(metaIndexedThrough, seqKey(seq))
	})
}

// markIndexed sets the index's mark in a store that has none, written before
// format 5: where its outbox says the index had got to, before the first
// entry still in it (those after it that the index held already are indexed
// again, which changes nothing); then the outbox goes.
func markIndexed(tx *bolt.Tx) error {
	meta := tx.Bucket([]byte(app.StateMeta))
	if meta.Get(metaIndexedThrough) != nil {
		return nil
	}
	through := readHead(tx).seq
	if outbox := tx.Bucket(bucketOutbox); outbox != nil {
		err := outbox.ForEach(func(k, _ []byte) error {
			if len(k) == len(app.Key{}) {
				through = min(through, app.Key(k).Seq()-1)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(bucketOutbox); err != nil {
			return err
		}
	}
	return meta.Put(metaIndexedThrough, seqKey(through))
}

// Scan reads stored entries oldest first, after the key after.
func (s *Store) Scan(ctx context.Context, after app.Key, limit int) ([]app.IndexDoc, error) {
	var docs []app.IndexDoc
	at := after[:]
	err := s.view(func() string { return "the entries after " + keyTime(at) }, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		k, _ := c.First()
		if after != (app.Key{}) {
			k, _ = c.Seek(after[:])
			if k != nil && bytes.Equal(k, after[:]) {
				k, _ = c.Next()
			}
		}
		docs = s.readDocs(tx, func() []byte {
			key := k
			k, _ = c.Next()
			return key
		}, limit, &at)
		return nil
	})
	return docs, err
}

// readDocs reads up to limit entries for the index, at the keys next gives
// until it gives nil, noting in at the last key read. A key whose entry is
// gone (or unreadable) comes back without one.
//
// The index has no use for an entry's chain hashes, so they are left out;
// the entries share one slice, and each is unpacked into one buffer, which
// DecodeEntry copies from. A drain reads thousands of entries: with the
// strings of an entry cut from one copy (DecodeEntry), this is 1.7 rather
// than 3.7 µs and 8 rather than 28 allocations an entry (BenchmarkPending).
func (s *Store) readDocs(tx *bolt.Tx, next func() []byte, limit int, at *[]byte) []app.IndexDoc {
	var docs []app.IndexDoc
	var events []app.Event
	u := unpacker{tx: tx}
	stored := tx.Bucket(bucketEvents)
	for k := next(); k != nil && len(docs) < limit; k = next() {
		var d app.IndexDoc
		copy(d.Key[:], k)
		*at = d.Key[:]
		if v := stored.Get(k); v != nil {
			canonical, _, _, err := u.split(v)
			var e app.Event
			if err == nil {
				e, err = app.DecodeEntry(canonical)
			}
			if err != nil {
				s.noteDamage(unreadable(k, err).Error(), false)
			} else {
				if len(events) == cap(events) {
					events = make([]app.Event, 0, min(limit-len(docs), 1024))
				}
				events = append(events, e)
				d.Event = &events[len(events)-1]
			}
		}
		docs = append(docs, d)
	}
	return docs
}

// Len counts the stored entries.
func (s *Store) Len(ctx context.Context) (int, error) {
	var n int
	err := s.view(func() string { return "the entries" }, func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	return n, err
}

// Purge deletes up to limit entries older than cutoff in one transaction,
// and notes in it that what they leave behind is to be erased (see
// ErasePurged).
func (s *Store) Purge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	end := app.MakeKey(cutoff, 0)
	// Most purges (the hourly one of a quiet log, the last call of a long
	// purge) find nothing: they are answered from a read, without a commit
	// and its fsync.
	found := false
	err := s.view(func() string { return "the oldest entry" }, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketEvents).Cursor().First()
		found = k != nil && bytes.Compare(k, end[:]) < 0
		return nil
	})
	if err != nil || !found {
		return 0, err
	}
	n := 0
	err = s.update("the entries older than "+cutoff.UTC().Format(time.RFC3339), func(tx *bolt.Tx) error {
		// Collect first, then delete: deleting while iterating can skip keys.
		var doomed []expired
		u := unpacker{tx: tx}
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil && len(doomed) < limit; k, v = c.Next() {
			if bytes.Compare(k, end[:]) >= 0 {
				break
			}
			h, canonical, hash, err := u.head(k, v)
			if err != nil {
				// An unreadable entry stays, reported, until it is dealt with by hand.
				s.noteDamage(err.Error(), false)
				continue
			}
			// The tombstone keeps the entry's digest and hash.
			x := expired{EntryHead: h, digest: sha256.Sum256(canonical), hash: hash}
			copy(x.key[:], k)
			doomed = append(doomed, x)
		}
		if err := deleteExpired(tx, doomed); err != nil {
			return err
		}
		// A day's entries fall in a few hundred counters: each is moved once.
		counts := map[[9]byte]int64{}
		for i := range doomed {
			counts[tallySlot(doomed[i].Timestamp, doomed[i].Namespace)]--
		}
		for slot, delta := range counts {
			if err := addTallyAt(tx, slot[:], delta); err != nil {
				return err
			}
		}
		n = len(doomed)
		if n > 0 {
			return tx.Bucket([]byte(app.StateMeta)).Put(metaScrubDue, []byte{1})
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge failed: %w", err)
	}
	if n > 0 {
		s.purgedSince.Store(true)
	}
	return n, nil
}

// ErasePurged erases what the entries purged since it last ran left in the
// file: the learned dictionaries only they were packed with, and their bytes
// in the pages they were in, now free (see scrubFreePages). It does nothing
// when nothing was purged and the dictionary in use may still pack entries;
// after a crash it finishes what it did not. While readers keep pages of
// the purged entries, it tries again for a moment, then at the next call.
func (s *Store) ErasePurged(ctx context.Context, cutoff time.Time) error {
	if err := s.writable(); err != nil {
		return err
	}
	// Two purges may end at once (the hourly one, and one after the
	// retention was lowered): one scrub at a time holds the read gate.
	s.eraseMu.Lock()
	defer s.eraseMu.Unlock()
	due := s.purgedSince.Swap(false)
	if !due {
		// A dictionary in use in a store that has gone quiet: its entries
		// were purged, and nothing else will be.
		err := s.view(func() string { return "the dictionary in use" }, func(tx *bolt.Tx) error {
			due = readDictionaryUse(tx).spentBy(cutoff)
			return nil
		})
		if err != nil || !due {
			return err
		}
	}
	if _, err := s.dropUnusedDictionaries(cutoff); err != nil {
		s.purgedSince.Store(true)
		return fmt.Errorf("store: unable to drop the dictionaries of purged entries: %w", err)
	}
	// Pages freed since a reader began are still that reader's, and bbolt
	// does not say which those are: the scrub runs with no reader open. New
	// readers wait for it (a few tens of milliseconds), and open ones are
	// waited for a moment; one that reads for longer (a verification of the
	// whole chain) leaves the scrub to the next purge.
	if !s.readers.closeFor(scrubPatience) {
		s.purgedSince.Store(true)
		return nil
	}
	_, busy, err := s.scrubFreePages(ctx)
	s.readers.open()
	if err != nil || busy {
		s.purgedSince.Store(true) // the next purge tries again
	}
	if err != nil {
		return fmt.Errorf("store: unable to zero the pages purged entries were in: %w", err)
	}
	return nil
}

// scrubPatience is how long a scrub waits for the reads under way to end,
// while new ones wait for it: a page of the log is read in a millisecond
// or two.
const scrubPatience = 100 * time.Millisecond

// readGate counts the read transactions under way, and can hold new ones
// back while those end.
type readGate struct {
	mu     sync.Mutex
	cond   *sync.Cond
	active int
	closed bool
}

func (g *readGate) enter() {
	g.mu.Lock()
	for g.closed {
		g.cond.Wait()
	}
	g.active++
	g.mu.Unlock()
}

func (g *readGate) leave() {
	g.mu.Lock()
	if g.active--; g.active == 0 {
		g.cond.Broadcast()
	}
	g.mu.Unlock()
}

// closeFor holds new readers back and waits up to d for those under way to
// end. When they do not, it lets new ones in again and returns false; when
// they do, it returns true, and open lets new ones in.
func (g *readGate) closeFor(d time.Duration) bool {
	timer := time.AfterFunc(d, func() {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	for g.active > 0 {
		if !time.Now().Before(deadline) {
			g.closed = false
			g.cond.Broadcast()
			return false
		}
		g.cond.Wait()
	}
	return true
}

func (g *readGate) open() {
	g.mu.Lock()
	g.closed = false
	g.cond.Broadcast()
	g.mu.Unlock()
}

// recountTally fills empty counters from the entries, for a store written
// before the counters had their present form.
func recountTally(tx *bolt.Tx) error {
	c := tx.Bucket(bucketEvents).Cursor()
	u := unpacker{tx: tx}
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		e, ok, err := getEvent(&u, k)
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

func tallyKey(ts time.Time, n app.Namespace) []byte {
	k := tallySlot(ts, n)
	return k[:]
}

func tallySlot(ts time.Time, n app.Namespace) [9]byte {
	var b [9]byte
	binary.BigEndian.PutUint64(b[:], uint64(app.SlotOf(ts)))
	b[8] = nsCode(n)
	return b
}

// addTally moves the count of ts's slot and n's namespace by delta.
func addTally(tx *bolt.Tx, ts time.Time, n app.Namespace, delta int64) error {
	return addTallyAt(tx, tallyKey(ts, n), delta)
}

// addTallyAt moves the count at the counter key k by delta.
func addTallyAt(tx *bolt.Tx, k []byte, delta int64) error {
	b := tx.Bucket(bucketTally)
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

// serverIDLen is the length of a store-made id: base32 of a key, unpadded.
const serverIDLen = (len(app.Key{})*8 + 4) / 5

// unclaimedID names an entry whose store-made id a client sent first as
// its own. A store-made id spells the entry's time and sequence number,
// which a client can compute ahead of the store, and the id bucket, asked
// first, would then give the client's entry for both. The entry takes the
// id with the first suffix nobody has sent, and is filed under it.
func unclaimedID(ids *bolt.Bucket, id string) string {
	for n := 2; ; n++ {
		alt := id + "-" + strconv.Itoa(n)
		if ids.Get([]byte(alt)) == nil {
			return alt
		}
	}
}

// keyOfServerID returns the key a store-made id spells, if it is one.
func keyOfServerID(id string) (app.Key, bool) {
	var k app.Key
	if len(id) != idEncoding.EncodedLen(len(k)) {
		return k, false
	}
	n, err := idEncoding.Decode(k[:], []byte(id))
	// Spelled exactly as the store spells it: the last character has bits
	// to spare, which another spelling could set.
	return k, err == nil && n == len(k) && serverID(k) == id
}

// lookupID returns the key of the newest entry recorded with id, or nil;
// and, when the id bucket holds no such id, the bucket's next key after it,
// where id would be filed (nil: at the end). c is a cursor on the id bucket,
// u reads entries in its transaction.
//
// The id bucket holds the ids clients sent. An id the store made spells the
// entry's key and is not filed (for entries sent without an id, filing it
// was a fifth of the store); one sent back, say by importing an export, is
// found at that key, provided the entry there has that very id. The bucket
// is asked first: an id sent again after its entry expired, but before the
// purge, was filed with the new entry, which is the one to find.
func lookupID(u *unpacker, c *bolt.Cursor, id string) (key, next []byte, err error) {
	k, v := c.Seek([]byte(id))
	if k != nil && string(k) == id {
		return v, nil, nil
	}
	if sk, ok := keyOfServerID(id); ok {
		if v := u.tx.Bucket(bucketEvents).Get(sk[:]); v != nil {
			h, _, _, err := u.head(sk[:], v)
			if err != nil {
				return nil, nil, err
			}
			if h.ID == id {
				return sk[:], k, nil
			}
		}
	}
	return nil, k, nil
}

// The id bucket's pages are split half full, bbolt's default, when ids land
// anywhere (random UUIDs): fuller pages would split again at every insert.
// When a request's ids go in runs into the same gaps between the ids already
// filed (ids that grow: ULIDs, UUIDv7, numbered ones), a split page is not
// written again, and half full is half wasted: 92 against 56 bytes an id
// for a million numbered ids in requests of 1000, where random UUIDs would
// take 199 rather than 101 at that fill.
const (
	scatteredIDFill = 0.5
	clusteredIDFill = 0.9
)

// idRuns counts, over a transaction's requests, the ids filed and how many
// of them went just after the id filed before them in their request, or
// into the same gap between filed ids.
type idRuns struct{ filed, inRun int }

func (r *idRuns) add(inRun bool) {
	r.filed++
	if inRun {
		r.inRun++
	}
}

// fill is the fill the id bucket's pages split at in the transaction: for
// ids in runs when two thirds of them are (numbered ids in requests of 1000
// are nine tenths, time-ordered ones all), for ids anywhere otherwise. bbolt
// keeps one handle of a bucket per transaction, so this is set once, for
// all of it.
func (r *idRuns) fill() float64 {
	if r.filed > 1 && 3*r.inRun >= 2*(r.filed-1) {
		return clusteredIDFill
	}
	return scatteredIDFill
}

// getEvent decodes the entry at k, read by u; ok is false when there is none
// (purged).
func getEvent(u *unpacker, k []byte) (app.Event, bool, error) {
	v := u.tx.Bucket(bucketEvents).Get(k)
	if v == nil {
		return app.Event{}, false, nil
	}
	e, err := decodeValue(u, v)
	if err != nil {
		return app.Event{}, false, unreadable(k, err)
	}
	return e, true, nil
}

// A value is the entry's canonical form (packed, or as it is) followed by its
// chain links: the hash of the entry before it and its own. A store written
// before the chain held JSON, which only a migration reads.
const linksLen = 2 * sha256.Size

// decodeValue decodes a stored value; DecodeEntry copies what it keeps of
// the canonical form, which u unpacks into its buffer.
func decodeValue(u *unpacker, v []byte) (app.Event, error) {
	if len(v) > 0 && v[0] == '{' {
		var e app.Event
		err := json.Unmarshal(v, &e)
		return e, err
	}
	canonical, prev, hash, err := u.split(v)
	if err != nil {
		return app.Event{}, err
	}
	e, err := app.DecodeEntry(canonical)
	// Both hashes in one string: one allocation, not two.
	var hexes [4 * sha256.Size]byte
	hex.Encode(hexes[:], prev[:])
	hex.Encode(hexes[2*sha256.Size:], hash[:])
	both := string(hexes[:])
	e.PrevHash, e.Hash = both[:2*sha256.Size], both[2*sha256.Size:]
	return e, err
}

// chainHead is the newest link of the chain, and the newest timestamp of
// every entry linked so far (what a checkpoint vouches has expired once it is
// past the retention).
type chainHead struct {
	seq    uint64
	hash   app.Digest
	newest int64
}

func readHead(tx *bolt.Tx) chainHead {
	var h chainHead
	if v := tx.Bucket([]byte(app.StateMeta)).Get(metaChainHead); len(v) == 48 {
		h.seq = binary.BigEndian.Uint64(v)
		copy(h.hash[:], v[8:40])
		h.newest = int64(binary.BigEndian.Uint64(v[40:]))
	}
	return h
}

func writeHead(tx *bolt.Tx, h chainHead) error {
	v := binary.BigEndian.AppendUint64(nil, h.seq)
	v = append(v, h.hash[:]...)
	v = binary.BigEndian.AppendUint64(v, uint64(h.newest))
	return tx.Bucket([]byte(app.StateMeta)).Put(metaChainHead, v)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// putEntry stores e at key k as the chain's next link after head and
// returns the new head.
func putEntry(tx *bolt.Tx, k app.Key, e *app.Event, head chainHead) (chainHead, error) {
	var w batchWriter
	l, err := w.putEntry(tx.Bucket(bucketEvents), tx.Bucket(bucketChain), k, e, head)
	if err != nil {
		return head, err
	}
	e.PrevHash, e.Hash = hex.EncodeToString(l.prev[:]), hex.EncodeToString(l.hash[:])
	return l.chainHead, nil
}

// batchWriter cuts the keys and values one transaction's appends write from
// a few large buffers rather than allocating a dozen small ones per entry.
// bbolt holds on to what it is given until the transaction ends, so a piece,
// once handed out, is never written again. The buffers are sized for the
// batch (newBatchWriter), up to a limit: a request of one entry does not
// set aside room for a thousand. The zero writer allocates each piece alone.
type batchWriter struct {
	keys, values         []byte
	keyChunk, valueChunk int
	canonical, packed    []byte   // scratch for each entry's forms before its value is cut
	dict                 *learned // what entries are packed with; nil: dictionary 1
}

// newBatchWriter sizes a writer's buffers for events.
func newBatchWriter(events []app.Event) batchWriter {
	var w batchWriter
	for i := range events {
		w.valueChunk += app.EntryLen(&events[i]) + linksLen
		// The id a client sent, the namespace key and the entry's key with
		// its sequence number.
		w.keyChunk += len(events[i].ID) + 1 + 16 + 16 + 8
	}
	w.keyChunk, w.valueChunk = min(w.keyChunk, 32<<10), min(w.valueChunk, 256<<10)
	return w
}

// take returns n fresh bytes from *buf, starting a new buffer of at least
// chunk bytes when it is full; the old one stays with the pieces cut from it.
func take(buf *[]byte, n, chunk int) []byte {
	if cap(*buf)-len(*buf) < n {
		*buf = make([]byte, 0, max(n, chunk))
	}
	at := len(*buf)
	*buf = (*buf)[:at+n]
	return (*buf)[at : at+n : at+n]
}

// linked is a chain head with the hash it was linked after.
type linked struct {
	chainHead
	prev app.Digest
}

func (w *batchWriter) putEntry(events, chain *bolt.Bucket, k app.Key, e *app.Event, head chainHead) (linked, error) {
	w.canonical = app.AppendEntry(w.canonical[:0], e)
	hash := app.ChainHash(head.hash, w.canonical)
	var body []byte
	dict := w.dict
	if dict != nil && k.Time().After(dict.packsUntil) {
		dict = nil // it would outlive what it sampled by more than it may
	}
	body, w.packed = packValue(w.canonical, w.packed, dict)
	v := take(&w.values, len(body)+linksLen, w.valueChunk)[:0]
	v = append(append(append(v, body...), head.hash[:]...), hash[:]...)
	key := take(&w.keys, len(k)+8, w.keyChunk)
	copy(key, k[:])
	seq := binary.BigEndian.AppendUint64(key[len(k):len(k)], e.Seq)
	if err := events.Put(key[:len(k)], v); err != nil {
		return linked{}, err
	}
	if err := chain.Put(seq, key[:len(k)]); err != nil {
		return linked{}, err
	}
	return linked{chainHead{seq: e.Seq, hash: hash, newest: max(head.newest, e.Timestamp.UnixNano())}, head.hash}, nil
}

// appendEvents stores already-validated events in tx. An event whose id is
// already stored is not stored again; its existing entry is returned instead.
// An entry past cutoff (expired, not yet purged) does not count as stored.
// Entries are packed with dict (nil: dictionary 1); u reads those stored.
func appendEvents(tx *bolt.Tx, u *unpacker, dict *learned, events []app.Event, receivedAt, cutoff time.Time, runs *idRuns) ([]app.Event, error) {
	evb, ids, chain := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs), tx.Bucket(bucketChain)
	fillAppendOnly(tx)
	out := make([]app.Event, len(events))
	head := readHead(tx)
	w := newBatchWriter(events)
	w.dict = dict
	// Counters move once per quarter hour and namespace the batch touches,
	// not once per entry.
	tally := map[[9]byte]int64{}
	// So are the namespaces' blocks of keys, once per block.
	byNS := make([]nsKey, 0, len(events))
	// Each entry's prev_hash is the hash of the one before it: shown as hex,
	// it is encoded once.
	prevHex := ""
	linkedAny := false
	idCursor := ids.Cursor()
	var prevID, prevNext []byte
	for i, e := range events {
		var next []byte
		if e.ID != "" {
			k, nk, err := lookupID(u, idCursor, e.ID)
			if err != nil {
				return nil, err
			}
			if next = nk; k != nil {
				existing, ok, err := getEvent(u, k)
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
		var id []byte // the key the id bucket files the entry under: none for an id the store made
		storeMade := e.ID == ""
		if storeMade {
			var sid [serverIDLen]byte
			idEncoding.Encode(sid[:], k[:])
			e.ID = string(sid[:])
			if ids.Get(sid[:]) != nil {
				e.ID, storeMade = unclaimedID(ids, e.ID), false // filed, as a client's id is
			}
		}
		if !storeMade {
			id = take(&w.keys, len(e.ID), w.keyChunk)
			copy(id, e.ID)
		}
		e.ReceivedAt = receivedAt
		e.Seq = seq
		l, err := w.putEntry(evb, chain, k, &e, head)
		if err != nil {
			return nil, err
		}
		if prevHex == "" {
			prevHex = hex.EncodeToString(head.hash[:])
		}
		head = l.chainHead
		e.PrevHash, e.Hash = prevHex, hex.EncodeToString(head.hash[:])
		prevHex = e.Hash
		linkedAny = true
		byNS = append(byNS, nsKey{nsCode(e.Namespace), k})
		if id != nil {
			key := take(&w.keys, len(k), w.keyChunk)
			copy(key, k[:])
			runs.add(prevID != nil && (bytes.Equal(next, prevNext) || bytes.Equal(next, prevID)))
			prevID, prevNext = id, append(prevNext[:0], next...)
			if err := ids.Put(id, key); err != nil {
				return nil, err
			}
		}
		tally[tallySlot(e.Timestamp, e.Namespace)]++
		out[i] = e
	}
	for k, n := range tally {
		if err := addTallyAt(tx, k[:], n); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(byNS, compareNSKeys)
	if err := addToNSBlocks(tx.Bucket(bucketNSBlocks), u, byNS); err != nil {
		return nil, err
	}
	if linkedAny {
		if err := writeHead(tx, head); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// appendFill is how full a split leaves the pages of the buckets whose keys
// start with the time or the sequence, and so almost always go at the end.
// bbolt's default (half) suits keys that land anywhere: it leaves each page
// room for later inserts, which these buckets rarely get, so half the store
// was empty space. Late events (an import, a clock behind) still land among
// the others; a page they fill splits again, which costs a page, not a
// rewrite.
const appendFill = 0.95

// fillAppendOnly sets appendFill on tx's handles of the append-mostly
// buckets; bbolt keeps a bucket's handle, and its fill, for the transaction.
func fillAppendOnly(tx *bolt.Tx) {
	for _, name := range [][]byte{bucketEvents, bucketChain} {
		if b := tx.Bucket(name); b != nil {
			b.FillPercent = appendFill
		}
	}
}

// expired is what deleting an entry needs to know of it.
type expired struct {
	key app.Key
	app.EntryHead
	digest, hash app.Digest
}

// deleteExpired removes every trace of the doomed entries, which are in key
// order, but their tombstones in the chain, and their counts, which the
// caller moves. It goes bucket by bucket, each in its own key order: an
// import's entries of one day are spread over the chain and the id bucket,
// and in key order their pages are met one after another rather than
// fetched again for every entry.
func deleteExpired(tx *bolt.Tx, doomed []expired) error {
	if len(doomed) == 0 {
		return nil
	}
	// The chain keeps each entry's digest and hash in its place, so it can
	// still be followed past it; the content is gone for good. bbolt keeps
	// what is put until the commit: the tombstones and their keys are cut
	// from one buffer rather than allocated one by one.
	bySeq := make([]*expired, len(doomed))
	for i := range doomed {
		bySeq[i] = &doomed[i]
	}
	slices.SortFunc(bySeq, func(a, b *expired) int { return cmp.Compare(a.Seq, b.Seq) })
	slab := make([]byte, 0, len(doomed)*(8+16+linksLen))
	chain := tx.Bucket(bucketChain)
	for _, x := range bySeq {
		from := len(slab)
		slab = binary.BigEndian.AppendUint64(slab, x.Seq)
		slab = append(append(append(slab, x.key[:]...), x.digest[:]...), x.hash[:]...)
		if err := chain.Put(slab[from:from+8:from+8], slab[from+8:]); err != nil {
			return err
		}
	}
	events := tx.Bucket(bucketEvents)
	nsKeys := make([]nsKey, len(doomed))
	for i := range doomed {
		if err := events.Delete(doomed[i].key[:]); err != nil {
			return err
		}
		nsKeys[i] = nsKey{nsCode(doomed[i].Namespace), doomed[i].key}
	}
	slices.SortFunc(nsKeys, compareNSKeys)
	if err := removeFromNSBlocks(tx.Bucket(bucketNSBlocks), &unpacker{tx: tx}, nsKeys); err != nil {
		return err
	}
	// Only drop an id's mapping if it still points here: the id sent again
	// after this entry expired, before the purge, was filed with the new entry.
	byID := bySeq // the same entries, now put in id order
	slices.SortFunc(byID, func(a, b *expired) int { return strings.Compare(a.ID, b.ID) })
	c := tx.Bucket(bucketIDs).Cursor()
	for _, x := range byID {
		if x.ID == "" {
			continue
		}
		if k, v := c.Seek([]byte(x.ID)); string(k) == x.ID && string(v) == string(x.key[:]) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}

// errLaterFormat is a store whose format this version does not know.
type errLaterFormat struct{ format string }

// laterFormat is errLaterFormat for a store of a format this version does
// not know, nil for one it reads (or one with no meta state yet: new).
func laterFormat(tx *bolt.Tx) error {
	meta := tx.Bucket([]byte(app.StateMeta))
	if meta == nil {
		return nil
	}
	if stored := string(meta.Get(metaFormat)); stored != "" && stored != format && !slices.Contains(olderFormats, stored) {
		return errLaterFormat{stored}
	}
	return nil
}

// refusedFormat says why a store of a later format is not opened.
func refusedFormat(path string, err error) error {
	later, _ := err.(errLaterFormat)
	return app.Errorf(app.EUNAVAILABLE, "store: %s was written by a later version of Audit Log (store format %s; this version reads up to %s): run that version, or restore a backup this one wrote", path, later.format, format)
}

func (e errLaterFormat) Error() string { return "store format " + e.format }

// migrateToChain rewrites a store written before entries were chained: each
// entry, in the order it was recorded (its key's sequence number), gets its
// place in the chain and the canonical encoding. It runs once, in bounded
// transactions; a crash midway resumes, since it continues from the chain's
// head.
func migrateToChain(db *bolt.DB) error {
	var done bool
	var keys []app.Key
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte(app.StateMeta))
		switch stored := string(meta.Get(metaFormat)); {
		case stored == format:
			done = true
			return nil
		case slices.Contains(olderFormats, stored):
			return nil // chained already; only the marker moves on
		case stored != "":
			return errLaterFormat{stored}
		}
		return tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
			if len(v) > 0 && v[0] == '{' {
				keys = append(keys, app.Key(k))
			}
			return nil
		})
	})
	if err != nil || done {
		return err
	}
	slices.SortFunc(keys, func(a, b app.Key) int { return bytes.Compare(a[8:], b[8:]) })
	for len(keys) > 0 {
		n := min(len(keys), 10000)
		err := db.Update(func(tx *bolt.Tx) error {
			head := readHead(tx)
			for _, k := range keys[:n] {
				var e app.Event
				if err := json.Unmarshal(tx.Bucket(bucketEvents).Get(k[:]), &e); err != nil {
					return fmt.Errorf("entry %x: %w", k, err)
				}
				e.Seq = binary.BigEndian.Uint64(k[8:])
				var err error
				if head, err = putEntry(tx, k, &e, head); err != nil {
					return err
				}
			}
			return writeHead(tx, head)
		})
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	return db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(app.StateMeta)).Put(metaFormat, []byte(format))
	})
}

// Chain walks the links in recording order from seq from.
func (s *Store) Chain(ctx context.Context, from uint64, fn func(*app.Link) bool) error {
	// Bounded read transactions, so a long walk never holds back writers
	// (bbolt grows the file while a reader keeps old pages alive).
	const step = 10000
	for {
		n, next := 0, from
		stop := false
		err := s.view(func() string { return fmt.Sprintf("the chain from sequence %d", next) }, func(tx *bolt.Tx) error {
			u := unpacker{tx: tx} // a link's canonical form is valid only while fn runs
			events := tx.Bucket(bucketEvents)
			c := tx.Bucket(bucketChain).Cursor()
			for k, v := c.Seek(seqKey(from)); k != nil && n < step; k, v = c.Next() {
				if n++; n%4096 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				l := app.Link{Seq: binary.BigEndian.Uint64(k)}
				next = l.Seq + 1
				switch len(v) {
				case 16:
					copy(l.Key[:], v)
					value := events.Get(v)
					if value == nil {
						l.Gone = true
						break
					}
					canonical, prev, hash, err := u.split(value)
					if err != nil {
						// Handed on, so that a verification names the entry
						// as a break rather than failing as a whole.
						l.Unreadable = fmt.Errorf("store: the entry of link %d (key %x) is unreadable: %w", l.Seq, v, err)
						break
					}
					l.Canonical, l.PrevHash, l.Hash = canonical, prev, hash
				case 16 + linksLen:
					copy(l.Key[:], v)
					copy(l.Digest[:], v[16:])
					copy(l.Hash[:], v[16+sha256.Size:])
				default:
					return fmt.Errorf("store: link %d is unreadable (%d bytes)", l.Seq, len(v))
				}
				if !fn(&l) {
					stop = true
					return nil
				}
			}
			return nil
		})
		if err != nil || stop || n < step {
			return err
		}
		from = next
	}
}

// Head returns the chain's newest link.
func (s *Store) Head(ctx context.Context) (app.ChainHead, error) {
	var h chainHead
	err := s.view(func() string { return "the chain's head" }, func(tx *bolt.Tx) error {
		h = readHead(tx)
		return nil
	})
	out := app.ChainHead{Seq: h.seq, Hash: h.hash}
	if h.newest != 0 {
		out.Newest = time.Unix(0, h.newest).UTC()
	}
	return out, err
}

// DropLinks deletes the links up to and including seq, in bounded transactions.
func (s *Store) DropLinks(ctx context.Context, seq uint64) error {
	for {
		if err := s.writable(); err != nil {
			return err
		}
		n := 0
		err := s.update("the chain's oldest links", func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketChain).Cursor()
			var keys [][]byte
			for k, _ := c.First(); k != nil && len(keys) < 10000 && binary.BigEndian.Uint64(k) <= seq; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				if err := tx.Bucket(bucketChain).Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil || n < 10000 {
			return err
		}
	}
}
