package app

import (
	"net/url"
	"time"
)

// Filter is a search as people and clients name it: text in the query
// language, a namespace and a time range. The API, the page, the command line
// and export all read one, once, with the workspace's timezone, and hand it
// on; Compile turns it into the Query the Log runs.
type Filter struct {
	Q         string    // the query language (free words and qualifiers)
	Namespace Namespace // empty means every namespace
	After     time.Time // inclusive; zero means unbounded
	Before    time.Time // exclusive; zero means unbounded
}

// ParseFilter reads a Filter from the API's parameter names: q, namespace
// (a wire or display name; "all" or empty for every one), after and before (a
// date, the start of that day in loc, or an RFC 3339 time).
func ParseFilter(p url.Values, loc *time.Location) (Filter, error) {
	if loc == nil {
		loc = time.UTC
	}
	f := Filter{Q: p.Get("q")}
	if ns := p.Get("namespace"); ns != "" && ns != "all" {
		n, ok := ParseNamespace(ns)
		if !ok {
			return Filter{}, Errorf(EINVALID, "namespace: unknown namespace %q (one of %s)", ns, namespaceList())
		}
		f.Namespace = n
	}
	var err error
	if v := p.Get("after"); v != "" {
		if f.After, err = ParseDate(v, loc); err != nil {
			return Filter{}, Errorf(EINVALID, "after: %v", err)
		}
	}
	if v := p.Get("before"); v != "" {
		if f.Before, err = ParseDate(v, loc); err != nil {
			return Filter{}, Errorf(EINVALID, "before: %v", err)
		}
	}
	if !f.After.IsZero() && !f.Before.IsZero() && !f.After.Before(f.Before) {
		return Filter{}, Errorf(EINVALID, "before: must be later than after")
	}
	return f, nil
}

// Values writes the filter back in the API's parameter names, empty ones left
// out. A bound at the start of a day in loc is written as that date, so URLs
// stay readable; any other instant as RFC 3339.
func (f Filter) Values(loc *time.Location) url.Values {
	if loc == nil {
		loc = time.UTC
	}
	p := url.Values{}
	if f.Q != "" {
		p.Set("q", f.Q)
	}
	if f.Namespace != "" {
		p.Set("namespace", string(f.Namespace))
	}
	if !f.After.IsZero() {
		p.Set("after", FormatBound(f.After, loc))
	}
	if !f.Before.IsZero() {
		p.Set("before", FormatBound(f.Before, loc))
	}
	return p
}

// FormatBound writes a time-range bound as a date when it is the start of a
// day in loc, else as an RFC 3339 time in UTC.
func FormatBound(t time.Time, loc *time.Location) string {
	if t.Equal(StartOfDay(t, loc)) { // not "at 00:00": a day may start at 01:00, or 00:00 come twice
		return t.In(loc).Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Compile parses the filter's text and narrows it to the namespace and time
// range: the Query the Log searches, tallies and exports with.
// A range that the text and the parameters together leave empty is refused,
// as one written in either alone is: it is a mistake, not a question whose
// answer is nothing.
func (f Filter) Compile(loc *time.Location) (Query, error) {
	q, err := ParseQuery(f.Q, loc)
	if err != nil {
		return Query{}, err
	}
	narrowed := f.Narrow(q)
	if after, before := narrowed.After, narrowed.Before; !after.IsZero() && !before.IsZero() && !after.Before(before) {
		return Query{}, Errorf(EINVALID, "before: must be later than after; the query's after:/before: and the parameters together leave no time (from %s to %s)",
			FormatBound(after, loc), FormatBound(before, loc))
	}
	return narrowed, nil
}

// Narrow applies the filter's namespace and time range to q, its text
// already parsed: a caller that needs one text under several narrowings (the
// page's counts and chart) parses it once. q itself is left as it was.
func (f Filter) Narrow(q Query) Query {
	if f.Namespace != "" {
		q.RestrictNamespace(f.Namespace)
	}
	q.RestrictTime(f.After, f.Before)
	return q
}
