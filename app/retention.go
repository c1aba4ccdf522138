package app

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// purgeBatch bounds each purge transaction so readers and writers keep going
// while a large expired range is deleted.
const purgeBatch = 1000

// runRetention purges expired entries every hour (Open already purged once).
func (l *Log) runRetention() {
	defer l.wg.Done()
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
			if n, err := l.Purge(); err != nil {
				l.logger.Error("purging expired entries failed", "err", err)
			} else if n > 0 {
				l.logger.Info("purged expired entries", "count", n)
			}
		}
	}
}

// Purge deletes every entry older than the retention window from the store,
// in short transactions, then drops the index's expired days. Purged entries
// cannot be recovered.
func (l *Log) Purge() (int, error) {
	cutoff := l.Cutoff()
	end := MakeKey(cutoff, 0)
	purged := 0
	for {
		n := 0
		err := l.db.Update(func(tx *bolt.Tx) error {
			// Collect first, then delete: deleting while iterating can skip keys.
			var keys []Key
			var events []Event
			c := tx.Bucket(bucketEvents).Cursor()
			for k, _ := c.First(); k != nil && len(keys) < purgeBatch; k, _ = c.Next() {
				if string(k) >= string(end[:]) {
					break
				}
				e, ok, err := getEvent(tx, k)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				var key Key
				copy(key[:], k)
				keys, events = append(keys, key), append(events, e)
			}
			for i := range keys {
				if err := deleteEvent(tx, keys[i], &events[i]); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return purged, fmt.Errorf("store: purge failed: %w", err)
		}
		purged += n
		if n < purgeBatch {
			break
		}
	}
	if err := l.idx.DropBefore(cutoff); err != nil {
		return purged, fmt.Errorf("index: unable to drop expired days: %w", err)
	}
	return purged, nil
}
