package app

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// metaIndexGeneration names the index generation the store last filled.
const metaIndexGeneration = "index_generation"

// indexBatch is how many entries go to the index at once: large enough for
// Bleve's batches to be efficient even when an import spreads them over a
// month of day shards (a drain of 1000 gave each day's batch about 35
// entries, and paid a batch's fsync and segment thirty times per drain),
// small enough to keep search latency fresh.
const indexBatch = 10000

// scatteredBatch is how many entries a drain takes when the oldest
// indexBatch waiting span many days, more than five: a month of sparse
// history, or an import that arrives out of order (from several systems at
// once, say) while the index is behind. Spread over a month, 10,000 entries
// are about 350 a day, and every day's shard gets a segment that small from
// each drain, which Bleve then merges, again and again, at more cost than
// building it (a million entries over 29 days, shuffled, at the index: 121
// µs of CPU an entry in drains of 10,000, 84 µs in drains of 50,000; 14,000
// against 22,400 entries a second). It costs memory while the backlog
// lasts: the drain's entries are held until indexed.
const scatteredBatch = 50000

// scatteredDay is the fewest entries a day's batch should hold on average:
// a drain whose days hold fewer is scattered.
const scatteredDay = 2000

// scattered tells whether docs fall on so many UTC days, the index's
// shards, that each day's batch is small.
func scattered(docs []IndexDoc) bool {
	days := map[int64]bool{}
	for _, d := range docs {
		days[d.Key.Time().Truncate(24*time.Hour).Unix()] = true
	}
	return len(docs) < scatteredDay*len(days)
}

// indexGather is how long the indexer waits after new entries arrive before
// indexing them: well inside the "searchable within about a second" promise.
const indexGather = 200 * time.Millisecond

// LostDay is a UTC day whose part of the index was dropped, and why.
type LostDay struct {
	Day    time.Time // its start, UTC
	Reason string
}

// DayShards is what an index kept as one shard per UTC day offers for
// repairs: the Log rebuilds a day that was dropped as damaged or that holds
// another number of entries than the store, rather than the whole index.
type DayShards interface {
	// TakeLost returns the days dropped as damaged since the last call.
	TakeLost() []LostDay
	// DayCounts returns how many entries each day holds, by the day's start.
	DayCounts() (map[time.Time]int, error)
	// DropDay deletes one day's shard, for it to be filled again.
	DropDay(day time.Time) error
}

// AttendedLinger is how long after someone last waited on the log (a
// read, or a write waiting for its acknowledgement) indexing still runs one
// batch fewer at a time, for them. When every core builds segments, a
// request waits behind them twice: the Go runtime then looks at the network
// only every 10 ms, and the request, once seen, queues behind goroutines
// that each run up to 10 ms. A person typing sends a request every few
// hundred milliseconds; with one batch fewer each is answered sooner
// (200,000 entries, the page under live ingest: p99 42-76 ms before, 15-20
// ms after). A client sending a month of events waits for each request's
// acknowledgement the same way: with a core left to the handlers, a million
// events were acknowledged at 58,249 and 72,153 events/s rather than 42,866
// and 54,482 (runs in turns), and became searchable no later, since the
// index takes every core again once the requests stop.
const AttendedLinger = 2 * time.Second

// attend notes that someone waits on the log, for indexing to make room for
// them for a while. The time keeps the clock's monotonic reading, so a
// wall clock set back does not keep indexing slowed.
func (l *Log) attend() {
	now := l.now()
	l.lastAttended.Store(&now)
}

// attended tells whether someone waited on the log within AttendedLinger.
func (l *Log) attended() bool {
	last := l.lastAttended.Load()
	return last != nil && l.now().Sub(*last) < AttendedLinger
}

func (l *Log) wakeIndexer() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// runIndexer drains the outbox into the index whenever entries are recorded,
// and every few seconds in case an earlier attempt failed. Between drains it
// repairs the index: days dropped as damaged, and, at start and hourly, days
// whose count of entries differs from the store's.
func (l *Log) runIndexer() {
	defer l.wg.Done()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	verify := time.NewTicker(indexVerifyEvery)
	defer verify.Stop()
	for {
		err := l.DrainOutbox()
		if err == nil {
			err = l.repairIndex()
		}
		if err != nil && !l.isClosing() {
			l.indexFailed.Add(1)
			if l.indexFailures.Add(1) == 1 {
				l.logger.Error("indexing failed; will retry", "err", err)
			}
			l.indexErr.Store(&err)
		} else if l.indexFailures.Swap(0) > 0 {
			l.logger.Info("indexing works again")
		}
		select {
		case <-l.done:
			return
		case <-l.kick:
			// Let a stream of small requests gather for a moment: every Bleve
			// batch becomes a segment that must later be merged, and merging
			// tiny segments costs more than indexing them.
			select {
			case <-l.done:
				return
			case <-l.flush:
			case <-time.After(indexGather):
			}
		case <-l.flush: // someone is waiting for the index: no gathering
		case <-tick.C:
		case <-verify.C:
			l.verifyDue.Store(true)
		}
	}
}

// minRoomDrain is the fewest entries a drain is cut to for want of room:
// smaller ones would leave a disk nearly full of tiny segments, which
// Bleve's merges then want room to rewrite.
const minRoomDrain = 100

// IndexFailing is the last indexing error while indexing keeps failing
// (as on a disk without room for the index), or nil.
func (l *Log) IndexFailing() error {
	if l.indexFailures.Load() == 0 {
		return nil
	}
	if err := l.indexErr.Load(); err != nil {
		return *err
	}
	return nil
}

// indexVerifyEvery is how often the index's count of entries per day is
// compared with the store's: a day directory deleted by hand, or a segment
// lost, is otherwise never noticed, and searches silently miss that day.
const indexVerifyEvery = time.Hour

// IndexRepair is one day of the index rebuilt from the store, and why.
type IndexRepair struct {
	Day    time.Time // the UTC day's start
	Reason string
	At     time.Time // when the rebuild began
	Done   bool
}

// maxRepairs is how many repairs IndexRepairs remembers.
const maxRepairs = 20

// IndexRepairs lists the latest days of the index rebuilt since the start,
// oldest first, for the page and the health check to tell.
func (l *Log) IndexRepairs() []IndexRepair {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]IndexRepair(nil), l.repairs...)
}

func (l *Log) noteRepair(r IndexRepair) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.repairs {
		if l.repairs[i].Day.Equal(r.Day) && l.repairs[i].At.Equal(r.At) {
			l.repairs[i] = r
			return
		}
	}
	l.repairs = append(l.repairs, r)
	if len(l.repairs) > maxRepairs {
		l.repairs = l.repairs[len(l.repairs)-maxRepairs:]
	}
}

// repairIndex rebuilds the days the index dropped as damaged and, when a
// check is due, the days whose counts differ from the store's. It runs in
// the indexer, the index's only writer besides a full rebuild, which it
// leaves alone: a day is repaired after the rebuild, if still needed.
func (l *Log) repairIndex() error {
	ds, ok := l.idx.(DayShards)
	if !ok {
		l.verifyDue.Store(false)
		return nil
	}
	if !l.rebuildMu.TryLock() {
		return nil
	}
	defer l.rebuildMu.Unlock()
	l.lostDays = append(l.lostDays, ds.TakeLost()...)
	for len(l.lostDays) > 0 {
		if err := l.rebuildDay(ds, l.lostDays[0]); err != nil {
			return err
		}
		l.lostDays = l.lostDays[1:]
	}
	if !l.verifyDue.Load() {
		return nil
	}
	ctx := context.Background()
	// Index first, then store, then the outbox: the index does not change
	// meanwhile (this is its writer), so an empty outbox after the store's
	// count means every entry counted by the store was in the index counted.
	indexed, err := ds.DayCounts()
	if err != nil {
		return err
	}
	// Only whole days inside the retention window: the oldest day is being
	// purged entry by entry from the store, but dropped whole from the index.
	from := l.Cutoff().Truncate(24 * time.Hour).Add(24 * time.Hour)
	to := l.now().Add(MaxFutureSkew).Truncate(24 * time.Hour).Add(24 * time.Hour)
	t := Tally{}
	if err := l.store.Counts(ctx, SlotOf(from), SlotOf(to), nil, t); err != nil {
		return err
	}
	if pending, err := l.store.Pending(ctx, 1); err != nil || len(pending) > 0 {
		return err // entries still on their way: check again after the next drain
	}
	stored := map[time.Time]int{}
	for cell, n := range t {
		stored[cell.Start().Truncate(24*time.Hour)] += n
	}
	days := map[time.Time]bool{}
	for d := range stored {
		days[d] = true
	}
	for d := range indexed {
		days[d] = true
	}
	for _, d := range slices.SortedFunc(maps.Keys(days), time.Time.Compare) {
		if d.Before(from) || indexed[d] == stored[d] {
			continue
		}
		reason := fmt.Sprintf("the index holds %d entries of that day and the store %d", indexed[d], stored[d])
		if err := l.rebuildDay(ds, LostDay{Day: d, Reason: reason}); err != nil {
			return err
		}
	}
	l.verifyDue.Store(false)
	return nil
}

// rebuildDay fills one day of the index again from the store.
func (l *Log) rebuildDay(ds DayShards, lost LostDay) error {
	r := IndexRepair{Day: lost.Day, Reason: lost.Reason, At: l.now()}
	l.logger.Warn("rebuilding one day of the keyword index from the store", "day", lost.Day.Format(time.DateOnly), "because", lost.Reason)
	l.noteRepair(r)
	if err := ds.DropDay(lost.Day); err != nil {
		return err
	}
	ctx := context.Background()
	end := lost.Day.Add(24 * time.Hour)
	after := MakeKey(lost.Day, 0) // sequence numbers start at 1: every key of the day sorts after
	n := 0
	for !l.isClosing() {
		docs, err := l.store.Scan(ctx, after, indexBatch)
		if err != nil {
			return err
		}
		var day []IndexDoc
		for _, d := range docs {
			if !d.Key.Time().Before(end) {
				break
			}
			if d.Event != nil {
				day = append(day, d)
			}
		}
		if len(day) > 0 {
			if err := l.idx.Index(day, l.attended()); err != nil {
				return err
			}
			n += len(day)
		}
		if len(docs) < indexBatch || len(day) < len(docs) {
			break
		}
		after = docs[len(docs)-1].Key
	}
	r.Done = true
	l.noteRepair(r)
	l.logger.Info("rebuilt one day of the keyword index", "day", lost.Day.Format(time.DateOnly), "entries", n)
	return nil
}

// DrainOutbox indexes every recorded entry the index has not confirmed yet
// (the outbox). The store's mark of what the index holds moves only after
// the index has durably taken the entries, so a crash at any point loses
// nothing: what is after the mark is indexed again on start.
func (l *Log) DrainOutbox() error {
	// The index refuses a drain it has not the room on disk for: then fewer
	// at a time, down to minRoomDrain, so that entries become searchable
	// again as soon as there is room for some, not for a whole drain.
	most := indexBatch
	for !l.isClosing() {
		ctx := context.Background()
		limit := most
		docs, err := l.store.Pending(ctx, limit)
		if err == nil && len(docs) == limit && limit == indexBatch && !l.usualDrains.Load() && scattered(docs) {
			limit = scatteredBatch
			docs, err = l.store.Pending(ctx, limit)
		}
		if err != nil || len(docs) == 0 {
			if err == nil {
				l.usualDrains.Store(false)
			}
			return err
		}
		live := docs[:0:0] // an entry purged since it was recorded only leaves the outbox
		for _, d := range docs {
			if d.Event != nil {
				live = append(live, d)
			}
		}
		if len(live) > 0 {
			if err := l.idx.Index(live, l.attended()); err != nil {
				if limit > indexBatch {
					// A larger drain that fails is tried again at the usual
					// size, which is kept until this backlog is done: the
					// index refuses a drain it has not the room on disk for,
					// and a larger one asks for more. Any other failure
					// comes back at the usual size too.
					l.logger.Info("a larger drain failed; indexing this backlog in drains of the usual size", "entries", len(live), "err", err)
					l.usualDrains.Store(true)
					continue
				}
				if ErrorCode(err) == ENOSPACE && len(docs) > minRoomDrain {
					most = max(len(docs)/2, minRoomDrain)
					continue
				}
				return err
			}
		}
		// Pending took the first entries by sequence number: the newest of
		// them is where the index has now got to.
		var through uint64
		for _, d := range docs {
			through = max(through, d.Key.Seq())
		}
		if err := l.store.Indexed(ctx, through); err != nil {
			return err
		}
		if len(docs) < limit {
			l.usualDrains.Store(false)
			return nil
		}
	}
	return nil
}

// Reindex empties the index and fills it again from the store, reporting
// progress as it goes. The store is the source of truth; this is always safe.
func (l *Log) Reindex(progress func(done, total int)) error {
	// Wait for a rebuild started at Open: resetting under it would leave the
	// store naming a generation that no longer exists.
	l.rebuildMu.Lock()
	defer l.rebuildMu.Unlock()
	if err := l.idx.Reset(); err != nil {
		return fmt.Errorf("index: unable to reset: %w", err)
	}
	l.setRebuilding(true, 0, 0)
	return l.rebuildLocked(progress)
}

// rebuild indexes every stored entry, oldest first, in bounded read
// transactions so writers keep going, then records which index generation the
// store has filled.
func (l *Log) rebuild(progress func(done, total int)) error {
	l.rebuildMu.Lock()
	defer l.rebuildMu.Unlock()
	return l.rebuildLocked(progress)
}

func (l *Log) rebuildLocked(progress func(done, total int)) error {
	defer func() {
		_, done, total := l.IndexStatus()
		l.setRebuilding(false, done, total)
	}()
	ctx := context.Background()
	gen := l.idx.Generation()
	total, err := l.store.Len(ctx)
	if err != nil {
		return err
	}
	l.setRebuilding(true, 0, total)
	if progress != nil {
		progress(0, total)
	}
	var after Key
	done := 0
	for {
		if l.isClosing() {
			return fmt.Errorf("index: rebuild interrupted by shutdown")
		}
		docs, err := l.store.Scan(ctx, after, indexBatch)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			break
		}
		if err := l.idx.Index(docs, l.attended()); err != nil {
			return fmt.Errorf("index: rebuild failed: %w", err)
		}
		after = docs[len(docs)-1].Key
		done += len(docs)
		if done > total {
			total = done
		}
		l.setRebuilding(true, done, total)
		if progress != nil {
			progress(done, total)
		}
	}
	_, err = l.store.Commit(ctx, Commit{State: []StateValue{{Kind: StateMeta, Key: metaIndexGeneration, Value: []byte(gen)}}})
	return err
}

// waitGiveUp is how many indexing attempts in a row may fail while someone
// waits for the index before the wait ends with the reason.
const waitGiveUp = 3

// WaitIndexed waits until the index has caught up with the store: no rebuild
// under way and nothing left in the outbox. When indexing keeps failing it
// gives up with the indexer's error rather than wait for ever.
func (l *Log) WaitIndexed(ctx context.Context) error { return l.waitIndexed(ctx, 0) }

// waitIndexed waits until the index holds every entry recorded up to
// sequence number through (0: every entry recorded), as WaitIndexed does:
// entries recorded after it do not keep the wait going under steady ingest.
func (l *Log) waitIndexed(ctx context.Context, through uint64) error {
	// Failures before the wait do not count: the disk may have been freed
	// since, and the next attempt succeed.
	failedBefore := l.indexFailed.Load()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rebuilding, _, _ := l.IndexStatus()
		pending, err := l.store.Pending(ctx, 1)
		if err != nil {
			return err
		}
		caughtUp := len(pending) == 0 || (through > 0 && pending[0].Key.Seq() > through)
		if !rebuilding && caughtUp && !l.verifyDue.Load() {
			return nil
		}
		if l.indexFailed.Load()-failedBefore >= waitGiveUp && l.indexFailures.Load() > 0 {
			return fmt.Errorf("index: entries are waiting to be indexed, but indexing keeps failing: %w", *l.indexErr.Load())
		}
		select {
		case l.flush <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return fmt.Errorf("app: closed while waiting for the index")
		case <-tick.C:
		}
	}
}
