package ui_test

import (
	"net/http"
	"strings"
	"testing"

	"auditlog/app"
)

// RFC 7235 makes the scheme case-insensitive, and clients differ in the
// spacing they send; a token must work however its scheme is written.
func TestTheBearerSchemeIsReadInAnyCaseAndSpacing(t *testing.T) {
	f := newAPIFixture(t)
	post := func(authorization string) response {
		t.Helper()
		h := http.Header{"Authorization": {authorization}, "Content-Type": {"application/json"}}
		return f.doWith("POST", "/api/v1/events", h, strings.NewReader(goodEvent))
	}
	for _, h := range []string{"Bearer " + f.ingest, "bearer " + f.ingest, "BEARER " + f.ingest, "bEaReR " + f.ingest, "Bearer   " + f.ingest, "Bearer\t" + f.ingest, " bearer  " + f.ingest + " "} {
		if r := post(h); r.status != http.StatusCreated {
			t.Errorf("Authorization %q: %d %s, want 201", strings.Replace(h, f.ingest, "<token>", 1), r.status, r.body)
		}
	}
	// Another scheme, or none, is told how to send a token, without the
	// header's contents: a secret sent without a scheme must not come back.
	const how = "send Authorization: Bearer <token>"
	for _, tt := range []struct{ header, want string }{
		{"Basic dXNlcjpwYXNz", "not a bearer token; " + how},
		{"Token " + f.ingest, "not a bearer token; " + how},
		{f.ingest, "not a bearer token; " + how},
		{"Bearers " + f.ingest, "not a bearer token; " + how},
		{"Bearer", "an API token is required: " + how},
		{"bearer   ", "an API token is required: " + how},
		{"bearer alt_nope", "the bearer token is not valid"},
	} {
		r := post(tt.header)
		if r.status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d %s, want 401", tt.header, r.status, r.body)
			continue
		}
		e := r.errorBody(t)
		if e.Code != app.EUNAUTHORIZED || !strings.Contains(e.Message, tt.want) {
			t.Errorf("Authorization %q: %s %q, want unauthorized saying %q", tt.header, e.Code, e.Message, tt.want)
		}
		if strings.Contains(e.Message, f.ingest) {
			t.Errorf("Authorization %q: the answer repeats the secret: %q", tt.header, e.Message)
		}
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("Authorization %q: WWW-Authenticate %q, want the Bearer challenge", tt.header, r.header.Get("WWW-Authenticate"))
		}
	}
}
