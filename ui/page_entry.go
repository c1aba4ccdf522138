package ui

import (
	"html/template"
	"net/url"
	"slices"
	"strings"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// entryView is one entry's full record.
type entryView struct {
	pageBase
	ID        string
	URL       string
	JSONURL   string
	Time      timeView
	Received  timeView
	Namespace app.Namespace
	Action    string
	Detail    string
	Actor     string
	Anonymous bool
	ActorURL  string // the page narrowed to this actor
	IP        string
	Targets   []targetView
	Metadata  []metaPair
	// The marked forms: what the search the entry was opened from matched.
	ActionHTML template.HTML
	DetailHTML template.HTML
	ActorHTML  template.HTML
	BackURL    string
	Standalone bool // a page of its own, not the panel
}

type metaPair struct{ Key, Value string }

// targetView is a target with what the search matched in its name and id marked.
type targetView struct {
	Type     string
	Name, ID template.HTML
}

// entryPage shows one entry: as its own page when opened directly, or as the
// panel's contents when the page asks with htmx. An unknown id is a 404.
func (s *Server) entryPage(c echo.Context) error {
	ctx := c.Request().Context()
	varyOnHTMX(c)
	base, settings := s.base(c, "Audit Log entry")
	if !settings.PlanOf().HasAuditLog() {
		return s.proNotice(c, base)
	}
	e, err := s.Log.Get(ctx, pathParam(c, "id"))
	if err != nil {
		return err
	}
	loc := settings.Location()
	v := entryView{
		pageBase:  base,
		ID:        e.ID,
		URL:       EntryPath + idSegment(e.ID),
		JSONURL:   "/api/v1/events/" + idSegment(e.ID),
		Time:      newTimeView(e.Timestamp, loc),
		Received:  newTimeView(e.ReceivedAt, loc),
		Namespace: e.Namespace,
		Action:    e.Action,
		Detail:    e.Detail,
		Actor:     e.Actor,
		Anonymous: e.IsAnonymous(),
		IP:        e.IP,
		BackURL:   PagePath,
	}
	// Opened from a search (the rows' links carry its q), the record marks
	// what matched, the target names and ids included, which the table does
	// not show. A q that does not parse simply marks nothing.
	var terms, whoTerms []app.Term
	if q, err := app.ParseQuery(c.QueryParam("q"), loc); err == nil {
		terms = q.PositiveTerms()
		whoTerms = actorTerms(terms, q.Actors)
	}
	v.ActionHTML = highlight(e.Action, terms)
	v.DetailHTML = highlight(e.Detail, terms)
	v.ActorHTML = highlight(e.Actor, whoTerms)
	for _, t := range e.Targets {
		v.Targets = append(v.Targets, targetView{Type: t.Type, Name: highlight(t.Name, terms), ID: highlight(t.ID, terms)})
	}
	if !v.Anonymous && !strings.Contains(e.Actor, `"`) {
		v.ActorURL = viewState{Q: `actor:"` + e.Actor + `"`}.URL()
	}
	for k, val := range e.Metadata {
		v.Metadata = append(v.Metadata, metaPair{k, val})
	}
	slices.SortFunc(v.Metadata, func(a, b metaPair) int { return strings.Compare(a.Key, b.Key) })
	v.Title = e.Action + " · " + truncate(e.Detail, 60)
	if isHTMX(c.Request()) {
		// After the swap: opened before it, the panel would show, and
		// focus, the entry it showed last, whose Close button the swap
		// then takes away with the focus.
		triggerAfterSwap(c, "auditlog:entry-opened")
		return renderPartial(c, "entry_panel", v)
	}
	v.Standalone = true
	return renderPage(c, "entry", v)
}

// idSegment writes an entry id as one path segment. Senders choose ids, and
// "." or ".." would otherwise be resolved away by the browser.
func idSegment(id string) string {
	if id == "." || id == ".." {
		return strings.Repeat("%2E", len(id))
	}
	return url.PathEscape(id)
}

// pathParam is a path parameter as it was before escaping. Echo matches a path
// that has escapes of its own (such as %2F in an id that holds a slash) in its
// escaped form, and then hands over its parameters still escaped.
func pathParam(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v
	}
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
