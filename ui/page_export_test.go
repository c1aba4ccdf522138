package ui_test

import (
	"encoding/csv"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"auditlog/app"
	"auditlog/ui"
)

// The page's Export menu downloads exactly what the view shows, every page of
// it, with the browser's session.
func TestExportMenuDownloadsWhatTheViewShows(t *testing.T) {
	f := newPageFixture(t)
	f.stories()
	page := f.get("/settings/security/audit-log?q=ci-deploy&namespace=api_tokens", nil)
	links := regexp.MustCompile(`href="(/api/v1/export\?[^"]+)"`).FindAllStringSubmatch(page.body, -1)
	if len(links) != 3 {
		t.Fatalf("%d export links on the page, want csv, json and ndjson", len(links))
	}
	var csvLink string
	for _, l := range links {
		u := html.UnescapeString(l[1])
		if !strings.Contains(u, "q=ci-deploy") || !strings.Contains(u, "namespace=api_tokens") {
			t.Fatalf("export link %q does not carry the view's filter", u)
		}
		if strings.Contains(u, "format=csv") {
			csvLink = u
		}
	}
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+csvLink, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res := f.do(f.client, req)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("download: %d %q", res.status, res.header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\uFEFF"))).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][3] != "token_revoked" || rows[2][3] != "token_created" {
		t.Fatalf("rows = %v, %v; want the two ci-deploy token entries", rows, err)
	}
	// Without the session the same link is refused.
	fresh, _ := http.NewRequest(http.MethodGet, f.ts.URL+csvLink, nil)
	anon := f.do(http.DefaultClient, fresh)
	if anon.status != http.StatusUnauthorized {
		t.Fatalf("export without a session: %d", anon.status)
	}
}

func TestEntriesWhoseIDIsADotSegmentOpen(t *testing.T) {
	f := newPageFixture(t)
	for _, id := range []string{".", ".."} {
		f.record(app.Event{ID: id, Namespace: app.Users, Action: "user_invited", Detail: "Invited sam " + id, Actor: "Maya Chen"})
	}
	page := f.get(ui.PagePath, nil).body
	for _, link := range []string{ui.EntryPath + "%2E", ui.EntryPath + "%2E%2E"} {
		if !strings.Contains(page, `href="`+link+`"`) {
			t.Fatalf("the table does not link %s", link)
		}
		if r := f.get(link, nil); r.status != http.StatusOK {
			t.Errorf("%s: status %d", link, r.status)
		}
	}
}

func TestLongActionsWrapAtUnderscores(t *testing.T) {
	f := newPageFixture(t)
	f.record(app.Event{Namespace: app.DataProducts, Action: "data_product_invite_accepted", Detail: "jordan accepted", Actor: ""})
	body := f.get(ui.PagePath, nil).body
	if !strings.Contains(body, `<code title="data_product_invite_accepted">data_<wbr>product_<wbr>invite_<wbr>accepted</code>`) {
		t.Fatal("the action column gives no place to wrap between the words of an action")
	}
}
