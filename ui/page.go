package ui

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// EntryPath is where one entry's full record lives; the page opens it in a panel.
const EntryPath = PagePath + "/entries/"

// pageRoutes serves the Audit Log page, its partials and its static files.
func (s *Server) pageRoutes() {
	e := s.echo
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, PagePath) })
	e.GET("/assets/:name", serveAsset)
	e.GET("/favicon.ico", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, assetURL("icon.svg")) })
	e.GET(PagePath, s.auditLogPage, s.requireSession, s.requireRole(app.RoleViewer))
	e.GET(EntryPath+":id", s.entryPage, s.requireSession, s.requireRole(app.RoleViewer))
	e.POST(PagePath+"/demo", s.loadDemo, s.requireSession, s.requireRole(app.RoleAdmin))
	s.settingsRoutes()
}

// pageBase is what the layout needs on every page.
type pageBase struct {
	Title     string
	Workspace string
	Initial   string // the workspace's first letter, for its avatar
	Retention string // e.g. "30 days"
	PagePath  string
	CSRF      string
	Bare      bool   // no settings navigation (error pages, signed out)
	Nav       string // the settings navigation's current item: "general", "api-tokens", ...; empty is the Audit Log
	// Who is signed in: admin pages and buttons show for Admins and the Owner.
	CanAdmin    bool
	IsOwner     bool // the Owner, at the computer the app runs on: may quit it from the page
	MembersPath string
	SignedInAs  string // a member signed in with a password, who may sign out
	// LaunchedAs is the member a launch-link session acts as (team mode):
	// the Owner when it was opened, who may not be the person at this
	// computer once ownership moved, so the page says whose name it uses.
	LaunchedAs  string
	SignOutPath string
}

func (s *Server) base(c echo.Context, title string) (pageBase, app.Settings) {
	settings := s.Log.Settings()
	b := pageBase{
		Title:     title,
		Workspace: settings.Workspace,
		Initial:   initial(settings.Workspace),
		Retention: app.FormatRetention(s.Log.Retention()),
		PagePath:  PagePath,
	}
	if sess, ok := c.Get(ctxSession).(session); ok {
		b.CSRF = sess.csrf
		b.CanAdmin = sess.role.AtLeast(app.RoleAdmin)
		b.IsOwner = sess.role.AtLeast(app.RoleOwner) && fromThisComputer(c.Request())
		if sess.secret != "" {
			b.SignedInAs = sess.member.Name
		} else if sess.member.ID != "" {
			b.LaunchedAs = sess.member.Name
		}
	}
	b.MembersPath, b.SignOutPath = MembersPath, SignOutPath
	return b, settings
}

func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return strings.ToUpper(string(r))
		}
	}
	return "W"
}

// wantsHTML reports whether a failed request came from the page (a link, a
// form or htmx), which reads an error as a page, not as JSON.
func wantsHTML(c echo.Context) bool {
	r := c.Request()
	return !isAPI(r.URL.Path) && (r.Header.Get(hxRequest) != "" || acceptsHTML(r))
}

func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") }

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// errorView is the error page, and the notice htmx shows instead of a swap.
type errorView struct {
	pageBase
	Status      int
	Heading     string
	Message     string
	SignedOut   bool
	HostRefused bool
	Team        bool // signing in, not the launch link, opens the page
	SignInPath  string
}

// renderError answers a failed page request: a short page that says what to
// do, or, when htmx asked for a part of the page, a notice above the results
// (the part asked for stays as it was).
func (s *Server) renderError(c echo.Context, status int, err *app.Error) {
	v := errorView{
		pageBase:   pageBase{Title: http.StatusText(status), Workspace: "Audit Log", Initial: "A", PagePath: PagePath, Bare: true},
		Status:     status,
		Heading:    http.StatusText(status),
		Message:    sentence(err.Message),
		Team:       s.Team,
		SignInPath: SignInPath,
	}
	switch status {
	case http.StatusUnauthorized:
		v.Heading, v.SignedOut = "Open the Audit Log from its launch link", true
		if s.Team {
			v.Heading = "Sign in to the Audit Log"
		}
	case http.StatusForbidden:
		v.Heading = "This request is not allowed"
		v.HostRefused, _ = c.Get(ctxHostRefused).(bool)
	case http.StatusNotFound:
		v.Heading = "Not found"
	case http.StatusInternalServerError:
		v.Heading = "Something went wrong"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	var rerr error
	if isHTMX(c.Request()) {
		retarget(c, "#flash", "innerHTML")
		rerr = render(c, status, "partials", "flash", v)
	} else {
		rerr = render(c, status, "error", "layout", v)
	}
	if rerr != nil {
		s.logger.Error("rendering the error page failed", "err", rerr)
		_ = c.String(status, v.Heading+": "+v.Message)
	}
}

// truncate shortens s to at most n characters, for titles.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
