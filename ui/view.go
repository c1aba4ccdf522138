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

// viewState is what the page shows, as the URL says it with the API's
// parameter names (q, namespace, after, before), plus how the time-range
// control presents it.
type viewState struct {
	Q         string
	Namespace string // wire name, or empty for all
	After     string // as in the URL: a date in the workspace zone or an RFC 3339 time
	Before    string // exclusive
	Range     string // which choice of the time-range control this is
	From, To  string // the custom range's dates as the date inputs show them (To inclusive)
}

// resolveView reads the view from the query parameters. A request from the
// filter form also carries range, from and to (the time-range control); they
// are turned into after and before here, so that the URL the page pushes has
// only the API's names.
func resolveView(p url.Values, now time.Time, loc *time.Location, retention time.Duration) viewState {
	v := viewState{
		Q:         p.Get("q"),
		Namespace: p.Get("namespace"),
		After:     p.Get("after"),
		Before:    p.Get("before"),
	}
	if v.Namespace == "all" {
		v.Namespace = ""
	}
	if n, ok := app.ParseNamespace(v.Namespace); ok {
		v.Namespace = string(n)
	}
	if p.Has("range") {
		// The form sends the after and before it was showing; when the control
		// still says the same, they stand (keeping a time that is not a whole
		// day); otherwise the control's choice decides.
		shown := v
		shown.describeRange(now, loc)
		want := viewState{Range: p.Get("range"), From: p.Get("from"), To: p.Get("to")}
		if want.Range != rangeCustom {
			want.From, want.To = "", ""
			shown.From, shown.To = "", ""
		}
		if want.Range != shown.Range || want.From != shown.From || want.To != shown.To {
			v.After, v.Before = rangeBounds(want, now, loc, retention)
		}
	}
	v.describeRange(now, loc)
	return v
}

// rangeBounds turns a choice of the time-range control into after and before.
func rangeBounds(want viewState, now time.Time, loc *time.Location, retention time.Duration) (after, before string) {
	today := dayStartIn(now, loc)
	switch want.Range {
	case range24h:
		return now.Add(-24 * time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339), ""
	case range7d:
		return today.AddDate(0, 0, -6).Format(dateLayout), ""
	case rangeCustom:
		from, fromOK := parseDay(want.From, loc)
		to, toOK := parseDay(want.To, loc)
		if !fromOK && !toOK {
			// Custom chosen, no dates yet: start from the whole window, to be narrowed.
			from, fromOK = dayStartIn(now.Add(-retention), loc), true
			to, toOK = today, true
		}
		if fromOK && toOK && to.Before(from) {
			from, to = to, from
		}
		if fromOK {
			after = from.Format(dateLayout)
		}
		if toOK {
			before = to.AddDate(0, 0, 1).Format(dateLayout) // before is exclusive: the day after "to"
		}
		return after, before
	}
	return "", ""
}

// describeRange sets Range, From and To from After and Before.
func (v *viewState) describeRange(now time.Time, loc *time.Location) {
	v.Range, v.From, v.To = rangeCustom, "", ""
	if v.After == "" && v.Before == "" {
		v.Range = rangeAll
		return
	}
	today := dayStartIn(now, loc)
	if v.Before == "" && v.After == today.AddDate(0, 0, -6).Format(dateLayout) {
		v.Range = range7d
		return
	}
	if v.Before == "" && !isDate(v.After) {
		if t, err := app.ParseDate(v.After, loc); err == nil {
			if d := t.Sub(now.Add(-24 * time.Hour)); d > -time.Hour && d < time.Hour {
				v.Range = range24h
				return
			}
		}
	}
	if t, err := app.ParseDate(v.After, loc); err == nil && v.After != "" {
		v.From = t.In(loc).Format(dateLayout)
	}
	if t, err := app.ParseDate(v.Before, loc); err == nil && v.Before != "" {
		v.To = t.Add(-time.Nanosecond).In(loc).Format(dateLayout)
	}
}

func isDate(s string) bool {
	_, err := time.Parse(dateLayout, s)
	return err == nil
}

func parseDay(s string, loc *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation(dateLayout, s, loc)
	return t, err == nil
}

// dayStartIn is the start of t's day in loc.
func dayStartIn(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// values are the view's parameters for the API's filter.
func (v viewState) values() url.Values {
	p := url.Values{}
	p.Set("q", v.Q)
	p.Set("namespace", v.Namespace)
	p.Set("after", v.After)
	p.Set("before", v.Before)
	return p
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
func (v viewState) withNamespace(n string) viewState {
	v.Namespace = n
	return v
}

// withDay is the same view narrowed to one day in the workspace zone.
func (v viewState) withDay(day time.Time) viewState {
	v.After = day.Format(dateLayout)
	v.Before = day.AddDate(0, 0, 1).Format(dateLayout)
	return v
}

// cleared is the view without any filter.
func (v viewState) cleared() viewState { return viewState{} }
