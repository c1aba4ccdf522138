package app

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// purgeBatch bounds each purge transaction so writers keep going while a
// large expired range is deleted (readers never wait for a bbolt writer). A
// purge waits mostly on each transaction's fsync, not on the CPU (0.1 s of
// CPU in a 0.19 s purge of 6,900 entries), so a day's purge takes a few
// transactions rather than thirty-five; a recording waits for at most one.
const purgeBatch = 10000

// runRetention purges expired entries every hour (Open already purged once).
func (l *Log) runRetention() {
	defer l.wg.Done()
	l.every(time.Hour, func() {
		if n, err := l.Purge(); err != nil {
			l.logger.Error("purging expired entries failed", "err", err)
		} else if n > 0 {
			l.logger.Info("purged expired entries", "count", n)
		}
	})
}

// every calls fn every d until the Log closes: the background chores that
// only wait for their next turn.
func (l *Log) every(d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
			fn()
		}
	}
}

// Purge deletes every entry older than the retention window from the store,
// in short transactions, then drops the index's expired days. Purged entries
// cannot be recovered.
func (l *Log) Purge() (int, error) {
	ctx := context.Background()
	cutoff := l.Cutoff()
	// Remember the cutoff before anything goes: once the retention is
	// raised, the entries purged under it must count as expired, not as
	// missing, also after a crash between the deletes and the note (which
	// the next purge, finding nothing left, would never write).
	if err := l.notePurgedBefore(ctx, cutoff); err != nil {
		return 0, err
	}
	purged := 0
	for {
		n, err := l.store.Purge(ctx, cutoff, purgeBatch)
		purged += n
		if err != nil {
			return purged, err
		}
		if n < purgeBatch {
			break
		}
	}
	if purged > 0 {
		// The cutoff noted is signed at once, unless the chain has not been verified since the
		// start: the head is signed only over a chain found intact.
		if v := l.Integrity(); v != nil && v.Intact() {
			if _, err := l.Checkpoint(ctx); err != nil {
				return purged, err
			}
		}
	}
	if err := l.advanceAnchor(ctx, cutoff); err != nil {
		return purged, err
	}
	if err := l.idx.DropBefore(cutoff); err != nil {
		return purged, fmt.Errorf("index: unable to drop expired days: %w", err)
	}
	// Last, as it is the least urgent: what is purged is already beyond
	// every read, and only someone reading the files as bytes could find
	// what this erases.
	if err := l.store.ErasePurged(ctx, cutoff); err != nil {
		return purged, err
	}
	return purged, nil
}

// notePurgedBefore records cutoff as the newest a purge has used, when it
// is newer than the one recorded and there is something older to purge: a
// quiet hour writes nothing.
func (l *Log) notePurgedBefore(ctx context.Context, cutoff time.Time) error {
	prev, err := purgedBefore(ctx, l.store)
	if err != nil || !cutoff.After(prev) {
		return err
	}
	expired := false
	err = l.store.Walk(ctx, Range{Before: MakeKey(cutoff, 0)}, func(Key, *Event) bool {
		expired = true
		return false
	})
	if err != nil || !expired {
		return err
	}
	v := binary.BigEndian.AppendUint64(nil, uint64(cutoff.UnixNano()))
	if _, err := l.store.Commit(ctx, Commit{State: []StateValue{{Kind: StateMeta, Key: metaPurgedBefore, Value: v}}}); err != nil {
		return fmt.Errorf("store: unable to note the purge: %w", err)
	}
	return nil
}

const metaRetention = "retention"

// settleRetention decides the retention the Log works with: the one asked
// for, else the one the store was last given, else the default. Every command
// that opens the store purges with it, so it must not forget a longer
// retention that serve was once given. A change is recorded like any settings
// change.
func (l *Log) settleRetention(ctx context.Context, asked time.Duration, shorter func(from, to time.Duration, purging int) error, operator string) error {
	saved, err := storedRetention(ctx, l.store)
	if err != nil {
		return err
	}
	if asked == 0 || asked == saved {
		l.retention.Store(int64(saved))
		return nil
	}
	if asked < saved && shorter != nil {
		now, n := l.now(), 0
		err := l.store.Walk(ctx, Range{Before: MakeKey(now.Add(-asked), 0), After: now.Add(-saved)}, func(Key, *Event) bool {
			n++
			return true
		})
		if err == nil {
			err = shorter(saved, asked, n)
		}
		if err != nil {
			return err
		}
	}
	l.retention.Store(int64(asked))
	v := binary.BigEndian.AppendUint64(nil, uint64(asked))
	state := []StateValue{{Kind: StateMeta, Key: metaRetention, Value: v}}
	var events []Event
	if saved != asked {
		events = append(events, Event{
			Namespace: Spaces,
			Action:    "retention_changed",
			Detail:    fmt.Sprintf("Changed the Audit Log retention from %s to %s", FormatRetention(saved), FormatRetention(asked)),
			Actor:     operator,
			Targets:   []Target{{Type: "audit_log", Name: "Audit Log"}},
			Metadata:  map[string]string{"from": saved.String(), "to": asked.String(), "from_days": fmt.Sprint(int(saved.Hours() / 24)), "to_days": fmt.Sprint(int(asked.Hours() / 24))},
		})
	}
	if err := l.commitOwn(ctx, state, events...); err != nil {
		return fmt.Errorf("store: unable to save the retention: %w", err)
	}
	return nil
}

// storedRetention is the retention the store was last given, else the default.
func storedRetention(ctx context.Context, st Store) (time.Duration, error) {
	v, _, err := st.State(ctx, StateMeta, metaRetention)
	if err != nil {
		return 0, fmt.Errorf("store: unable to read the retention: %w", err)
	}
	if len(v) == 8 {
		return time.Duration(binary.BigEndian.Uint64(v)), nil
	}
	return DefaultRetention, nil
}

// FormatRetention says how long entries are kept, as people say it: whole
// days as days ("30 days"), anything else in hours ("36 hours").
func FormatRetention(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return Plural(int(d/(24*time.Hour)), "day", "days")
	}
	return Plural(int(d.Round(time.Hour)/time.Hour), "hour", "hours")
}
