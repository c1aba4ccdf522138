package ui

import (
	"testing"
	"time"

	"auditlog/app"
)

// Where the clocks change at midnight (Beirut, Cairo), every bar is a whole
// day of its own date, the last is today, and today's entries are on it.
// Stepping with time.AddDate had every bar after the change start at 01:00
// and dropped today.
func TestTheChartsDaysAreWholeDaysWhereClocksChangeAtMidnight(t *testing.T) {
	for _, zone := range []string{"Asia/Beirut", "Africa/Cairo", "Atlantic/Azores", "America/Santiago", "Europe/Berlin"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Skip("no zone", zone)
		}
		now := time.Date(2026, 11, 28, 12, 0, 0, 0, loc)
		cutoff := now.AddDate(-1, 0, 0)
		tally := app.NewSlotCounts(0, 0)
		tally.Add(app.SlotOf(now.Add(-time.Hour)), app.Users, 3)
		v := viewState{loc: loc}
		ch := buildChart(tally, "", v, loc, cutoff, now, time.Time{}, time.Time{})
		first := cutoff.In(loc)
		want := int(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC).Sub(time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)).Hours()/24) + 1
		if len(ch.Days) != want {
			t.Errorf("%s: %d bars, want %d", zone, len(ch.Days), want)
		}
		last := ch.Days[len(ch.Days)-1]
		if last.Date != "2026-11-28" || !last.IsToday || last.Count != 3 || ch.Total != 3 {
			t.Errorf("%s: the last bar is %s (today %v) with %d entries of %d, want today's 3", zone, last.Date, last.IsToday, last.Count, ch.Total)
		}
		for i := 1; i < len(ch.Days); i++ {
			a, _ := time.Parse(time.DateOnly, ch.Days[i-1].Date)
			b, _ := time.Parse(time.DateOnly, ch.Days[i].Date)
			if b.Sub(a) != 24*time.Hour {
				t.Fatalf("%s: %s follows %s", zone, ch.Days[i].Date, ch.Days[i-1].Date)
			}
		}
	}
}

// An entry stamped a few minutes ahead, after midnight while it is still
// today here, is drawn on tomorrow's bar: the chart counts what the tabs do.
func TestTheChartDrawsTomorrowWhenAnEntryIsStampedThere(t *testing.T) {
	loc := time.UTC
	now := time.Date(2026, 11, 28, 23, 58, 0, 0, loc)
	tally := app.NewSlotCounts(0, 0)
	tally.Add(app.SlotOf(now.Add(-time.Hour)), app.Users, 1)
	tally.Add(app.SlotOf(now.Add(3*time.Minute)), app.Users, 1)
	ch := buildChart(tally, "", viewState{loc: loc}, loc, now.AddDate(0, 0, -30), now, time.Time{}, time.Time{})
	last := ch.Days[len(ch.Days)-1]
	if ch.Total != 2 || last.Date != "2026-11-29" || last.Count != 1 || last.IsToday || !ch.Days[len(ch.Days)-2].IsToday {
		t.Fatalf("total %d; last bar %s with %d (today %v)", ch.Total, last.Date, last.Count, last.IsToday)
	}
	// Without such an entry, the chart ends today.
	tally = app.NewSlotCounts(0, 0)
	tally.Add(app.SlotOf(now.Add(-time.Hour)), app.Users, 1)
	ch = buildChart(tally, "", viewState{loc: loc}, loc, now.AddDate(0, 0, -30), now, time.Time{}, time.Time{})
	if last := ch.Days[len(ch.Days)-1]; last.Date != "2026-11-28" || !last.IsToday {
		t.Fatalf("the chart ends on %s (today %v)", last.Date, last.IsToday)
	}
}
