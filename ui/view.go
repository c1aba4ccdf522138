package ui

import (
	"net/url"
	"strings"
	"time"

	"auditlog/app"
)

// The time ranges the page offers. rangeAll is the whole retention window.
const (
	range24h    = "24h"
	range7d     = "7d"
	rangeAll    = "all"
	rangeCustom = "custom"
)

const dateLayout = "2006-01-02"

// viewState is what the page shows: the Filter it searches, read once per
// request in the workspace's timezone, and how the URL, the form and the
// time-range control present that filter.
type viewState struct {
	Filter app.Filter // what is searched, counted and exported
	// Err says why the parameters could not be read into a Filter (a bad
	// namespace or date); the page shows it under the search box.
	Err error
	loc *time.Location

	// The filter as the URL writes it (or, when Err is set, as it was sent):
	// the form's fields and the page's links are made of these.
	Q         string
	Namespace string // wire name, or empty for all
	After     string // a date in the workspace zone or an RFC 3339 time
	Before    string // exclusive
	Range     string // which choice of the time-range control this is
	From, To  string // the custom range's dates as the date inputs show them (To inclusive)
}

// resolveView reads the view from the query parameters. A request from the
// filter form also carries range, from and to (the time-range control); they
// are turned into the Filter's bounds here, so that the URL the page pushes
// has only the API's names.
func resolveView(p url.Values, now time.Time, loc *time.Location, retention time.Duration) viewState {
	v := viewState{loc: loc}
	f, err := app.ParseFilter(p, loc)
	if err != nil {
		// The page's form sends back what the view holds: a parameter that
		// cannot be read (a stale or hand-edited link's namespace=bogus) is
		// left out, or every search from the page would fail on it again.
		// The view is what remains, and says why it is not what was asked.
		kept := url.Values{"q": {p.Get("q")}}
		for _, name := range []string{"namespace", "after", "before"} {
			if _, err := app.ParseFilter(url.Values{name: {p.Get(name)}}, loc); err == nil {
				kept.Set(name, p.Get(name))
			}
		}
		v.Err = err
		if f, err = app.ParseFilter(kept, loc); err != nil {
			kept.Del("after") // each readable, but the wrong way round
			kept.Del("before")
			f, _ = app.ParseFilter(kept, loc)
		}
		v.Filter = f
		v.sync()
		v.describeRange(now, loc)
		return v
	}
	v.Filter = f
	if p.Has("range") {
		// The form sends the after and before it was showing; when the control
		// still says the same, they stand (keeping a time that is not a whole
		// day); otherwise the control's choice decides.
		shown := viewState{Filter: f}
		shown.describeRange(now, loc)
		want := viewState{Range: p.Get("range"), From: p.Get("from"), To: p.Get("to")}
		if want.Range != rangeCustom {
			want.From, want.To = "", ""
			shown.From, shown.To = "", ""
		}
		if want.Range != shown.Range || want.From != shown.From || want.To != shown.To {
			v.Filter.After, v.Filter.Before = rangeBounds(want, now, loc, retention)
		}
	}
	v.sync()
	v.describeRange(now, loc)
	return v
}

// sync writes the Filter into the strings the URL and the form show.
func (v *viewState) sync() {
	p := v.Filter.Values(v.loc)
	v.Q, v.Namespace, v.After, v.Before = p.Get("q"), p.Get("namespace"), p.Get("after"), p.Get("before")
}

// rangeBounds turns a choice of the time-range control into after and before.
func rangeBounds(want viewState, now time.Time, loc *time.Location, retention time.Duration) (after, before time.Time) {
	today := app.StartOfDay(now, loc)
	switch want.Range {
	case range24h:
		return now.Add(-24 * time.Hour).UTC().Truncate(time.Minute), time.Time{}
	case range7d:
		return app.AddDays(today, -6, loc), time.Time{}
	case rangeCustom:
		fromDay, toDay := want.From, want.To
		fromOK, toOK := isDate(fromDay), isDate(toDay)
		if !fromOK && !toOK {
			// Custom chosen, no dates yet: start from the whole window, to be narrowed.
			fromDay, fromOK = now.Add(-retention).In(loc).Format(dateLayout), true
			toDay, toOK = now.In(loc).Format(dateLayout), true
		}
		if fromOK && toOK && toDay < fromDay { // dates as text sort as days do
			fromDay, toDay = toDay, fromDay
		}
		if fromOK {
			after, _ = app.ParseDay(fromDay, loc)
		}
		if toOK {
			before, _ = app.ParseDayEnd(toDay, loc) // before is exclusive: the end of "to"
		}
		return after, before
	}
	return time.Time{}, time.Time{}
}

// describeRange sets Range, From and To from the Filter's bounds.
func (v *viewState) describeRange(now time.Time, loc *time.Location) {
	v.Range, v.From, v.To = rangeCustom, "", ""
	after, before := v.Filter.After, v.Filter.Before
	if after.IsZero() && before.IsZero() {
		v.Range = rangeAll
		return
	}
	today := app.StartOfDay(now, loc)
	if before.IsZero() && after.Equal(app.AddDays(today, -6, loc)) {
		v.Range = range7d
		return
	}
	if before.IsZero() && !isDayStart(after, loc) {
		if d := after.Sub(now.Add(-24 * time.Hour)); d > -time.Hour && d < time.Hour {
			v.Range = range24h
			return
		}
	}
	if !after.IsZero() {
		v.From = after.In(loc).Format(dateLayout)
	}
	if !before.IsZero() {
		v.To = before.Add(-time.Nanosecond).In(loc).Format(dateLayout)
	}
}

// isDayStart reports whether t is the start of its day in loc, as a bound given as a date is.
func isDayStart(t time.Time, loc *time.Location) bool {
	return !t.IsZero() && t.Equal(app.StartOfDay(t, loc))
}

// isDate reports whether s is a date as the date fields send it.
func isDate(s string) bool {
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

// URL is the page's address for this view: the parameters in the API's names
// and order, empty ones left out.
func (v viewState) URL() string { return v.urlWith(nil) }

// urlWith is URL plus extra parameters (a cursor, the newest entry seen).
func (v viewState) urlWith(extra [][2]string) string {
	var b strings.Builder
	b.WriteString(PagePath)
	sep := "?"
	add := func(k, val string) {
		if val == "" {
			return
		}
		b.WriteString(sep + k + "=" + url.QueryEscape(val))
		sep = "&"
	}
	add("q", v.Q)
	add("namespace", v.Namespace)
	add("after", v.After)
	add("before", v.Before)
	for _, kv := range extra {
		add(kv[0], kv[1])
	}
	return b.String()
}

// withNamespace is the same view narrowed to namespace n (empty: all).
func (v viewState) withNamespace(n app.Namespace) viewState {
	v.Filter.Namespace = n
	v.sync()
	return v
}

// withDay is the same view narrowed to one day in the workspace zone.
func (v viewState) withDay(day time.Time) viewState {
	v.Filter.After, v.Filter.Before = day, app.AddDays(day, 1, v.loc)
	v.sync()
	return v
}

// cleared is the view without any filter.
func (v viewState) cleared() viewState { return viewState{loc: v.loc} }
