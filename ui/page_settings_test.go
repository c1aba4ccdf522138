package ui_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/ui"
)

// settingsFixture is the real server with a session of a given role.
type settingsFixture struct {
	t      *testing.T
	log    *app.Log
	server *ui.Server
	ts     *httptest.Server
	client *http.Client
	csrf   string
}

func newSettingsFixture(t *testing.T, role app.Role) *settingsFixture {
	t.Helper()
	log, s, ts := serveTempLog(t)
	s.LocalUser = "Alice Moreau"
	jar, _ := cookiejar.New(nil)
	cookie, csrf := s.SessionForTest(ts.URL, role)
	u, _ := url.Parse(ts.URL)
	jar.SetCookies(u, []*http.Cookie{cookie})
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &settingsFixture{t: t, log: log, server: s, ts: ts, client: client, csrf: csrf}
}

func (f *settingsFixture) send(method, path string, form url.Values) pageResp {
	f.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return pageResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// post sends a form with the session's CSRF token.
func (f *settingsFixture) post(path string, form url.Values) pageResp {
	f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", f.csrf)
	return f.send(http.MethodPost, path, form)
}

func (f *settingsFixture) entries(q string) []app.Event {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(ctx); err != nil {
		f.t.Fatal(err)
	}
	query, err := app.ParseQuery(q, time.UTC)
	if err != nil {
		f.t.Fatal(err)
	}
	page, err := f.log.Search(context.Background(), query, "", 50)
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Events
}

func (f *settingsFixture) token(label string, scopes ...app.Scope) (string, app.Token) {
	f.t.Helper()
	secret, tok, err := f.log.CreateToken(context.Background(), label, scopes, "Bob Okafor")
	if err != nil {
		f.t.Fatal(err)
	}
	return secret, tok
}

func (f *settingsFixture) api(method, path, token, body string) pageResp {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return pageResp{status: res.StatusCode, header: res.Header, body: string(b)}
}

// The settings pages change the workspace: a Viewer may neither see nor
// use them, route by route, and nothing changes.
func TestSettingsRoutesRefuseAViewer(t *testing.T) {
	f := newSettingsFixture(t, app.RoleViewer)
	_, tok := f.token("ci-deploy", app.ScopeIngest)
	su, err := f.log.CreateServiceUser(context.Background(), "ci-bot", "Bob Okafor")
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.entries(""))
	routes := []struct{ method, path string }{
		{"GET", ui.GeneralPath},
		{"POST", ui.GeneralPath},
		{"GET", ui.TokensPath},
		{"POST", ui.TokensPath},
		{"POST", ui.TokensPath + "/" + tok.ID + "/regenerate"},
		{"POST", ui.TokensPath + "/" + tok.ID + "/revoke"},
		{"GET", ui.ServiceUsersPath},
		{"POST", ui.ServiceUsersPath},
		{"POST", ui.ServiceUsersPath + "/" + su.ID + "/rename"},
		{"POST", ui.ServiceUsersPath + "/" + su.ID + "/disable"},
		{"POST", ui.ServiceUsersPath + "/" + su.ID + "/enable"},
		{"POST", ui.ServiceUsersPath + "/" + su.ID + "/delete"},
	}
	form := url.Values{"name": {"Hacked"}, "label": {"x"}, "scopes": {"admin"}, "timezone": {"UTC"}, "retention_days": {"1"}, "plan": {"free"}, "confirm": {"1/2592000/0"}}
	for _, r := range routes {
		var resp pageResp
		if r.method == "GET" {
			resp = f.send("GET", r.path, nil)
		} else {
			resp = f.post(r.path, form)
		}
		if resp.status != http.StatusForbidden || !strings.Contains(resp.body, "Admin role") {
			t.Errorf("%s %s as a Viewer: %d, want 403 naming the role", r.method, r.path, resp.status)
		}
	}
	if after := len(f.entries("")); after != before {
		t.Fatalf("%d entries before, %d after: a Viewer changed something", before, after)
	}
	if s := f.log.Settings(); s.Workspace != app.DefaultWorkspace || s.PlanOf() != app.PlanPro {
		t.Fatalf("settings changed: %+v", s)
	}
	// A Viewer reads the log, without links to pages it may not open.
	page := f.send("GET", ui.PagePath, nil)
	if page.status != http.StatusOK || strings.Contains(page.body, `href="/settings/security/api-tokens"`) {
		t.Fatalf("the Audit Log for a Viewer: %d, admin links shown: %v", page.status, strings.Contains(page.body, "api-tokens"))
	}
}

func TestSettingsFormsRefuseAMissingCSRFToken(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	_, tok := f.token("ci-deploy", app.ScopeIngest)
	for _, path := range []string{ui.GeneralPath, ui.TokensPath, ui.TokensPath + "/" + tok.ID + "/revoke", ui.ServiceUsersPath} {
		r := f.send("POST", path, url.Values{"name": {"Hacked"}, "label": {"x"}, "scopes": {"ingest"}, "retention_days": {"30"}, "plan": {"free"}})
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
			t.Errorf("POST %s without CSRF: %d, want 403", path, r.status)
		}
	}
	if toks, _ := f.log.Tokens(context.Background()); len(toks) != 1 {
		t.Fatalf("%d tokens, want the one made", len(toks))
	}
	if us, _ := f.log.ServiceUsers(context.Background()); len(us) != 0 || f.log.Settings().Workspace != app.DefaultWorkspace {
		t.Fatal("a form without its CSRF token changed something")
	}
}

func TestGeneralSavesEachChangeAsOneEntry(t *testing.T) {
	f := newSettingsFixture(t, app.RoleAdmin)
	r := f.post(ui.GeneralPath, url.Values{"name": {"Acme Data"}, "timezone": {"europe/berlin"}, "retention_days": {"90"}, "plan": {"enterprise"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %.300s", r.status, r.body)
	}
	s := f.log.Settings()
	if s.Workspace != "Acme Data" || s.ZoneName() != "Europe/Berlin" || s.PlanOf() != app.PlanEnterprise || f.log.Retention() != 90*24*time.Hour {
		t.Fatalf("settings = %+v, retention %v", s, f.log.Retention())
	}
	got := f.entries("action:space_settings_updated")
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
	e := got[0]
	if e.Namespace != app.Spaces || e.Actor != "Alice Moreau" || !strings.Contains(e.Detail, `name from "My Workspace" to "Acme Data"`) ||
		!strings.Contains(e.Detail, "retention from 30 days to 90 days") || !strings.Contains(e.Detail, "plan from Pro to Enterprise") {
		t.Fatalf("entry = %+v", e)
	}
	page := f.send("GET", ui.GeneralPath+"?saved=1", nil)
	mustContain(t, page.body, `value="Acme Data"`, `value="Europe/Berlin"`, `value="90"`, `value="enterprise" checked`, "Saved.")
}

func TestGeneralBadInputIsAnsweredBesideTheFieldAndChangesNothing(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	for _, c := range []struct {
		field string
		form  url.Values
	}{
		{"name", url.Values{"name": {"  "}, "timezone": {"UTC"}, "retention_days": {"30"}, "plan": {"pro"}}},
		{"timezone", url.Values{"name": {"Acme"}, "timezone": {"Mars/Olympus"}, "retention_days": {"30"}, "plan": {"pro"}}},
		{"retention", url.Values{"name": {"Acme"}, "timezone": {"UTC"}, "retention_days": {"thirty"}, "plan": {"pro"}}},
		{"retention", url.Values{"name": {"Acme"}, "timezone": {"UTC"}, "retention_days": {"0"}, "plan": {"pro"}}},
		{"plan", url.Values{"name": {"Acme"}, "timezone": {"UTC"}, "retention_days": {"30"}, "plan": {"gold"}}},
	} {
		r := f.post(ui.GeneralPath, c.form)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `class="field-error"`) || !strings.Contains(r.body, "Nothing was changed") {
			t.Errorf("%v: %d, want 400 with a message beside the field", c.form, r.status)
		}
		if !strings.Contains(r.body, `id="`+c.field+`-error"`) && c.field != "plan" {
			t.Errorf("%v: no message beside %s", c.form, c.field)
		}
	}
	if s := f.log.Settings(); s.Workspace != app.DefaultWorkspace || s.Timezone != "" || f.log.Retention() != app.DefaultRetention {
		t.Fatalf("bad input changed the settings: %+v", s)
	}
	if n := len(f.entries("namespace:spaces")); n != 0 {
		t.Fatalf("%d entries recorded for refused input", n)
	}
}

func TestLoweringTheRetentionAsksFirstThenPurges(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	if _, err := f.log.Record(context.Background(), []app.Event{
		ev(app.Connections, "connection_created", "old one", "Maya", 20*24*time.Hour),
		ev(app.Connections, "connection_created", "old two", "Maya", 15*24*time.Hour),
		ev(app.Connections, "connection_created", "recent", "Maya", 24*time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {app.DefaultWorkspace}, "timezone": {"system"}, "retention_days": {"7"}, "plan": {"pro"}}
	r := f.post(ui.GeneralPath, form)
	if r.status != http.StatusOK || !strings.Contains(r.body, "from 30 days to 7 days deletes 2 entries for good") {
		t.Fatalf("first answer: %d %.2000s", r.status, r.body)
	}
	if f.log.Retention() != app.DefaultRetention || len(f.entries("namespace:connections")) != 3 {
		t.Fatal("the retention changed before it was confirmed")
	}
	// A confirmation is for what it was asked for: the days, the retention
	// they lower, and how many entries go. Sent with fewer days, the form
	// asks again.
	key := regexp.MustCompile(`name="confirm" value="([^"]+)"`).FindStringSubmatch(r.body)
	if key == nil {
		t.Fatalf("the confirmation has no button: %.2000s", r.body)
	}
	form.Set("confirm", html.UnescapeString(key[1]))
	form.Set("retention_days", "5")
	if r := f.post(ui.GeneralPath, form); r.status != http.StatusOK || !strings.Contains(r.body, "from 30 days to 5 days deletes 2 entries for good") {
		t.Fatalf("confirmed for 7 days, sent with 5: %d %.2000s", r.status, r.body)
	}
	// Nor does it stand once someone else has changed the retention.
	form.Set("retention_days", "7")
	sixty := 60 * 24 * time.Hour
	if _, err := f.log.ChangeSettings(context.Background(), app.SettingsChange{Retention: &sixty}, "Another Admin"); err != nil {
		t.Fatal(err)
	}
	if r := f.post(ui.GeneralPath, form); r.status != http.StatusOK || !strings.Contains(r.body, "from 60 days to 7 days deletes 2 entries for good") {
		t.Fatalf("confirmed from 30 days, sent after a change to 60: %d %.2000s", r.status, r.body)
	}
	if f.log.Retention() != sixty {
		t.Fatal("the retention changed with a confirmation given for another")
	}
	r = f.post(ui.GeneralPath, form)
	key = regexp.MustCompile(`name="confirm" value="([^"]+)"`).FindStringSubmatch(r.body)
	form.Set("confirm", html.UnescapeString(key[1]))
	if r := f.post(ui.GeneralPath, form); r.status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d", r.status)
	}
	if f.log.Retention() != 7*24*time.Hour {
		t.Fatalf("retention = %v", f.log.Retention())
	}
	if left := f.entries("namespace:connections"); len(left) != 1 || left[0].Detail != "recent" {
		t.Fatalf("left after the purge: %+v", left)
	}
}

func TestTheTokensPageShowsTheSecretOnceAndRecordsEachChange(t *testing.T) {
	f := newSettingsFixture(t, app.RoleAdmin)
	su, err := f.log.CreateServiceUser(context.Background(), "ci-bot", "Bob Okafor")
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	r := f.post(ui.TokensPath, url.Values{"label": {"ci-deploy"}, "scopes": {"ingest", "read"}, "expires": {expires}, "owner": {su.ID}})
	// The form's answer sends the browser to the page that shows the secret,
	// once: a reload asks for the page, not for another token.
	shownAt := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(shownAt, ui.TokensPath+"?shown=") {
		t.Fatalf("create: %d to %q", r.status, shownAt)
	}
	r = f.send("GET", shownAt, nil)
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the secret's page: %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
	secret := between(r.body, `<code id="new-secret" class="secret">`, `</code>`)
	if again := f.send("GET", shownAt, nil); again.status != http.StatusOK || strings.Contains(again.body, secret) || strings.Contains(again.body, "new-secret") {
		t.Fatalf("reloaded, the page shows the secret again: %d", again.status)
	}
	if toks, _ := f.log.Tokens(context.Background()); len(toks) != 1 {
		t.Fatalf("%d tokens after one form", len(toks))
	}
	tok, err := f.log.Authenticate(context.Background(), secret)
	if err != nil || tok.Label != "ci-deploy" || tok.Owner != su.ID || tok.ExpiresAt == nil || len(tok.Scopes) != 2 {
		t.Fatalf("the secret shown: %+v, %v", tok, err)
	}
	list := f.send("GET", ui.TokensPath, nil)
	// The expiry reads as the day chosen, which the token is valid through.
	mustContain(t, list.body, "ci-deploy", "ingest, read", "ci-bot", "Alice Moreau", tok.Fingerprint, `href="/settings/security/audit-log?q=`+tok.ID, "through "+expires,
		// Each row's buttons are named by its token, for a list of buttons read aloud.
		`aria-label="Revoke ci-deploy…"`, `aria-label="Regenerate ci-deploy…"`, `aria-label="Entries of ci-deploy"`)
	mustNotContain(t, list.body, secret)

	// A CSRF token in the address is not taken: it would be kept in
	// histories and logs.
	if r := f.send("POST", ui.TokensPath+"/"+tok.ID+"/regenerate?csrf="+url.QueryEscape(f.csrf), url.Values{}); r.status != http.StatusForbidden {
		t.Fatalf("regenerate with the CSRF token in the URL: %d", r.status)
	}
	// Regenerate: a new secret, the old one refused at once.
	r = f.post(ui.TokensPath+"/"+tok.ID+"/regenerate", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("regenerate: %d", r.status)
	}
	r = f.send("GET", r.header.Get("Location"), nil)
	fresh := between(r.body, `<code id="new-secret" class="secret">`, `</code>`)
	if r.status != http.StatusOK || fresh == "" || fresh == secret {
		t.Fatalf("regenerate: %d", r.status)
	}
	if res := f.api("GET", "/api/v1/events", secret, ""); res.status != http.StatusUnauthorized {
		t.Fatalf("the regenerated token's old secret: %d, want 401", res.status)
	}
	if res := f.api("GET", "/api/v1/events", fresh, ""); res.status != http.StatusOK {
		t.Fatalf("the new secret: %d", res.status)
	}
	// Revoke: refused at once, and recorded with who made it.
	if r := f.post(ui.TokensPath+"/"+tok.ID+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	if res := f.api("GET", "/api/v1/events", fresh, ""); res.status != http.StatusUnauthorized {
		t.Fatalf("the revoked token: %d, want 401", res.status)
	}
	history := f.entries(tok.ID)
	var actions []string
	for _, e := range history {
		actions = append(actions, e.Action)
		if e.Namespace != app.APITokens || !strings.Contains(e.Detail, `"ci-deploy"`) {
			t.Errorf("%s = %+v", e.Action, e)
		}
	}
	if strings.Join(actions, " ") != "token_revoked token_regenerated token_created" {
		t.Fatalf("the token's history = %v", actions)
	}
	if e := history[0]; e.Actor != "Alice Moreau" || !strings.Contains(e.Detail, "created "+tok.CreatedAt.Format("2006-01-02")+" by Alice Moreau") {
		t.Fatalf("token_revoked = %+v", e)
	}
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

func TestTheTokensPageRefusesBadInputBesideTheField(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	for _, c := range []struct {
		field string
		form  url.Values
	}{
		{"label", url.Values{"label": {""}, "scopes": {"ingest"}}},
		{"scopes", url.Values{"label": {"ci"}}},
		{"scopes", url.Values{"label": {"ci"}, "scopes": {"root"}}},
		{"expires", url.Values{"label": {"ci"}, "scopes": {"ingest"}, "expires": {"2020-01-01"}}},
		{"expires", url.Values{"label": {"ci"}, "scopes": {"ingest"}, "expires": {"soon"}}},
		{"owner", url.Values{"label": {"ci"}, "scopes": {"ingest"}, "owner": {"su_nobody"}}},
	} {
		r := f.post(ui.TokensPath, c.form)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Nothing was created") {
			t.Errorf("%v: %d, want 400", c.form, r.status)
			continue
		}
		if c.field != "scopes" && !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("%v: no message beside %s", c.form, c.field)
		}
		if strings.Contains(r.body, `id="new-secret"`) {
			t.Errorf("%v: a secret was shown", c.form)
		}
	}
	if toks, _ := f.log.Tokens(context.Background()); len(toks) != 0 {
		t.Fatalf("bad input made %d tokens", len(toks))
	}
}

func TestServiceUsersPageAndItsTokens(t *testing.T) {
	f := newSettingsFixture(t, app.RoleAdmin)
	if r := f.post(ui.ServiceUsersPath, url.Values{"name": {""}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="su-name-error"`) {
		t.Fatalf("empty name: %d", r.status)
	}
	if r := f.post(ui.ServiceUsersPath, url.Values{"name": {"ci-bot"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create: %d", r.status)
	}
	users, _ := f.log.ServiceUsers(context.Background())
	if len(users) != 1 {
		t.Fatalf("%d service users", len(users))
	}
	su := users[0]
	secret, _, err := f.log.CreateTokenWith(context.Background(), app.TokenSpec{Label: "deploy", Scopes: []app.Scope{app.ScopeIngest}, Owner: su.ID}, "Alice Moreau")
	if err != nil {
		t.Fatal(err)
	}
	event := `{"namespace":"connections","action":"connection_created","detail":"Created connection \"X\"","actor":"ci"}`
	if r := f.api("POST", "/api/v1/events", secret, event); r.status != http.StatusCreated {
		t.Fatalf("ingest before disabling: %d", r.status)
	}
	if r := f.post(ui.ServiceUsersPath+"/"+su.ID+"/rename", url.Values{"name": {""}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="rename-`+su.ID+`-error"`) {
		t.Fatalf("empty rename: %d", r.status)
	}
	if r := f.post(ui.ServiceUsersPath+"/"+su.ID+"/rename", url.Values{"name": {"deploy-bot"}}); r.status != http.StatusSeeOther {
		t.Fatalf("rename: %d", r.status)
	}
	if r := f.post(ui.ServiceUsersPath+"/"+su.ID+"/disable", nil); r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}
	if r := f.api("POST", "/api/v1/events", secret, event); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "disabled") {
		t.Fatalf("ingest with a disabled service user's token: %d %s", r.status, r.body)
	}
	mustContain(t, f.send("GET", ui.TokensPath, nil).body, `<span class="pill pill-danger" title="The service user is disabled: this token is refused">disabled</span>`)
	if r := f.post(ui.ServiceUsersPath+"/"+su.ID+"/delete", nil); r.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.status)
	}
	if toks, _ := f.log.Tokens(context.Background()); len(toks) != 0 {
		t.Fatalf("the deleted service user's tokens remain: %+v", toks)
	}
	got := f.entries("namespace:service_users")
	var actions []string
	for _, e := range got {
		actions = append(actions, e.Action)
		if e.Actor != "Alice Moreau" {
			t.Errorf("%s by %q", e.Action, e.Actor)
		}
	}
	if strings.Join(actions, " ") != "service_user_deleted service_user_disabled service_user_updated service_user_created" {
		t.Fatalf("actions = %v", actions)
	}
	if !strings.Contains(got[0].Detail, `Deleted service user "deploy-bot" and revoked its API tokens "deploy"`) {
		t.Fatalf("detail = %q", got[0].Detail)
	}
}

// Every ingested event says which token sent it, and a search for the
// token finds what it wrote, whatever the client claimed.
func TestWhatATokenWroteIsASearch(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	secret, tok := f.token("etl", app.ScopeIngest)
	other, _ := f.token("other", app.ScopeIngest)
	forged := `{"namespace":"connections","action":"connection_created","detail":"Created connection \"A\"","actor":"etl","metadata":{"auditlog_token_id":"tok_forged"}}`
	if r := f.api("POST", "/api/v1/events", secret, forged); r.status != http.StatusCreated {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	if r := f.api("POST", "/api/v1/events", other, `{"namespace":"connections","action":"connection_deleted","detail":"Deleted connection \"B\"","actor":"x"}`); r.status != http.StatusCreated {
		t.Fatalf("ingest: %d", r.status)
	}
	for _, q := range []string{tok.Fingerprint, tok.ID + " namespace:connections", tok.ID + " OR " + tok.Fingerprint} {
		got := f.entries(q)
		var writes []app.Event
		for _, e := range got {
			if e.Namespace == app.Connections {
				writes = append(writes, e)
			}
		}
		if len(writes) != 1 || writes[0].Detail != `Created connection "A"` || writes[0].Metadata[app.MetaTokenID] != tok.ID || writes[0].Metadata[app.MetaTokenFingerprint] != tok.Fingerprint {
			t.Fatalf("search %q found %+v", q, got)
		}
	}
	if got := f.entries("tok_forged"); len(got) != 0 {
		t.Fatalf("a client's claim to be another token was kept: %+v", got)
	}
}

// An export imported through a running server by the command line (which
// holds the launch secret) keeps which token wrote each entry, as an import
// straight into the data directory does.
func TestAnImportByTheCommandLineKeepsWhichTokenWroteEachEntry(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	launch, _ := url.Parse(f.server.LaunchURL(f.ts.URL))
	exported := `{"id":"exp-1","namespace":"connections","action":"connection_created","detail":"Created connection \"A\"","actor":"etl","metadata":{"auditlog_token_id":"tok_etl","auditlog_token_fingerprint":"fp_etl"}}`
	if r := f.api("POST", "/api/v1/events", launch.Query().Get("secret"), exported); r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	got := f.entries("tok_etl")
	if len(got) != 1 || got[0].ID != "exp-1" || got[0].Metadata[app.MetaTokenFingerprint] != "fp_etl" {
		t.Fatalf("the imported entry's stamps: %+v", got)
	}
}

func TestExpiredTokensAreRefusedAtTheAPI(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	_, admin := f.token("admin", app.ScopeAdmin)
	adminSecret, _, _ := f.log.RegenerateToken(context.Background(), admin.ID, "Bob Okafor")
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if r := f.api("POST", "/api/v1/tokens", adminSecret, `{"label":"late","scopes":["read"],"expires_at":"`+past+`"}`); r.status != http.StatusBadRequest || !strings.Contains(r.body, "expires") {
		t.Fatalf("expiry in the past: %d %s", r.status, r.body)
	}
	// Sent with an offset, answered in UTC, as every time the API gives.
	soon := time.Now().Add(time.Hour).Truncate(time.Second).In(time.FixedZone("", 5*3600+45*60))
	r := f.api("POST", "/api/v1/tokens", adminSecret, `{"label":"soon","scopes":["read"],"expires_at":"`+soon.Format(time.RFC3339)+`"}`)
	if want := `"expires_at":"` + soon.UTC().Format(time.RFC3339) + `"`; !strings.Contains(r.body, want) {
		t.Fatalf("the new token's expiry is not %s: %s", want, r.body)
	}
	var created struct {
		Token  app.Token
		Secret string
	}
	if r.status != http.StatusCreated || json.Unmarshal([]byte(r.body), &created) != nil || created.Token.ExpiresAt == nil {
		t.Fatalf("create with expiry: %d %s", r.status, r.body)
	}
	if r := f.api("POST", "/api/v1/tokens/"+created.Token.ID+"/regenerate", adminSecret, ""); r.status != http.StatusOK || !strings.Contains(r.body, `"secret":"alt_`) {
		t.Fatalf("regenerate through the API: %d %s", r.status, r.body)
	}
}

func TestOnFreeTheLogIsStillRecordedButNotRead(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	ingest, _ := f.token("ingest", app.ScopeIngest)
	admin, _ := f.token("admin", app.ScopeAdmin)
	read, _ := f.token("read", app.ScopeRead)
	if r := f.api("PATCH", "/api/v1/workspace", admin, `{"plan":"gold"}`); r.status != http.StatusBadRequest || !strings.Contains(r.body, "plan") {
		t.Fatalf("plan gold: %d %s", r.status, r.body)
	}
	if r := f.api("PATCH", "/api/v1/workspace", admin, `{"plan":"free","retention_days":60}`); r.status != http.StatusOK || !strings.Contains(r.body, `"plan":"free"`) || !strings.Contains(r.body, `"retention_days":60`) {
		t.Fatalf("PATCH plan: %d %s", r.status, r.body)
	}
	event := `{"namespace":"connections","action":"connection_created","detail":"Created connection \"A\"","actor":"etl"}`
	if r := f.api("POST", "/api/v1/events", ingest, event); r.status != http.StatusCreated {
		t.Fatalf("ingest on Free: %d", r.status)
	}
	for _, path := range []string{"/api/v1/events", "/api/v1/export?format=csv"} {
		r := f.api("GET", path, read, "")
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Pro plan") {
			t.Errorf("GET %s on Free: %d %s", path, r.status, r.body)
		}
	}
	page := f.send("GET", ui.PagePath, nil)
	if page.status != http.StatusForbidden || !strings.Contains(page.body, "needs the Pro plan") || !strings.Contains(page.body, `href="/settings/general#plan"`) {
		t.Fatalf("the page on Free: %d", page.status)
	}
	pro := "pro"
	if _, err := f.log.ChangeSettings(context.Background(), app.SettingsChange{Plan: (*app.Plan)(&pro)}, "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	f.entries("") // the index has caught up
	if r := f.api("GET", "/api/v1/events?q=plan", read, ""); r.status != http.StatusOK || !strings.Contains(r.body, "from Free to Pro") || !strings.Contains(r.body, "from Pro to Free") {
		t.Fatalf("on Pro again: %d %s", r.status, r.body)
	}
}

// An expired token is refused at the API, and its expiry recorded once.
func TestAnExpiredTokenIsRefusedAndRecordedOnce(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := logtest.Config(t, t.TempDir())
	cfg.Now = clock
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	ts := httptest.NewServer(ui.NewServer(log).Handler())
	t.Cleanup(ts.Close)
	exp := now.Add(time.Hour)
	secret, tok, err := log.CreateTokenWith(context.Background(), app.TokenSpec{Label: "nightly-export", Scopes: []app.Scope{app.ScopeRead}, ExpiresAt: &exp}, "Bob Okafor")
	if err != nil {
		t.Fatal(err)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/workspace", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("before expiry: %d", code)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	for range 3 {
		if code := get(); code != http.StatusUnauthorized {
			t.Fatalf("after expiry: %d, want 401", code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ := app.ParseQuery(tok.Fingerprint, time.UTC)
	page, err := log.Search(context.Background(), q, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].Action != "token_expired" || page.Events[1].Action != "token_created" || !strings.Contains(page.Events[0].Detail, `"nightly-export"`) {
		t.Fatalf("the token's history = %+v", page.Events)
	}
}

// A retention set in hours on the command line, which the days field cannot
// show, stays as it is when the form is saved for something else.
func TestSavingTheGeneralPageKeepsARetentionInHours(t *testing.T) {
	f := newSettingsFixture(t, app.RoleOwner)
	hours := 36 * time.Hour
	if _, err := f.log.ChangeSettings(context.Background(), app.SettingsChange{Retention: &hours}, "Test Admin"); err != nil {
		t.Fatal(err)
	}
	if r := f.send("GET", ui.GeneralPath, nil); !strings.Contains(r.body, "Now 36 hours") || !strings.Contains(r.body, `name="retention_days" type="number" min="1" max="3650" step="1" value="1"`) {
		t.Fatalf("the page does not say the retention is 36 hours: %.3000s", r.body)
	}
	form := url.Values{"name": {"Renamed"}, "timezone": {"system"}, "retention_days": {"1"}, "plan": {"pro"}}
	if r := f.post(ui.GeneralPath, form); r.status != http.StatusSeeOther {
		t.Fatalf("saving a new name: %d %.2000s", r.status, r.body)
	}
	if f.log.Retention() != hours || f.log.Settings().Workspace != "Renamed" {
		t.Fatalf("after saving a new name: retention %v, name %q", f.log.Retention(), f.log.Settings().Workspace)
	}
	// Changing the days changes it.
	form.Set("retention_days", "3")
	if r := f.post(ui.GeneralPath, form); r.status != http.StatusSeeOther || f.log.Retention() != 72*time.Hour {
		t.Fatalf("3 days: %d, retention %v", r.status, f.log.Retention())
	}
}
