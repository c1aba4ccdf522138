package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"auditlog/app"
)

// noteKey is where the Log keeps the plan of the demo being loaded.
const noteKey = "demo"

// plan is what a load of the demo will record: the same now and seed give the
// same entries with the same ids, so a load that was cut short (a browser
// closed, a process killed) finishes on the next try without doubling any.
type plan struct {
	Now  time.Time `json:"now"`
	Seed int64     `json:"seed"`
	Done bool      `json:"done"`
}

// Unfinished reports whether a demo load began and did not finish, so the
// page can offer to finish it.
func Unfinished(ctx context.Context, log *app.Log) bool {
	p, ok, err := readPlan(ctx, log)
	return err == nil && ok && !p.Done
}

func readPlan(ctx context.Context, log *app.Log) (plan, bool, error) {
	var p plan
	v, ok, err := log.Note(ctx, noteKey)
	if err != nil || !ok {
		return p, false, err
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return p, false, fmt.Errorf("demo: the saved plan is unreadable: %w", err)
	}
	return p, true, nil
}

// Wanted reports whether the log is ready for demo data: empty, or holding a
// load that was cut short. Demo entries must never mix with real ones.
func Wanted(ctx context.Context, log *app.Log) bool {
	return log.IsEmpty() || Unfinished(ctx, log)
}

// Load records about 30 days of believable activity through Record, the path
// real events take, so a first look at the page has something to explore, or
// finishes a load that was cut short. Once a load has finished it records
// nothing more. progress, if set, hears how many entries of how many are
// recorded.
func Load(ctx context.Context, log *app.Log, progress func(done, total int)) (int, error) {
	p, ok, err := readPlan(ctx, log)
	if err != nil {
		return 0, err
	}
	switch {
	case ok && p.Done:
		return 0, nil
	case !ok:
		p = plan{Now: log.Now(), Seed: time.Now().UnixNano()}
		if err := savePlan(ctx, log, p); err != nil {
			return 0, err
		}
	}
	// The demo spans 30 days; a shorter retention keeps only what fits in it.
	all := Events(p.Now, p.Seed)
	cutoff := log.Cutoff().Add(time.Minute)
	events := all[:0]
	for i, e := range all {
		e.ID = "demo-" + strconv.FormatInt(p.Seed, 36) + "-" + strconv.Itoa(i)
		if e.Timestamp.After(cutoff) {
			events = append(events, e)
		}
	}
	done := 0
	for start := 0; start < len(events); start += app.MaxBatch {
		end := min(start+app.MaxBatch, len(events))
		if _, err := log.Record(ctx, events[start:end]); err != nil {
			return done, err
		}
		done = end
		if progress != nil {
			progress(done, len(events))
		}
	}
	p.Done = true
	if err := savePlan(ctx, log, p); err != nil {
		return done, err
	}
	// Verified now, the page's integrity line covers the demo at once,
	// rather than saying until the hourly check that it was verified
	// "before anything was recorded".
	_, err = log.VerifyNow(ctx)
	return done, err
}

func savePlan(ctx context.Context, log *app.Log, p plan) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return log.SetNote(ctx, noteKey, v)
}
