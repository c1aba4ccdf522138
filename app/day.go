package app

import "time"

// Days in the workspace's timezone. A day there does not always start at
// midnight: where the clocks jump forward at midnight (the Azores, Chile,
// Cuba, Lebanon in some years), midnight does not exist, and Go's
// time.Date gives the hour before it, on the day before. Every day of the
// page, the chart, date filters and token expiries is found here instead.

// DayStart is the first instant of the day y-m-d in loc: its midnight, or,
// where the clocks skip midnight, the instant they jump to. Month and day
// out of range are normalized, as time.Date does (day 32 is the 1st of the
// next month).
func DayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the date, normalized
	if ty, tm, td := t.Date(); ty == want.Year() && tm == want.Month() && td == want.Day() {
		return t
	}
	// Midnight fell in a gap, and time.Date placed it before the jump: the
	// day starts where that offset ends.
	if _, end := t.ZoneBounds(); !end.IsZero() {
		return end
	}
	return t
}

// StartOfDay is the first instant of t's day in loc.
func StartOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return DayStart(y, m, d, loc)
}

// AddDays is the first instant of the day n days after t's day in loc (n
// may be negative). Unlike t.AddDate, it lands on a day's start whatever
// offsets change in between.
func AddDays(t time.Time, n int, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return DayStart(y, m, d+n, loc)
}

// ParseDay reads a date such as 2026-11-20 as the first instant of that day
// in loc.
func ParseDay(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	return DayStart(t.Year(), t.Month(), t.Day(), loc), nil
}
