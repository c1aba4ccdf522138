package ui

import (
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
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
		// Entries, members and forms must not stay in a shared or back-button
		// cache; the embedded assets say otherwise for themselves.
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// hostCheck refuses requests addressed to a name we do not answer to, so that
// a web page elsewhere cannot reach us through DNS rebinding: on loopback,
// only loopback names; in team mode also the configured names (--host) and
// the addresses we listen on.
func (s *Server) hostCheck(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.hostAllowed(c.Request().Host) {
			c.Set(ctxHostRefused, true) // the error page explains how to open the page instead
			if !s.Team {
				return app.Errorf(app.EFORBIDDEN, "this Audit Log only answers requests addressed to localhost or 127.0.0.1")
			}
			return app.Errorf(app.EFORBIDDEN, "this Audit Log does not answer to the name %q; start it with --host %s to allow it", hostOnly(c.Request().Host), hostOnly(c.Request().Host))
		}
		return next(c)
	}
}

func (s *Server) hostAllowed(hostport string) bool {
	if isLoopbackHost(hostport) {
		return true
	}
	if !s.Team {
		return false
	}
	host := strings.TrimSuffix(hostOnly(hostport), ".")
	for _, h := range s.Hosts {
		if strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(h), "."), host) {
			return true
		}
	}
	if ip := net.ParseIP(host); ip != nil {
		for _, l := range s.listenIPs {
			if l.Equal(ip) {
				return true
			}
		}
	}
	return false
}

func hostOnly(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.Trim(host, "[]")
}

// remoteIP is the address the connection comes from.
func remoteIP(r *http.Request) net.IP {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return net.ParseIP(host)
}

func (s *Server) trustedProxy(ip net.IP) bool {
	for _, n := range s.trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the address of whoever sent the request: the connection's,
// or, from a trusted proxy, the last address in X-Forwarded-For that is not
// itself a trusted proxy (what comes before it anyone may have written).
func (s *Server) clientIP(r *http.Request) string {
	ip := remoteIP(r)
	if s.trustedProxy(ip) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop := net.ParseIP(strings.TrimSpace(hops[i]))
			if hop == nil {
				break
			}
			ip = hop
			if !s.trustedProxy(hop) {
				break
			}
		}
	}
	if ip == nil {
		return ""
	}
	return ip.String()
}

// fromThisComputer reports whether the request comes straight from this
// computer: over loopback and not relayed by a proxy, which would make a
// request from anywhere look local.
func fromThisComputer(r *http.Request) bool {
	ip := remoteIP(r)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "X-Forwarded-Host"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return true
}

// overTLS reports whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (s *Server) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.trustedProxy(remoteIP(r)) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// scheme is how the browser reached this server: Echo's c.Scheme() believes
// X-Forwarded-Proto from anyone, overTLS only from a trusted proxy.
func (s *Server) scheme(r *http.Request) string {
	if s.overTLS(r) {
		return "https"
	}
	return "http"
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
// browsers with a session when allowSession, if their member's role allows
// what the scope does (read: any member; ingest and admin: Admin).
func (s *Server) requireScope(scope app.Scope, allowSession bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			authz := c.Request().Header.Get("Authorization")
			if authz == "" && !allowSession {
				if _, ok := s.session(c); ok {
					return app.Errorf(app.EFORBIDDEN, "this takes an API token with the %q scope, not a browser session", scope)
				}
			}
			if authz == "" && allowSession {
				if sess, ok := s.session(c); ok {
					min := app.RoleAdmin
					if scope == app.ScopeRead {
						min = app.RoleViewer
					}
					if !sess.role.AtLeast(min) {
						return app.Errorf(app.EFORBIDDEN, "this needs the %s role", min.DisplayName())
					}
					if err := checkCSRF(c, sess); err != nil {
						return err
					}
					c.Set(ctxSession, sess)
					actAs(c, sess, min)
					return next(c)
				}
			}
			scheme, secret := authScheme(authz)
			bearer := strings.EqualFold(scheme, "Bearer")
			if !bearer || secret == "" {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="auditlog"`)
				if !bearer && scheme != "" {
					// Not echoed: what passes for a scheme may be a secret sent without one.
					return app.Errorf(app.EUNAUTHORIZED, "the Authorization header is not a bearer token; send Authorization: Bearer <token> (create one with: auditlog token create)")
				}
				return app.Errorf(app.EUNAUTHORIZED, "an API token is required: send Authorization: Bearer <token> (create one with: auditlog token create)")
			}
			if subtle.ConstantTimeCompare([]byte(secret), []byte(s.launch)) == 1 {
				// The launch secret is the local owner's key: whoever can read it (the
				// instance file is private to the user) may already open the page. The
				// command line uses it to work through a running server, on this
				// computer only: from anywhere else it is no credential at all.
				if !fromThisComputer(c.Request()) {
					c.Response().Header().Set("WWW-Authenticate", `Bearer realm="auditlog", error="invalid_token"`)
					return app.Errorf(app.EUNAUTHORIZED, "the bearer token is not valid or was revoked")
				}
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
			c.SetRequest(c.Request().WithContext(app.WithActingToken(c.Request().Context(), tok)))
			return next(c)
		}
	}
}

// authScheme splits an Authorization header into its scheme and what
// follows it. Schemes match in any case (RFC 7235), so callers compare with
// strings.EqualFold; the spaces (or a tab) around the credentials are not
// part of them, and clients that send more than one are common enough to
// forgive.
func authScheme(header string) (scheme, credentials string) {
	header = strings.TrimSpace(header)
	i := strings.IndexAny(header, " \t")
	if i < 0 {
		return header, ""
	}
	return header[:i], strings.TrimSpace(header[i+1:])
}

// cookieName carries the port: cookies ignore ports, and every other server
// on localhost would otherwise receive (and could read) this session.
func cookieName(r *http.Request) string { return portScoped(sessionCookie, r) }

// portScoped is a cookie's name for the port r came to: cookies do not tell
// ports apart, and each Audit Log on this computer keeps its own.
func portScoped(name string, r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return name + "_" + port
	}
	return name
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

// session returns the browser session of the request, if any: a launch-link
// session of this process, or, in team mode, a member's signed-in session.
func (s *Server) session(c echo.Context) (session, bool) {
	if sess, ok := c.Get(ctxSession).(session); ok {
		return sess, true
	}
	if !sameOriginOrNavigation(c.Request()) {
		return session{}, false
	}
	ck, err := c.Cookie(cookieName(c.Request()))
	if err != nil || ck.Value == "" {
		return session{}, false
	}
	if sess, ok := s.sessions.get(ck.Value); ok {
		return s.launched(c, ck.Value, sess)
	}
	if !s.Team {
		return session{}, false
	}
	ts, m, ok, err := s.team().SignedIn(c.Request().Context(), ck.Value)
	if err != nil {
		s.logger.Error("reading a session failed", "err", err)
	}
	if !ok {
		return session{}, false
	}
	return session{csrf: ts.CSRF, created: ts.Created, role: m.Role, member: m, secret: ck.Value}, true
}

// launched checks a launch-link session as it is used. Like the link, it
// works only on this computer: its cookie carried elsewhere is nothing. In
// team mode it is the session of the member it was opened as, the Owner
// then, and follows them as a signed-in session does: it takes their
// current role, and ends once they are removed.
func (s *Server) launched(c echo.Context, id string, sess session) (session, bool) {
	if !fromThisComputer(c.Request()) {
		return session{}, false
	}
	if sess.member.ID == "" {
		return sess, true
	}
	m, err := s.team().Member(c.Request().Context(), sess.member.ID)
	if app.ErrorCode(err) == app.ENOTFOUND {
		s.sessions.remove(id)
		return session{}, false
	} else if err != nil {
		s.logger.Error("reading a session's member failed", "err", err)
		return session{}, false
	}
	sess.member, sess.role = m, m.Role
	return sess, true
}

func checkCSRF(c echo.Context, sess session) error {
	switch c.Request().Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	// From the header or the form's body, never the URL, where it would be
	// kept in histories and logs.
	sent := c.Request().Header.Get("X-CSRF-Token")
	if sent == "" {
		sent = c.Request().PostFormValue("csrf")
	}
	if subtle.ConstantTimeCompare([]byte(sent), []byte(sess.csrf)) != 1 {
		return app.Errorf(app.EFORBIDDEN, "the form is out of date (CSRF token missing or wrong); reload the page and try again")
	}
	return nil
}

// requireSession guards the page: without a session it explains how to get
// one (in team mode, it sends a browser to sign in). State-changing requests
// must also carry the session's CSRF token.
func (s *Server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ok := s.session(c)
		if !ok {
			r := c.Request()
			if s.Team && r.Method == http.MethodGet && !isHTMX(r) && acceptsHTML(r) {
				return c.Redirect(http.StatusSeeOther, SignInPath+"?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			if s.Team {
				return app.Errorf(app.EUNAUTHORIZED, "sign in first")
			}
			if r.Method == http.MethodGet && !isHTMX(r) && acceptsHTML(r) {
				s.rememberReturn(c, r.URL.RequestURI())
			}
			return app.Errorf(app.EUNAUTHORIZED, "open the Audit Log from the address it printed when it started (run auditlog again to see it)")
		}
		if err := checkCSRF(c, sess); err != nil {
			return err
		}
		c.Set(ctxSession, sess)
		return next(c)
	}
}

// setSessionCookie hands the browser its session: HttpOnly, SameSite=Strict,
// and Secure whenever the browser reached us over HTTPS.
func (s *Server) setSessionCookie(c echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name: cookieName(c.Request()), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.overTLS(c.Request()),
	})
}

// launch exchanges the launch secret for a session cookie, then sends the
// browser to the page without the secret in its address bar. It is the
// local owner's and works only on this computer.
func (s *Server) launchHandler(c echo.Context) error {
	if !fromThisComputer(c.Request()) {
		if s.Team {
			return c.Redirect(http.StatusSeeOther, SignInPath)
		}
		return app.Errorf(app.EFORBIDDEN, "the launch link works only on the computer running the Audit Log")
	}
	secret := c.QueryParam("secret")
	if subtle.ConstantTimeCompare([]byte(secret), []byte(s.launch)) != 1 {
		return app.Errorf(app.EUNAUTHORIZED, "this launch link is not valid (it changes each time Audit Log starts); run auditlog again to open the page")
	}
	var owner app.Member
	if s.Team {
		owner, _, _ = s.team().Owner(c.Request().Context())
	}
	id, _ := s.sessions.create(owner)
	s.setSessionCookie(c, id, 0)
	return c.Redirect(http.StatusSeeOther, s.takeReturn(c))
}

// returnCookie remembers, for a quarter of an hour, the page a browser
// without a session asked for (a bookmarked search, a link from a
// teammate's note, a tab restored after the browser restarted), so that
// opening the launch link then lands there rather than on the bare page.
// Only /launch is sent it, it only ever names a path on this site, and its
// name carries the port (portScoped): another Audit Log, or any server, on
// this computer must not choose where this one's launch lands.
const (
	returnCookie = "auditlog_return"
	returnMaxAge = 15 * 60
)

func (s *Server) rememberReturn(c echo.Context, uri string) {
	// Only a browser's own navigation: another site linking here must not
	// choose where the next launch lands.
	if site := c.Request().Header.Get("Sec-Fetch-Site"); site != "" && site != "none" && site != "same-origin" {
		return
	}
	c.SetCookie(&http.Cookie{
		Name: portScoped(returnCookie, c.Request()), Value: base64.RawURLEncoding.EncodeToString([]byte(uri)), Path: "/launch", MaxAge: returnMaxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overTLS(c.Request()),
	})
}

// takeReturn is where the launch link sends the browser: the page it asked
// for last (see returnCookie), else the Audit Log.
func (s *Server) takeReturn(c echo.Context) string {
	name := portScoped(returnCookie, c.Request())
	ck, err := c.Cookie(name)
	if err != nil {
		return PagePath
	}
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/launch", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.overTLS(c.Request())})
	uri, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || strings.HasPrefix(string(uri), "/launch") {
		return PagePath
	}
	return safeNext(string(uri))
}

// actorOf names who is acting in this request, for entries the app records itself.
func (s *Server) actorOf(c echo.Context) string {
	if tok, ok := c.Get(ctxToken).(app.Token); ok && tok.ID != "local" {
		return app.TokenActor(tok.Label)
	}
	if sess, ok := c.Get(ctxSession).(session); ok && sess.member.Name != "" {
		return sess.member.Name
	}
	if s.LocalUser != "" {
		return s.LocalUser
	}
	return app.LocalActor
}

// makerOf says who makes a token in this request (see app.TokenSpec): the
// API token sending it, or the signed-in member; neither for the person at
// this computer.
func (s *Server) makerOf(c echo.Context, spec *app.TokenSpec) {
	if tok, ok := c.Get(ctxToken).(app.Token); ok && tok.ID != "local" {
		spec.ByToken = tok.ID
		return
	}
	spec.ByMember = s.memberOf(c).ID
}

// memberOf is who acts in this request as a member: the signed-in member,
// or, for the launch link's session, the Owner (named after this computer's
// user until an owner is set up).
func (s *Server) memberOf(c echo.Context) app.Member {
	sess, _ := c.Get(ctxSession).(session)
	if sess.member.ID != "" {
		return sess.member
	}
	return app.Member{Name: s.actorOf(c), Role: sess.role}
}

// requireRole admits a session whose member has at least the role min, after
// requireSession. API clients are held to scopes instead (requireScope).
// actAs tells the Log which member a request acts as, and the role it was
// let in for, so that a change it makes is refused if the member lost that
// role while it waited (app.WithActingMember).
func actAs(c echo.Context, sess session, min app.Role) {
	if sess.member.ID == "" {
		return
	}
	r := c.Request()
	c.SetRequest(r.WithContext(app.WithActingMember(r.Context(), sess.member.ID, min)))
}

func (s *Server) requireRole(min app.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess, ok := c.Get(ctxSession).(session)
			if !ok || !sess.role.AtLeast(min) {
				return app.Errorf(app.EFORBIDDEN, "this needs the %s role", min.DisplayName())
			}
			actAs(c, sess, min)
			return next(c)
		}
	}
}
