package ui_test

import (
	"net/http"
	"strings"
	"testing"

	"auditlog/app"
	"auditlog/ui"
)

// A query string that does not decode was read as if the broken pair were
// absent: q=%zz listed and exported every entry, unfiltered.
func TestAQueryStringThatDoesNotDecodeIsRefusedNeverAnsweredUnfiltered(t *testing.T) {
	queries := []string{"q=%zz", "q=kiwi%", "q=%e", "namespace=users&q=%zz", "limit=5&%zz=1", "q=ok;x=1"}
	t.Run("API", func(t *testing.T) {
		f := newAPIFixture(t)
		if r := f.post(goodEvent); r.status != http.StatusCreated {
			t.Fatalf("posting: %d %s", r.status, r.body)
		}
		for _, path := range []string{"/api/v1/events", "/api/v1/export"} {
			for _, q := range queries {
				r := f.do("GET", path+"?"+q, f.read, "", nil)
				if r.status != http.StatusBadRequest {
					t.Errorf("GET %s?%s: %d %.200s, want 400", path, q, r.status, r.body)
					continue
				}
				if e := r.errorBody(t); e.Code != app.EINVALID || !strings.Contains(e.Message, "query string") {
					t.Errorf("GET %s?%s: %+v, want the query string named", path, q, e)
				}
			}
		}
	})
	t.Run("page", func(t *testing.T) {
		f := newPageFixture(t)
		f.record(ev(app.Users, "user_invited", "Invited kiwi@example.com", "Maya Chen", 0))
		for _, q := range queries {
			for _, h := range []map[string]string{nil, htmx} {
				r := f.get(ui.PagePath+"?"+q, h)
				if r.status != http.StatusBadRequest || !strings.Contains(r.body, "query string") || rowCount(r.body) != 0 {
					t.Errorf("page ?%s (htmx %v): %d %.300s, want a 400 naming the query string and no rows", q, h != nil, r.status, r.body)
				}
			}
		}
	})
}
