package app

import (
	"testing"
	"time"
)

// Attempts being checked count against an address only beyond a couple at
// once: two members behind one router signing in together after four
// wrong passwords there both get in, while a flood sent at once still
// cannot all pass before the first fails.
func TestAttemptsBeingCheckedCountBeyondACoupleAtOnce(t *testing.T) {
	var th throttle
	th.m = map[string]*strikes{}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		wait, a, _ := th.take("account nobody", "address 192.0.2.1", now)
		if wait > 0 {
			t.Fatalf("failure %d waited %s", i+1, wait)
		}
		th.fail(a)
	}
	// Two members at once, each still being checked.
	w1, a1, _ := th.take("account alice", "address 192.0.2.1", now)
	w2, a2, _ := th.take("account bob", "address 192.0.2.1", now)
	if w1 > 0 || w2 > 0 {
		t.Fatalf("two members signing in at once after four failures waited %s and %s", w1, w2)
	}
	th.succeed(a1)
	th.succeed(a2)
	// A flood at once: a few pass, then the rest wait.
	passed := 0
	var flood []attempt
	for range 20 {
		if w, a, _ := th.take("account nobody", "address 192.0.2.1", now); w == 0 {
			passed++
			flood = append(flood, a)
		}
	}
	if passed > 1+throttleInFlight {
		t.Fatalf("%d of 20 attempts sent at once passed after four failures", passed)
	}
	for _, a := range flood {
		th.fail(a)
	}
	// The failures count: the fifth and after, each waits.
	if w, _, _ := th.take("account alice", "address 192.0.2.1", now.Add(time.Second)); w <= 0 {
		t.Fatal("after the flood's failures, the next attempt did not wait")
	}
}
