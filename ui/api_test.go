package ui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/ui"
	"auditlog/ui/api"
)

// apiFixture runs the real server over a real store and index in a temp dir.
type apiFixture struct {
	t      *testing.T
	log    *app.Log
	srv    *httptest.Server
	launch string // the launch secret: the local owner's key
	ingest string // token with the ingest scope
	read   string // token with the read scope
	admin  string
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	log, s, srv := serveTempLog(t)
	u, _ := url.Parse(s.LaunchURL(srv.URL))
	f := &apiFixture{t: t, log: log, srv: srv, launch: u.Query().Get("secret")}
	ctx := context.Background()
	f.ingest, _, _ = log.CreateToken(ctx, "ingester", []app.Scope{app.ScopeIngest}, "test")
	f.read, _, _ = log.CreateToken(ctx, "reader", []app.Scope{app.ScopeRead}, "test")
	f.admin, _, _ = log.CreateToken(ctx, "admin", []app.Scope{app.ScopeAdmin}, "test")
	return f
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.body)
	}
}

func (r response) errorBody(t *testing.T) app.Error {
	t.Helper()
	var b struct{ Error app.Error }
	r.json(t, &b)
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("error body lacks code or message: %s", r.body)
	}
	return b.Error
}

func (f *apiFixture) do(method, path, token, contentType string, body io.Reader) response {
	f.t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return f.doWith(method, path, h, body)
}

// doWith sends a request with exactly the headers given.
func (f *apiFixture) doWith(method, path string, h http.Header, body io.Reader) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (f *apiFixture) post(body string) response {
	return f.do("POST", "/api/v1/events", f.ingest, "application/json", strings.NewReader(body))
}

func (f *apiFixture) list(query string) (response, app.Page) {
	f.t.Helper()
	r := f.do("GET", "/api/v1/events?"+query, f.read, "", nil)
	var page app.Page
	if r.status == 200 {
		r.json(f.t, &page)
	}
	return r, page
}

// count is how many entries the log lists (up to a thousand), read from
// the store, not the index.
func (f *apiFixture) count() int {
	f.t.Helper()
	_, page := f.list("limit=1000")
	return len(page.Events)
}

func (f *apiFixture) waitIndexed() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(ctx); err != nil {
		f.t.Fatal(err)
	}
}

const goodEvent = `{"namespace":"api_tokens","action":"token_revoked","detail":"Revoked API token \"ci-deploy\"","actor":"Lukas Brandt"}`

func TestPostingEventsAnswers201WithTheirIDs(t *testing.T) {
	f := newAPIFixture(t)
	for _, tt := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"one object", "application/json", goodEvent, 1},
		{"an array", "application/json; charset=utf-8", "[" + goodEvent + "," + goodEvent + "]", 2},
		{"NDJSON", "application/x-ndjson", goodEvent + "\n" + goodEvent + "\n" + goodEvent + "\n", 3},
		{"no content type", "", goodEvent, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do("POST", "/api/v1/events", f.ingest, tt.contentType, strings.NewReader(tt.body))
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got struct {
				Accepted int
				IDs      []string
			}
			r.json(t, &got)
			if got.Accepted != tt.want || len(got.IDs) != tt.want {
				t.Fatalf("got %+v, want %d accepted", got, tt.want)
			}
		})
	}
}

func TestOneBadEventRejectsTheBatchAndNamesTheField(t *testing.T) {
	f := newAPIFixture(t)
	bad := `{"namespace":"api_tokens","action":"Token Revoked","detail":"x"}`
	r := f.post("[" + goodEvent + "," + goodEvent + "," + goodEvent + "," + bad + "]")
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, r.body)
	}
	e := r.errorBody(t)
	if e.Code != app.EINVALID || len(e.Details) != 1 || e.Details[0].Index != 3 || e.Details[0].Field != "action" {
		t.Fatalf("error = %+v, want one detail for field action of event 3", e)
	}
	if _, page := f.list("q=namespace:api_tokens"); len(page.Events) != 3 { // the 3 token_created entries of the fixture
		t.Fatalf("the rejected batch stored something: %d entries", len(page.Events))
	}
}

func TestClientMistakesGetClearStatusesNeverA500(t *testing.T) {
	f := newAPIFixture(t)
	big := "[" + strings.Repeat(goodEvent+",", 1001) + goodEvent + "]"
	huge := `{"namespace":"users","action":"user_invited","detail":"` + strings.Repeat("x", 6<<20) + `"}`
	tests := []struct {
		name, method, path, token, contentType, body string
		status                                       int
		code                                         string
	}{
		{"no token", "POST", "/api/v1/events", "", "application/json", goodEvent, 401, app.EUNAUTHORIZED},
		{"unknown token", "POST", "/api/v1/events", "alt_NOPE", "application/json", goodEvent, 401, app.EUNAUTHORIZED},
		{"not a bearer token", "POST", "/api/v1/events", "", "application/json", goodEvent, 401, app.EUNAUTHORIZED},
		{"read token posting", "POST", "/api/v1/events", "READ", "application/json", goodEvent, 403, app.EFORBIDDEN},
		{"ingest token reading", "GET", "/api/v1/events", "INGEST", "", "", 403, app.EFORBIDDEN},
		{"form content type", "POST", "/api/v1/events", "INGEST", "application/x-www-form-urlencoded", goodEvent, 415, app.EUNSUPPORTED},
		{"text content type", "POST", "/api/v1/events", "INGEST", "text/plain", goodEvent, 415, app.EUNSUPPORTED},
		{"more than 1000 events", "POST", "/api/v1/events", "INGEST", "application/json", big, 413, app.ETOOLARGE},
		{"more than 5 MiB", "POST", "/api/v1/events", "INGEST", "application/json", huge, 413, app.ETOOLARGE},
		{"broken JSON", "POST", "/api/v1/events", "INGEST", "application/json", `{"namespace":`, 400, app.EINVALID},
		{"empty body", "POST", "/api/v1/events", "INGEST", "application/json", ``, 400, app.EINVALID},
		{"a JSON string", "POST", "/api/v1/events", "INGEST", "application/json", `"hello"`, 400, app.EINVALID},
		{"an empty array", "POST", "/api/v1/events", "INGEST", "application/json", `[]`, 400, app.EINVALID},
		{"array of numbers", "POST", "/api/v1/events", "INGEST", "application/json", `[1,2]`, 400, app.EINVALID},
		{"bad NDJSON line", "POST", "/api/v1/events", "INGEST", "application/x-ndjson", goodEvent + "\n{oops\n", 400, app.EINVALID},
		{"invalid UTF-8", "POST", "/api/v1/events", "INGEST", "application/json", `{"namespace":"users","action":"user_invited","detail":"caf` + "\xe9" + `"}`, 400, app.EINVALID},
		{"the zero time", "POST", "/api/v1/events", "INGEST", "application/json", `{"namespace":"users","action":"user_invited","detail":"x","timestamp":"0001-01-01T00:00:00Z"}`, 400, app.EINVALID},
		{"a million tiny items", "POST", "/api/v1/events", "INGEST", "application/json", "[" + strings.Repeat("{},", 1_000_000) + "{}]", 413, app.ETOOLARGE},
		{"NDJSON over 1000 lines", "POST", "/api/v1/events", "INGEST", "application/x-ndjson", strings.Repeat(goodEvent+"\n", 1001), 413, app.ETOOLARGE},
		{"a date past 2262", "GET", "/api/v1/events?before=2555-01-01", "READ", "", "", 400, app.EINVALID},
		{"a query with a control character", "GET", "/api/v1/events?q=%01", "READ", "", "", 400, app.EINVALID},
		{"bad query", "GET", "/api/v1/events?q=%22open", "READ", "", "", 400, app.EINVALID},
		{"bad namespace", "GET", "/api/v1/events?namespace=widgets", "READ", "", "", 400, app.EINVALID},
		{"bad limit", "GET", "/api/v1/events?limit=0", "READ", "", "", 400, app.EINVALID},
		{"limit over 500", "GET", "/api/v1/events?limit=501", "READ", "", "", 400, app.EINVALID},
		{"bad cursor", "GET", "/api/v1/events?cursor=not-a-cursor", "READ", "", "", 400, app.EINVALID},
		{"a cursor of the zero key", "GET", "/api/v1/events?cursor=AAAAAAAAAAAAAAAAAAAAAA", "READ", "", "", 400, app.EINVALID},
		{"bad after", "GET", "/api/v1/events?after=tuesday", "READ", "", "", 400, app.EINVALID},
		{"unknown id", "GET", "/api/v1/events/nope", "READ", "", "", 404, app.ENOTFOUND},
		{"unknown route", "GET", "/api/v1/nothing", "READ", "", "", 404, app.ENOTFOUND},
		{"wrong method", "DELETE", "/api/v1/events", "READ", "", "", 405, app.EMETHOD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := map[string]string{"INGEST": f.ingest, "READ": f.read}[tt.token]
			if token == "" {
				token = tt.token
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := f.do(tt.method, tt.path, token, tt.contentType, body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if e := r.errorBody(t); e.Code != tt.code {
				t.Fatalf("code %q, want %q (%s)", e.Code, tt.code, e.Message)
			}
		})
	}
	if _, page := f.list("q=namespace:users"); len(page.Events) != 0 {
		t.Fatalf("a rejected request stored %d events", len(page.Events))
	}
}

// The commonest mistakes are answered with how to put them right.
func TestCommonMistakesSayHowToPutThemRight(t *testing.T) {
	f := newAPIFixture(t)
	r := f.do("POST", "/api/v1/events", f.ingest, "application/json", strings.NewReader(goodEvent+"\n"+goodEvent+"\n"))
	if e := r.errorBody(t); r.status != 400 || !strings.Contains(e.Message, "application/x-ndjson") {
		t.Errorf("NDJSON sent as JSON: %d %q, want 400 pointing to NDJSON", r.status, e.Message)
	}
	r = f.post(`{"namespace":"users","action":"user_invited","detail":"x","timestamp":"2026-11-27T10:00:00"}`)
	if e := r.errorBody(t); r.status != 400 || len(e.Details) != 1 || e.Details[0].Field != "timestamp" || !strings.Contains(e.Details[0].Message, "offset") {
		t.Errorf("a timestamp without its offset: %d %+v, want 400 saying the offset is missing", r.status, e.Details)
	}
	r = f.do("GET", "/api/v1/nothing", f.read, "", nil)
	if e := r.errorBody(t); r.status != 404 || !strings.Contains(e.Message, "GET /api/v1/nothing") || !strings.Contains(e.Message, ui.OpenAPIPath) {
		t.Errorf("an unknown endpoint: %d %q, want 404 naming it and where the endpoints are listed", r.status, e.Message)
	}
	r = f.do("GET", "/api/v1/events/nope", f.read, "", nil)
	if e := r.errorBody(t); r.status != 404 || strings.Contains(e.Message, "endpoint") {
		t.Errorf("an unknown entry: %d %q, want 404 about the entry, not the endpoint", r.status, e.Message)
	}
}

func TestBadFieldsAreNamedInTheError(t *testing.T) {
	f := newAPIFixture(t)
	r := f.post(`{"namespace":"widgets","action":"x","timestamp":"2001-01-01T00:00:00Z","metadata":{"k":1}}`)
	e := r.errorBody(t)
	fields := map[string]bool{}
	for _, d := range e.Details {
		fields[d.Field] = true
	}
	if r.status != 400 || !fields["metadata"] {
		t.Fatalf("status %d, details %+v; want 400 naming metadata", r.status, e.Details)
	}
	r = f.post(`{"namespace":"widgets","action":"x","timestamp":"2001-01-01T00:00:00Z"}`)
	e = r.errorBody(t)
	fields = map[string]bool{}
	for _, d := range e.Details {
		fields[d.Field] = true
	}
	for _, want := range []string{"namespace", "action", "detail", "timestamp"} {
		if !fields[want] {
			t.Errorf("no detail names %q: %+v", want, e.Details)
		}
	}
}

func TestResendingAnIDReturnsTheExistingEntry(t *testing.T) {
	f := newAPIFixture(t)
	body := `{"id":"webhook-7781","namespace":"connections","action":"connection_created","detail":"Added connection \"Snowflake Warehouse\"","actor":"Tomás Ortega"}`
	var first, second api.PostEventsResponse
	posted := f.post(body)
	posted.json(t, &first)
	f.post(body).json(t, &second)
	if first.IDs[0] != "webhook-7781" || second.IDs[0] != "webhook-7781" {
		t.Fatalf("ids = %v then %v", first.IDs, second.IDs)
	}
	// The answer says which were stored before: none the first time (an
	// empty list, not null), the retried one the second.
	if !strings.Contains(string(posted.body), `"already_stored":[]`) || !slices.Equal(second.AlreadyStored, []string{"webhook-7781"}) {
		t.Fatalf("already stored: first answer %s, second %q", posted.body, second.AlreadyStored)
	}
	// Another event under the id is no retry: the answer says it was not
	// recorded.
	if !strings.Contains(string(posted.body), `"conflicting":[]`) || len(second.Conflicting) != 0 {
		t.Fatalf("conflicting: first answer %s, the retry's %q", posted.body, second.Conflicting)
	}
	var third api.PostEventsResponse
	f.post(strings.Replace(body, "Tomás Ortega", "Zed", 1)).json(t, &third)
	if !slices.Equal(third.AlreadyStored, []string{"webhook-7781"}) || !slices.Equal(third.Conflicting, []string{"webhook-7781"}) {
		t.Fatalf("another event under the id: already stored %q, conflicting %q", third.AlreadyStored, third.Conflicting)
	}
	f.waitIndexed()
	if _, page := f.list("q=" + url.QueryEscape("namespace:connections action:connection_created")); len(page.Events) != 1 {
		t.Fatalf("%d entries after a retry, want 1", len(page.Events))
	}
	// Ids may hold characters that need escaping in a path.
	f.post(`{"id":"crm/evt 1","namespace":"connections","action":"connection_updated","detail":"Updated connection"}`)
	if r := f.do("GET", "/api/v1/events/"+url.PathEscape("crm/evt 1"), f.read, "", nil); r.status != 200 {
		t.Fatalf("GET of an id with a slash: %d %s", r.status, r.body)
	}
	r := f.do("GET", "/api/v1/events/webhook-7781", f.read, "", nil)
	var e app.Event
	r.json(t, &e)
	if r.status != 200 || e.Actor != "Tomás Ortega" || e.ReceivedAt.IsZero() || e.Timestamp.Location() != time.UTC {
		t.Fatalf("GET by id: %d %+v", r.status, e)
	}
}

func TestListingPagesThroughEveryEntryWithoutGapsOrDuplicates(t *testing.T) {
	f := newAPIFixture(t)
	now := time.Now().UTC()
	for batch := range 2 {
		var b bytes.Buffer
		for i := range 600 {
			n := batch*600 + i
			fmt.Fprintf(&b, `{"namespace":"data_pipelines","action":"pipeline_executed","detail":"Ran pipeline orders_%d","timestamp":%q}`+"\n",
				n, now.Add(-time.Duration(n)*time.Minute).Format(time.RFC3339Nano))
		}
		if r := f.do("POST", "/api/v1/events", f.ingest, "application/x-ndjson", &b); r.status != 201 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	}
	f.waitIndexed()
	for _, q := range []string{"namespace=data_pipelines", "q=pipeline", "q=action:pipeline_*"} {
		seen := map[string]bool{}
		cursor, pages := "", 0
		var last time.Time
		for {
			r, page := f.list(q + "&limit=500&cursor=" + cursor)
			if r.status != 200 {
				t.Fatalf("%s: status %d: %s", q, r.status, r.body)
			}
			pages++
			for _, e := range page.Events {
				if seen[e.ID] {
					t.Fatalf("%s: %s listed twice", q, e.ID)
				}
				if !last.IsZero() && e.Timestamp.After(last) {
					t.Fatalf("%s: not newest first", q)
				}
				seen[e.ID], last = true, e.Timestamp
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if len(seen) != 1200 || pages != 3 {
			t.Fatalf("%s: %d entries over %d pages, want 1200 over 3", q, len(seen), pages)
		}
	}
}

func TestHealthzAndHostCheck(t *testing.T) {
	f := newAPIFixture(t)
	if r := f.do("GET", "/healthz", "", "", nil); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/healthz", nil)
	req.Host = "attacker.example:7410"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign Host got %d, want 403", res.StatusCode)
	}
	r := f.do("GET", "/healthz", "", "", nil)
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if r.header.Get(h) == "" {
			t.Errorf("missing security header %s", h)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %s", csp)
	}
}

func TestTokensAreManagedThroughTheAPIByAdmins(t *testing.T) {
	f := newAPIFixture(t)
	for _, tt := range []struct {
		name, token, body string
		status            int
	}{
		{"a read token may not", f.read, `{"label":"x","scopes":["ingest"]}`, 403},
		{"no label", f.admin, `{"scopes":["ingest"]}`, 400},
		{"unknown scope", f.admin, `{"label":"x","scopes":["root"]}`, 400},
		{"not JSON", f.admin, `label=x`, 400},
	} {
		if r := f.do("POST", "/api/v1/tokens", tt.token, "application/json", strings.NewReader(tt.body)); r.status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.status, tt.status, r.body)
		}
	}
	// The launch secret acts as the local owner, as the command line does.
	r := f.do("POST", "/api/v1/tokens", f.launch, "application/json", strings.NewReader(`{"label":"dbt-cloud","scopes":"ingest,read"}`))
	var created struct {
		Token  app.Token
		Secret string
	}
	r.json(t, &created)
	if r.status != 201 || created.Secret == "" || created.Token.Label != "dbt-cloud" || len(created.Token.Scopes) != 2 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/events", created.Secret, "", nil); r.status != 200 {
		t.Fatalf("the new token does not read: %d", r.status)
	}
	var list api.TokenList
	f.do("GET", "/api/v1/tokens", f.admin, "", nil).json(t, &list)
	if len(list.Tokens) != 4 || strings.Contains(fmt.Sprint(list), created.Secret) {
		t.Fatalf("list = %+v", list)
	}
	if r := f.do("DELETE", "/api/v1/tokens/"+created.Token.ID, f.admin, "", nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := f.do("GET", "/api/v1/events", created.Secret, "", nil); r.status != 401 {
		t.Fatalf("a revoked token still reads: %d", r.status)
	}
	if r := f.do("DELETE", "/api/v1/tokens/tok_nope", f.admin, "", nil); r.status != 404 {
		t.Fatalf("revoking an unknown token: %d", r.status)
	}
	f.waitIndexed()
	_, page := f.list("q=" + url.QueryEscape("dbt-cloud"))
	if len(page.Events) != 2 || page.Events[0].Action != "token_revoked" || page.Events[1].Actor == "" {
		t.Fatalf("token history = %+v", page.Events)
	}
}

// A token's expiry is read as an event's time is: RFC 3339, whose T and Z
// may be in lower case; null is no expiry.
func TestATokensExpiryIsReadAsAnEventsTimeIs(t *testing.T) {
	f := newAPIFixture(t)
	for _, tt := range []struct{ body, says string }{
		{`{"label":"lower","scopes":["ingest"],"expires_at":"2099-01-01t00:00:00z"}`, `"expires_at":"2099-01-01T00:00:00Z"`},
		{`{"label":"offset","scopes":["ingest"],"expires_at":"2099-01-01T02:00:00+02:00"}`, `"expires_at":"2099-01-01T00:00:00Z"`},
		{`{"label":"never","scopes":["ingest"],"expires_at":null}`, `"label":"never"`},
	} {
		r := f.do("POST", "/api/v1/tokens", f.admin, "application/json", strings.NewReader(tt.body))
		if r.status != http.StatusCreated || !strings.Contains(string(r.body), tt.says) {
			t.Errorf("%s: %d %s, want 201 saying %s", tt.body, r.status, r.body, tt.says)
		}
		if strings.Contains(tt.body, "null") && strings.Contains(string(r.body), `"expires_at"`) {
			t.Errorf("%s: %s, want no expiry", tt.body, r.body)
		}
	}
}

// The API's other writes read their bodies by the events route's rules, and
// take a field's name only as it is spelt: encoding/json alone would take
// "Scopes" for "scopes", so that a second spelling could grant what a check
// of the first refused.
func TestSettingsBodiesAreReadStrictly(t *testing.T) {
	f := newAPIFixture(t)
	for _, tt := range []struct {
		name, method, path, contentType, body string
		status                                int
		says                                  string
	}{
		{"a scope in other letters", "POST", "/api/v1/tokens", "application/json", `{"label":"t","scopes":["ingest"],"Scopes":["admin"]}`, 400, `Scopes: is not a known field; names are matched exactly: send \"scopes\"`},
		{"a name in capitals", "PATCH", "/api/v1/workspace", "application/json", `{"Name":"x"}`, 400, `Name: is not a known field`},
		{"retention spelt twice", "PATCH", "/api/v1/workspace", "application/json", `{"retention_days":30,"Retention_Days":1}`, 400, `Retention_Days:`},
		{"plain text", "PATCH", "/api/v1/workspace", "text/plain", `{"name":"x"}`, 415, `application/json`},
		{"a form", "POST", "/api/v1/tokens", "application/x-www-form-urlencoded", `{"label":"t","scopes":["ingest"]}`, 415, `application/json`},
		{"too large", "PATCH", "/api/v1/workspace", "application/json", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, `64 KiB`},
		{"an expiry past", "POST", "/api/v1/tokens", "application/json", `{"label":"t","scopes":["ingest"],"expires_at":"2020-01-01T00:00:00Z"}`, 400, `expires_at: must be in the future`},
		{"an expiry in words", "POST", "/api/v1/tokens", "application/json", `{"label":"t","scopes":["ingest"],"expires_at":"tomorrow"}`, 400, `expires_at: must be an RFC 3339 time`},
		{"an expiry as a number", "POST", "/api/v1/tokens", "application/json", `{"label":"t","scopes":["ingest"],"expires_at":1893456000}`, 400, `expires_at: must be an RFC 3339 time`},
		{"an expiry a day off", "POST", "/api/v1/tokens", "application/json", `{"label":"t","scopes":["ingest"],"expires_at":"2099-01-01T00:00:00+24:00"}`, 400, `expires_at: must be an RFC 3339 time`},
	} {
		r := f.do(tt.method, tt.path, f.admin, tt.contentType, strings.NewReader(tt.body))
		if r.status != tt.status || !strings.Contains(string(r.body), tt.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tt.name, r.status, r.body, tt.status, tt.says)
		}
	}
	// A content encoding, named and used or named only, is refused as such.
	for _, path := range []string{"/api/v1/tokens", "/api/v1/workspace"} {
		for _, enc := range []string{"br", "gzip"} {
			method := map[string]string{"/api/v1/tokens": "POST", "/api/v1/workspace": "PATCH"}[path]
			r := f.doWith(method, path, http.Header{"Authorization": {"Bearer " + f.admin}, "Content-Type": {"application/json"}, "Content-Encoding": {enc}},
				strings.NewReader(`{"name":"Packed","label":"packed","scopes":["read"]}`))
			if r.status != 415 || !strings.Contains(string(r.body), "Content-Encoding "+enc+" is not accepted here") {
				t.Errorf("%s %s with Content-Encoding %s: %d %s", method, path, enc, r.status, r.body)
			}
		}
	}
	var w api.Workspace
	f.do("GET", "/api/v1/workspace", f.read, "", nil).json(t, &w)
	if w.Name != app.DefaultWorkspace || w.RetentionDays != 30 {
		t.Errorf("a refused write changed the workspace: %+v", w)
	}
	var list api.TokenList
	f.do("GET", "/api/v1/tokens", f.admin, "", nil).json(t, &list)
	if len(list.Tokens) != 3 {
		t.Errorf("a refused write made a token: %+v", list.Tokens)
	}
	// A large body of unannounced length is cut, and named as too large.
	req, _ := http.NewRequest("PATCH", f.srv.URL+"/api/v1/workspace", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("x", 70<<10)), strings.NewReader(`"}`)))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 413 {
		t.Errorf("a chunked body over 64 KiB: %v %v", res.StatusCode, err)
	}
	// Without a Content-Type, as a script may send it, JSON is still read.
	if r := f.do("PATCH", "/api/v1/workspace", f.admin, "", strings.NewReader(`{"name":"Acme"}`)); r.status != 200 {
		t.Errorf("no Content-Type: %d %s", r.status, r.body)
	}
}

// A parameter a read route does not take, or one given twice, is refused by
// name: ignored, it widened the answer, and an export of everything was
// recorded for the one namespace asked.
func TestReadRoutesRefuseParametersTheyDoNotTake(t *testing.T) {
	f := newAPIFixture(t)
	for _, tt := range []struct{ path, says string }{
		{"/api/v1/events?namesapce=users", "namesapce: is not a parameter of /api/v1/events"},
		{"/api/v1/events?namespace=users&namespace=api_tokens", "namespace: is given 2 times; give it once, or search for several: q=namespace:users namespace:api_tokens"},
		{"/api/v1/events?q=" + url.QueryEscape("after:2026-11-25") + "&before=2026-11-24", "before: must be later than after"},
		{"/api/v1/export?format=csv&after=2026-11-25&q=" + url.QueryEscape("before:2026-11-25"), "before: must be later than after"},
		{"/api/v1/workspace?x=1", "x: is not a parameter of /api/v1/workspace; it takes pretty"},
		{"/api/v1/integrity?verify=1", "verify: is not a parameter of /api/v1/integrity"},
		{"/api/v1/events/abc?q=x", "q: is not a parameter of /api/v1/events/:id"},
		{"/api/v1/export?format=json&format=csv", "format: is given 2 times; give it once"},
		{"/api/v1/export?format=csv&Q=x", "Q: is not a parameter of /api/v1/export"},
		{"/api/v1/events?after=2026-11-20&before=2026-11-01", "before: must be later than after"},
		{"/api/v1/export?format=csv&after=2026-11-20&before=2026-11-20", "before: must be later than after"},
	} {
		r := f.do("GET", tt.path, f.read, "", nil)
		if e := r.errorBody(t); r.status != 400 || !strings.Contains(e.Message, tt.says) {
			t.Errorf("%s: %d %s, want 400 saying %q", tt.path, r.status, r.body, tt.says)
		}
	}
	if r := f.do("GET", "/api/v1/events?q=x&namespace=users&after=2026-11-01&before=2026-11-20&limit=5&pretty", f.read, "", nil); r.status != 200 {
		t.Errorf("every parameter the list takes: %d %s", r.status, r.body)
	}
	// A range that the text narrows within the parameters' is a question.
	if r := f.do("GET", "/api/v1/events?after=2026-11-01&q="+url.QueryEscape("after:2026-11-10 before:2026-11-12"), f.read, "", nil); r.status != 200 {
		t.Errorf("a range within the parameters': %d %s", r.status, r.body)
	}
	// The writes take no parameters either: a filter sent with a batch is
	// no filter, and nothing is changed.
	before := f.count()
	for _, tt := range []struct{ method, path, auth, body string }{
		{"POST", "/api/v1/events?namespace=users", f.ingest, `{"namespace":"users","action":"user_invited","detail":"x"}`},
		{"POST", "/api/v1/tokens?scopes=admin", f.admin, `{"label":"x","scopes":["read"]}`},
		{"PATCH", "/api/v1/workspace?name=x", f.admin, `{"name":"Acme"}`},
		{"GET", "/api/v1/tokens?label=x", f.admin, ``},
	} {
		var body io.Reader
		if tt.body != "" {
			body = strings.NewReader(tt.body)
		}
		r := f.do(tt.method, tt.path, tt.auth, "application/json", body)
		if e := r.errorBody(t); r.status != 400 || !strings.Contains(e.Message, "is not a parameter of") {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, r.status, r.body)
		}
	}
	if after := f.count(); after != before {
		t.Errorf("refused writes recorded %d entries", after-before)
	}
	if r := f.do("GET", "/api/v1/workspace?pretty", f.read, "", nil); r.status != 200 || !strings.Contains(string(r.body), "\n  ") {
		t.Errorf("pretty: %d %s", r.status, r.body)
	}
	f.waitIndexed()
	_, page := f.list("q=" + url.QueryEscape("audit_log_exported"))
	if len(page.Events) != 0 {
		t.Errorf("a refused export was recorded: %+v", page.Events)
	}
}

// A byte order mark is how some Windows tools start UTF-8, not part of the
// JSON; another charset is refused as such rather than as bad JSON.
func TestTheBodyIsReadAsUTF8(t *testing.T) {
	f := newAPIFixture(t)
	ev := `{"namespace":"users","action":"user_invited","detail":"BOM"}`
	for _, tt := range []struct{ contentType, body string }{
		{"application/json", "\ufeff" + ev},
		{"application/x-ndjson", "\ufeff" + ev + "\n"},
		{"application/json; charset=UTF-8", ev},
	} {
		if r := f.do("POST", "/api/v1/events", f.ingest, tt.contentType, strings.NewReader(tt.body)); r.status != 201 {
			t.Errorf("%s %q: %d %s", tt.contentType, tt.body, r.status, r.body)
		}
	}
	r := f.do("POST", "/api/v1/events", f.ingest, "application/json; charset=utf-16", strings.NewReader(ev))
	if e := r.errorBody(t); r.status != 415 || !strings.Contains(e.Message, "charset utf-16") {
		t.Errorf("utf-16: %d %s", r.status, r.body)
	}
}

func TestWorkspaceSaysHowToShowEntries(t *testing.T) {
	f := newAPIFixture(t)
	var w api.Workspace
	r := f.do("GET", "/api/v1/workspace", f.read, "", nil)
	r.json(t, &w)
	if r.status != 200 || w.Name != app.DefaultWorkspace || w.RetentionDays != 30 || w.Timezone == "" {
		t.Fatalf("workspace = %d %+v", r.status, w)
	}
}

func TestABodyOfUnannouncedLengthIsCutAt5MiB(t *testing.T) {
	f := newAPIFixture(t)
	body := io.MultiReader(strings.NewReader(`{"namespace":"users","action":"user_invited","detail":"`), strings.NewReader(strings.Repeat("x", 6<<20)), strings.NewReader(`"}`))
	r := f.do("POST", "/api/v1/events", f.ingest, "application/json", body)
	if r.status != http.StatusRequestEntityTooLarge || r.errorBody(t).Code != app.ETOOLARGE {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
}

func TestASessionIsRefusedToBackgroundRequestsFromOtherSites(t *testing.T) {
	f := newAPIFixture(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, err := client.Get(f.srv.URL + "/launch?secret=" + f.launch)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, tt := range []struct {
		site, mode string
		status     int
	}{
		{"", "", 200},
		{"same-origin", "cors", 200},
		{"none", "navigate", 200},
		{"same-site", "no-cors", 401}, // another localhost port, e.g. <img src=…/export>
		{"cross-site", "no-cors", 401},
		{"same-site", "navigate", 200}, // a person following a link
	} {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/export?format=csv", nil)
		if tt.site != "" {
			req.Header.Set("Sec-Fetch-Site", tt.site)
			req.Header.Set("Sec-Fetch-Mode", tt.mode)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("Sec-Fetch-Site %q, mode %q: status %d, want %d", tt.site, tt.mode, res.StatusCode, tt.status)
		}
	}
	u, _ := url.Parse(f.srv.URL)
	for _, c := range jar.Cookies(u) {
		if !strings.HasSuffix(c.Name, "_"+u.Port()) {
			t.Errorf("session cookie %q does not name the port %s", c.Name, u.Port())
		}
	}
}

func TestAdminsRenameTheWorkspaceAndSetItsTimezone(t *testing.T) {
	f := newAPIFixture(t)
	if r := f.do("PATCH", "/api/v1/workspace", f.read, "application/json", strings.NewReader(`{"name":"x"}`)); r.status != 403 {
		t.Fatalf("a read token renamed the workspace: %d", r.status)
	}
	if r := f.do("PATCH", "/api/v1/workspace", f.admin, "application/json", strings.NewReader(`{"name":"  "}`)); r.status != 400 || !strings.HasPrefix(r.errorBody(t).Message, "name: ") {
		t.Fatalf("an empty name: %d %s", r.status, r.body)
	}
	if r := f.do("PATCH", "/api/v1/workspace", f.admin, "application/json", strings.NewReader(`{"timezone":"Mars/Olympus"}`)); r.status != 400 || !strings.Contains(r.errorBody(t).Message, "timezone") {
		t.Fatalf("an unknown timezone: %d %s", r.status, r.body)
	}
	r := f.do("PATCH", "/api/v1/workspace", f.admin, "application/json", strings.NewReader(`{"name":"Acme Data","timezone":"Asia/Tokyo"}`))
	var w api.Workspace
	r.json(t, &w)
	if r.status != 200 || w.Name != "Acme Data" || w.Timezone != "Asia/Tokyo" {
		t.Fatalf("update: %d %+v", r.status, w)
	}
	// Dates in the API's filters are now days in Tokyo.
	f.post(`{"namespace":"spaces","action":"space_created","detail":"Created space Finance","timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `"}`)
	today := time.Now().In(mustZone(t, "Asia/Tokyo")).Format("2006-01-02")
	if _, page := f.list("namespace=spaces&after=" + today); len(page.Events) != 2 { // the settings change and the space
		t.Fatalf("entries after %s (Tokyo): %d", today, len(page.Events))
	}
	cd := f.do("GET", "/api/v1/export?format=csv", f.read, "", nil).header.Get("Content-Disposition")
	if !strings.Contains(cd, "audit-log-acme-data-") {
		t.Fatalf("export file name = %q", cd)
	}
}

// A workspace's retention read and written back stays as it is, hours and
// all: writing back the whole days GET says must not purge the hours past
// them. The hours can be set as GET shows them.
func TestARetentionInHoursReadAndWrittenBackStays(t *testing.T) {
	f := newAPIFixture(t)
	hours36 := 36 * time.Hour
	if _, err := f.log.ChangeSettings(context.Background(), app.SettingsChange{Retention: &hours36}, "Test"); err != nil {
		t.Fatal(err)
	}
	if r := f.post(`{"id":"old","namespace":"spaces","action":"space_created","detail":"Created space Old","timestamp":"` + time.Now().Add(-35*time.Hour).UTC().Format(time.RFC3339) + `"}`); r.status != 201 {
		t.Fatalf("posting an entry 35 hours old: %d %s", r.status, r.body)
	}
	patch := func(body string) (response, api.Workspace) {
		t.Helper()
		r := f.do("PATCH", "/api/v1/workspace", f.admin, "application/json", strings.NewReader(body))
		var w api.Workspace
		if r.status == 200 {
			r.json(t, &w)
		}
		return r, w
	}
	kept := func(want bool) {
		t.Helper()
		if r := f.do("GET", "/api/v1/events/old", f.read, "", nil); (r.status == 200) != want {
			t.Fatalf("the entry 35 hours old: status %d, want it kept: %v", r.status, want)
		}
	}
	var w api.Workspace
	got := f.do("GET", "/api/v1/workspace", f.read, "", nil)
	got.json(t, &w)
	// What GET answers is sent back whole, as a client that reads, changes
	// and writes does.
	if r, again := patch(string(got.body)); r.status != 200 || again != w {
		t.Fatalf("GET's answer sent back: %d %s, want the workspace as it was", r.status, r.body)
	}
	for body, names := range map[string]string{
		`{"retention":"2 days"}`:             "retention:",
		`{"system_timezone":"Mars/Olympus"}`: "system_timezone:",
	} {
		if r, _ := patch(body); r.status != 400 || !strings.HasPrefix(r.errorBody(t).Message, names) {
			t.Fatalf("%s: %d %s, want a 400 naming %s", body, r.status, r.body, names)
		}
	}
	for _, body := range []string{
		fmt.Sprintf(`{"retention_days":%d}`, w.RetentionDays),
		fmt.Sprintf(`{"retention_days":%d,"retention_hours":%d}`, w.RetentionDays, w.RetentionHours),
		`{"retention_hours":36}`,
	} {
		if r, got := patch(body); r.status != 200 || got.RetentionHours != 36 {
			t.Fatalf("%s: %d %s, want the 36 hours kept", body, r.status, r.body)
		}
	}
	kept(true)
	for body, names := range map[string]string{
		`{"retention_days":2,"retention_hours":36}`: "retention_days and retention_hours:",
		`{"retention_hours":12}`:                    "retention_hours:",
		`{"retention_hours":0}`:                     "retention_hours:",
	} {
		if r, _ := patch(body); r.status != 400 || !strings.HasPrefix(r.errorBody(t).Message, names) {
			t.Fatalf("%s: %d %s, want a 400 naming %s", body, r.status, r.body, names)
		}
	}
	kept(true)
	if r, got := patch(`{"retention_hours":30}`); r.status != 200 || got.RetentionHours != 30 || got.Retention != "30 hours" {
		t.Fatalf("30 hours: %d %s", r.status, r.body)
	}
	kept(false)
	if r, got := patch(`{"retention_days":2}`); r.status != 200 || got.RetentionHours != 48 {
		t.Fatalf("2 days: %d %s", r.status, r.body)
	}
}

// What is done with an API token, not only what it sends, carries its id
// and fingerprint: a search for a leaked token finds the settings it
// changed, the tokens it made and the exports it took.
func TestWhatATokenDoesIsFoundByItsIDAndFingerprint(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	secret, tok, err := f.log.CreateToken(ctx, "leaked", []app.Scope{app.ScopeAdmin}, "Test")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []response{
		f.do("PATCH", "/api/v1/workspace", secret, "application/json", strings.NewReader(`{"name":"Renamed"}`)),
		f.do("POST", "/api/v1/tokens", secret, "application/json", strings.NewReader(`{"label":"backdoor","scopes":["read"]}`)),
		f.do("GET", "/api/v1/export?format=csv", secret, "", nil),
	} {
		if r.status != 200 && r.status != 201 {
			t.Fatalf("acting with the token: %d %s", r.status, r.body)
		}
	}
	// Done by another: not stamped with it.
	if r := f.do("PATCH", "/api/v1/workspace", f.admin, "application/json", strings.NewReader(`{"name":"Renamed back"}`)); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	f.waitIndexed()
	for _, q := range []string{tok.ID, tok.Fingerprint} {
		_, page := f.list("q=" + url.QueryEscape(q))
		var actions []string // done with it; its own creation names it too
		for _, e := range page.Events {
			if e.Metadata[app.MetaTokenID] == tok.ID && e.Metadata[app.MetaTokenFingerprint] == tok.Fingerprint {
				actions = append(actions, e.Action)
			}
		}
		if want := []string{"audit_log_exported", "token_created", "space_settings_updated"}; !slices.Equal(actions, want) || len(page.Events) != 4 {
			t.Errorf("a search for %s finds %d entries, these done with the token: %v, want %v and its creation", q, len(page.Events), actions, want)
		}
	}
}

// In a file of NDJSON, a broken event is named by its line as well as its
// place among the events: blank lines and a byte-order mark before it must
// not send a person to the wrong line. What the rules say (a namespace
// that does not exist) and what cannot be read (bad JSON) both say so.
func TestAnNDJSONEventThatBreaksARuleIsNamedByItsLine(t *testing.T) {
	f := newAPIFixture(t)
	good := `{"namespace":"users","action":"user_invited","detail":"Invited sam"}`
	for _, tt := range []struct {
		body        string
		index, line int
	}{
		{"\ufeff" + good + "\n\n\n" + `{"namespace":"bogus","action":"user_invited","detail":"x"}` + "\n", 1, 4},
		{good + "\n\n" + good + "\n   \n" + `{"namespace":"users","action":"user_invited","detail":"x","targets":"no"}` + "\n", 2, 5},
		{good + "\n\n" + `{oops` + "\n", 1, 3},
	} {
		r := f.do("POST", "/api/v1/events", f.ingest, "application/x-ndjson", strings.NewReader(tt.body))
		if r.status != 400 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		d := r.errorBody(t).Details
		if len(d) != 1 || d[0].Index != tt.index || d[0].Line != tt.line {
			t.Errorf("details %+v, want event %d on line %d", d, tt.index, tt.line)
		}
	}
	// A JSON array's events have no lines to name.
	r := f.do("POST", "/api/v1/events", f.ingest, "application/json", strings.NewReader("[\n"+good+",\n"+`{"namespace":"bogus","action":"user_invited","detail":"x"}`+"]"))
	if d := r.errorBody(t).Details; r.status != 400 || len(d) != 1 || d[0].Index != 1 || d[0].Line != 0 || strings.Contains(string(r.body), `"line"`) {
		t.Errorf("a JSON array: %d %s", r.status, r.body)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAGzippedBodyIsUnpackedWithinTheSameLimit(t *testing.T) {
	f := newAPIFixture(t)
	post := func(encoding string, body []byte) response {
		t.Helper()
		h := http.Header{"Authorization": {"Bearer " + f.ingest}, "Content-Type": {"application/x-ndjson"}, "Content-Encoding": {encoding}}
		return f.doWith("POST", "/api/v1/events", h, bytes.NewReader(body))
	}
	line := `{"namespace":"connections","action":"connection_created","detail":"Created connection Snowflake Prod","actor":"maya"}` + "\n"
	packed := gzipped(t, line+line)
	if r := post("gzip", packed); r.status != http.StatusCreated || !strings.Contains(string(r.body), `"accepted":2`) {
		t.Fatalf("gzip: status %d: %s", r.status, r.body)
	}

	// Refused whole, with nothing recorded.
	corrupt := bytes.Clone(packed)
	corrupt[len(corrupt)-5] ^= 0xff // the checksum no longer matches
	huge := gzipped(t, line+strings.Repeat(" ", 6<<20)+line)
	// Exactly the limit unpacked: the checksum, read last, still counts.
	atLimit := gzipped(t, line+strings.Repeat(" ", 5<<20-len(line)))
	atLimit[len(atLimit)-8] ^= 0xff
	for _, tt := range []struct {
		name, encoding string
		body           []byte
		status         int
		code, says     string
	}{
		{"not gzip at all", "gzip", []byte(line), 400, app.EINVALID, "Content-Encoding"},
		{"a bad checksum", "gzip", corrupt, 400, app.EINVALID, "checksum"},
		{"cut short", "gzip", packed[:len(packed)/2], 400, app.EINVALID, "cut short"},
		{"garbage after the stream", "gzip", append(bytes.Clone(packed), "junk"...), 400, app.EINVALID, "Content-Encoding"},
		{"over 5 MiB unpacked", "gzip", huge, 413, app.ETOOLARGE, "unpacked is larger than 5 MiB"},
		{"a bad checksum at exactly 5 MiB unpacked", "gzip", atLimit, 400, app.EINVALID, "checksum"},
		{"an encoding not spoken", "br", []byte(line), 415, app.EUNSUPPORTED, "Content-Encoding br"},
	} {
		r := post(tt.encoding, tt.body)
		if r.status != tt.status || r.errorBody(t).Code != tt.code || !strings.Contains(string(r.body), tt.says) {
			t.Errorf("%s: status %d: %s; want %d %s saying %q", tt.name, r.status, r.body, tt.status, tt.code, tt.says)
		}
	}
	f.waitIndexed()
	if _, page := f.list("q=snowflake"); len(page.Events) != 2 {
		t.Fatalf("%d entries recorded, want the first request's 2", len(page.Events))
	}
}

func TestAWrongMethodIsAnsweredWithTheMethodsThatAreAllowed(t *testing.T) {
	f := newAPIFixture(t)
	r := f.do("PUT", "/api/v1/events", f.ingest, "application/json", strings.NewReader(`{}`))
	e := r.errorBody(t)
	if r.status != http.StatusMethodNotAllowed || e.Code != app.EMETHOD || r.header.Get("Allow") == "" ||
		!strings.Contains(e.Message, "PUT is not allowed on /api/v1/events; allowed: ") || !strings.Contains(e.Message, "POST") {
		t.Fatalf("status %d, Allow %q: %s", r.status, r.header.Get("Allow"), r.body)
	}
}

// A client learns from one answer everything wrong with a request: the
// rules are checked on the events as far as they could be read, beside the
// fields that could not be, and nothing is recorded.
func TestOneAnswerNamesUnreadableFieldsAndBrokenRulesTogether(t *testing.T) {
	f := newAPIFixture(t)
	before := f.count()
	body := `[{"namespace":"users","action":"user_invited","detail":5},
		{"namespace":"users","action":"X","detail":"ok"},
		{"namespace":"zz","foo":1,"action":"user_invited","detail":"ok"},
		7]`
	r := f.do("POST", "/api/v1/events", f.ingest, "application/json", strings.NewReader(body))
	e := r.errorBody(t)
	var got []string
	for _, d := range e.Details {
		got = append(got, fmt.Sprintf("%d %s", d.Index, d.Field))
	}
	if want := []string{"0 detail", "1 action", "2 foo", "2 namespace", "3 "}; r.status != 400 || !slices.Equal(got, want) || e.Message != "4 events are invalid; nothing was recorded" {
		t.Fatalf("%d %q: %v, want %v", r.status, e.Message, got, want)
	}
	if after := f.count(); after != before {
		t.Fatalf("%d entries recorded", after-before)
	}
	// An event whose reading stopped at its first problem (a field given
	// twice, bytes that are no UTF-8) is not also said to lack its fields.
	for _, bad := range []string{
		`{"namespace":"users","namespace":"spaces","action":"user_invited","detail":"x"}`,
		"{\"namespace\":\"users\",\"action\":\"user_invited\",\"detail\":\"a\xffb\"}",
	} {
		r := f.do("POST", "/api/v1/events", f.ingest, "application/json", strings.NewReader(`[`+bad+`, {"namespace":"users","action":"X","detail":"ok"}]`))
		e := r.errorBody(t)
		if r.status != 400 || len(e.Details) != 2 || e.Details[0].Index != 0 || e.Details[1].Field != "action" {
			t.Errorf("%q: %d %+v", bad, r.status, e.Details)
		}
	}
}

// An error names what was wrong without sending it all back: a 100 KB
// metadata key or field name, or an id of thousands of characters, is
// quoted in part.
func TestAnErrorQuotesOnlyTheStartOfAHugeValue(t *testing.T) {
	f := newAPIFixture(t)
	huge := strings.Repeat("k", 100<<10)
	for name, r := range map[string]response{
		"a metadata key": f.post(`{"namespace":"spaces","action":"space_created","detail":"d","metadata":{"` + huge + `":"v"}}`),
		"a field name":   f.post(`{"namespace":"spaces","action":"space_created","detail":"d","` + huge + `":1}`),
		"an id":          f.do("GET", "/api/v1/events/"+strings.Repeat("9", 5000), f.read, "", nil),
	} {
		if r.status != 400 && r.status != 404 {
			t.Errorf("%s: %d %.200s", name, r.status, r.body)
			continue
		}
		if e := r.errorBody(t); len(r.body) > 1024 || !strings.Contains(e.Message+fmt.Sprint(e.Details), "…") {
			t.Errorf("%s: an answer of %d bytes: %.300s", name, len(r.body), r.body)
		}
	}
	if f.count() != 0 {
		t.Error("a refused event was recorded")
	}
}
