package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"auditlog/app"
)

// credential is one way of calling a route that must be refused: it dresses
// a request that would otherwise be the Owner's (or a full token's).
type credential struct {
	name string
	// applies says whether the route is one this refusal concerns.
	applies func(method, path string, a access) bool
	// dress sets the request's credentials and headers.
	dress func(req *http.Request, route string, a access)
	want  int
}

func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") }

func changesState(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// TestEveryRouteRefusesEveryWrongCredential calls every registered route
// that is not public with each kind of credential an attacker could bring,
// and checks each is refused: no credentials, a token lacking the route's
// scope, a revoked token, a forged session cookie, a request addressed to a
// foreign Host, a request made in the background by another site, and a
// state-changing request without the session's CSRF token.
func TestEveryRouteRefusesEveryWrongCredential(t *testing.T) {
	f := newTeamFixture(t)
	ctx := context.Background()
	ob := f.browser().signIn("alice@example.com", ownerPassword)
	base, _ := url.Parse(f.ts.URL)
	var ownerCookie *http.Cookie
	for _, c := range ob.client.Jar.Cookies(base) {
		if strings.HasPrefix(c.Name, "auditlog_session") {
			ownerCookie = c
		}
	}
	if ownerCookie == nil {
		t.Fatal("no session cookie after signing in")
	}
	tokenWith := func(scopes ...app.Scope) string {
		secret, _, err := f.log.CreateToken(ctx, "matrix "+string(scopes[0]), scopes, "test")
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	ingest, read := tokenWith(app.ScopeIngest), tokenWith(app.ScopeRead)
	full := tokenWith(app.ScopeIngest, app.ScopeRead, app.ScopeAdmin)
	revoked, tok, err := f.log.CreateToken(ctx, "revoked", []app.Scope{app.ScopeIngest, app.ScopeRead, app.ScopeAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.RevokeToken(ctx, tok.ID, "test"); err != nil {
		t.Fatal(err)
	}
	// wrongScope is a token that can do something, but not what the route asks.
	wrongScope := func(a access) string {
		if a == viewer {
			return ingest
		}
		return read // for ingest, and for what needs the admin scope
	}
	asOwner := func(req *http.Request) {
		req.AddCookie(ownerCookie)
		req.Header.Set("X-CSRF-Token", ob.csrf)
	}
	credentials := []credential{
		{"no credentials", func(string, string, access) bool { return true },
			func(*http.Request, string, access) {}, http.StatusUnauthorized},
		{"a token with the wrong scope", func(_, path string, _ access) bool { return isAPI(path) },
			func(req *http.Request, _ string, a access) {
				req.Header.Set("Authorization", "Bearer "+wrongScope(a))
			}, http.StatusForbidden},
		{"a revoked token", func(_, path string, _ access) bool { return isAPI(path) },
			func(req *http.Request, _ string, _ access) { req.Header.Set("Authorization", "Bearer "+revoked) }, http.StatusUnauthorized},
		{"a forged session cookie", func(string, string, access) bool { return true },
			func(req *http.Request, _ string, _ access) {
				req.AddCookie(&http.Cookie{Name: ownerCookie.Name, Value: strings.Repeat("A", len(ownerCookie.Value))})
				req.Header.Set("X-CSRF-Token", ob.csrf)
			}, http.StatusUnauthorized},
		{"a foreign Host", func(string, string, access) bool { return true },
			func(req *http.Request, _ string, _ access) {
				asOwner(req)
				req.Header.Set("Authorization", "Bearer "+full)
				req.Host = "audit.attacker.example"
			}, http.StatusForbidden},
		{"a cross-site background request", func(string, string, access) bool { return true },
			func(req *http.Request, _ string, _ access) {
				asOwner(req)
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				req.Header.Set("Sec-Fetch-Mode", "no-cors")
			}, http.StatusUnauthorized},
		{"a state-changing request without CSRF", func(method, _ string, a access) bool { return changesState(method) && a != token },
			func(req *http.Request, _ string, _ access) { req.AddCookie(ownerCookie) }, http.StatusForbidden},
	}

	calls := 0
	seen := map[string]bool{}
	for _, r := range f.server.Routes() {
		route := r.Method + " " + r.Path
		if seen[route] || r.Method == "echo_route_not_found" {
			continue
		}
		seen[route] = true
		a, ok := routeAccess[route]
		if !ok {
			t.Errorf("route %s has no row in routeAccess", route)
			continue
		}
		if a == public {
			continue
		}
		path := r.Path
		for _, p := range []string{":id", ":name", ":token"} {
			path = strings.ReplaceAll(path, p, "x")
		}
		for _, c := range credentials {
			if !c.applies(r.Method, path, a) {
				continue
			}
			var body io.Reader
			if changesState(r.Method) {
				body = strings.NewReader("")
			}
			req, err := http.NewRequest(r.Method, f.ts.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			if changesState(r.Method) {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			c.dress(req, route, a)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(res.Body)
			res.Body.Close()
			calls++
			if res.StatusCode != c.want {
				t.Errorf("%s with %s: %d %.200s, want %d", route, c.name, res.StatusCode, msg, c.want)
			}
		}
	}
	if calls < 100 {
		t.Fatalf("only %d calls: the matrix proves little", calls)
	}
	t.Logf("%d refused calls over %d routes", calls, len(seen))
}
