package app

import "time"

// Days in the workspace's timezone. A day there does not always start at
// midnight: where the clocks jump forward at midnight (the Azores, Chile,
// Cuba, Lebanon in some years), midnight does not exist, and Go's
// time.Date gives the hour before it, on the day before. Every day of the
// page, the chart, date filters and token expiries is found here instead.

// DayStart is the first instant of the day y-m-d in loc: its midnight; where
// the clocks skip midnight, the instant they jump to; where they are set
// back across it, the first of its two midnights. A day the clocks skip
// whole (Samoa's 2011-12-30) starts, and ends, where the next one starts.
// Month and day out of range are normalized, as time.Date does (day 32 is
// the 1st of the next month).
func DayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Date()
	onDay := func(t time.Time) bool {
		ty, tm, td := t.In(loc).Date()
		return ty == y && tm == m && td == d
	}
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if !onDay(t) {
		// Midnight fell in a gap, and time.Date placed it before the jump:
		// the day starts where that offset ends.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
		return t
	}
	// Midnight may come twice, and time.Date may give the second: if the
	// offset before this one already reached the day, its midnight is the
	// day's start.
	if start, _ := t.ZoneBounds(); !start.IsZero() && start.After(t.Add(-48*time.Hour)) {
		before := start.Add(-time.Nanosecond)
		if onDay(before) {
			_, offset := before.Zone()
			if first := time.Date(y, m, d, 0, 0, 0, 0, time.FixedZone("", offset)); first.Before(start) && onDay(first) {
				return first.In(loc)
			}
		}
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
	return parseDayPlus(s, 0, loc)
}

// ParseDayEnd reads a date such as 2026-11-20 as the end of that day in
// loc: the first instant of the next. (Not AddDays of ParseDay: a day the
// clocks skipped starts where the next one does.)
func ParseDayEnd(s string, loc *time.Location) (time.Time, error) {
	return parseDayPlus(s, 1, loc)
}

func parseDayPlus(s string, days int, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	return DayStart(t.Year(), t.Month(), t.Day()+days, loc), nil
}
