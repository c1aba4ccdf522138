package ui_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/ui"
)

// pageFixture runs the real server over a real store and keyword index in a
// temp dir, with a browser session opened through the launch URL.
type pageFixture struct {
	t      *testing.T
	log    *app.Log
	server *ui.Server
	ts     *httptest.Server
	client *http.Client // carries the session cookie
	loc    *time.Location
}

// newPageFixture opens a workspace "Acme Data" in Europe/Berlin, so that
// timestamps show a zone other than UTC.
func newPageFixture(t *testing.T) *pageFixture {
	t.Helper()
	log, s, ts := serveTempLog(t)
	if _, err := log.ChangeSettings(context.Background(), acmeBerlin(), "Test Admin"); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	f := &pageFixture{t: t, log: log, server: s, ts: ts, client: &http.Client{Jar: jar}}
	f.loc, _ = time.LoadLocation("Europe/Berlin")
	r := f.get(s.LaunchURL(ts.URL), nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<h1>Audit Log</h1>") {
		t.Fatalf("the launch URL did not open the page: %d %.300s", r.status, r.body)
	}
	return f
}

type pageResp struct {
	status int
	header http.Header
	body   string
}

func (f *pageFixture) do(client *http.Client, req *http.Request) pageResp {
	f.t.Helper()
	res, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// get fetches a page or partial with the session, as a browser (Accept:
// text/html) or as htmx when header sets HX-Request.
func (f *pageFixture) get(target string, header map[string]string) pageResp {
	f.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = f.ts.URL + target
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return f.do(f.client, req)
}

var htmx = map[string]string{"HX-Request": "true"}

// record stores events and waits until the keyword index has them.
func (f *pageFixture) record(events ...app.Event) []app.Event {
	f.t.Helper()
	stored, err := f.log.Record(context.Background(), events)
	if err != nil {
		f.t.Fatal(err)
	}
	f.waitIndexed()
	return stored
}

func (f *pageFixture) waitIndexed() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(ctx); err != nil {
		f.t.Fatal(err)
	}
}

func ev(ns app.Namespace, action, detail, actor string, ago time.Duration) app.Event {
	return app.Event{Namespace: ns, Action: action, Detail: detail, Actor: actor, Timestamp: time.Now().Add(-ago)}
}

// stories records a small, known workspace history.
func (f *pageFixture) stories() []app.Event {
	return f.record(
		ev(app.Connections, "connection_created", `Created connection "Snowflake Warehouse"`, "Tomás Ortega", 20*24*time.Hour),
		ev(app.APITokens, "token_created", `Created API token "ci-deploy" with scopes ingest`, "Daniel Okafor", 10*24*time.Hour),
		ev(app.DataProducts, "data_product_invite_accepted", `jordan@acme-partners.com accepted the invite to "Customer 360"`, "", 3*24*time.Hour),
		ev(app.DataPipelines, "pipeline_created", `Created pipeline "snowflake_cost_monitor"`, "Maya Chen", 2*time.Hour),
		ev(app.APITokens, "token_revoked", `Revoked API token "ci-deploy"`, "Lukas Brandt", time.Hour),
	)
}

func rowCount(body string) int { return strings.Count(body, `<tr class="entry`) }

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("the page contains %q", w)
		}
	}
}

func TestTheRootRedirectsToTheAuditLogPage(t *testing.T) {
	f := newPageFixture(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/", nil)
	r := f.do(client, req)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != ui.PagePath {
		t.Fatalf("GET / = %d to %q, want 303 to %s", r.status, r.header.Get("Location"), ui.PagePath)
	}
}

func TestWithoutASessionThePageExplainsHowToOpenIt(t *testing.T) {
	f := newPageFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+ui.PagePath, nil)
	req.Header.Set("Accept", "text/html")
	r := f.do(http.DefaultClient, req)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", r.status)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("Content-Type %q, want HTML", r.header.Get("Content-Type"))
	}
	mustContain(t, r.body, "Open the Audit Log from its launch link", "/launch?secret=", `rel="stylesheet" href="/assets/app.css?v=`)
	mustNotContain(t, r.body, "Acme Data", "<table")
}

// A bookmarked search opened without a session (the browser restarted, say)
// is where the launch link then lands, once; only a path on this site is.
func TestTheLaunchLinkLandsOnThePageAskedForWithoutASession(t *testing.T) {
	f := newPageFixture(t)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	open := func(target string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", "text/html")
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	asked := f.ts.URL + ui.PagePath + "?q=revoked&namespace=api_tokens"
	if res, _ := open(asked); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a session: %d, want 401", res.StatusCode)
	}
	res, body := open(f.server.LaunchURL(f.ts.URL))
	if res.StatusCode != http.StatusOK || res.Request.URL.String() != asked || !strings.Contains(body, `value="revoked"`) {
		t.Fatalf("the launch link landed on %s (%d), want %s", res.Request.URL, res.StatusCode, asked)
	}
	if res, _ := open(f.server.LaunchURL(f.ts.URL)); res.Request.URL.String() != f.ts.URL+ui.PagePath {
		t.Fatalf("launched again, it landed on %s, want the page itself", res.Request.URL)
	}
	// Another site linking here does not choose where the launch lands.
	req, _ := http.NewRequest(http.MethodGet, asked, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Fatalf("a navigation from another site: %v, cookies %v", err, res.Cookies())
	}
	// A cookie naming another site, or the launch link itself, is not followed.
	u, _ := url.Parse(f.ts.URL + "/launch")
	name := "auditlog_return_" + u.Port()
	for _, bad := range []string{"//evil.example/x", "/\\evil.example/x", "/\t/evil.example/x", "/x\\..\\", "https://evil.example/", "/launch?secret=x", "%%%"} {
		jar.SetCookies(u, []*http.Cookie{{Name: name, Value: base64.RawURLEncoding.EncodeToString([]byte(bad)), Path: "/launch"}})
		if res, _ := open(f.server.LaunchURL(f.ts.URL)); res.Request.URL.String() != f.ts.URL+ui.PagePath {
			t.Errorf("a return cookie of %q: landed on %s", bad, res.Request.URL)
		}
	}
}

func TestARequestAddressedToAnotherHostIsRefused(t *testing.T) {
	f := newPageFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+ui.PagePath, nil)
	req.Host = "evil.example"
	req.Header.Set("Accept", "text/html")
	r := f.do(f.client, req)
	if r.status != http.StatusForbidden {
		t.Fatalf("status %d, want 403", r.status)
	}
	mustContain(t, r.body, "localhost")
}

func TestTheSameURLAnswersTheFullPageOrTheHTMXPartial(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	const target = ui.PagePath + "?q=ci-deploy"

	full := f.get(target, nil)
	part := f.get(target, htmx)
	restore := f.get(target, map[string]string{"HX-Request": "true", "HX-History-Restore-Request": "true"})
	for name, r := range map[string]pageResp{"full": full, "partial": part, "history restore": restore} {
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", name, r.status)
		}
		if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "HX-Request") {
			t.Errorf("%s: Vary = %q, want HX-Request", name, r.header.Values("Vary"))
		}
		if n := rowCount(r.body); n != 2 {
			t.Errorf("%s: %d rows, want the 2 ci-deploy entries", name, n)
		}
	}
	mustContain(t, full.body, "<!doctype html>", `<nav id="settings-nav"`, `id="results"`)
	mustContain(t, restore.body, "<!doctype html>")
	if strings.Contains(part.body, "<html") || strings.Contains(part.body, "settings-nav") {
		t.Errorf("the partial carries the page around the results")
	}
	// The partial also updates the filter controls outside the results.
	mustContain(t, part.body, `id="range" class="range" hx-swap-oob="true"`, `id="namespace-field"`)
}

func TestTheURLStateIsPrefilledAndApplied(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	// The day of the newest ci-deploy entry, revoked an hour ago: just after
	// midnight in the workspace's zone, that is yesterday.
	day := time.Now().Add(-time.Hour).In(f.loc)
	from := day.AddDate(0, 0, -12).Format("2006-01-02")
	to := day.AddDate(0, 0, -1).Format("2006-01-02") // before is exclusive: the day after the last one shown
	target := ui.PagePath + "?" + url.Values{"q": {"ci-deploy"}, "namespace": {"api_tokens"}, "after": {from}, "before": {day.Format("2006-01-02")}}.Encode()
	r := f.get(target, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, r.body,
		`name="q" type="search" value="ci-deploy"`,
		`name="namespace" value="api_tokens"`,
		`<option value="custom" selected>`,
		`name="from" value="`+from+`"`,
		`name="to" value="`+to+`"`,
		`class="ns-tab is-active" href="/settings/security/audit-log?q=ci-deploy&amp;namespace=api_tokens`,
	)
	// Only the token created 10 days ago is in API Tokens, ci-deploy, from 12 days before
	// the revoke's day to the day before it.
	if n := rowCount(r.body); n != 1 || !strings.Contains(r.body, "token_created") {
		t.Fatalf("%d rows, want the token_created entry only", n)
	}
}

func TestTimestampsShowTheWorkspaceZoneWithUTCOnHover(t *testing.T) {
	f := newPageFixture(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if time.Since(at) > 29*24*time.Hour {
		at = time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	}
	f.record(app.Event{Namespace: app.Users, Action: "user_invited", Detail: "Invited sam@example.com", Actor: "Maya Chen", Timestamp: at})
	r := f.get(ui.PagePath+"?namespace=users", nil)
	local := at.In(f.loc)
	want := fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		at.Format(time.RFC3339), at.Format("2006-01-02 15:04:05 UTC"), local.Format("Jan 2, 15:04:05 MST"))
	mustContain(t, r.body, want)
	if z := local.Format("MST"); z != "CET" && z != "CEST" {
		t.Fatalf("zone %q, want CET or CEST", z)
	}
}

func TestEventTextIsEscapedInTheTableAndTheEntry(t *testing.T) {
	f := newPageFixture(t)
	const evil = `<img src=x onerror=alert(1)>`
	stored := f.record(app.Event{
		Namespace: app.Connections, Action: "connection_created", Detail: "Created " + evil, Actor: `<b>Mallory</b>`,
		Targets:  []app.Target{{Type: "connection", Name: evil}},
		Metadata: map[string]string{"note": evil},
	})
	for name, target := range map[string]string{
		"table":          ui.PagePath,
		"search":         ui.PagePath + "?q=img",
		"entry page":     ui.EntryPath + stored[0].ID,
		"entry as panel": ui.EntryPath + stored[0].ID,
	} {
		var h map[string]string
		if name == "entry as panel" {
			h = htmx
		}
		r := f.get(target, h)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", name, r.status)
		}
		if strings.Contains(r.body, "<img") || strings.Contains(r.body, "<b>Mallory") {
			t.Errorf("%s: event text became markup", name)
		}
		if !strings.Contains(r.body, "src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the detail is not shown as text", name)
		}
	}
	r := f.get(ui.PagePath+"?q=img", nil)
	mustContain(t, r.body, `Created &lt;<mark>img</mark> src=x onerror=alert(1)&gt;`)
}

func TestSearchMarksTheMatchingWordsInTheDetail(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	r := f.get(ui.PagePath+"?q=snow", htmx)
	if n := rowCount(r.body); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	mustContain(t, r.body,
		`Created connection &#34;<mark>Snowflake</mark> Warehouse&#34;`,
		`Created pipeline &#34;<mark>snowflake</mark>_cost_monitor&#34;`)
	// A phrase marks its words together; an excluded word marks nothing.
	r = f.get(ui.PagePath+"?"+url.Values{"q": {`"api token" -revoked`}}.Encode(), htmx)
	if n := rowCount(r.body); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	mustContain(t, r.body, `Created <mark>API token</mark> &#34;ci-deploy&#34;`)
}

func TestSearchMarksWhatItMatchedInTheActorAndTheAction(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	r := f.get(ui.PagePath+"?"+url.Values{"q": {"maya OR revoked "}}.Encode(), htmx)
	if n := rowCount(r.body); n != 2 {
		t.Fatalf("%d rows, want 2", n)
	}
	mustContain(t, r.body,
		`<span class="actor"><mark>Maya</mark> Chen</span>`,
		`<code title="token_revoked">token_<wbr><mark>revoked</mark></code>`)
	// An actor: qualifier marks the word of the name it matched.
	r = f.get(ui.PagePath+"?q=actor:brandt", htmx)
	if n := rowCount(r.body); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
	mustContain(t, r.body, `<span class="actor">Lukas <mark>Brandt</mark></span>`)
}

func TestAnEntryOpenedFromASearchMarksWhatMatchedItsTargetsIncluded(t *testing.T) {
	f := newPageFixture(t)
	e := ev(app.DataPipelines, "pipeline_created", `Created pipeline "Nightly rollup"`, "Maya Chen", time.Hour)
	e.Targets = []app.Target{{Type: "pipeline", ID: "pl_daily_revenue", Name: "daily_revenue_rollup"}}
	f.record(e)
	r := f.get(ui.PagePath+"?q=revenue", htmx)
	if n := rowCount(r.body); n != 1 {
		t.Fatalf("%d rows, want 1 (the target name is searched)", n)
	}
	m := regexp.MustCompile(`data-entry="([^"]+)"`).FindStringSubmatch(r.body)
	if m == nil || !strings.Contains(m[1], "?q=revenue") {
		t.Fatalf("the row's entry link does not carry the search: %v", m)
	}
	r = f.get(html.UnescapeString(m[1]), htmx)
	mustContain(t, r.body, `daily_<mark>revenue</mark>_rollup`, `pl_daily_<mark>revenue</mark>`)
	// Without a search, nothing is marked.
	r = f.get(ui.EntryPath+idOf(t, html.UnescapeString(m[1])), htmx)
	mustNotContain(t, r.body, "<mark>")
}

func idOf(t *testing.T, entryURL string) string {
	t.Helper()
	id, _, _ := strings.Cut(strings.TrimPrefix(entryURL, ui.EntryPath), "?")
	return id
}

func TestABadQueryShowsAMessageUnderTheSearchBoxNotAnErrorPage(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	for _, q := range []string{`"unterminated`, "namespace:widgets", "after:tuesday"} {
		target := ui.PagePath + "?" + url.Values{"q": {q}}.Encode()
		for name, h := range map[string]map[string]string{"full page": nil, "partial": htmx} {
			r := f.get(target, h)
			if r.status != http.StatusOK {
				t.Fatalf("%s %q: status %d, want 200", name, q, r.status)
			}
			mustContain(t, r.body, `role="alert"`, "This search can't be read.")
			if rowCount(r.body) != 0 {
				t.Errorf("%s %q: rows shown for a query that does not parse", name, q)
			}
		}
	}
	r := f.get(ui.PagePath+"?"+url.Values{"q": {`"open`}}.Encode(), nil)
	mustContain(t, r.body, "At character 1: unterminated quote", `value="&#34;open"`)
	r = f.get(ui.PagePath+"?namespace=widgets", nil)
	mustContain(t, r.body, `unknown namespace &#34;widgets&#34;`)
}

// A stale or hand-edited link's filter that cannot be read is named, and
// left out of the form the page sends back, so the next search works: the
// page must not keep sending it, failing the same way at every search.
func TestAnUnreadableFilterInTheAddressIsNamedAndLeftOut(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	for _, tt := range []struct{ params, names, kept string }{
		{"namespace=bogus&after=2026-11-01", `unknown namespace &#34;bogus&#34;`, `name="after" value="2026-11-01"`},
		{"namespace=users&after=garbage", `After: &#34;garbage&#34; is not a date`, `id="namespace-field" name="namespace" value="users"`},
		{"namespace=users&after=2026-11-02&before=2026-11-01", "Before: must be later than after", `name="after" value=""`},
	} {
		r := f.get(ui.PagePath+"?q=snowflake&"+tt.params, nil)
		mustContain(t, r.body, `role="alert"`, "This address's filter can't be read.", tt.names, `clear the filters`, tt.kept, `value="snowflake"`)
		for _, stale := range []string{`value="bogus"`, `value="garbage"`, `name="before" value="2026-11-01"`} {
			if strings.Contains(r.body, stale) {
				t.Errorf("%s: the form still holds %s", tt.params, stale)
			}
		}
	}
	// What is left is the view shown: without dates, the whole retention.
	r := f.get(ui.PagePath+"?namespace=bogus", nil)
	mustContain(t, r.body, `<option value="all" selected>`)
	mustNotContain(t, r.body, `<option value="custom" selected>`)
}

func TestAHalfTypedQueryKeepsTheResultsAndSaysWhatIsWrongBesideTheBox(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	typing := map[string]string{"HX-Request": "true", "X-Search-Typing": "true"}
	r := f.get(ui.PagePath+"?"+url.Values{"q": {`"Customer`}}.Encode(), typing)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if got := r.header.Get("HX-Retarget"); got != "#query-hint" {
		t.Fatalf("HX-Retarget = %q, want only the message beside the box swapped", got)
	}
	if r.header.Get("HX-Push-Url") != "" {
		t.Error("a half-typed query is pushed into the address bar")
	}
	mustContain(t, r.body, `id="query-hint"`, "unterminated quote")
	mustNotContain(t, r.body, `id="entries"`, "ns-tabs", "Export", "Refresh", "This search can't be read")
	// Typing a readable query swaps the results and empties the message.
	r = f.get(ui.PagePath+"?q=customer", typing)
	if r.header.Get("HX-Retarget") != "" || rowCount(r.body) != 1 {
		t.Fatalf("retarget %q, %d rows", r.header.Get("HX-Retarget"), rowCount(r.body))
	}
	mustContain(t, r.body, `<p id="query-hint" class="query-hint" role="status" hx-swap-oob="true"></p>`)
	// An explicit search (Enter) shows the full message in place of the results.
	r = f.get(ui.PagePath+"?"+url.Values{"q": {`"Customer`}}.Encode(), htmx)
	if r.header.Get("HX-Retarget") != "" {
		t.Fatalf("an explicit search was retargeted to %q", r.header.Get("HX-Retarget"))
	}
	mustContain(t, r.body, `role="alert"`, "This search can't be read.")
}

func TestTheFirstRunOffersDemoDataAndShowsHowToSendEvents(t *testing.T) {
	f := newFirstRunFixture(t)
	r := f.get(ui.PagePath, nil)
	mustContain(t, r.body, "No activity recorded yet", "Load demo data", `name="csrf" value="`,
		"auditlog token create --label my-system --scopes ingest", f.ts.URL+"/api/v1/events")
	mustNotContain(t, r.body, `<table class="entries"`)
}

// newFirstRunFixture is a fixture whose log holds nothing at all.
func newFirstRunFixture(t *testing.T) *pageFixture {
	t.Helper()
	log, s, ts := serveTempLog(t)
	jar, _ := cookiejar.New(nil)
	f := &pageFixture{t: t, log: log, server: s, ts: ts, client: &http.Client{Jar: jar}, loc: time.Local}
	if r := f.get(s.LaunchURL(ts.URL), nil); r.status != http.StatusOK {
		t.Fatalf("launch: %d", r.status)
	}
	return f
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestLoadingDemoDataNeedsTheCSRFToken(t *testing.T) {
	f := newFirstRunFixture(t)
	m := csrfField.FindStringSubmatch(f.get(ui.PagePath, nil).body)
	if m == nil {
		t.Fatal("no CSRF token in the first-run form")
	}
	post := func(form url.Values) pageResp {
		req, _ := http.NewRequest(http.MethodPost, f.ts.URL+ui.PagePath+"/demo", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		return f.do(f.client, req)
	}
	for name, form := range map[string]url.Values{"none": {}, "wrong": {"csrf": {"nope"}}} {
		if r := post(form); r.status != http.StatusForbidden {
			t.Fatalf("%s CSRF token: status %d, want 403", name, r.status)
		}
	}
	if !f.log.IsEmpty() {
		t.Fatal("demo data was loaded without the CSRF token")
	}
	r := post(url.Values{"csrf": {m[1]}}) // follows the redirect to the page
	if r.status != http.StatusOK || rowCount(r.body) != 50 {
		t.Fatalf("after loading: status %d, %d rows, want the page with 50 rows", r.status, rowCount(r.body))
	}
	mustContain(t, r.body, `<nav class="ns-tabs"`, `class="chart"`)
	mustNotContain(t, r.body, "Load demo data")
}

var tabCount = regexp.MustCompile(`data-namespace="([a-z_]*)"[^>]*>\s*(?:<span class="swatch[^"]*" aria-hidden="true"></span>)?[^<]*<span class="count">([0-9,]+)</span>`)

func tabCounts(t *testing.T, body string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range tabCount.FindAllStringSubmatch(body, -1) {
		got[m[1]] = m[2]
	}
	if len(got) != 8 {
		t.Fatalf("found %d namespace tabs, want All and seven namespaces: %v", len(got), got)
	}
	return got
}

func TestNamespaceCountsFollowTheSearchAndTheTimeRange(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	r := f.get(ui.PagePath+"?namespace=api_tokens", nil)
	got := tabCounts(t, r.body)
	// Six entries: the five stories and the settings change of the fixture (Spaces).
	want := map[string]string{"": "6", "api_tokens": "2", "connections": "1", "data_products": "1", "data_pipelines": "1", "spaces": "1", "users": "0", "service_users": "0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("count of %q = %s, want %s (the chosen namespace does not change the counts)", k, got[k], v)
		}
	}
	if rowCount(r.body) != 2 {
		t.Errorf("%d rows, want the 2 API token entries", rowCount(r.body))
	}

	r = f.get(ui.PagePath+"?q=ci-deploy&after="+time.Now().Add(-5*24*time.Hour).UTC().Format(time.RFC3339), htmx)
	got = tabCounts(t, r.body)
	want = map[string]string{"": "1", "api_tokens": "1", "connections": "0", "data_products": "0", "data_pipelines": "0", "spaces": "0", "users": "0", "service_users": "0"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("with a search and a time range, count of %q = %s, want %s", k, got[k], v)
		}
	}
}

var dayLink = regexp.MustCompile(`<a class="day[^"]*" href="([^"]+)"[^>]*data-date="([0-9-]+)" data-count="([0-9]+)"`)

func TestTheChartHasOneLinkedBarPerDayOfTheRetentionWindow(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	r := f.get(ui.PagePath, nil)
	days := dayLink.FindAllStringSubmatch(r.body, -1)
	first := time.Now().Add(-f.log.Retention()).In(f.loc)
	firstDay := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, f.loc)
	today := time.Now().In(f.loc)
	want := int(time.Date(today.Year(), today.Month(), today.Day(), 12, 0, 0, 0, f.loc).Sub(firstDay).Hours()/24) + 1
	if len(days) != want {
		t.Fatalf("%d day bars, want %d", len(days), want)
	}
	total := 0
	for i, d := range days {
		day, err := time.ParseInLocation("2006-01-02", d[2], f.loc)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && !day.Equal(firstDay) {
			t.Errorf("the first bar is %s, want %s", d[2], firstDay.Format("2006-01-02"))
		}
		next := day.AddDate(0, 0, 1).Format("2006-01-02")
		if href := strings.ReplaceAll(d[1], "&amp;", "&"); href != ui.PagePath+"?after="+d[2]+"&before="+next {
			t.Errorf("day %s links to %s", d[2], href)
		}
		var n int
		fmt.Sscan(d[3], &n)
		total += n
	}
	if total != 6 {
		t.Errorf("the bars add up to %d entries, want 6", total)
	}
	mustContain(t, r.body, `hx-push-url="true"`, "<title>", `class="y-max"`, `class="legend"`)

	// A day's link narrows the table to that day and names it.
	tokenDay := time.Now().Add(-10 * 24 * time.Hour).In(f.loc).Format("2006-01-02")
	for _, d := range days {
		if d[2] == tokenDay {
			r = f.get(strings.ReplaceAll(d[1], "&amp;", "&"), htmx)
			if rowCount(r.body) != 1 || !strings.Contains(r.body, "token_created") {
				t.Errorf("the day's link shows %d rows, want the token_created entry", rowCount(r.body))
			}
			mustContain(t, r.body, `<option value="custom" selected>`, `name="from" value="`+tokenDay+`"`, `name="to" value="`+tokenDay+`"`)
		}
	}
}

func TestAnEntryOpensAsAPageOrAsThePanel(t *testing.T) {
	f := newPageFixture(t)
	stored := f.record(app.Event{
		Namespace: app.Connections, Action: "connection_created", Detail: `Created connection "Snowflake Warehouse"`,
		Actor: "Tomás Ortega", IP: "203.0.113.7",
		Targets:  []app.Target{{Type: "connection", ID: "conn_42", Name: "Snowflake Warehouse"}},
		Metadata: map[string]string{"warehouse": "ANALYTICS_WH", "region": "eu-central-1"},
	})
	id := stored[0].ID
	page := f.get(ui.EntryPath+id, nil)
	panel := f.get(ui.EntryPath+id, htmx)
	for name, r := range map[string]pageResp{"page": page, "panel": panel} {
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", name, r.status)
		}
		mustContain(t, r.body, "connection_created", "Snowflake Warehouse", "Tomás Ortega", "203.0.113.7",
			"conn_42", "ANALYTICS_WH", "eu-central-1", id, "Received", "Targets", "Metadata")
	}
	mustContain(t, page.body, "<!doctype html>", "Back to the Audit Log")
	mustNotContain(t, panel.body, "<html")
	mustContain(t, panel.body, `<form method="dialog"`)
	if panel.header.Get("HX-Trigger-After-Swap") != "auditlog:entry-opened" {
		t.Errorf("HX-Trigger-After-Swap = %q, want the event that opens the panel once it holds the entry", panel.header.Get("HX-Trigger-After-Swap"))
	}
}

func TestEntriesWithUnusualIDsOpen(t *testing.T) {
	f := newPageFixture(t)
	for _, id := range []string{"evt/2026/11/25-1", "with space", "ünïcode", "a?b#c", "100%"} {
		f.record(app.Event{ID: id, Namespace: app.Users, Action: "user_invited", Detail: "Invited sam", Actor: "Maya Chen"})
		if r := f.get(ui.EntryPath+url.PathEscape(id), nil); r.status != http.StatusOK {
			t.Errorf("entry %q: status %d", id, r.status)
		}
	}
	// The table links each of them by its escaped id.
	mustContain(t, f.get(ui.PagePath, nil).body, `href="/settings/security/audit-log/entries/evt%2F2026%2F11%2F25-1"`)
}

func TestAnUnknownEntryIsNotFound(t *testing.T) {
	f := newPageFixture(t)
	r := f.get(ui.EntryPath+"nope", nil)
	if r.status != http.StatusNotFound {
		t.Fatalf("status %d, want 404", r.status)
	}
	mustContain(t, r.body, "<!doctype html>", "Not found", `No entry with id &#34;nope&#34;`)
	// For htmx the message goes to the notice area, not into the panel.
	r = f.get(ui.EntryPath+"nope", htmx)
	if r.status != http.StatusNotFound || r.header.Get("HX-Retarget") != "#flash" {
		t.Fatalf("htmx: status %d, HX-Retarget %q; want 404 retargeted to #flash", r.status, r.header.Get("HX-Retarget"))
	}
}

var sentinel = regexp.MustCompile(`<tr class="more" hx-get="([^"]+)" hx-trigger="revealed" hx-swap="outerHTML"`)

func TestScrollingLoadsOlderEntriesUntilTheRetentionWindowEnds(t *testing.T) {
	f := newPageFixture(t)
	var events []app.Event
	for i := range 60 {
		events = append(events, ev(app.DataPipelines, "pipeline_executed", fmt.Sprintf("Pipeline run %02d", i), "svc-airflow", time.Duration(i+1)*time.Minute))
	}
	f.record(events...)
	r := f.get(ui.PagePath+"?namespace=data_pipelines", nil)
	if rowCount(r.body) != 50 {
		t.Fatalf("first page: %d rows, want 50", rowCount(r.body))
	}
	m := sentinel.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no sentinel row that loads the next page")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "namespace=data_pipelines") || !strings.Contains(next, "cursor=") {
		t.Fatalf("the sentinel asks for %s, want the same view with a cursor", next)
	}
	r = f.get(next, htmx)
	if rowCount(r.body) != 10 || strings.Contains(r.body, "<table") || strings.Contains(r.body, "ns-tabs") {
		t.Fatalf("next page: %d rows; want just the 10 older rows", rowCount(r.body))
	}
	mustContain(t, r.body, "Pipeline run 59", "Beginning of the retention window (entries older than 30 days are purged)")
	mustNotContain(t, r.body, `class="more"`)
	// Opened as a page (a new tab, no script), the next rows come with the
	// view's counts, not "0 entries".
	r = f.get(next, nil)
	if rowCount(r.body) != 10 || !strings.Contains(r.body, "<strong>60</strong> entries") {
		t.Fatalf("the next page as a page: %d rows, summary %q", rowCount(r.body), between(r.body, `<p class="summary">`, `</p>`))
	}
}

// Dates typed in the query narrow the span searched; the summary says that
// span, not the range menu's.
func TestTheSummarySaysTheDatesTypedInTheQuery(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	loc := f.log.Settings().Location()
	since := time.Now().In(loc).AddDate(0, 0, -5)
	day := since.Format("2006-01-02")
	r := f.get(ui.PagePath+"?q="+url.QueryEscape("after:"+day), nil)
	summary := between(r.body, `<p class="summary">`, `</p>`)
	if !strings.Contains(summary, "since "+since.Format("Jan 2")) {
		t.Fatalf("the summary says %q, want since %s", summary, since.Format("Jan 2"))
	}
}

func TestRefreshSaysHowManyEntriesAreNew(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	top, err := f.log.Search(context.Background(), app.Query{}, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	newest := top.Events[0].ID // the newest entry the page showed
	f.record(
		ev(app.Users, "user_invited", "Invited sam@example.com", "Maya Chen", 0),
		ev(app.Users, "user_role_changed", "Made sam@example.com an Admin", "Maya Chen", 0),
	)
	r := f.get(ui.PagePath+"?since="+url.QueryEscape(newest), htmx)
	mustContain(t, r.body, `<span class="new-pill">2 new</span>`)
	if n := strings.Count(r.body, `class="entry is-new"`); n != 2 {
		t.Errorf("%d rows marked new, want 2", n)
	}
	r = f.get(ui.PagePath+"?since="+url.QueryEscape(newest), htmx)
	mustContain(t, r.body, "2 new")
}

func TestTheFilterFormBecomesTheAPIsParametersInTheURL(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	today := time.Now().In(f.loc)
	weekAgo := today.AddDate(0, 0, -6).Format("2006-01-02")

	// Without script the form's GET is redirected to the address with the API's names.
	client := &http.Client{Jar: f.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+ui.PagePath+"?q=ci&range=7d&from=&to=&namespace=&after=&before=", nil)
	r := f.do(client, req)
	if want := ui.PagePath + "?q=ci&after=" + weekAgo; r.status != http.StatusSeeOther || r.header.Get("Location") != want {
		t.Fatalf("form GET = %d to %q, want 303 to %q", r.status, r.header.Get("Location"), want)
	}

	// With htmx, the partial tells htmx which address to show.
	from, to := today.AddDate(0, 0, -3).Format("2006-01-02"), today.AddDate(0, 0, -1).Format("2006-01-02")
	r = f.get(ui.PagePath+"?q=&range=custom&from="+from+"&to="+to+"&namespace=users&after=&before=", htmx)
	want := ui.PagePath + "?namespace=users&after=" + from + "&before=" + today.Format("2006-01-02")
	if got := r.header.Get("HX-Push-Url"); got != want {
		t.Fatalf("HX-Push-Url = %q, want %q", got, want)
	}
	// A refresh of the address already shown pushes nothing.
	r = f.get(want, map[string]string{"HX-Request": "true", "HX-Current-URL": f.ts.URL + want})
	if got := r.header.Get("HX-Push-Url"); got != "" {
		t.Fatalf("HX-Push-Url = %q for the address already shown", got)
	}

	// Typing takes one step of Back: the first letters push the search,
	// the letters after them replace it, and Enter pushes as a search does.
	typing := func(at, q string) pageResp {
		return f.get(ui.PagePath+"?q="+q, map[string]string{"HX-Request": "true", "X-Search-Typing": "true", "X-Search-Continues": "true", "HX-Current-URL": f.ts.URL + at})
	}
	for _, c := range []struct {
		at, q, push, replace string
	}{
		{ui.PagePath, "ci", ui.PagePath + "?q=ci", ""},
		{ui.PagePath + "?q=ci", "ci-de", "", ui.PagePath + "?q=ci-de"},
		{ui.PagePath + "?q=ci-deploy", "ci-de", "", ui.PagePath + "?q=ci-de"}, // letters taken back
		{ui.PagePath + "?q=ci", "maya", ui.PagePath + "?q=maya", ""},          // another search
		{ui.PagePath + "?q=ci&namespace=users", "ci-de", ui.PagePath + "?q=ci-de", ""},
	} {
		r := typing(c.at, c.q)
		if push, replace := r.header.Get("HX-Push-Url"), r.header.Get("HX-Replace-Url"); push != c.push || replace != c.replace {
			t.Errorf("typing %q at %s: push %q, replace %q; want push %q, replace %q", c.q, c.at, push, replace, c.push, c.replace)
		}
	}
	r = f.get(ui.PagePath+"?q=ci-deploy", map[string]string{"HX-Request": "true", "HX-Current-URL": f.ts.URL + ui.PagePath + "?q=ci-de"})
	if got := r.header.Get("HX-Push-Url"); got != ui.PagePath+"?q=ci-deploy" {
		t.Fatalf("an explicit search pushed %q", got)
	}
	// Typing on from a search that was not typed (Enter, a link) keeps it a
	// step of Back.
	r = f.get(ui.PagePath+"?q=ci-deploy-prod", map[string]string{"HX-Request": "true", "X-Search-Typing": "true", "HX-Current-URL": f.ts.URL + ui.PagePath + "?q=ci-deploy"})
	if got := r.header.Get("HX-Push-Url"); got != ui.PagePath+"?q=ci-deploy-prod" {
		t.Fatalf("typing on from a search confirmed with Enter pushed %q", got)
	}
	// Arrow keys step the time-range control: a range stepped to from one
	// stepped to replaces it, so Back goes to the range before the stepping;
	// another search, or a first step, is a step of Back.
	step := func(at, rng string, continues bool) pageResp {
		h := map[string]string{"HX-Request": "true", "HX-Trigger": "range-select", "HX-Current-URL": f.ts.URL + at}
		if continues {
			h["X-Range-Step-Continues"] = "true"
		}
		return f.get(ui.PagePath+"?q=ci&range="+rng, h)
	}
	for _, c := range []struct {
		at, rng   string
		continues bool
		push      bool
	}{
		{ui.PagePath + "?q=ci", "24h", false, true},
		{ui.PagePath + "?q=ci&after=" + url.QueryEscape(time.Now().Add(-24*time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339)), "7d", true, false},
		{ui.PagePath + "?q=maya", "7d", true, true},
	} {
		r := step(c.at, c.rng, c.continues)
		if push, replace := r.header.Get("HX-Push-Url"), r.header.Get("HX-Replace-Url"); (push != "") != c.push || (replace != "") == c.push {
			t.Errorf("stepping to %s from %s: push %q, replace %q; want a push: %v", c.rng, c.at, push, replace, c.push)
		}
	}
}

func TestAssetsAreEmbeddedWithTheirTypesAndCachedByVersion(t *testing.T) {
	f := newPageFixture(t)
	page := f.get(ui.PagePath, nil).body
	for name, ctype := range map[string]string{"app.css": "text/css", "app.js": "text/javascript", "htmx.min.js": "text/javascript", "icon.svg": "image/svg+xml"} {
		m := regexp.MustCompile(`/assets/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]+`).FindString(page)
		if m == "" {
			t.Fatalf("the page does not link %s with a version", name)
		}
		req, _ := http.NewRequest(http.MethodGet, f.ts.URL+m, nil)
		r := f.do(http.DefaultClient, req) // no session needed: the sign-in page uses them too
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), ctype) {
			t.Errorf("%s: status %d, Content-Type %q", name, r.status, r.header.Get("Content-Type"))
		}
		if !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q, want long caching", name, r.header.Get("Cache-Control"))
		}
	}
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/assets/app.css?v=old", nil)
	if r := f.do(http.DefaultClient, req); r.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("an outdated version is cached for long: %q", r.header.Get("Cache-Control"))
	}
	req, _ = http.NewRequest(http.MethodGet, f.ts.URL+"/assets/nothing.js", nil)
	if r := f.do(http.DefaultClient, req); r.status != http.StatusNotFound {
		t.Errorf("unknown asset: status %d", r.status)
	}
}

func TestThePageHasNoInlineScriptOrStyle(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	for _, target := range []string{ui.PagePath, ui.PagePath + "?q=ci"} {
		body := f.get(target, nil).body
		if regexp.MustCompile(`<script(?: [^>]*)?>[^<]`).MatchString(body) || strings.Contains(body, " style=") || strings.Contains(body, "<style") {
			t.Errorf("%s: inline script or style, which the CSP blocks", target)
		}
		if regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
			t.Errorf("%s: an inline event handler", target)
		}
	}
}

func TestAnonymousActorsAreShownAsExternal(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	r := f.get(ui.PagePath+"?namespace=data_products", nil)
	mustContain(t, r.body, `<span class="actor actor-anonymous"`, "<em>Anonymous</em>", `<span class="tag">external</span>`)
}

// "All entries by this actor" lists that actor's entries, not those of
// every actor whose name starts with it.
func TestTheActorsLinkListsThatActorOnly(t *testing.T) {
	f := newPageFixture(t)
	recorded := f.record(
		ev(app.DataPipelines, "pipeline_executed", "Ran orders_daily", "svc-dbt", 3*time.Minute),
		ev(app.DataPipelines, "pipeline_executed", "Ran orders_hourly", "svc-dbt-cloud", 2*time.Minute),
		ev(app.DataPipelines, "pipeline_executed", "Ran ledger", "svc-dbt", time.Minute),
	)
	f.waitIndexed()
	panel := f.get(ui.EntryPath+url.PathEscape(recorded[0].ID), htmx)
	m := regexp.MustCompile(`<a class="sub-link" href="([^"]+)">All entries by this actor</a>`).FindStringSubmatch(panel.body)
	if m == nil {
		t.Fatalf("no link to the actor's entries in %s", panel.body)
	}
	r := f.get(html.UnescapeString(m[1]), htmx)
	if n := rowCount(r.body); n != 2 || strings.Contains(r.body, "orders_hourly") {
		t.Fatalf("the actor's link lists %d entries (svc-dbt-cloud's among them: %v), want svc-dbt's 2", n, strings.Contains(r.body, "orders_hourly"))
	}
}

func TestNoMatchSaysWhatToDo(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	r := f.get(ui.PagePath+"?q=zebra", htmx)
	mustContain(t, r.body, "No entries match “zebra”", "Check the spelling, remove a filter, or widen the time range", `href="/settings/security/audit-log"`)
	if rowCount(r.body) != 0 {
		t.Fatal("rows shown for no match")
	}
}

// With a retention longer than the year so far, an entry of last year says
// its year, and so does the chart wherever a day is not of this one; its
// labels thin out so they never run together.
func TestALongRetentionShowsTheYearsAndThinsTheChartsLabels(t *testing.T) {
	f := newPageFixture(t)
	retention := 400 * 24 * time.Hour
	if _, err := f.log.ChangeSettings(context.Background(), app.SettingsChange{Retention: &retention}, "Test Admin"); err != nil {
		t.Fatal(err)
	}
	old := time.Now().AddDate(0, 0, -380).In(f.loc)
	f.record(app.Event{Timestamp: old, Namespace: app.APITokens, Action: "token_revoked", Detail: `Revoked API token "yearcheck"`, Actor: "Maya Chen"})
	r := f.get(ui.PagePath, nil)
	mustContain(t, r.body, old.Format("Jan 2, 2006, 15:04:05"))
	first := time.Now().Add(-retention).In(f.loc)
	mustContain(t, r.body, first.Format("Jan 2, 2006")+" to "+time.Now().In(f.loc).Format("Jan 2"))
	labels := regexp.MustCompile(`<span class="x-label[^"]*"[^>]*>|<span>([A-Z][a-z]{2} [0-9]{1,2}(, [0-9]{4})?)</span>`).FindAllStringSubmatch(r.body, -1)
	n := 0
	for _, l := range labels {
		if l[1] != "" {
			n++
		}
	}
	if n < 4 || n > 9 {
		t.Errorf("%d day labels under a chart of %d days", n, 401)
	}
	// The old day, chosen, is named with its year.
	day := old.Format("2006-01-02")
	r = f.get(ui.PagePath+"?after="+day+"&before="+old.AddDate(0, 0, 1).Format("2006-01-02"), htmx)
	mustContain(t, r.body, "on "+old.Format("Mon, Jan 2, 2006"))
}
