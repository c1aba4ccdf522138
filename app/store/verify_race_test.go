package store_test

import (
	"context"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/store"
)

// recordingDuringWalk records one entry right after the chain walk, as a
// writer does while a running server verifies its chain.
type recordingDuringWalk struct {
	*store.Store
	t    *testing.T
	done bool
}

func (r *recordingDuringWalk) Chain(ctx context.Context, from uint64, fn func(*app.Link) bool) error {
	err := r.Store.Chain(ctx, from, fn)
	if !r.done {
		r.done = true
		if _, cerr := r.Store.Commit(ctx, app.Commit{Events: []app.Event{entry(app.Users, "during-walk", time.Hour)}, ReceivedAt: now}); cerr != nil {
			r.t.Fatal(cerr)
		}
	}
	return err
}

// An entry recorded while the chain is walked moved the head past where the
// walk ended, and a running server called its sound chain forged (/healthz
// 503 "broken") until the next verification.
func TestEntriesRecordedDuringVerificationAreNoBreak(t *testing.T) {
	dir := filled(t, 50)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := app.VerifyChain(context.Background(), &recordingDuringWalk{Store: s, t: t}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Intact() || v.To != 51 {
		t.Fatalf("verification while an entry was recorded: %+v (break %+v), want intact to sequence 51", v, v.Break)
	}
}
