package app

import (
	"encoding/binary"
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

var metaRetention = []byte("retention")

// settleRetention decides the retention a store works with: the one asked
// for, else the one it was last given, else the default. Every command that
// opens the store purges with it, so it must not forget a longer retention
// that serve was once given. A change is recorded like any settings change.
func settleRetention(db *bolt.DB, asked time.Duration, operator string, now time.Time) (time.Duration, error) {
	var saved time.Duration
	_ = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaRetention); len(v) == 8 {
			saved = time.Duration(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	switch {
	case asked == 0 && saved == 0:
		return DefaultRetention, nil
	case asked == 0 || asked == saved:
		return saved, nil
	}
	err := db.Update(func(tx *bolt.Tx) error {
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(asked))
		if err := tx.Bucket(bucketMeta).Put(metaRetention, v); err != nil {
			return err
		}
		if saved == 0 {
			saved = DefaultRetention
		}
		if saved == asked {
			return nil
		}
		return recordOwn(tx, now, asked, Event{
			Namespace: Spaces,
			Action:    "retention_changed",
			Detail:    fmt.Sprintf("Changed the Audit Log retention from %s to %s", days(saved), days(asked)),
			Actor:     operator,
			Targets:   []Target{{Type: "audit_log", Name: "Audit Log"}},
			Metadata:  map[string]string{"from_days": fmt.Sprint(int(saved.Hours() / 24)), "to_days": fmt.Sprint(int(asked.Hours() / 24))},
		})
	})
	if err != nil {
		return 0, fmt.Errorf("store: unable to save the retention: %w", err)
	}
	return asked, nil
}

func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}
