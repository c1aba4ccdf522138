package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/ui"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// These tests hold the hand-written OpenAPI document to the server: every
// route is documented and every documented route exists, and real answers
// of the real server, for every status the tests can provoke, match the
// documented JSON schemas. They read the JSON on the wire, not Go types, so
// that they keep checking what clients see whatever the server's types are.

// docURL names the document for the schema compiler, which resolves the
// document's "#/components/…" references against it.
const docURL = "http://localhost/api/v1/openapi.json"

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type openAPI struct {
	t      *testing.T
	doc    map[string]any
	c      *jsonschema.Compiler
	cached map[string]*jsonschema.Schema
	seen   map[string]bool // "GET /api/v1/events 200"
}

// loadOpenAPI fetches the document from the server, which must serve the
// file in this package byte for byte, without authentication.
func loadOpenAPI(t *testing.T, base string) *openAPI {
	t.Helper()
	res, err := http.Get(base + ui.OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	served, _ := io.ReadAll(res.Body)
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !bytes.Equal(served, file) {
		t.Fatalf("GET %s: status %d, %d bytes; want 200 and openapi.json (%d bytes)", ui.OpenAPIPath, res.StatusCode, len(served), len(file))
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(served))
	if err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	doc, _ := v.(map[string]any)
	if !strings.HasPrefix(fmt.Sprint(doc["openapi"]), "3.1.") || doc["jsonSchemaDialect"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("openapi.json is not OpenAPI 3.1 with JSON Schema 2020-12: openapi %v, jsonSchemaDialect %v", doc["openapi"], doc["jsonSchemaDialect"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time, ipv4, ipv6 are promises too
	if err := c.AddResource(docURL, doc); err != nil {
		t.Fatal(err)
	}
	return &openAPI{t: t, doc: doc, c: c, cached: map[string]*jsonschema.Schema{}, seen: map[string]bool{}}
}

// pointerEscape escapes a JSON Pointer token (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// at resolves a JSON Pointer fragment such as "#/components/responses/NotFound".
func (o *openAPI) at(ptr string) any {
	o.t.Helper()
	var v any = o.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[tok]
	}
	return v
}

func (o *openAPI) schema(ptr string) *jsonschema.Schema {
	o.t.Helper()
	if s, ok := o.cached[ptr]; ok {
		return s
	}
	s, err := o.c.Compile(docURL + ptr)
	if err != nil {
		o.t.Fatalf("openapi.json: the schema at %s does not compile: %v", ptr, err)
	}
	o.cached[ptr] = s
	return s
}

// operation is where the document describes method on route (a path
// template such as /api/v1/events/{id}).
func (o *openAPI) operation(method, route string) string {
	o.t.Helper()
	ptr := "#/paths/" + pointerEscape(route) + "/" + strings.ToLower(method)
	if o.at(ptr) == nil {
		o.t.Fatalf("openapi.json does not document %s %s", method, route)
	}
	return ptr
}

// validate checks a JSON body (or, for NDJSON, each of its lines) against
// the schema at ptr.
func (o *openAPI) validate(what, ptr, mediaType string, body []byte) {
	o.t.Helper()
	sch := o.schema(ptr)
	docs := [][]byte{body}
	switch {
	case mediaType == "application/json":
	case mediaType == "application/x-ndjson":
		docs = nil
		for _, line := range bytes.Split(body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				docs = append(docs, line)
			}
		}
	case strings.HasPrefix(mediaType, "text/"):
		if err := sch.Validate(string(body)); err != nil {
			o.t.Errorf("%s does not match %s: %v", what, ptr, err)
		}
		return
	default:
		o.t.Fatalf("%s: no way to check %s", what, mediaType)
	}
	for i, d := range docs {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(d))
		if err != nil {
			o.t.Errorf("%s: item %d is not JSON (%v): %.300s", what, i, err, d)
			continue
		}
		if err := sch.Validate(v); err != nil {
			o.t.Errorf("%s does not match %s:\n%v\nbody: %.600s", what, ptr, err, d)
		}
	}
}

// checkRequest checks that a body the test sends is one the document allows,
// so the document's request schemas are tried as well as its answers.
func (o *openAPI) checkRequest(method, route, contentType, body string) {
	o.t.Helper()
	mt, _, _ := mime.ParseMediaType(contentType)
	ptr := o.operation(method, route) + "/requestBody/content/" + pointerEscape(mt)
	if o.at(ptr) == nil {
		o.t.Fatalf("openapi.json has no %s request body for %s %s", mt, method, route)
	}
	o.validate(fmt.Sprintf("the %s request body of %s %s", mt, method, route), ptr+"/schema", mt, []byte(body))
}

// check holds one real answer to the document: its status is documented for
// the operation, its media type too, its body matches that schema, and the
// documented headers are there.
func (o *openAPI) check(method, route string, r answer) {
	o.t.Helper()
	what := fmt.Sprintf("%s %s → %d", method, route, r.status)
	ptr := o.operation(method, route) + "/responses/" + strconv.Itoa(r.status)
	resp, ok := o.at(ptr).(map[string]any)
	if !ok {
		o.t.Errorf("%s: the status is not documented; body %.300s", what, r.body)
		return
	}
	if ref, ok := resp["$ref"].(string); ok {
		ptr = ref
		if resp, ok = o.at(ref).(map[string]any); !ok {
			o.t.Fatalf("%s: %s does not resolve", what, ref)
		}
	}
	o.seen[fmt.Sprintf("%s %s %d", method, route, r.status)] = true
	if method == http.MethodHead {
		return // no body, and nothing said of one
	}
	headers, _ := resp["headers"].(map[string]any)
	for name := range headers {
		if r.header.Get(name) == "" {
			o.t.Errorf("%s: the documented %s header is missing", what, name)
		}
	}
	content, _ := resp["content"].(map[string]any)
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		o.t.Errorf("%s: Content-Type %q is not documented", what, r.header.Get("Content-Type"))
		return
	}
	o.validate(what, ptr+"/content/"+pointerEscape(mt)+"/schema", mt, r.body)
}

// documented lists every "METHOD route status" in the document.
func (o *openAPI) documented() []string {
	var out []string
	paths, _ := o.doc["paths"].(map[string]any)
	for route, item := range paths {
		for method, op := range item.(map[string]any) {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			responses, _ := op.(map[string]any)["responses"].(map[string]any)
			for status := range responses {
				out = append(out, fmt.Sprintf("%s %s %s", strings.ToUpper(method), route, status))
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestTheOpenAPIDocumentListsEveryRouteAndNoOther(t *testing.T) {
	_, s, ts := serveTempLog(t)
	o := loadOpenAPI(t, ts.URL)
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	var routed, documented []string
	for _, r := range s.RouteList() {
		if r[1] != "/healthz" && !strings.HasPrefix(r[1], "/api/v1/") {
			continue
		}
		routed = append(routed, r[0]+" "+param.ReplaceAllString(r[1], "{$1}"))
	}
	paths, _ := o.doc["paths"].(map[string]any)
	for route, item := range paths {
		for method := range item.(map[string]any) {
			if slices.Contains(httpMethods, method) {
				documented = append(documented, strings.ToUpper(method)+" "+route)
			}
		}
	}
	slices.Sort(routed)
	routed = slices.Compact(routed)
	slices.Sort(documented)
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("the server routes %s, which openapi.json does not document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json documents %s, which the server does not route", d)
		}
	}
	if len(routed) < 10 {
		t.Fatalf("only %d API routes found: %q", len(routed), routed)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// caller sends requests to the real server as API clients do.
type caller struct {
	t      *testing.T
	base   string
	client *http.Client
	last   *sent // when set, the last request sent, to be sent again
}

type sent struct {
	method, target string
	opts           []reqOption
}

type reqOption func(*http.Request)

func bearer(token string) reqOption {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func contentType(ct string) reqOption {
	return func(r *http.Request) { r.Header.Set("Content-Type", ct) }
}

func host(h string) reqOption { return func(r *http.Request) { r.Host = h } }

func (c caller) send(method, target, body string, opts ...reqOption) answer {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+target, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.last != nil {
		*c.last = sent{method, target, opts}
	}
	for _, opt := range opts {
		opt(req)
	}
	client := c.client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

// want fails the test when the answer has another status: each case below
// must provoke the status it is about, or the document's check proves little.
func (a answer) want(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %.400s", a.status, status, a.body)
	}
	return a
}

// provokedElsewhere names the test that provokes a documented status, and
// checks its answer against the document (checkAnswer), when the setup it
// needs is a test of its own.
var provokedElsewhere = map[string]string{
	"GET /api/v1/events/{id} 503":  "TestADamagedEntryIsReportedOnHealthzAndTheRestServed",
	"HEAD /api/v1/events/{id} 503": "TestADamagedEntryIsReportedOnHealthzAndTheRestServed",
	"POST /api/v1/events 507":      "TestIngestOnAFullDiskAnswers507AndReadsGoOn",
	"POST /api/v1/events 503":      "TestHealthzReportsTheClusterAndRefusesWithoutAQuorum",
	"GET /api/v1/export 503":       "TestHealthzReportsTheClusterAndRefusesWithoutAQuorum",
}

// checkAnswer holds one answer of a test other than
// TestEveryAnswerMatchesTheOpenAPIDocument to the document.
func checkAnswer(t *testing.T, base, method, route string, r response) {
	t.Helper()
	o := loadOpenAPI(t, base)
	o.check(method, route, answer{status: r.status, header: r.header, body: r.body})
	if provokedElsewhere[fmt.Sprintf("%s %s %d", method, route, r.status)] != t.Name() {
		t.Errorf("provokedElsewhere does not name %s for %s %s %d", t.Name(), method, route, r.status)
	}
}

func TestEveryAnswerMatchesTheOpenAPIDocument(t *testing.T) {
	log, s, ts := serveTempLog(t)
	o := loadOpenAPI(t, ts.URL)
	c := caller{t: t, base: ts.URL, last: &sent{}}
	ctx := context.Background()
	ingest, _, _ := log.CreateToken(ctx, "ingester", []app.Scope{app.ScopeIngest}, "test")
	read, _, _ := log.CreateToken(ctx, "reader", []app.Scope{app.ScopeRead}, "test")
	admin, _, _ := log.CreateToken(ctx, "admin", []app.Scope{app.ScopeAdmin}, "test")
	const (
		jsonType = "application/json"
		events   = "/api/v1/events"
	)
	check := func(method, route string, a answer, status int) answer {
		t.Helper()
		a.want(t, status)
		o.check(method, route, a)
		// Every read but the export answers HEAD as it answers GET, with no body.
		if l := *c.last; l.method == "GET" && method == "GET" && route != "/api/v1/export" && route != "/healthz" {
			h := c.send("HEAD", l.target, "", l.opts...)
			if h.status != a.status || len(h.body) != 0 {
				t.Errorf("HEAD %s answered %d and %d bytes, where GET answered %d", l.target, h.status, len(h.body), a.status)
			}
			o.check("HEAD", route, h)
		}
		return a
	}
	elsewhere := host("audit.example.com:7410")

	// The two routes open to everyone.
	check("GET", "/healthz", c.send("GET", "/healthz", ""), 200)
	check("GET", "/healthz", c.send("GET", "/healthz", "", elsewhere), 403)
	if h := check("HEAD", "/healthz", c.send("HEAD", "/healthz", ""), 200); len(h.body) != 0 {
		t.Errorf("HEAD /healthz answered a body: %q", h.body)
	}
	check("HEAD", "/healthz", c.send("HEAD", "/healthz", "", elsewhere), 403)
	check("GET", ui.OpenAPIPath, c.send("GET", ui.OpenAPIPath, ""), 200)
	check("GET", ui.OpenAPIPath, c.send("GET", ui.OpenAPIPath, "", elsewhere), 403)

	// Recording.
	one := `{"namespace": "API Tokens", "action": "token_revoked", "detail": "Revoked API token \"ci-deploy\"", "actor": "Lukas Brandt",
		"targets": [{"type": "api_token", "id": "tok_81", "name": "ci-deploy"}], "metadata": {"region": "eu"}, "ip": "203.0.113.7",
		"timestamp": null, "id": "evt-openapi-1"}`
	batch := `[{"namespace": "connections", "action": "connection_created", "detail": "Created connection \"Snowflake\"", "anonymous": true},
		{"namespace": "users", "action": "user_invited", "detail": "Invited jordan@acme-partners.com", "actor": "Maya Chen", "ip": "2001:db8::1"}]`
	ndjson := `{"namespace": "spaces", "action": "space_created", "detail": "Created space \"Finance\"", "actor": "Maya Chen"}` + "\n\n" +
		`{"namespace": "data_products", "action": "data_product_published", "detail": "Published \"Customer 360\""}` + "\n"
	for _, tt := range []struct{ ct, body string }{{jsonType, one}, {jsonType + "; charset=utf-8", batch}, {"application/x-ndjson", ndjson}} {
		o.checkRequest("POST", events, tt.ct, tt.body)
		check("POST", events, c.send("POST", events, tt.body, bearer(ingest), contentType(tt.ct)), 201)
	}
	check("POST", events, c.send("POST", events, one, bearer(admin)), 201) // no Content-Type; the same id again
	bad := `[{"namespace": "bogus", "action": "X", "detail": ""}, {"namespace": "users", "action": "user_invited", "detail": "ok", "targets": [{}], "surprise": 1}]`
	if e := check("POST", events, c.send("POST", events, bad, bearer(ingest), contentType(jsonType)), 400); !bytes.Contains(e.body, []byte(`"details"`)) {
		t.Errorf("a rejected batch names no fields: %s", e.body)
	}
	check("POST", events, c.send("POST", events, `{"namespace": `, bearer(ingest), contentType(jsonType)), 400)
	check("POST", events, c.send("POST", events, one, contentType(jsonType)), 401)
	check("POST", events, c.send("POST", events, one, bearer("alt_unknown"), contentType(jsonType)), 401)
	check("POST", events, c.send("POST", events, one, bearer(read), contentType(jsonType)), 403)
	check("POST", events, c.send("POST", events, one, bearer(ingest), elsewhere), 403)
	tooMany := "[" + strings.TrimSuffix(strings.Repeat(`{"namespace":"users","action":"user_invited","detail":"x"},`, app.MaxBatch+1), ",") + "]"
	check("POST", events, c.send("POST", events, tooMany, bearer(ingest), contentType(jsonType)), 413)
	check("POST", events, c.send("POST", events, one, bearer(ingest), contentType("text/plain")), 415)

	// Reading.
	ctxWait, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := log.WaitIndexed(ctxWait); err != nil {
		t.Fatal(err)
	}
	page := check("GET", events, c.send("GET", events+"?limit=2", "", bearer(read)), 200)
	next := regexp.MustCompile(`"next":"([^"]+)"`).FindSubmatch(page.body)
	if next == nil {
		t.Fatalf("a first page of 2 has no next: %s", page.body)
	}
	check("GET", events, c.send("GET", events+"?limit=2&cursor="+string(next[1]), "", bearer(read)), 200)
	check("GET", events, c.send("GET", events+"?"+url.Values{"q": {"snowflake"}, "namespace": {"Connections"}, "after": {"2000-01-01"}}.Encode(), "", bearer(admin)), 200)
	check("GET", events, c.send("GET", events+"?q=nothing-matches-this", "", bearer(read)), 200)
	for _, q := range []string{"limit=0", "limit=501", "cursor=nope", "namespace=bogus", "after=yesterday", "q=%22open"} {
		check("GET", events, c.send("GET", events+"?"+q, "", bearer(read)), 400)
	}
	check("GET", events, c.send("GET", events, ""), 401)
	check("GET", events, c.send("GET", events, "", bearer(ingest)), 403)

	// The page's session reads too.
	jar, _ := cookiejar.New(nil)
	browser := caller{t: t, base: ts.URL, client: &http.Client{Jar: jar}}
	browser.send("GET", strings.TrimPrefix(s.LaunchURL(ts.URL), ts.URL), "").want(t, 200)
	check("GET", events, browser.send("GET", events, ""), 200)

	entry := events + "/{id}"
	check("GET", entry, c.send("GET", events+"/evt-openapi-1", "", bearer(read)), 200)
	check("GET", entry, c.send("GET", events+"/no-such-entry", "", bearer(read)), 404)
	check("GET", entry, c.send("GET", events+"/evt-openapi-1", ""), 401)
	check("GET", entry, c.send("GET", events+"/evt-openapi-1", "", bearer(ingest)), 403)

	const export = "/api/v1/export"
	for _, format := range []string{"csv", "json", "ndjson", "NDJSON"} {
		check("GET", export, c.send("GET", export+"?format="+format+"&namespace=users", "", bearer(read)), 200)
	}
	check("GET", export, c.send("GET", export, "", bearer(read)), 400)
	check("GET", export, c.send("GET", export+"?format=xml", "", bearer(read)), 400)
	check("GET", export, c.send("GET", export+"?format=csv&q=%22open", "", bearer(read)), 400)
	check("GET", export, c.send("GET", export+"?format=csv", ""), 401)
	check("GET", export, c.send("GET", export+"?format=csv", "", bearer(ingest)), 403)

	// The workspace.
	const workspace = "/api/v1/workspace"
	check("GET", workspace, c.send("GET", workspace, "", bearer(read)), 200)
	check("GET", workspace, c.send("GET", workspace, ""), 401)
	check("GET", workspace, c.send("GET", workspace, "", bearer(ingest)), 403)
	rename := `{"name": "Acme Data", "timezone": "Europe/Berlin"}`
	o.checkRequest("PATCH", workspace, jsonType, rename)
	check("PATCH", workspace, c.send("PATCH", workspace, rename, bearer(admin), contentType(jsonType)), 200)
	check("PATCH", workspace, c.send("PATCH", workspace, `{"timezone": "Mars/Olympus"}`, bearer(admin), contentType(jsonType)), 400)
	check("PATCH", workspace, c.send("PATCH", workspace, `{"name": " "}`, bearer(admin), contentType(jsonType)), 400)
	check("PATCH", workspace, c.send("PATCH", workspace, `not json`, bearer(admin), contentType(jsonType)), 400)
	check("PATCH", workspace, c.send("PATCH", workspace, rename, contentType(jsonType)), 401)
	check("PATCH", workspace, c.send("PATCH", workspace, rename, bearer(read), contentType(jsonType)), 403)
	check("PATCH", workspace, c.send("PATCH", workspace, `{"name": "`+strings.Repeat("x", 70<<10)+`"}`, bearer(admin), contentType(jsonType)), 413)
	check("PATCH", workspace, c.send("PATCH", workspace, rename, bearer(admin), contentType("text/plain")), 415)

	// The chain's integrity.
	const integrity = "/api/v1/integrity"
	check("GET", integrity, c.send("GET", integrity, "", bearer(read)), 200)
	check("GET", integrity, c.send("GET", integrity, ""), 401)
	check("GET", integrity, c.send("GET", integrity, "", bearer(ingest)), 403)

	// Tokens.
	const tokens = "/api/v1/tokens"
	check("GET", tokens, c.send("GET", tokens, "", bearer(admin)), 200)
	check("GET", tokens, c.send("GET", tokens, ""), 401)
	check("GET", tokens, c.send("GET", tokens, "", bearer(read)), 403)
	for _, body := range []string{`{"label": "ci-deploy", "scopes": ["ingest", "read"]}`, `{"label": "nightly", "scopes": "ingest,read"}`} {
		o.checkRequest("POST", tokens, jsonType, body)
		check("POST", tokens, c.send("POST", tokens, body, bearer(admin), contentType(jsonType)), 201)
	}
	for _, body := range []string{`{"label": "", "scopes": ["ingest"]}`, `{"label": "x", "scopes": ["root"]}`, `{"label": "x"}`, `{"label": "x", "scopes": 7}`, `[]`} {
		check("POST", tokens, c.send("POST", tokens, body, bearer(admin), contentType(jsonType)), 400)
	}
	check("POST", tokens, c.send("POST", tokens, `{"label": "x", "scopes": ["read"]}`, contentType(jsonType)), 401)
	check("POST", tokens, c.send("POST", tokens, `{"label": "x", "scopes": ["read"]}`, bearer(ingest), contentType(jsonType)), 403)
	check("POST", tokens, c.send("POST", tokens, `{"label": "`+strings.Repeat("x", 70<<10)+`", "scopes": ["read"]}`, bearer(admin), contentType(jsonType)), 413)
	check("POST", tokens, c.send("POST", tokens, `{"label": "x", "scopes": ["read"]}`, bearer(admin), contentType("application/x-www-form-urlencoded")), 415)
	soon := time.Now().Add(time.Second)
	_, expiring, err := log.CreateTokenWith(ctx, app.TokenSpec{Label: "expiring", Scopes: []app.Scope{app.ScopeRead}, ExpiresAt: &soon}, "test")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(soon) + 10*time.Millisecond)
	toks, _ := log.Tokens(ctx)
	regenerate := tokens + "/{id}/regenerate"
	var nightly string // made above; the test's own tokens keep their secrets
	for _, tok := range toks {
		if tok.Label == "nightly" {
			nightly = tok.ID
		}
	}
	check("POST", regenerate, c.send("POST", tokens+"/"+nightly+"/regenerate", "", bearer(admin)), 200)
	check("POST", regenerate, c.send("POST", tokens+"/tok_nosuchtoken/regenerate", "", bearer(admin)), 404)
	check("POST", regenerate, c.send("POST", tokens+"/"+expiring.ID+"/regenerate", "", bearer(admin)), 409)
	check("POST", regenerate, c.send("POST", tokens+"/"+nightly+"/regenerate", ""), 401)
	check("POST", regenerate, c.send("POST", tokens+"/"+nightly+"/regenerate", "", bearer(read)), 403)
	revoke := tokens + "/{id}"
	check("DELETE", revoke, c.send("DELETE", tokens+"/"+toks[0].ID, "", bearer(admin)), 200)
	check("DELETE", revoke, c.send("DELETE", tokens+"/"+toks[0].ID, "", bearer(admin)), 404)
	check("DELETE", revoke, c.send("DELETE", tokens+"/"+toks[1].ID, ""), 401)
	check("DELETE", revoke, c.send("DELETE", tokens+"/"+toks[1].ID, "", bearer(read)), 403)

	// A store that no longer answers: the health check says so.
	closed, _, closedTS := serveTempLog(t)
	closed.Close()
	check("GET", "/healthz", caller{t: t, base: closedTS.URL}.send("GET", "/healthz", ""), 503)
	check("HEAD", "/healthz", caller{t: t, base: closedTS.URL}.send("HEAD", "/healthz", ""), 503)

	// Every documented status was provoked above, but the server's own faults
	// and those that need a damaged store or a full disk.
	for _, d := range o.documented() {
		if !o.seen[d] && !strings.HasSuffix(d, " 500") && provokedElsewhere[d] == "" {
			t.Errorf("no request above provoked %s: add one, or drop the status from openapi.json", d)
		}
	}
}
