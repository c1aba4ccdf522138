package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"auditlog/app"
)

// access is the least a route asks of whoever calls it.
type access int

const (
	public access = iota // anyone: the sign-in forms, health, assets
	signed               // any member's session
	viewer               // reads: Viewer and up
	admin                // changes: Admin and up
	owner                // ownership: the Owner only
	token                // an API token only; a browser session is refused
)

// routeAccess names what each route asks. A route that is not listed here
// fails the test: every new route must say who may call it.
var routeAccess = map[string]access{
	"GET /":                            public,
	"GET /healthz":                     public,
	"HEAD /healthz":                    public,
	"GET /launch":                      public,
	"GET /assets/:name":                public,
	"GET /favicon.ico":                 public,
	"GET /signin":                      public,
	"POST /signin":                     public,
	"GET /setup":                       public,
	"POST /setup":                      public,
	"GET /invite/:token":               public,
	"POST /invite/:token":              public,
	"POST /signout":                    signed,
	"GET /settings/security/audit-log": viewer,
	"GET /settings/security/audit-log/entries/:id":      viewer,
	"POST /settings/security/audit-log/demo":            admin,
	"GET /api/v1/events":                                viewer,
	"HEAD /api/v1/events":                               viewer,
	"GET /api/v1/events/:id":                            viewer,
	"HEAD /api/v1/events/:id":                           viewer,
	"GET /api/v1/export":                                viewer,
	"GET /api/v1/workspace":                             viewer,
	"HEAD /api/v1/workspace":                            viewer,
	"PATCH /api/v1/workspace":                           admin,
	"GET /api/v1/tokens":                                admin,
	"HEAD /api/v1/tokens":                               admin,
	"POST /api/v1/tokens":                               admin,
	"DELETE /api/v1/tokens/:id":                         admin,
	"POST /api/v1/events":                               token,
	"GET /settings/members":                             admin,
	"POST /settings/members/invites":                    admin,
	"POST /settings/members/invites/:id/revoke":         admin,
	"POST /settings/members/:id/role":                   admin,
	"POST /settings/members/:id/remove":                 admin,
	"POST /settings/members/:id/transfer":               owner,
	"GET /api/v1/openapi.json":                          public,
	"HEAD /api/v1/openapi.json":                         public,
	"GET /api/v1/integrity":                             viewer,
	"HEAD /api/v1/integrity":                            viewer,
	"POST /api/v1/tokens/:id/regenerate":                admin,
	"POST /settings/security/audit-log/quit":            owner,
	"GET /settings/general":                             admin,
	"POST /settings/general":                            admin,
	"GET /settings/security/api-tokens":                 admin,
	"POST /settings/security/api-tokens":                admin,
	"POST /settings/security/api-tokens/:id/regenerate": admin,
	"POST /settings/security/api-tokens/:id/revoke":     admin,
	"GET /settings/security/service-users":              admin,
	"POST /settings/security/service-users":             admin,
	"POST /settings/security/service-users/:id/rename":  admin,
	"POST /settings/security/service-users/:id/disable": admin,
	"POST /settings/security/service-users/:id/enable":  admin,
	"POST /settings/security/service-users/:id/delete":  admin,
}

// allows reports whether a caller with role (empty: no session) may pass.
func (a access) allows(role app.Role) bool {
	switch a {
	case public:
		return true
	case signed:
		return role != ""
	case viewer:
		return role.AtLeast(app.RoleViewer)
	case admin:
		return role.AtLeast(app.RoleAdmin)
	case owner:
		return role == app.RoleOwner
	}
	return false
}

// TestEveryRouteChecksTheRole calls every registered route as no one, a
// Viewer, an Admin and the Owner, each with a fresh session and its CSRF
// token, and checks that those below the route's role are refused (401
// without a session, 403 with one) and those at or above it are not.
func TestEveryRouteChecksTheRole(t *testing.T) {
	f := newTeamFixture(t)
	if _, err := f.log.Record(context.Background(), []app.Event{{Namespace: app.Spaces, Action: "space_created", Detail: "Created space", Actor: "Maya"}}); err != nil {
		t.Fatal(err) // not empty, so the demo route has nothing to load
	}
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	f.join(owner, "vera@example.com", "viewer", "Vera Viewer")
	f.join(owner, "adam@example.com", "admin", "Adam Admin")
	emails := map[app.Role]string{app.RoleViewer: "vera@example.com", app.RoleAdmin: "adam@example.com", app.RoleOwner: "alice@example.com"}

	seen := map[string]bool{}
	for _, r := range f.server.Routes() {
		key := r.Method + " " + r.Path
		if seen[key] || r.Method == "echo_route_not_found" {
			continue
		}
		seen[key] = true
		want, ok := routeAccess[key]
		if !ok {
			t.Errorf("route %s has no row in routeAccess: say who may call it", key)
			continue
		}
		if want == public {
			continue
		}
		path := r.Path
		for _, p := range []string{":id", ":name", ":token"} {
			path = strings.ReplaceAll(path, p, "x")
		}
		for _, role := range []app.Role{"", app.RoleViewer, app.RoleAdmin, app.RoleOwner} {
			b := f.browser()
			if role != "" {
				pw := "their long password"
				if role == app.RoleOwner {
					pw = ownerPassword
				}
				b.signIn(emails[role], pw)
			}
			header := map[string]string{"X-CSRF-Token": b.csrf, "Content-Type": "application/x-www-form-urlencoded"}
			got := b.do(r.Method, path, url.Values{}, header).status
			name := string(role)
			if name == "" {
				name = "no one"
			}
			switch {
			case want.allows(role) && (got == http.StatusUnauthorized || got == http.StatusForbidden):
				t.Errorf("%s as %s: %d, want it allowed", key, name, got)
			case !want.allows(role) && role == "" && got != http.StatusUnauthorized:
				t.Errorf("%s as %s: %d, want 401", key, name, got)
			case !want.allows(role) && role != "" && got != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", key, name, got)
			}
		}
	}
	for key := range routeAccess {
		if !seen[key] {
			t.Errorf("routeAccess lists %s, which is not a route", key)
		}
	}
}
