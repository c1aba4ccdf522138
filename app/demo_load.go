package app

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// IsEmpty reports whether nothing has ever been recorded (or all has been purged).
func (l *Log) IsEmpty() bool {
	empty := true
	_ = l.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketEvents).Cursor().First()
		empty = k == nil
		return nil
	})
	return empty
}

// LoadDemo records about 30 days of believable activity through Record, the
// path real events take, so a first look at the page has something to explore.
func (l *Log) LoadDemo(ctx context.Context, progress func(done, total int)) (int, error) {
	// The demo spans 30 days; a shorter retention keeps only what fits in it.
	all := DemoEvents(l.now(), time.Now().UnixNano())
	cutoff := l.Cutoff().Add(time.Minute)
	events := all[:0]
	for _, e := range all {
		if e.Timestamp.After(cutoff) {
			events = append(events, e)
		}
	}
	done := 0
	for start := 0; start < len(events); start += MaxBatch {
		end := min(start+MaxBatch, len(events))
		if _, err := l.Record(ctx, events[start:end]); err != nil {
			return done, err
		}
		done = end
		if progress != nil {
			progress(done, len(events))
		}
	}
	return done, nil
}
