package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"auditlog/ui"

	"github.com/chromedp/chromedp"
)

func quitRequested(s *ui.Server) bool {
	select {
	case <-s.QuitRequested():
		return true
	default:
		return false
	}
}

func TestQuitNeedsTheOwnersSessionAndTheCSRFToken(t *testing.T) {
	f := newPageFixture(t)
	page := f.get(ui.PagePath, nil)
	mustContain(t, page.body, `action="`+ui.QuitPath+`"`, "Quit Audit Log")
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	post := func(client *http.Client, form url.Values, header map[string]string) pageResp {
		req, _ := http.NewRequest(http.MethodPost, f.ts.URL+ui.QuitPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return f.do(client, req)
	}
	entries := strings.Count(f.list(t), `"received_at"`)
	launch, _ := url.Parse(f.server.LaunchURL(f.ts.URL))
	for _, tt := range []struct {
		name   string
		client *http.Client
		form   url.Values
		header map[string]string
		want   int
	}{
		{"no session", http.DefaultClient, url.Values{"csrf": {m[1]}}, nil, http.StatusUnauthorized},
		{"the owner's key as a token, no session", http.DefaultClient, url.Values{"csrf": {m[1]}},
			map[string]string{"Authorization": "Bearer " + launch.Query().Get("secret")}, http.StatusUnauthorized},
		{"no CSRF token", f.client, url.Values{}, nil, http.StatusForbidden},
		{"a wrong CSRF token", f.client, url.Values{"csrf": {"nope"}}, nil, http.StatusForbidden},
		{"a page from another site", f.client, url.Values{"csrf": {m[1]}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusUnauthorized},
		// A proxy on this computer, for someone elsewhere: the launch
		// link's session, like the link, is nothing from afar.
		{"forwarded from another computer", f.client, url.Values{"csrf": {m[1]}}, map[string]string{"X-Forwarded-For": "192.0.2.7"}, http.StatusUnauthorized},
		{"forwarded as X-Real-IP", f.client, url.Values{"csrf": {m[1]}}, map[string]string{"X-Real-IP": "192.0.2.7"}, http.StatusUnauthorized},
	} {
		if r := post(tt.client, tt.form, tt.header); r.status != tt.want {
			t.Fatalf("%s: status %d, want %d: %.300s", tt.name, r.status, tt.want, r.body)
		}
		if quitRequested(f.server) {
			t.Fatalf("%s: the server was asked to quit", tt.name)
		}
	}
	if r := f.get(ui.QuitPath, nil); r.status != http.StatusMethodNotAllowed || quitRequested(f.server) {
		t.Fatalf("GET %s: status %d, quit %v; a link must not stop the app", ui.QuitPath, r.status, quitRequested(f.server))
	}

	r := post(f.client, url.Values{"csrf": {m[1]}}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("quit: status %d: %.300s", r.status, r.body)
	}
	mustContain(t, r.body, "Audit Log has stopped", "You can close this tab")
	mustNotContain(t, r.body, "Quit Audit Log")
	if !quitRequested(f.server) {
		t.Fatal("the page said it stopped, but the server was not asked to quit")
	}
	// Quitting is not a change to the workspace: nothing is recorded.
	if n := strings.Count(f.list(t), `"received_at"`); n != entries {
		t.Fatalf("%d entries after quitting, %d before; quitting records nothing", n, entries)
	}
	// A second click (another tab) answers the same and does not panic.
	if r := post(f.client, url.Values{"csrf": {m[1]}}, nil); r.status != http.StatusOK {
		t.Fatalf("second quit: status %d", r.status)
	}
}

// list returns every entry as the API lists them.
func (f *pageFixture) list(t *testing.T) string {
	t.Helper()
	r := f.get("/api/v1/events?limit=500", map[string]string{"Accept": "application/json"})
	if r.status != http.StatusOK {
		t.Fatalf("listing: %d %s", r.status, r.body)
	}
	return r.body
}

func TestInTheBrowserQuitStopsTheAppAndSaysSo(t *testing.T) {
	f := newBrowserFixture(t, browserOptions{})
	f.stories()
	f.open()
	f.run("click Quit, then confirm",
		chromedp.WaitVisible(chromedp.CSS(`.quit-button`)),
		chromedp.Click(chromedp.CSS(`.quit-button`)),
		chromedp.WaitVisible(chromedp.CSS(`.quit-now`)),
		clickAndNavigate(`.quit-now`),
		chromedp.WaitVisible(chromedp.CSS(`.stopped h1`)),
	)
	if h := evalAs[string](f, `document.querySelector(".stopped h1").textContent`); h != "Audit Log has stopped" {
		t.Fatalf("the stopped page's heading says %q", h)
	}
	if text := evalAs[string](f, `document.body.innerText`); !strings.Contains(text, "You can close this tab") {
		t.Fatalf("the stopped page says %q", text)
	}
	if !quitRequested(f.server) {
		t.Fatal("the server was not asked to quit")
	}
}
