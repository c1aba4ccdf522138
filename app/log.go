package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of one Record call and one page.
const (
	MaxBatch         = 1000
	DefaultLimit     = 50
	MaxLimit         = 500
	DefaultRetention = 30 * 24 * time.Hour
	MinRetention     = 24 * time.Hour
	MaxRetention     = 3650 * 24 * time.Hour
)

// Config says where the Log keeps its data and how.
type Config struct {
	// Store holds the entries and the workspace state; the Log closes it.
	Store Store
	// OpenIndex opens the keyword index kept beside the store. It is called
	// only once the store is open, so the store's lock keeps a second process
	// away from the index too. The Log closes the index when it closes.
	OpenIndex func() (SearchIndex, error)
	// Retention: entries older than this are purged. Zero means the retention
	// this store was last given, else DefaultRetention. A new value is saved,
	// and the change is recorded as Operator's.
	Retention time.Duration
	// ShorterRetention, if set, hears of a Retention shorter than the one
	// the store was last given, and how many entries it would purge at
	// once, before anything changes: an error it returns refuses the
	// Retention, and Open fails with it.
	ShorterRetention func(from, to time.Duration, purging int) error
	Operator         string
	Now              func() time.Time
	Logger           *slog.Logger
	// Progress, if set, hears how a rebuild of the index advances.
	Progress func(done, total int)
	// Signer signs the chain's checkpoints; nil signs none (the chain is
	// still kept and verified, with nothing to vouch for its head).
	Signer ed25519.PrivateKey
}

// Log is the audit log service: it records entries durably in the store, keeps
// the keyword index up to date from the store's outbox, answers searches and
// purges what is older than the retention window.
type Log struct {
	store     Store
	idx       SearchIndex
	retention atomic.Int64 // a time.Duration
	now       func() time.Time
	logger    *slog.Logger
	progress  func(done, total int)

	kick   chan struct{} // wakes the indexer
	flush  chan struct{} // wakes it without gathering: someone waits for it
	done   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once

	rebuildMu sync.Mutex // one rebuild at a time
	// rebuiltWhole says Open found the index not the one the store last
	// filled (missing, damaged, or of another release) and rebuilds it whole.
	rebuiltWhole bool

	signer       ed25519.PrivateKey
	checkpointMu sync.Mutex // one checkpoint or anchor move at a time
	verifyMu     sync.Mutex // one verification at a time
	integrity    atomic.Pointer[Verification]

	settings atomic.Pointer[Settings]
	// lastUsed maps a token's id to when it last authenticated; it is kept
	// in memory and written every minute and at Close, not on every request.
	lastUsed      sync.Map
	lastUsedDirty atomic.Bool
	lastReceived  atomic.Int64              // the received_at of the last commit, Unix nanoseconds (see receivedAt)
	lastAttended  atomic.Pointer[time.Time] // when someone last waited on the log (see attend)
	usualDrains   atomic.Bool               // a larger drain failed: this backlog is drained at the usual size
	stateMu       sync.Mutex                // one change of workspace state at a time: read, compare and write as one

	indexFailures atomic.Int64          // indexing attempts failed in a row
	indexErr      atomic.Pointer[error] // the last one's error
	indexFailed   atomic.Int64          // indexing attempts failed since the start

	verifyDue atomic.Bool // the index's day counts are to be compared with the store's
	lostDays  []LostDay   // days to rebuild; the indexer's alone

	mu         sync.Mutex
	rebuilding bool
	rebuilt    int
	toRebuild  int
	repairs    []IndexRepair
}

// Cursors are opaque to clients: the key of the last entry of a page.
func encodeCursor(k Key) string { return base64.RawURLEncoding.EncodeToString(k[:]) }

func decodeCursor(s string) (Key, error) {
	var k Key
	b, err := base64.RawURLEncoding.DecodeString(s)
	copy(k[:], b)
	// The zero key is what "no cursor" is inside: taken as a cursor, it
	// would answer the first page again, and a client paging would loop.
	if err != nil || len(b) != len(k) || k == (Key{}) {
		return Key{}, Errorf(EINVALID, "cursor is not valid: pass the \"next\" value of a previous page")
	}
	return k, nil
}

// Page is one page of search results, newest first.
type Page struct {
	Events []Event `json:"events"`
	Next   string  `json:"next,omitempty"`
}

// Open opens (or creates) the store in cfg.Dir and starts the indexer and the
// retention loop. When the index is not the one the store last filled (first
// start, deleted or damaged directory), it is rebuilt in the background.
func Open(cfg Config) (*Log, error) {
	if cfg.Store == nil || cfg.OpenIndex == nil {
		return nil, fmt.Errorf("app: a store and a search index are required")
	}
	if cfg.Retention != 0 && (cfg.Retention < MinRetention || cfg.Retention > MaxRetention) {
		cfg.Store.Close()
		return nil, Errorf(EINVALID, "retention must be from 1 day to 10 years")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &Log{
		store: cfg.Store, now: cfg.Now, logger: cfg.Logger, progress: cfg.Progress, signer: cfg.Signer,
		kick: make(chan struct{}, 1), flush: make(chan struct{}, 1), done: make(chan struct{}),
	}
	ctx := context.Background()
	l.seedReceivedAt(ctx) // before anything is recorded, settleRetention's entry too
	if err := l.settleRetention(ctx, cfg.Retention, cfg.ShorterRetention, cfg.Operator); err != nil {
		l.store.Close()
		return nil, err
	}
	if err := l.loadSettings(ctx); err != nil {
		l.store.Close()
		return nil, err
	}
	if err := l.loadLastUsed(ctx); err != nil {
		l.store.Close()
		return nil, err
	}
	idx, err := cfg.OpenIndex()
	if err != nil {
		l.store.Close()
		return nil, err
	}
	l.idx = idx
	// Expired entries are hidden from every read whether or not they are
	// purged yet, so a purge that fails (a full disk, a damaged page) must
	// not keep the log from starting: the retention loop tries again.
	if _, err := l.Purge(); err != nil {
		l.logger.Error("purging expired entries failed; will retry", "err", err)
	}
	gen, _, err := l.store.State(ctx, StateMeta, metaIndexGeneration)
	if err != nil {
		l.store.Close()
		idx.Close()
		return nil, fmt.Errorf("store: unable to read the index generation: %w", err)
	}
	if string(gen) != l.idx.Generation() {
		l.rebuiltWhole = true
		l.setRebuilding(true, 0, 0)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if err := l.rebuild(l.progress); err != nil && !l.isClosing() {
				l.logger.Error("rebuilding the keyword index failed", "err", err)
			}
		}()
	} else {
		// A whole rebuild fills every day; checking the days one by one
		// beside it would rebuild each of them a second time.
		l.verifyDue.Store(true)
	}
	l.wg.Add(4)
	go l.runLastUsed()
	go l.runIndexer()
	go l.runRetention()
	go l.runIntegrity()
	return l, nil
}

// Close stops the background work, waits for it and closes the index and the store.
func (l *Log) Close() error {
	var err error
	l.closed.Do(func() {
		close(l.done)
		l.wg.Wait()
		if ferr := l.flushLastUsed(context.Background()); ferr != nil {
			l.logger.Error("saving when tokens were last used failed", "err", ferr)
		}
		if _, cerr := l.Checkpoint(context.Background()); cerr != nil {
			l.logger.Error("signing the chain's head at shutdown failed", "err", cerr)
		}
		err = l.idx.Close()
		if cerr := l.store.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

func (l *Log) isClosing() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Retention is how long entries are kept.
func (l *Log) Retention() time.Duration { return time.Duration(l.retention.Load()) }

// Cutoff is the oldest instant still inside the retention window.
func (l *Log) Cutoff() time.Time { return l.now().Add(-l.Retention()) }

// Now is the Log's clock.
func (l *Log) Now() time.Time { return l.now() }

// Record validates every event and stores them all in one transaction, or
// none: one bad event rejects the whole batch with an error per broken rule.
// It returns only after the transaction is on disk. Events carrying an id that
// is already stored are not stored again; their existing entry is returned.
func (l *Log) Record(ctx context.Context, events []Event) ([]Event, error) {
	r, err := l.Ingest(ctx, events)
	return r.Entries, err
}

// Ingested is what Ingest did with a request's events.
type Ingested struct {
	Entries []Event // each event as stored, in the request's order
	// Existing marks the events answered with an entry stored before this
	// request: their id was, by an earlier one. An id sent twice in the
	// request is one entry, stored by it or before it.
	Existing []bool
	// Differs marks the events answered with an entry that says otherwise
	// (SameEvent): no retry, but another event given an id in use, as
	// when two logs' exports are merged. It was not recorded.
	Differs []bool
}

// Conflicting returns the ids of the events marked Differs, each once, in
// the order sent.
func (r Ingested) Conflicting() []string { return r.idsMarked(r.Differs) }

func (r Ingested) idsMarked(marked []bool) []string {
	ids := []string{}
	listed := map[string]bool{}
	for i, e := range r.Entries {
		if marked[i] && !listed[e.ID] {
			listed[e.ID] = true
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// AlreadyStored returns the ids of the events marked Existing, each once,
// in the order sent.
func (r Ingested) AlreadyStored() []string { return r.idsMarked(r.Existing) }

// Ingest is Record, and also tells which events were stored before: a
// client that retried learns which of its events the first attempt had
// recorded. The entries a request stores carry its received_at, and one
// stored before carries another (see receivedAt); a cluster node reads
// back what the stream applied, so the same holds there, unless the node
// answers before it has applied the request (Node.Commit's ApplyWait),
// when it cannot tell and marks none.
func (l *Log) Ingest(ctx context.Context, events []Event) (Ingested, error) {
	stored, sent, received, err := l.record(ctx, events)
	if err != nil {
		return Ingested{}, err
	}
	r := Ingested{Entries: stored, Existing: make([]bool, len(stored)), Differs: make([]bool, len(stored))}
	for i, e := range stored {
		r.Existing[i] = !e.ReceivedAt.Equal(received)
		r.Differs[i] = !SameEvent(&sent[i], &stored[i]) // also for an id sent twice in the request
	}
	return r, nil
}

// record is Record, and also returns the events as validated and the
// received_at it gave them.
func (l *Log) record(ctx context.Context, events []Event) ([]Event, []Event, time.Time, error) {
	if len(events) == 0 {
		return nil, nil, time.Time{}, Errorf(EINVALID, "no events: send one JSON object, an array or NDJSON lines")
	}
	if len(events) > MaxBatch {
		return nil, nil, time.Time{}, Errorf(ETOOLARGE, "%d events in one request; at most %d", len(events), MaxBatch)
	}
	l.attend() // its sender waits for the acknowledgement
	now := l.now()
	retention := l.Retention()
	batch := make([]Event, len(events))
	var details []FieldError
	for i := range events {
		batch[i] = events[i]
		details = append(details, batch[i].Normalize(i, now, retention)...)
	}
	if len(details) > 0 {
		msg := "1 event is invalid; nothing was recorded"
		if bad := countEvents(details); bad > 1 {
			msg = fmt.Sprintf("%d events are invalid; nothing was recorded", bad)
		}
		return nil, nil, time.Time{}, invalidEvents(msg, details)
	}
	received := l.receivedAt(now)
	out, err := l.store.Commit(ctx, Commit{Events: batch, ReceivedAt: received, Cutoff: now.Add(-retention)})
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	l.wakeIndexer()
	return out, batch, received, nil
}

// seedReceivedAt starts receivedAt a millisecond after the newest entry's
// received_at, so a request after a restart does not share one either. A
// millisecond, because commits do not always land in the order their
// received_at was given: the newest entry may not hold the latest. It is a
// refinement, best effort: on a cluster node the newest entry may have
// been stamped by another node's clock, and a newest entry that is purged
// or cannot be read (reported elsewhere) leaves the count where it is, at
// the clock. Nothing here may keep the log from starting.
func (l *Log) seedReceivedAt(ctx context.Context) {
	head, err := l.store.Head(ctx)
	if err == nil && head.Seq > 0 {
		err = l.store.Chain(ctx, head.Seq, func(link *Link) bool {
			if link.Canonical != nil {
				if e, derr := DecodeEntry(link.Canonical); derr == nil && !e.ReceivedAt.IsZero() {
					l.lastReceived.Store(e.ReceivedAt.Add(time.Millisecond).UnixNano())
				}
			}
			return false
		})
	}
	if err != nil {
		l.logger.Warn("reading the newest entry's received_at failed", "err", err)
	}
}

// receivedAt is the received_at of a commit made at now: now, unless an
// earlier commit was given that instant, or one less than a second
// later (a clock that ticks coarsely, as on some systems, or a fixed one),
// then a nanosecond after that commit's. So two requests in a row never
// share a received_at, and Ingest tells the entries a request stored from
// those stored before (seedReceivedAt carries this over a restart). A
// clock set back by more is followed as it is: a received_at is when the
// server got the event, and must not stay ahead.
func (l *Log) receivedAt(now time.Time) time.Time {
	for {
		last, n := l.lastReceived.Load(), now.UnixNano()
		at := now
		if n <= last && last-n < int64(time.Second) {
			n = last + 1
			at = time.Unix(0, n).In(now.Location())
		}
		if l.lastReceived.CompareAndSwap(last, n) {
			return at
		}
	}
}

func countEvents(details []FieldError) int {
	seen := map[int]bool{}
	for _, d := range details {
		seen[d.Index] = true
	}
	return len(seen)
}

// commitOwn records entries the app writes about itself (a token created, a
// setting changed) in one commit with the state they describe, so the state
// and its audit entry never part. They are built by this code, so one that
// breaks a rule is a bug, reported as such. The text they quote is the
// exception (see printableOwn).
func (l *Log) commitOwn(ctx context.Context, state []StateValue, events ...Event) error {
	if err := l.stillActing(ctx); err != nil {
		return err
	}
	stampActingToken(ctx, events)
	now := l.now()
	retention := l.Retention()
	for i := range events {
		events[i].printableOwn()
		if errs := events[i].Normalize(i, now, retention); len(errs) > 0 {
			return fmt.Errorf("app: own entry is invalid: %s %s", errs[0].Field, errs[0].Message)
		}
	}
	if _, err := l.store.Commit(ctx, Commit{Events: events, ReceivedAt: l.receivedAt(now), Cutoff: now.Add(-retention), State: state}); err != nil {
		return err
	}
	l.wakeIndexer()
	return nil
}

// Get returns the entry with the given id.
func (l *Log) Get(ctx context.Context, id string) (Event, error) {
	l.attend()
	e, found, err := l.store.Get(ctx, id)
	if err != nil {
		return Event{}, err
	}
	if !found || e.Timestamp.Before(l.Cutoff()) {
		return Event{}, Errorf(ENOTFOUND, "no entry with id %s", Quoted(id))
	}
	return e, nil
}

// Search returns one page of the entries matching q, newest first, starting
// after cursor (empty for the first page). Queries with free text or
// action/actor qualifiers go to the keyword index; everything else walks the
// store's time-ordered keys.
func (l *Log) Search(ctx context.Context, q Query, cursor string, limit int) (Page, error) {
	l.attend()
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		limit = MaxLimit
	}
	var before Key
	if cursor != "" {
		var err error
		if before, err = decodeCursor(cursor); err != nil {
			return Page{}, err
		}
	}
	q.RestrictTime(l.Cutoff(), time.Time{})
	if q.Empty {
		return Page{Events: []Event{}}, nil
	}
	var events []Event
	var keys []Key
	var err error
	if q.HasText() {
		events, keys, err = l.searchIndex(&q, before, limit+1)
	} else {
		events, keys, err = l.walkStore(ctx, &q, before, limit+1)
	}
	if err != nil {
		return Page{}, err
	}
	page := Page{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.Next = encodeCursor(keys[limit-1])
	}
	if page.Events == nil {
		page.Events = []Event{}
	}
	return page, nil
}

func (l *Log) searchIndex(q *Query, before Key, limit int) ([]Event, []Key, error) {
	var events []Event
	var keys []Key
	var seen map[Key]bool // a damaged index must not show an entry twice
	// An indexed key may have been purged from the store a moment ago; ask again
	// for what went missing, so pages stay full.
	for len(events) < limit {
		want := limit - len(events)
		found, err := l.idx.Search(q, before, want)
		if err != nil {
			return nil, nil, fmt.Errorf("index: search failed: %w", err)
		}
		got, gotKeys, err := l.store.Read(context.Background(), found)
		if err != nil {
			return nil, nil, err
		}
		if events == nil && len(got) > 0 {
			events, keys, seen = make([]Event, 0, limit), make([]Key, 0, limit), make(map[Key]bool, limit)
		}
		for i, k := range gotKeys {
			if !seen[k] {
				seen[k] = true
				events, keys = append(events, got[i]), append(keys, k)
			}
		}
		if len(found) < want {
			break
		}
		before = found[len(found)-1]
	}
	return events, keys, nil
}

// walkStore walks the store newest first from before, keeping entries that
// match q's structured parts, until limit are found or the time range ends.
func (l *Log) walkStore(ctx context.Context, q *Query, before Key, limit int) ([]Event, []Key, error) {
	var events []Event
	var keys []Key
	err := l.eachStored(ctx, q, before, func(k Key, e *Event) bool {
		events = append(events, *e)
		keys = append(keys, k)
		return len(events) < limit
	})
	return events, keys, err
}

// eachStored calls fn for each stored entry matching q's structured parts,
// newest first, strictly before the key before (zero: from the newest), until
// fn returns false. A single namespace walks that namespace's keys only.
func (l *Log) eachStored(ctx context.Context, q *Query, before Key, fn func(Key, *Event) bool) error {
	// Where the walk starts: the cursor or the end of the time range,
	// whichever is older.
	r := Range{Before: before, After: q.After}
	if !q.Before.IsZero() {
		if b := MakeKey(q.Before, 0); before == (Key{}) || bytes.Compare(b[:], before[:]) < 0 {
			r.Before = b
		}
	}
	if len(q.Namespaces) == 1 {
		r.Namespace = q.Namespaces[0]
	}
	return l.store.Walk(ctx, r, func(k Key, e *Event) bool {
		if !q.MatchStructured(e) {
			return true
		}
		return fn(k, e)
	})
}

// Tally counts the entries matching q per quarter hour and namespace, inside
// the retention window.
func (l *Log) Tally(ctx context.Context, q Query) (Tally, error) {
	l.attend()
	q.RestrictTime(l.Cutoff(), time.Time{})
	if q.Empty {
		return Tally{}, nil
	}
	t := Tally{}
	if q.HasText() {
		if err := l.idx.Tally(&q, func(cell TallyCell, n int) { t[cell] += n }); err != nil {
			return nil, fmt.Errorf("index: tally failed: %w", err)
		}
		return t, nil
	}
	err := l.tallyStore(ctx, &q, func(from, to int64, namespaces []Namespace) error {
		return l.store.Counts(ctx, from, to, namespaces, t)
	}, func(slot int64, ns Namespace) { t[TallyCell{Slot: slot, Namespace: ns}]++ })
	return t, err
}

// SlotCounts is Tally laid out by slot, as the page sums it. Its rows cover
// the retention window (or q's time range) at least.
func (l *Log) SlotCounts(ctx context.Context, q Query) (*SlotCounts, error) {
	l.attend()
	q.RestrictTime(l.Cutoff(), time.Time{})
	end := q.Before
	if end.IsZero() {
		end = l.now().Add(MaxFutureSkew + TallySlot)
	}
	c := NewSlotCounts(SlotOf(q.After), SlotOf(end.Add(-time.Nanosecond))+1)
	if q.Empty {
		return c, nil
	}
	if q.HasText() {
		if err := l.idx.Tally(&q, func(cell TallyCell, n int) { c.Add(cell.Slot, cell.Namespace, n) }); err != nil {
			return nil, fmt.Errorf("index: tally failed: %w", err)
		}
		return c, nil
	}
	err := l.tallyStore(ctx, &q, func(from, to int64, namespaces []Namespace) error {
		return l.store.CountSlots(ctx, from, to, namespaces, c)
	}, func(slot int64, ns Namespace) { c.Add(slot, ns, 1) })
	return c, err
}

// tallyStore sums the store's counters for the slots wholly inside the range
// (with counters) and counts the cut slots at its ends entry by entry (with
// one).
func (l *Log) tallyStore(ctx context.Context, q *Query, counters func(from, to int64, namespaces []Namespace) error, one func(slot int64, ns Namespace)) error {
	after, before := q.After, q.Before
	if before.IsZero() {
		before = l.now().Add(MaxFutureSkew + TallySlot)
	}
	count := func(from, to time.Time) error {
		if !from.Before(to) {
			return nil
		}
		sub := *q
		sub.After, sub.Before = from, to
		return l.eachStored(ctx, &sub, Key{}, func(k Key, e *Event) bool {
			one(SlotOf(e.Timestamp), e.Namespace)
			return true
		})
	}
	firstFull := after.Add(TallySlot - 1).Truncate(TallySlot) // the first slot that starts inside
	lastFull := before.Truncate(TallySlot)                    // where the last whole slot ends
	if !firstFull.Before(lastFull) {
		return count(after, before) // no whole slot
	}
	err := counters(SlotOf(firstFull), SlotOf(lastFull), q.Namespaces)
	if err == nil {
		err = count(after, firstFull)
	}
	if err == nil {
		err = count(lastFull, before)
	}
	return err
}

// Check reports whether the store answers; the server's health check asks it.
func (l *Log) Check() error {
	if l.isClosing() {
		return Errorf(EINTERNAL, "the log is closed")
	}
	return l.store.Check()
}

// IndexRebuiltWhole tells whether Open found the keyword index not the one
// the store last filled (its files missing, damaged, or of another release)
// and so rebuilds it whole from the store.
func (l *Log) IndexRebuiltWhole() bool { return l.rebuiltWhole }

// IndexStatus reports whether the keyword index is being rebuilt, and how far along.
func (l *Log) IndexStatus() (rebuilding bool, done, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rebuilding, l.rebuilt, l.toRebuild
}

func (l *Log) setRebuilding(on bool, done, total int) {
	l.mu.Lock()
	l.rebuilding, l.rebuilt, l.toRebuild = on, done, total
	l.mu.Unlock()
}

// IsEmpty reports whether nothing has ever been recorded (or all has been purged).
func (l *Log) IsEmpty() bool {
	empty := true
	_ = l.store.Walk(context.Background(), Range{}, func(Key, *Event) bool {
		empty = false
		return false
	})
	return empty
}

// Note returns a value the app keeps for its own bookkeeping under key: not
// workspace state, so reading and writing notes records no entry.
func (l *Log) Note(ctx context.Context, key string) ([]byte, bool, error) {
	return l.store.State(ctx, StateNotes, key)
}

// SetNote keeps a value for the app's own bookkeeping (nil deletes it).
func (l *Log) SetNote(ctx context.Context, key string, value []byte) error {
	_, err := l.store.Commit(ctx, Commit{State: []StateValue{{Kind: StateNotes, Key: key, Value: value}}})
	return err
}
