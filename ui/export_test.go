package ui_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"auditlog/app"
)

func TestExportDownloadsTheCurrentSearchInEachFormat(t *testing.T) {
	f := newAPIFixture(t)
	f.post(`[{"namespace":"connections","action":"connection_created","detail":"Added connection \"Snowflake Warehouse\"","actor":"Tomás Ortega"},
	         {"namespace":"users","action":"user_invited","detail":"Invited ana@example.com","actor":"=cmd|' /C calc'!A0"}]`)
	f.waitIndexed()
	for _, tt := range []struct {
		format, contentType string
		check               func(t *testing.T, body string)
	}{
		{"csv", "text/csv; charset=utf-8", func(t *testing.T, body string) {
			rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
			if err != nil || len(rows) != 2 || rows[1][2] != "Connections" || rows[1][5] != "Tomás Ortega" {
				t.Fatalf("rows = %v, %v", rows, err)
			}
		}},
		{"json", "application/json", func(t *testing.T, body string) {
			var doc struct {
				Events []app.Event `json:"events"`
				Proof  *app.Proof  `json:"proof"`
			}
			if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Events) != 1 || doc.Events[0].Action != "connection_created" || doc.Proof == nil {
				t.Fatalf("export = %+v, %v", doc, err)
			}
		}},
		{"ndjson", "application/x-ndjson", func(t *testing.T, body string) {
			// One entry, and the proof it ends with.
			if strings.Count(body, "\n") != 2 || !strings.Contains(body, `"connection_created"`) || !strings.Contains(body, `{"proof":`) {
				t.Fatalf("body = %q", body)
			}
		}},
	} {
		t.Run(tt.format, func(t *testing.T) {
			r := f.do("GET", "/api/v1/export?format="+tt.format+"&q=snowflake&namespace=connections", f.read, "", nil)
			if r.status != 200 || r.header.Get("Content-Type") != tt.contentType {
				t.Fatalf("status %d, type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
			}
			cd := r.header.Get("Content-Disposition")
			if !strings.HasPrefix(cd, `attachment; filename=audit-log-my-workspace-`) || !strings.HasSuffix(cd, "."+tt.format) {
				t.Fatalf("Content-Disposition = %q", cd)
			}
			tt.check(t, string(r.body))
		})
	}
	// The formula in the actor column is neutralised.
	r := f.do("GET", "/api/v1/export?format=csv&namespace=users", f.read, "", nil)
	if !strings.Contains(string(r.body), `'=cmd|`) {
		t.Fatalf("formula cell not neutralised: %s", r.body)
	}
	// Every export is on record, naming the token that took it.
	f.waitIndexed()
	_, page := f.list("q=action:audit_log_exported")
	if len(page.Events) != 4 || page.Events[0].Actor != "token reader" {
		t.Fatalf("export entries = %+v", page.Events)
	}
}

func TestAnExportThatFailsBeforeItsFirstByteIsAnErrorNotADownload(t *testing.T) {
	log, x, _, srv := serveTempLogAndIndex(t)
	read, _, err := log.CreateToken(context.Background(), "reader", []app.Scope{app.ScopeRead}, "test")
	if err != nil {
		t.Fatal(err)
	}
	// A keyword export counts its entries in the index first; with the index
	// gone it fails before anything is written.
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/export?format=csv&q=snowflake", nil)
	req.Header.Set("Authorization", "Bearer "+read)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode < 500 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != "" {
		t.Errorf("the error is offered as a download: Content-Disposition %q", cd)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !strings.Contains(string(body), `"error"`) {
		t.Errorf("Content-Type %q, body %s; want the JSON error", ct, body)
	}
}

func TestExportRefusesBadRequestsClearly(t *testing.T) {
	f := newAPIFixture(t)
	for _, tt := range []struct {
		path, token string
		status      int
		mentions    string
	}{
		{"/api/v1/export?format=xlsx", f.read, 400, "format"},
		{"/api/v1/export", f.read, 400, "format"},
		{"/api/v1/export?format=csv&q=%22open", f.read, 400, "unterminated"},
		{"/api/v1/export?format=csv&q=%01", f.read, 400, "control character"},
		{"/api/v1/export?format=csv&namespace=widgets", f.read, 400, "namespace"},
		{"/api/v1/export?format=csv", f.ingest, 403, "read"},
		{"/api/v1/export?format=csv", "", 401, "token"},
	} {
		r := f.do("GET", tt.path, tt.token, "", nil)
		if r.status != tt.status || !strings.Contains(r.errorBody(t).Message, tt.mentions) {
			t.Errorf("%s: status %d, body %s; want %d mentioning %q", tt.path, r.status, r.body, tt.status, tt.mentions)
		}
	}
}
