package app_test

import (
	"testing"
	"time"

	"auditlog/app"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skip("no zone", name, err)
	}
	return loc
}

// Where the clocks jump forward at midnight, the day starts at the jump, on
// that day, not at the hour before it on the day before (as time.Date puts
// the midnight that does not exist).
func TestADayStartsOnItsOwnDateWhereMidnightIsSkipped(t *testing.T) {
	for _, c := range []struct {
		zone, day, start string // start in UTC
	}{
		{"Atlantic/Azores", "2026-03-29", "2026-03-29T01:00:00Z"},    // 00:00 -01 → 01:00 +00
		{"America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z"},   // 00:00 -04 → 01:00 -03
		{"America/Havana", "2026-03-08", "2026-03-08T05:00:00Z"},     // 00:00 -05 → 01:00 -04
		{"Europe/Berlin", "2026-03-29", "2026-03-28T23:00:00Z"},      // skips 02:00, not midnight
		{"America/New_York", "2026-11-01", "2026-11-01T04:00:00Z"},   // falls back at 02:00
		{"Pacific/Kiritimati", "2026-11-20", "2026-11-19T10:00:00Z"}, // UTC+14
	} {
		loc := mustZone(t, c.zone)
		got, err := app.ParseDay(c.day, loc)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := time.Parse(time.RFC3339, c.start); !got.Equal(want) {
			t.Errorf("%s in %s starts at %s, want %s", c.day, c.zone, got.UTC().Format(time.RFC3339), c.start)
		}
		if got.In(loc).Format(time.DateOnly) != c.day {
			t.Errorf("%s in %s starts on %s", c.day, c.zone, got.In(loc).Format(time.DateOnly))
		}
		// A second before is the day before; stepping a day on and back
		// comes to the same start.
		if got.Add(-time.Second).In(loc).Format(time.DateOnly) == c.day {
			t.Errorf("%s in %s: the second before its start is on it too", c.day, c.zone)
		}
		if back := app.AddDays(app.AddDays(got, 1, loc), -1, loc); !back.Equal(got) {
			t.Errorf("%s in %s: a day on and back is %s", c.day, c.zone, back.UTC())
		}
		if s := app.StartOfDay(got.Add(5*time.Hour), loc); !s.Equal(got) {
			t.Errorf("%s in %s: the start of a time that day is %s", c.day, c.zone, s.UTC())
		}
	}
}

// Stepping day by day through a year in zones whose clocks change at
// midnight lands every step on a midnight or the jump that replaces it, and
// on the next date: none is skipped, none repeated.
func TestDaysStepThroughAYearWithoutDriftingOffMidnight(t *testing.T) {
	for _, zone := range []string{"Asia/Beirut", "Africa/Cairo", "Atlantic/Azores", "America/Santiago", "Europe/Berlin"} {
		loc := mustZone(t, zone)
		d, _ := app.ParseDay("2026-01-01", loc)
		for i := range 366 {
			next := app.AddDays(d, 1, loc)
			want := time.Date(2026, 1, 2+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			if got := next.In(loc).Format(time.DateOnly); got != want {
				t.Fatalf("%s: the day after %s is %s, want %s", zone, d.In(loc).Format(time.DateOnly), got, want)
			}
			if h := next.In(loc).Hour(); h > 1 {
				t.Fatalf("%s: %s starts at %s", zone, want, next.In(loc).Format("15:04"))
			}
			d = next
		}
	}
}

// Dates in queries and token expiries go by the same days.
func TestDatesInQueriesAndExpiriesAreWholeDaysWhereMidnightIsSkipped(t *testing.T) {
	azores := mustZone(t, "Atlantic/Azores")
	after, err := app.ParseDate("2026-03-29", azores)
	if err != nil || !after.Equal(time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("after:2026-03-29 in the Azores starts at %s (%v)", after.UTC(), err)
	}
	santiago := mustZone(t, "America/Santiago")
	day, _ := app.ParseDay("2027-09-04", santiago) // the clocks skip the midnight that ends it
	end := app.AddDays(day, 1, santiago)
	if got, ok := app.ValidThrough(end, santiago); !ok || got != "2027-09-04" {
		t.Fatalf("a token valid through 2027-09-04 in Santiago ends %s, read as through %q (%v)", end.In(santiago), got, ok)
	}
}

// Every day of forty years, in the zones whose clocks have done the odd
// things (jumped over midnight, been set back across it, lost hours or a
// whole day): its start is on it, the instant before is not, and the next
// day starts later.
func TestEveryDayStartsAtItsFirstInstant(t *testing.T) {
	for _, zone := range []string{"Asia/Amman", "Antarctica/Casey", "Antarctica/Vostok", "Africa/Tunis", "Asia/Colombo",
		"Atlantic/Azores", "America/Havana", "America/Santiago", "Asia/Beirut", "Africa/Cairo", "Pacific/Apia",
		"Australia/Lord_Howe", "Pacific/Kiritimati", "Europe/Berlin", "America/New_York"} {
		loc := mustZone(t, zone)
		day := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		for ; day.Year() < 2030; day = day.AddDate(0, 0, 1) {
			name := day.Format(time.DateOnly)
			start, _ := app.ParseDay(name, loc)
			end, _ := app.ParseDayEnd(name, loc)
			if start.After(end) {
				t.Fatalf("%s in %s starts at %s, after it ends at %s", name, zone, start.UTC(), end.UTC())
			}
			if start.Equal(end) { // a day the clocks skipped
				continue
			}
			if got := start.In(loc).Format(time.DateOnly); got != name {
				t.Fatalf("%s in %s starts at %s, on %s", name, zone, start.UTC(), got)
			}
			if got := start.Add(-time.Nanosecond).In(loc).Format(time.DateOnly); got == name {
				t.Fatalf("%s in %s starts at %s, but the instant before is on it too", name, zone, start.UTC())
			}
			if got := end.Add(-time.Nanosecond).In(loc).Format(time.DateOnly); got != name {
				t.Fatalf("%s in %s ends at %s, but the instant before is on %s", name, zone, end.UTC(), got)
			}
		}
	}
}

// A bound is written as a date only when it is the start of that day, so a
// URL read back gives the same bound.
func TestABoundIsWrittenAsADateOnlyAtTheStartOfItsDay(t *testing.T) {
	azores := mustZone(t, "Atlantic/Azores")
	for at, want := range map[string]string{
		"2026-03-29T01:00:00Z": "2026-03-29",           // the day starts at the jump, 01:00 local
		"2026-10-25T00:00:00Z": "2026-10-25",           // the first of two midnights
		"2026-10-25T01:00:00Z": "2026-10-25T01:00:00Z", // the second
		"2026-11-20T01:00:00Z": "2026-11-20",
	} {
		bound, _ := time.Parse(time.RFC3339, at)
		got := app.FormatBound(bound, azores)
		if got != want {
			t.Errorf("the bound %s in the Azores is written %q, want %q", at, got, want)
		}
		if back, err := app.ParseDate(got, azores); err != nil || !back.Equal(bound) {
			t.Errorf("%q reads back as %s (%v), not %s", got, back.UTC(), err, at)
		}
	}
}
