package app

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var metaIndexGeneration = []byte("index_generation")

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
			l.logger.Error("indexing failed; will retry", "err", err)
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
		var docs []IndexDoc
		err := l.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketOutbox).Cursor()
			k, _ := c.First()
			var err error
			docs, err = readDocs(tx, c, k)
			return err
		})
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
		err = l.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketOutbox)
			for _, d := range docs {
				if err := b.Delete(d.Key[:]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(docs) < indexBatch {
			return nil
		}
	}
	return nil
}

// readDocs reads up to indexBatch entries for the index, from the key k on as
// the cursor c walks. A key whose entry is gone comes back without one.
func readDocs(tx *bolt.Tx, c *bolt.Cursor, k []byte) ([]IndexDoc, error) {
	var docs []IndexDoc
	for ; k != nil && len(docs) < indexBatch; k, _ = c.Next() {
		var d IndexDoc
		copy(d.Key[:], k)
		e, ok, err := getEvent(tx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			d.Event = &e
		}
		docs = append(docs, d)
	}
	return docs, nil
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
	gen := l.idx.Generation()
	var total int
	_ = l.db.View(func(tx *bolt.Tx) error {
		total = tx.Bucket(bucketEvents).Stats().KeyN
		return nil
	})
	l.setRebuilding(true, 0, total)
	if progress != nil {
		progress(0, total)
	}
	var after []byte
	done := 0
	for {
		if l.isClosing() {
			return fmt.Errorf("index: rebuild interrupted by shutdown")
		}
		var docs []IndexDoc
		err := l.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketEvents).Cursor()
			k, _ := c.First()
			if after != nil {
				k, _ = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, _ = c.Next()
				}
			}
			var err error
			docs, err = readDocs(tx, c, k)
			return err
		})
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			break
		}
		if err := l.idx.Index(docs); err != nil {
			return fmt.Errorf("index: rebuild failed: %w", err)
		}
		last := docs[len(docs)-1].Key
		after = last[:]
		done += len(docs)
		if done > total {
			total = done
		}
		l.setRebuilding(true, done, total)
		if progress != nil {
			progress(done, total)
		}
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaIndexGeneration, []byte(gen))
	})
}

// WaitIndexed waits until the index has caught up with the store: no rebuild
// under way and nothing left in the outbox.
func (l *Log) WaitIndexed(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rebuilding, _, _ := l.IndexStatus()
		pending := false
		if err := l.db.View(func(tx *bolt.Tx) error {
			k, _ := tx.Bucket(bucketOutbox).Cursor().First()
			pending = k != nil
			return nil
		}); err != nil {
			return err
		}
		if !rebuilding && !pending {
			return nil
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
