package ui

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

const (
	sessionCookie  = "auditlog_session"
	ctxToken       = "token"
	ctxSession     = "session"
	ctxHostRefused = "host_refused"
	// PagePath is where the Audit Log page lives, as in the product: Settings → Security → Audit Log.
	PagePath = "/settings/security/audit-log"
)

// securityHeaders go on every response. The CSP allows no inline script and
// no inline style: the page uses only embedded files.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		return next(c)
	}
}

// hostCheck refuses requests whose Host is not a loopback name while we listen
// on loopback: a web page elsewhere cannot reach us through DNS rebinding.
func (s *Server) hostCheck(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.loopback && !isLoopbackHost(c.Request().Host) {
			c.Set(ctxHostRefused, true) // the error page explains how to open the page instead
			return app.Errorf(app.EFORBIDDEN, "this Audit Log only answers requests addressed to localhost or 127.0.0.1")
		}
		return next(c)
	}
}

func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requireScope admits API clients with a bearer token carrying scope, and
// browsers with a session when allowSession.
func (s *Server) requireScope(scope app.Scope, allowSession bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			authz := c.Request().Header.Get("Authorization")
			if authz == "" && allowSession {
				if sess, ok := s.session(c); ok {
					c.Set(ctxSession, sess)
					return next(c)
				}
			}
			secret, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok || strings.TrimSpace(secret) == "" {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="auditlog"`)
				return app.Errorf(app.EUNAUTHORIZED, "an API token is required: send Authorization: Bearer <token> (create one with: auditlog token create)")
			}
			secret = strings.TrimSpace(secret)
			if subtle.ConstantTimeCompare([]byte(secret), []byte(s.launch)) == 1 {
				// The launch secret is the local owner's key: whoever can read it (the
				// instance file is private to the user) may already open the page. The
				// command line uses it to work through a running server.
				c.Set(ctxToken, app.Token{ID: "local", Label: "local", Scopes: []app.Scope{app.ScopeAdmin}})
				return next(c)
			}
			tok, err := s.Log.Authenticate(c.Request().Context(), secret)
			if err != nil {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="auditlog", error="invalid_token"`)
				return err
			}
			if !tok.Allows(scope) {
				return app.Errorf(app.EFORBIDDEN, "this token lacks the %q scope", scope)
			}
			c.Set(ctxToken, tok)
			return next(c)
		}
	}
}

// cookieName carries the port: cookies ignore ports, and every other server
// on localhost would otherwise receive (and could read) this session.
func cookieName(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return sessionCookie + "_" + port
	}
	return sessionCookie
}

// sameOriginOrNavigation refuses a session to requests that another site
// (another localhost port counts as the same site, so SameSite does not
// help) makes in the background, such as an <img> pointing at the export.
// Browsers that do not send Sec-Fetch-Site are judged by SameSite alone.
func sameOriginOrNavigation(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return r.Method == http.MethodGet && r.Header.Get("Sec-Fetch-Mode") == "navigate"
}

// session returns the browser session of the request, if any.
func (s *Server) session(c echo.Context) (session, bool) {
	if !sameOriginOrNavigation(c.Request()) {
		return session{}, false
	}
	ck, err := c.Cookie(cookieName(c.Request()))
	if err != nil {
		return session{}, false
	}
	return s.sessions.get(ck.Value)
}

// requireSession guards the page: without a session it explains how to get one.
// State-changing requests must also carry the session's CSRF token.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok := s.session(c)
		if !ok {
			return app.Errorf(app.EUNAUTHORIZED, "open the Audit Log from the address it printed when it started (run auditlog again to see it)")
		}
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			sent := c.Request().Header.Get("X-CSRF-Token")
			if sent == "" {
				sent = c.FormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(sent), []byte(sess.csrf)) != 1 {
				return app.Errorf(app.EFORBIDDEN, "the form is out of date (CSRF token missing or wrong); reload the page and try again")
			}
		}
		c.Set(ctxSession, sess)
		return next(c)
	}
}

// launch exchanges the launch secret for a session cookie, then sends the
// browser to the page without the secret in its address bar.
func (s *Server) launchHandler(c echo.Context) error {
	secret := c.QueryParam("secret")
	if subtle.ConstantTimeCompare([]byte(secret), []byte(s.launch)) != 1 {
		return app.Errorf(app.EUNAUTHORIZED, "this launch link is not valid (it changes each time Audit Log starts); run auditlog again to open the page")
	}
	id, _ := s.sessions.create()
	c.SetCookie(&http.Cookie{
		Name: cookieName(c.Request()), Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	return c.Redirect(http.StatusSeeOther, PagePath)
}

// actorOf names who is acting in this request, for entries the app records itself.
func (s *Server) actorOf(c echo.Context) string {
	if tok, ok := c.Get(ctxToken).(app.Token); ok && tok.ID != "local" {
		return "token " + tok.Label
	}
	if s.LocalUser != "" {
		return s.LocalUser
	}
	return "Local user"
}

// requireRole admits a session whose member has at least the role min, after
// requireSession. API clients are held to scopes instead (requireScope).
func (s *Server) requireRole(min app.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess, ok := c.Get(ctxSession).(session)
			if !ok || !sess.role.AtLeast(min) {
				return app.Errorf(app.EFORBIDDEN, "this needs the %s role", min.DisplayName())
			}
			return next(c)
		}
	}
}
