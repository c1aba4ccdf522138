package ui

import (
	"compress/gzip"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"auditlog/app"
	"auditlog/ui/api"

	"github.com/labstack/echo/v4"
)

func (s *Server) routes() {
	e := s.echo
	e.Use(securityHeaders, s.hostCheck, strictQuery, limitBodies)

	e.GET("/healthz", s.healthz)
	e.HEAD("/healthz", s.healthz) // uptime monitors often ask with HEAD; Go's server sends no body to it
	e.GET("/launch", s.launchHandler)

	// The list and the export check their own parameters (listParams,
	// exportParams); every other route takes none but pretty.
	api := e.Group("/api/v1")
	// A read answers HEAD as it answers GET, without the body (Go's server
	// sends none): clients and monitors ask with HEAD wherever GET works, as
	// curl -I does. Not the export, which would record an export nobody
	// received.
	read := func(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
		api.GET(path, h, m...)
		api.HEAD(path, h, m...)
	}
	api.POST("/events", onlyPretty(s.postEvents), s.requireScope(app.ScopeIngest, false))
	read("/events", s.listEvents, s.requireScope(app.ScopeRead, true), s.requirePlan)
	read("/events/:id", onlyPretty(s.getEvent), s.requireScope(app.ScopeRead, true), s.requirePlan)
	api.GET("/export", s.export, s.requireScope(app.ScopeRead, true), s.requirePlan)
	read("/workspace", onlyPretty(s.workspace), s.requireScope(app.ScopeRead, true))
	read("/integrity", onlyPretty(s.integrity), s.requireScope(app.ScopeRead, true))
	admin := s.requireScope(app.ScopeAdmin, true)
	read("/tokens", onlyPretty(s.listTokens), admin)
	api.POST("/tokens", onlyPretty(s.createToken), admin)
	api.DELETE("/tokens/:id", onlyPretty(s.revokeToken), admin)
	api.POST("/tokens/:id/regenerate", onlyPretty(s.regenerateToken), admin)
	api.PATCH("/workspace", onlyPretty(s.updateWorkspace), admin)

	s.pageRoutes()
	s.teamRoutes()
	s.memberRoutes()
}

// limitedBody reads at most left bytes and then fails with a 413, whether or
// not the client announced its length.
type limitedBody struct {
	r     io.Reader
	left  int64
	what  string // "the body", or "the body unpacked"
	limit string // what the 413 says the limit is
}

// eventsLimit is what a 413 on the events route says.
const eventsLimit = "5 MiB; send at most 1000 events or 5 MiB per request"

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte past the limit tells a body of exactly the limit from a larger one.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, app.Errorf(app.ETOOLARGE, "%s is larger than %s", l.what, l.limit)
		}
		if err != nil && err != io.EOF {
			return 0, err // a gzip stream finds a bad checksum only at its end
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// requestBody is an ingest request's body, unpacked when the client sent it
// compressed, as log shippers do (Vector's and Fluent Bit's HTTP outputs,
// OpenTelemetry's exporters: gzip). The limit holds for the bytes sent and
// again for the bytes unpacked, so a small body cannot unpack into a large
// batch. Echo's Decompress middleware unpacks without such a limit.
func requestBody(req *http.Request) (io.Reader, error) {
	sent := &limitedBody{r: req.Body, left: MaxBodyBytes, what: "the body", limit: eventsLimit}
	switch enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return sent, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(sent)
		if err != nil {
			return nil, gzipError(err)
		}
		return &limitedBody{r: gzipReader{zr}, left: MaxBodyBytes, what: "the body unpacked", limit: eventsLimit}, nil
	default:
		return nil, app.Errorf(app.EUNSUPPORTED, "Content-Encoding %s is not accepted; send the body as it is or with Content-Encoding: gzip", enc)
	}
}

// gzipReader reports a body that is not the gzip it claims to be as the
// client's mistake, not as a failure to read.
type gzipReader struct{ r *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = gzipError(err)
	}
	return n, err
}

func gzipError(err error) error {
	var appErr *app.Error
	if errors.As(err, &appErr) {
		return appErr // the limit on the bytes sent
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return app.Errorf(app.EINVALID, "Content-Encoding: the body is not valid gzip (cut short, or followed by more)")
	}
	return app.Errorf(app.EINVALID, "Content-Encoding: the body is not valid gzip (%s)", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "gzip: "), "flate: "))
}

// decodeSettingsBody reads the JSON object of a write other than events,
// which takes JSON only. Its size is bounded as every body but a batch of
// events is (limitBodies).
func decodeSettingsBody(c echo.Context, v any, example string) error {
	req := c.Request()
	// A body this small gains nothing packed; taken unread, a packed one was
	// refused as bad JSON, and one in an encoding named but not used passed.
	if enc := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); enc != "" && enc != "identity" {
		return app.Errorf(app.EUNSUPPORTED, "Content-Encoding %s is not accepted here; send the JSON as it is", enc)
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return app.Errorf(app.EUNSUPPORTED, "Content-Type %q is not accepted; send application/json", ct)
		}
	}
	return app.DecodeObject(req.Body, v, example)
}

// postEvents records a batch. The answer comes only after the store has
// committed it to disk: an acknowledged event is never lost.
func (s *Server) postEvents(c echo.Context) error {
	req := c.Request()
	ndjson := false
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		switch cs := params["charset"]; {
		case err != nil:
			return app.Errorf(app.EUNSUPPORTED, "Content-Type %q is not valid; use application/json or application/x-ndjson", ct)
		case cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii"):
			return app.Errorf(app.EUNSUPPORTED, "Content-Type: charset %s is not accepted; send the body as UTF-8", cs)
		case mt == "application/json":
		case mt == "application/x-ndjson" || mt == "application/ndjson":
			ndjson = true
		default:
			return app.Errorf(app.EUNSUPPORTED, "Content-Type %s is not accepted; use application/json or application/x-ndjson", mt)
		}
	}
	if req.ContentLength > MaxBodyBytes {
		return app.Errorf(app.ETOOLARGE, "the body is %d bytes; at most 5 MiB per request", req.ContentLength)
	}
	body, err := requestBody(req)
	if err != nil {
		return err
	}
	events, lines, err := app.DecodeRequestLines(body, ndjson)
	if err != nil {
		return app.OnLines(s.Log.WithBrokenRules(err, events), lines)
	}
	// Every event says which token sent it, whatever the client claimed.
	// The launch secret is no token: it is the command line on this
	// computer, which could write the store itself when no server runs, so
	// an export it imports keeps the stamps its entries carry.
	switch tok, ok := c.Get(ctxToken).(app.Token); {
	case ok && tok.ID == "local":
	case ok:
		app.StampToken(events, &tok)
	default:
		app.StampToken(events, nil)
	}
	r, err := s.Log.Ingest(req.Context(), events)
	if app.ErrorCode(err) == app.EUNAVAILABLE {
		// Whether or not the events were recorded, sending them again is
		// safe with their ids, and only then.
		err = app.Errorf(app.EUNAVAILABLE, "%s; send the events again with the same ids, which are recorded once (events sent without an id would be recorded twice)", app.ErrorMessage(err))
	}
	if err != nil {
		return app.OnLines(err, lines)
	}
	resp := api.PostEventsResponse{Accepted: len(r.Entries), IDs: make([]string, len(r.Entries)), AlreadyStored: r.AlreadyStored(), Conflicting: r.Conflicting()}
	for i, e := range r.Entries {
		resp.IDs[i] = e.ID
	}
	return c.JSON(http.StatusCreated, resp)
}

// filterOf reads the search the request asks for, once, with the API's
// parameter names (q, namespace, after, before), which the page's URLs use
// too, in the workspace's timezone; the settings it read come along, since
// every caller needs them again.
func (s *Server) filterOf(c echo.Context) (app.Filter, app.Settings, error) {
	settings := s.Log.Settings()
	f, err := app.ParseFilter(c.QueryParams(), settings.Location())
	return f, settings, err
}

// Query parameters each read route takes. "pretty" indents a JSON answer.
var (
	listParams   = []string{"q", "namespace", "after", "before", "limit", "cursor", "pretty"}
	exportParams = []string{"format", "q", "namespace", "after", "before"}
	prettyOnly   = []string{"pretty"}
)

// onlyParams refuses a query parameter the route does not take, or one
// given twice. Ignored, a typo (namesapce=users) or a second namespace
// would quietly widen the answer: an export of everything, recorded as
// such, for the one namespace asked.
func onlyParams(c echo.Context, known []string) error {
	params := c.QueryParams()
	for _, name := range slices.Sorted(maps.Keys(params)) {
		switch n := len(params[name]); {
		case !slices.Contains(known, name):
			return app.Errorf(app.EINVALID, "%s: is not a parameter of %s; it takes %s", name, c.Path(), strings.Join(known, ", "))
		case n > 1 && name == "namespace":
			return app.Errorf(app.EINVALID, "namespace: is given %d times; give it once, or search for several: q=namespace:users namespace:api_tokens (a qualifier given twice matches either)", n)
		case n > 1:
			return app.Errorf(app.EINVALID, "%s: is given %d times; give it once", name, n)
		}
	}
	return nil
}

// onlyPretty is h for a route whose only query parameter is pretty: a
// POST /api/v1/events?namespace=users must not pass for a filter taken.
func onlyPretty(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := onlyParams(c, prettyOnly); err != nil {
			return err
		}
		return h(c)
	}
}

func limitOf(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return app.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > app.MaxLimit {
		return 0, app.Errorf(app.EINVALID, "limit: must be a whole number from 1 to %d", app.MaxLimit)
	}
	return n, nil
}

func (s *Server) listEvents(c echo.Context) error {
	if err := onlyParams(c, listParams); err != nil {
		return err
	}
	f, settings, err := s.filterOf(c)
	if err != nil {
		return err
	}
	q, err := f.Compile(settings.Location())
	if err != nil {
		return err
	}
	limit, err := limitOf(c)
	if err != nil {
		return err
	}
	page, err := s.Log.Search(c.Request().Context(), q, c.QueryParam("cursor"), limit)
	if err != nil {
		return err
	}
	return pageJSON(c, &page)
}

func (s *Server) getEvent(c echo.Context) error {
	e, err := s.Log.Get(c.Request().Context(), pathParam(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}

func (s *Server) healthz(c echo.Context) error {
	if err := s.Log.Check(); err != nil {
		return c.JSON(http.StatusServiceUnavailable, api.Health{Status: "unavailable", Error: app.ErrorMessage(err)})
	}
	rebuilding, done, total := s.Log.IndexStatus()
	body := api.Health{Status: "ok", Integrity: s.Log.Integrity()}
	if rebuilding {
		body.Index = &api.IndexStatus{RebuildingDone: done, RebuildingTotal: total}
	}
	if err := s.Log.IndexFailing(); err != nil {
		// Said plainly: the health check is open to everyone, and the error
		// names the data directory.
		body.IndexBehind = "the keyword index keeps failing (see the server's log), so searches by words may miss entries; listing without words reads the store"
		if app.ErrorCode(err) == app.ENOSPACE || errors.Is(err, syscall.ENOSPC) {
			body.IndexBehind = "the disk holding the keyword index has too little room, so new entries are stored and listed but not yet found by words; indexing goes on once there is room"
		}
	}
	for _, r := range s.Log.IndexRepairs() {
		body.IndexRepairs = append(body.IndexRepairs, api.IndexRepair{Day: r.Day.UTC().Format(time.DateOnly), Reason: r.Reason, At: r.At.UTC(), Done: r.Done})
	}
	if s.Cluster != nil {
		cs := s.Cluster(c.Request().Context())
		body.Cluster = &cs
		if !cs.Quorum {
			// A node without a quorum still reads, but acknowledges no
			// write: a load balancer should send writers elsewhere.
			body.Status, body.Error = "unavailable", "no quorum: fewer than half of the cluster's nodes answer, so writes are refused"
			if cs.Error != "" {
				body.Error += " (" + cs.Error + ")"
			}
			return c.JSON(http.StatusServiceUnavailable, body)
		}
	}
	if body.Integrity != nil && !body.Integrity.Intact() {
		body.Status = "broken"
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, body)
}
