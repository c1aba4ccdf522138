package ui

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"auditlog/app"
	"auditlog/app/demo"

	"github.com/labstack/echo/v4"
)

// pageSize is how many entries one screenful (and each infinite-scroll step) loads.
const pageSize = 50

// auditLogView is the whole Audit Log page.
type auditLogView struct {
	pageBase
	Results   resultsView
	Integrity integrityView
	Cluster   *clusterView // nil on a single node
}

// resultsView is everything that follows the search: the part htmx swaps.
type resultsView struct {
	PagePath     string
	CSRF         string
	CanAdmin     bool // may load demo data
	View         viewState
	URL          string // this view's address
	ClearURL     string
	RangeOptions []rangeOption
	RangeLabel   string // e.g. "in the last 7 days"
	QueryError   string
	ParamError   bool   // QueryError is about the address's namespace, after or before, not the query
	TypingError  string // a half-typed query's problem, shown beside the search box
	Tabs         []nsTab
	Total        int
	Chart        *chartView
	Rows         []rowView
	NextURL      string // the next page's fragment, for the infinite scroll
	EndMessage   string // shown under the last entry
	FirstRun     bool   // nothing was ever recorded
	NoMatch      bool
	Rebuilding   bool
	RebuildDone  int
	RebuildTotal int
	Repairs      []repairView // days of the index rebuilt since the start
	Refreshed    bool
	NewCount     int
	NewMore      bool // more new entries than one page holds
	RefreshURL   string
	Updated      timeView
	Exports      []exportLink
	APIBase      string // where the API is, for the first-run example
	TokenCommand string // how to create a token, for the first-run example
	Retention    string
	OOB          bool // also update the filter controls outside the results
	// KeepDates leaves the date fields as they are: a search sent by one of
	// them, as its date is typed, would move the caret out of the field.
	KeepDates bool
}

type exportLink struct{ Label, Hint, URL string }

// exportLinks download what the view shows, in each format the API writes.
func exportLinks(v viewState) []exportLink {
	var out []exportLink
	for _, f := range []struct{ format, label, hint string }{
		{"csv", "CSV", "for spreadsheets"},
		{"json", "JSON", "the entries and their proof"},
		{"ndjson", "NDJSON", "one entry per line"},
	} {
		p := v.Filter.Values(v.loc)
		p.Set("format", f.format)
		out = append(out, exportLink{Label: f.label, Hint: f.hint, URL: "/api/v1/export?" + p.Encode()})
	}
	return out
}

type rangeOption struct {
	Value, Label string
	Selected     bool
}

type nsTab struct {
	Key    string // wire name; empty for all
	Label  string
	Count  int
	URL    string
	Active bool
}

type rowView struct {
	ID        string
	URL       string
	Time      timeView
	Namespace app.Namespace
	Action    string
	// The marked forms: what the search matched in the action, detail and actor.
	ActionHTML template.HTML
	Detail     template.HTML
	ActorHTML  template.HTML
	Anonymous  bool
	New        bool
}

// timeView shows an instant in the workspace zone, with UTC at hand.
type timeView struct {
	Local string // "Nov 25, 14:03:12 CET"
	Date  string // "Tue, Nov 25, 2026"
	Clock string // "14:03:12 CET"
	UTC   string // "2026-11-25 13:03:12 UTC"
	ISO   string // RFC 3339 in UTC, for <time datetime>
	InUTC bool   // the workspace zone is UTC: no need to say it twice
}

func newTimeView(t time.Time, loc *time.Location) timeView {
	l := t.In(loc)
	// The year is left out only where it goes without saying: an entry of
	// another year (a retention longer than the year so far) says its own.
	local := l.Format("Jan 2, 15:04:05 MST")
	if l.Year() != time.Now().In(loc).Year() {
		local = l.Format("Jan 2, 2006, 15:04:05 MST")
	}
	return timeView{
		Local: local,
		Date:  l.Format("Mon, Jan 2, 2006"),
		Clock: l.Format("15:04:05 MST"),
		UTC:   t.UTC().Format("2006-01-02 15:04:05 UTC"),
		ISO:   t.UTC().Format(time.RFC3339),
		InUTC: l.Format("MST") == "UTC",
	}
}

// auditLogPage answers the page's address: the full page for a browser, the
// results for htmx (search, filters, refresh), or the next rows for the
// infinite scroll (with a cursor). Each form of the answer reads the same
// parameters, so the address in the bar always reproduces what is shown.
//
// A query that does not parse is not a failed request: the page (or the
// partial, so that htmx swaps it in) answers 200 with the message under the
// search box; while it is being typed, only that message is swapped in.
func (s *Server) auditLogPage(c echo.Context) error {
	ctx := c.Request().Context()
	varyOnHTMX(c)
	c.Response().Header().Add("Vary", searchTyping)
	base, settings := s.base(c, "Audit Log")
	if !settings.PlanOf().HasAuditLog() {
		return s.proNotice(c, base)
	}
	loc := settings.Location()
	now := s.Log.Now()
	params := c.QueryParams()
	v := resolveView(params, now, loc, s.Log.Retention())
	htmx := isHTMX(c.Request())
	if !htmx && params.Has("range") {
		// The filter form sent without script: show its view at its own address.
		return c.Redirect(http.StatusSeeOther, v.URL())
	}
	cursor := c.QueryParam("cursor")
	// Rows further down come without the counts and the chart, which the
	// page has; a page opened at a cursor (a link opened in a new tab, the
	// next page without script) needs them.
	res, err := s.results(ctx, c, v, loc, now, cursor, c.QueryParam("since"), cursor == "" || !htmx)
	if err != nil {
		return err
	}
	res.CSRF, res.CanAdmin = base.CSRF, base.CanAdmin
	switch {
	case htmx && cursor != "":
		return renderPartial(c, "rows", res)
	case htmx && isTyping(c.Request()) && res.QueryError != "":
		// A query being typed is often unreadable for a moment ("Customer
		// with its quote still open): keep the last good results, tabs,
		// chart and buttons, and say what is wrong beside the box. Enter, an
		// explicit search, shows the full message in place of the results.
		res.TypingError = res.QueryError
		retarget(c, "#query-hint", "outerHTML")
		return renderPartial(c, "query-hint", res)
	case htmx:
		res.OOB = true
		switch c.Request().Header.Get(hxTrigger) { // the id of the field that sent it
		case "range-from", "range-to":
			res.KeepDates = true
		}
		current, err := url.Parse(c.Request().Header.Get(hxCurrentURL))
		switch {
		case err == nil && current.RequestURI() == res.URL:
		case err == nil && isTyping(c.Request()) && c.Request().Header.Get(searchContinues) == "true" && sameSearchTyped(current, res.URL):
			// Each pause while typing sends a search: the query being
			// typed takes the place of its beginning, so Back goes to the
			// search before, not to every few letters of this one. A
			// search confirmed with Enter, or opened from a link, stays.
			replaceURL(c, res.URL)
		case err == nil && c.Request().Header.Get(rangeStepContinues) == "true" && sameSearch(current, res.URL):
			// Arrow keys step the time-range control through its choices,
			// each a search: the range stepped to takes the place of the one
			// stepped from, as a query typed further does, so Back goes to
			// the range before the stepping.
			replaceURL(c, res.URL)
		default:
			pushURL(c, res.URL)
		}
		return renderPartial(c, "results", res)
	}
	return renderPage(c, "audit_log", auditLogView{pageBase: base, Results: res, Integrity: s.integrityView(now, loc), Cluster: s.clusterView(c.Request().Context())})
}

// results searches for one view. With overview set it also counts per
// namespace and draws the chart; the infinite scroll needs only rows.
func (s *Server) results(ctx context.Context, c echo.Context, v viewState, loc *time.Location, now time.Time, cursor, since string, overview bool) (resultsView, error) {
	res := resultsView{
		PagePath:     PagePath,
		View:         v,
		URL:          v.URL(),
		ClearURL:     v.cleared().URL(),
		RangeOptions: rangeOptions(v, s.Log.Retention()),
		RangeLabel:   rangeLabel(v, loc, s.Log.Retention()),
		Updated:      newTimeView(now, loc),
		Retention:    app.FormatRetention(s.Log.Retention()),
		Exports:      exportLinks(v),
		APIBase:      s.scheme(c.Request()) + "://" + c.Request().Host,
		TokenCommand: s.tokenCommand(),
	}
	res.Rebuilding, res.RebuildDone, res.RebuildTotal = s.Log.IndexStatus()
	res.Repairs = repairViews(s.Log.IndexRepairs(), loc)
	// The text is parsed once; the results, the counts and the chart each
	// narrow it by as much of the filter as they follow.
	err := v.Err
	var text app.Query
	if err == nil {
		text, err = app.ParseQuery(v.Filter.Q, loc)
	}
	if app.ErrorCode(err) == app.EINVALID {
		res.QueryError, res.ParamError = queryMessage(app.ErrorMessage(err)), v.Err != nil
		return res, nil
	} else if err != nil {
		return res, err
	}
	q := v.Filter.Narrow(text)
	if !text.After.IsZero() || !text.Before.IsZero() {
		// Dates typed in the query narrow what the range menu chose: the
		// summary says the span searched, not the menu's.
		typed := v
		typed.Range, typed.Filter.After, typed.Filter.Before = rangeCustom, q.After, q.Before
		res.RangeLabel = rangeLabel(typed, loc, s.Log.Retention())
	}
	// The counts and the chart are found beside the rows, not after them:
	// on two cores a search answers in the time of the slower of the two.
	var found counts
	counted := make(chan struct{})
	if overview {
		go func() {
			defer close(counted)
			found = s.counts(ctx, v, text, q)
		}()
	} else {
		close(counted)
	}
	page, err := s.Log.Search(ctx, q, cursor, pageSize)
	if err != nil {
		<-counted
		return res, err
	}
	terms := q.PositiveTerms()
	whoTerms := actorTerms(terms, q.Actors)
	newest := len(page.Events)
	if since != "" {
		res.Refreshed = true
		for i, e := range page.Events {
			if e.ID == since {
				newest = i
				break
			}
		}
		res.NewCount, res.NewMore = newest, newest == len(page.Events) && page.Next != ""
	} else {
		newest = 0
	}
	for i, e := range page.Events {
		res.Rows = append(res.Rows, rowView{
			ID:         e.ID,
			URL:        entryURL(e.ID, v.Filter.Q),
			Time:       newTimeView(e.Timestamp, loc),
			Namespace:  e.Namespace,
			Action:     e.Action,
			ActionHTML: highlightIdent(e.Action, terms),
			Detail:     highlight(e.Detail, terms),
			ActorHTML:  highlight(e.Actor, whoTerms),
			Anonymous:  e.IsAnonymous(),
			New:        i < newest,
		})
	}
	if page.Next != "" {
		res.NextURL = v.urlWith([][2]string{{"cursor", page.Next}})
	} else if len(page.Events) > 0 || cursor != "" {
		res.EndMessage = "Beginning of the retention window (entries older than " + res.Retention + " are purged)"
		if q.After.After(s.Log.Cutoff()) {
			res.EndMessage = "No older entries in the selected time range"
		}
	}
	if len(page.Events) > 0 {
		res.RefreshURL = v.urlWith([][2]string{{"since", page.Events[0].ID}})
	} else {
		res.RefreshURL = res.URL
	}
	if cursor == "" && len(page.Events) == 0 {
		res.FirstRun = demo.Wanted(ctx, s.Log)
		res.NoMatch = !res.FirstRun
	}
	<-counted
	if !overview || res.FirstRun {
		return res, nil
	}
	if found.err != nil {
		return res, found.err
	}
	whole, perNS := found.whole, found.perNS
	all := 0
	for _, n := range perNS {
		all += n
	}
	res.Tabs = append(res.Tabs, nsTab{Label: "All", Count: all, URL: v.withNamespace("").URL(), Active: v.Filter.Namespace == ""})
	for i, n := range app.Namespaces {
		res.Tabs = append(res.Tabs, nsTab{
			Key: string(n), Label: n.DisplayName(), Count: perNS[i],
			URL: v.withNamespace(n).URL(), Active: v.Filter.Namespace == n,
		})
	}
	for _, t := range res.Tabs {
		if t.Active {
			res.Total = t.Count
		}
	}
	ch := buildChart(whole, v.Filter.Namespace, v, loc, s.Log.Cutoff(), now, q.After, q.Before)
	if ch.Total > 0 {
		res.Chart = &ch
	}
	return res, nil
}

// counts is what the namespace tabs and the chart show.
type counts struct {
	whole *app.SlotCounts // the search over the retention window: the chart
	perNS []int           // the search in the time range, per namespace: the tabs
	err   error
}

// counts counts for the tabs and the chart. The namespace counts follow the
// search and the time range, not the chosen namespace; the chart follows
// the search and the namespace over the whole retention window, showing the
// time range as a selection. A time range on whole quarter hours is summed
// from the chart's counts; another is counted on its own, at the same time.
func (s *Server) counts(ctx context.Context, v viewState, text, q app.Query) counts {
	var inRange counts
	ranged := make(chan struct{})
	if !app.WholeSlots(q.After, q.Before) && (!v.Filter.After.IsZero() || !v.Filter.Before.IsZero()) {
		go func() {
			defer close(ranged)
			unscoped := app.Filter{After: v.Filter.After, Before: v.Filter.Before}.Narrow(text)
			if c, err := s.Log.SlotCounts(ctx, unscoped); err != nil {
				inRange.err = err
			} else {
				inRange.perNS = c.PerNamespace()
			}
		}()
	} else {
		close(ranged)
	}
	whole, err := s.Log.SlotCounts(ctx, text)
	<-ranged
	switch {
	case err != nil:
		return counts{err: err}
	case inRange.err != nil:
		return inRange
	case inRange.perNS != nil:
		return counts{whole: whole, perNS: inRange.perNS}
	}
	perNS, ok := whole.Within(q.After, q.Before)
	if !ok {
		perNS = whole.PerNamespace() // bounds of the search's own after: and before:, which whole follows
	}
	return counts{whole: whole, perNS: perNS}
}

// entryURL is where a row opens its entry; the search goes along, so that
// the record marks what it matched.
func entryURL(id, q string) string {
	u := EntryPath + idSegment(id)
	if q != "" {
		u += "?" + url.Values{"q": {q}}.Encode()
	}
	return u
}

// queryMessage words the parser's message for the line under the search box.
func queryMessage(m string) string { return sentence(strings.TrimPrefix(m, "query: ")) }

// sentence words an error's message as a sentence for the page: a capital
// first, a full stop last.
func sentence(m string) string {
	if r, size := utf8.DecodeRuneInString(m); size > 0 {
		m = string(unicode.ToUpper(r)) + m[size:]
	}
	if !strings.HasSuffix(m, ".") && !strings.HasSuffix(m, `"`) {
		m += "."
	}
	return m
}

func rangeOptions(v viewState, retention time.Duration) []rangeOption {
	opts := []rangeOption{
		{Value: range24h, Label: "Last 24 hours"},
		{Value: range7d, Label: "Last 7 days"},
		{Value: rangeAll, Label: "Last " + app.FormatRetention(retention)},
		{Value: rangeCustom, Label: "Custom dates"},
	}
	if retention <= 7*24*time.Hour {
		opts = append(opts[:1], opts[2:]...)
	}
	for i := range opts {
		opts[i].Selected = opts[i].Value == v.Range
	}
	return opts
}

// rangeLabel says in words which time the results cover.
func rangeLabel(v viewState, loc *time.Location, retention time.Duration) string {
	switch v.Range {
	case range24h:
		return "in the last 24 hours"
	case range7d:
		return "in the last 7 days"
	case rangeAll:
		return "in the last " + app.FormatRetention(retention)
	}
	after, before := v.Filter.After, v.Filter.Before
	hasAfter, hasBefore := !after.IsZero(), !before.IsZero()
	today := time.Now().In(loc)
	show := func(t time.Time) string {
		t = t.In(loc)
		day := dayInYear(t, today)
		if isDayStart(t, loc) {
			return day
		}
		return day + ", " + t.Format("15:04")
	}
	switch {
	case hasAfter && hasBefore && isDayStart(after, loc) && before.Equal(app.AddDays(after, 1, loc)):
		return "on " + after.In(loc).Format("Mon, ") + show(after)
	case hasAfter && hasBefore:
		last := before
		if isDayStart(before, loc) {
			last = app.AddDays(before, -1, loc)
		}
		return "from " + show(after) + " to " + show(last)
	case hasAfter:
		return "since " + show(after)
	case hasBefore:
		return "before " + show(before)
	}
	return ""
}

// repairView is one day of the keyword index rebuilt from the store, for the
// notice above the results: while it runs, keyword search misses that day.
type repairView struct {
	Day    string
	Reason string
	At     timeView
	Done   bool
}

func repairViews(repairs []app.IndexRepair, loc *time.Location) []repairView {
	var out []repairView
	for _, r := range repairs {
		out = append(out, repairView{Day: r.Day.UTC().Format(time.DateOnly), Reason: r.Reason, At: newTimeView(r.At, loc), Done: r.Done})
	}
	return out
}

// sameSearchTyped reports whether next is the search at current with its
// words typed further or back (one is the start of the other), and nothing
// else changed. A first word typed into an empty box is a new search.
// sameSearch tells whether next searches what current does (its words and
// namespace), whatever its time range.
func sameSearch(current *url.URL, next string) bool {
	to, err := url.Parse(next)
	if err != nil || current.Path != to.Path {
		return false
	}
	was, now := current.Query(), to.Query()
	return was.Get("q") == now.Get("q") && was.Get("namespace") == now.Get("namespace")
}

func sameSearchTyped(current *url.URL, next string) bool {
	to, err := url.Parse(next)
	if err != nil || current.Path != to.Path {
		return false
	}
	was, now := current.Query(), to.Query()
	a, b := was.Get("q"), now.Get("q")
	if a == "" || !(strings.HasPrefix(a, b) || strings.HasPrefix(b, a)) {
		return false
	}
	was.Del("q")
	now.Del("q")
	return was.Encode() == now.Encode()
}
