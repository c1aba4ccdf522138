package ui

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"auditlog/app"
	"auditlog/app/password"

	"github.com/labstack/echo/v4"
)

// The addresses of signing in, out, setting up the owner and accepting invites.
const (
	SignInPath  = "/signin"
	SignOutPath = "/signout"
	SetupPath   = "/setup"
	InvitePath  = "/invite/"
)

// sessionMaxAge is how long the browser keeps a member's session cookie; the
// server ends the session sooner when it is idle (app.SessionIdle).
const sessionMaxAge = int(app.SessionLifetime / time.Second)

// team is the workspace's members, made on first use so that a server that
// never signs anyone in never pays for a password hash.
func (s *Server) team() *app.Team {
	s.teamOnce.Do(func() {
		pw := s.Passwords
		if pw == nil {
			pw = password.New(password.Default, 2)
		}
		s.members = app.NewTeam(s.Log, pw)
		s.members.LocalName = s.LocalUser
	})
	return s.members
}

// Members is the workspace's team, for the command line's owner setup.
func (s *Server) Members() *app.Team { return s.team() }

// SetupURL is the one-time link that sets up the owner, or "" once there is one.
func (s *Server) SetupURL(base string) string {
	if _, ok, err := s.team().Owner(context.Background()); ok || err != nil {
		return ""
	}
	return strings.TrimSuffix(base, "/") + SetupPath + "?token=" + s.setup
}

func (s *Server) teamRoutes() {
	e := s.echo
	e.GET(SignInPath, s.signInPage)
	e.POST(SignInPath, s.signIn, sameSiteOnly)
	e.POST(SignOutPath, s.signOut, s.requireSession)
	e.GET(SetupPath, s.setupPage)
	e.POST(SetupPath, s.setupOwner, sameSiteOnly)
	e.GET(InvitePath+":token", s.invitePage)
	e.POST(InvitePath+":token", s.acceptInvite, sameSiteOnly)
}

// accountForm is the sign-in, setup and invite forms: what was typed (never
// the password) and a message per field that was wrong.
type accountForm struct {
	pageBase
	Action  string
	Next    string
	Name    string
	Email   string
	Role    string // the invite's
	By      string // who invited
	Expires string
	Errors  map[string]string
	Message string // about the whole form
	Invalid string // the link itself is no good
}

func (s *Server) accountBase(title string) pageBase {
	settings := s.Log.Settings()
	return pageBase{Title: title, Workspace: settings.Workspace, Initial: initial(settings.Workspace), PagePath: PagePath, Bare: true}
}

// accountFormError puts a domain error beside the field it names, or above the form.
func accountFormError(f *accountForm, err error) (int, bool) {
	var ae *app.Error
	if !errors.As(err, &ae) {
		return 0, false
	}
	f.Errors = map[string]string{}
	for _, d := range ae.Details {
		if f.Errors[d.Field] == "" {
			f.Errors[d.Field] = d.Message
		}
	}
	if len(ae.Details) == 0 {
		f.Message = ae.Message
	}
	status := statusOf[ae.Code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	return status, true
}

// badAccountForm puts on f every problem of a new account's form at once:
// what the rules say of its fields (checked), and a confirmation that
// differs from the password. It tells whether there was any.
func badAccountForm(f *accountForm, checked error, password, confirm string) bool {
	if checked != nil {
		accountFormError(f, checked)
	}
	if password != confirm {
		if f.Errors == nil {
			f.Errors = map[string]string{}
		}
		f.Errors["confirm"] = "the two passwords differ"
	}
	return len(f.Errors) > 0
}

// safeNext keeps a sign-in's return address on this site.
// Browsers drop tabs and line breaks from an address and read a backslash
// as a slash, so "/\t/evil.example" would leave the site: a path holding
// either is refused.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return PagePath
	}
	return next
}

func sameSiteOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := refuseCrossSite(c); err != nil {
			return err
		}
		return next(c)
	}
}

// refuseCrossSite keeps other sites from posting the forms that need no
// session (sign-in, setup, invites), which would sign a visitor in as
// someone else. Browsers that send no Sec-Fetch-Site are let through.
func refuseCrossSite(c echo.Context) error {
	switch c.Request().Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	return app.Errorf(app.EFORBIDDEN, "this form may only be sent from the Audit Log's own page")
}

func (s *Server) signInPage(c echo.Context) error {
	if !s.Team {
		return c.Redirect(http.StatusSeeOther, PagePath)
	}
	if _, ok := s.session(c); ok {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	f := accountForm{pageBase: s.accountBase("Sign in"), Action: SignInPath, Next: safeNext(c.QueryParam("next"))}
	if _, ok, _ := s.team().Owner(c.Request().Context()); !ok {
		f.Message = "No owner is set up yet: open the setup link the Audit Log printed when it started."
	}
	return render(c, http.StatusOK, "signin", "layout", f)
}

func (s *Server) signIn(c echo.Context) error {
	if !s.Team {
		return app.Errorf(app.ENOTFOUND, "signing in is for team mode; on this computer, open the launch link")
	}
	f := accountForm{pageBase: s.accountBase("Sign in"), Action: SignInPath, Next: safeNext(c.FormValue("next")), Email: c.FormValue("email")}
	secret, _, err := s.team().SignIn(c.Request().Context(), f.Email, c.FormValue("password"), s.clientIP(c.Request()))
	if err != nil {
		status, ok := accountFormError(&f, err)
		if !ok {
			return err
		}
		if ae := (*app.Error)(nil); status == http.StatusTooManyRequests && errors.As(err, &ae) {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
		}
		return render(c, status, "signin", "layout", f)
	}
	s.setSessionCookie(c, secret, sessionMaxAge)
	return c.Redirect(http.StatusSeeOther, f.Next)
}

func (s *Server) signOut(c echo.Context) error {
	sess, _ := c.Get(ctxSession).(session)
	if sess.secret != "" {
		if err := s.team().SignOut(c.Request().Context(), sess.secret); err != nil {
			return err
		}
	} else if ck, err := c.Cookie(cookieName(c.Request())); err == nil {
		s.sessions.remove(ck.Value)
	}
	s.setSessionCookie(c, "", -1)
	if s.Team {
		return c.Redirect(http.StatusSeeOther, SignInPath)
	}
	return c.Redirect(http.StatusSeeOther, PagePath)
}

func (s *Server) setupForm(c echo.Context) (accountForm, bool) {
	f := accountForm{pageBase: s.accountBase("Set up the owner"), Action: SetupPath}
	token := c.QueryParam("token")
	if token == "" {
		token = c.FormValue("token")
	}
	if subtleEqual(token, s.setup) {
		f.Next = token
	} else {
		f.Invalid = "This setup link is not valid: it changes each time the Audit Log starts. Use the one it printed last."
	}
	if _, ok, _ := s.team().Owner(c.Request().Context()); ok {
		f.Invalid = "The owner is already set up; sign in instead."
	}
	return f, f.Invalid == ""
}

func (s *Server) setupPage(c echo.Context) error {
	f, ok := s.setupForm(c)
	status := http.StatusOK
	if !ok {
		status = http.StatusNotFound
	}
	return render(c, status, "setup", "layout", f)
}

// setupOwner makes the first member the owner and signs them in.
func (s *Server) setupOwner(c echo.Context) error {
	f, ok := s.setupForm(c)
	if !ok {
		return render(c, http.StatusNotFound, "setup", "layout", f)
	}
	f.Name, f.Email = c.FormValue("name"), c.FormValue("email")
	pw := c.FormValue("password")
	if bad := badAccountForm(&f, app.CheckNewAccount(f.Name, &f.Email, pw), pw, c.FormValue("confirm")); bad {
		return render(c, http.StatusBadRequest, "setup", "layout", f)
	}
	ctx := c.Request().Context()
	m, err := s.team().SetUpOwner(ctx, f.Name, f.Email, pw)
	if err != nil {
		status, ok := accountFormError(&f, err)
		if !ok {
			return err
		}
		return render(c, status, "setup", "layout", f)
	}
	return s.signInJoined(c, m, pw, MembersPath)
}

func (s *Server) inviteForm(c echo.Context) (accountForm, app.Invite, error) {
	f := accountForm{pageBase: s.accountBase("Join the workspace"), Action: InvitePath + c.Param("token")}
	inv, err := s.team().InviteBySecret(c.Request().Context(), c.Param("token"))
	if err != nil {
		if app.ErrorCode(err) != app.ENOTFOUND {
			return f, inv, err
		}
		f.Invalid = app.ErrorMessage(err)
		return f, inv, nil
	}
	f.Email, f.Role, f.By = inv.Email, inv.Role.DisplayName(), inv.InvitedBy
	f.Expires = newTimeView(inv.ExpiresAt, s.Log.Settings().Location()).Date
	return f, inv, nil
}

func (s *Server) invitePage(c echo.Context) error {
	f, _, err := s.inviteForm(c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if f.Invalid != "" {
		status = http.StatusNotFound
	}
	return render(c, status, "invite", "layout", f)
}

// acceptInvite makes the invitee a member and signs them in.
func (s *Server) acceptInvite(c echo.Context) error {
	f, _, err := s.inviteForm(c)
	if err != nil {
		return err
	}
	if f.Invalid != "" {
		return render(c, http.StatusNotFound, "invite", "layout", f)
	}
	f.Name = c.FormValue("name")
	pw := c.FormValue("password")
	checked := s.team().CheckInvitee(c.Request().Context(), f.Name, pw)
	if ae := (*app.Error)(nil); checked != nil && !errors.As(checked, &ae) {
		return checked
	}
	if bad := badAccountForm(&f, checked, pw, c.FormValue("confirm")); bad {
		return render(c, http.StatusBadRequest, "invite", "layout", f)
	}
	ctx := c.Request().Context()
	m, err := s.team().AcceptInvite(ctx, c.Param("token"), f.Name, pw)
	if err != nil {
		status, ok := accountFormError(&f, err)
		if !ok {
			return err
		}
		return render(c, status, "invite", "layout", f)
	}
	if !s.Team {
		return c.Redirect(http.StatusSeeOther, PagePath)
	}
	return s.signInJoined(c, m, pw, PagePath)
}

// signInJoined signs in a member who has just joined (set up the workspace,
// accepted an invite) with the password they chose, and sends them on to
// next. From an address whose wrong passwords are being waited out, the
// member is made but not signed in: they are sent to sign in once the wait
// is over, rather than shown an error after their account was made.
func (s *Server) signInJoined(c echo.Context, m app.Member, password, next string) error {
	secret, _, err := s.team().SignIn(c.Request().Context(), m.Email, password, s.clientIP(c.Request()))
	if app.ErrorCode(err) == app.ETHROTTLED {
		return c.Redirect(http.StatusSeeOther, SignInPath+"?next="+url.QueryEscape(next))
	}
	if err != nil {
		return err
	}
	s.setSessionCookie(c, secret, sessionMaxAge)
	return c.Redirect(http.StatusSeeOther, next)
}
