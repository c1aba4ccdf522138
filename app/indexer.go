package app

import (
	"context"
	"fmt"
	"time"
)

// metaIndexGeneration names the index generation the store last filled.
const metaIndexGeneration = "index_generation"

// indexBatch is how many entries go to the index at once: large enough for
// Bleve's batches to be efficient, small enough to keep search latency fresh.
const indexBatch = 1000

// indexGather is how long the indexer waits after new entries arrive before
// indexing them: well inside the "searchable within about a second" promise.
const indexGather = 200 * time.Millisecond

func (l *Log) wakeIndexer() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// runIndexer drains the outbox into the index whenever entries are recorded,
// and every few seconds in case an earlier attempt failed.
func (l *Log) runIndexer() {
	defer l.wg.Done()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if err := l.DrainOutbox(); err != nil && !l.isClosing() {
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
		}
	}
}

// DrainOutbox indexes every recorded entry the index has not confirmed yet.
// An outbox key is deleted only after the index has durably taken its entry,
// so a crash at any point loses nothing: the outbox is drained again on start.
func (l *Log) DrainOutbox() error {
	for !l.isClosing() {
		ctx := context.Background()
		docs, err := l.store.Pending(ctx, indexBatch)
		if err != nil || len(docs) == 0 {
			return err
		}
		live := docs[:0:0] // an entry purged since it was recorded only leaves the outbox
		for _, d := range docs {
			if d.Event != nil {
				live = append(live, d)
			}
		}
		if len(live) > 0 {
			if err := l.idx.Index(live); err != nil {
				return err
			}
		}
		keys := make([]Key, len(docs))
		for i, d := range docs {
			keys[i] = d.Key
		}
		if err := l.store.Indexed(ctx, keys); err != nil {
			return err
		}
		if len(docs) < indexBatch {
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
		if err := l.idx.Index(docs); err != nil {
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
func (l *Log) WaitIndexed(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rebuilding, _, _ := l.IndexStatus()
		pending, err := l.store.Pending(ctx, 1)
		if err != nil {
			return err
		}
		if !rebuilding && len(pending) == 0 {
			return nil
		}
		if l.indexFailures.Load() >= waitGiveUp {
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
