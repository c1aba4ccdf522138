package ui

import (
	"net/http"
	"strings"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// MembersPath is the Members page, as in the product: Settings → Members.
const MembersPath = "/settings/members"

func (s *Server) memberRoutes() {
	e := s.echo
	admin := []echo.MiddlewareFunc{s.requireSession, s.requireRole(app.RoleAdmin)}
	e.GET(MembersPath, s.membersPage, admin...)
	e.POST(MembersPath+"/invites", s.inviteMember, admin...)
	e.POST(MembersPath+"/invites/:id/revoke", s.revokeInvite, admin...)
	e.POST(MembersPath+"/:id/role", s.changeRole, admin...)
	e.POST(MembersPath+"/:id/remove", s.removeMember, admin...)
	e.POST(MembersPath+"/:id/transfer", s.transferOwnership, s.requireSession, s.requireRole(app.RoleOwner))
}

type memberRow struct {
	app.Member
	RoleName    string
	Joined      timeView
	LastSignIn  *timeView
	IsMe        bool
	CanChange   bool // role and removal: not the owner
	CanTransfer bool // the Owner may hand ownership to anyone else
}

type inviteRow struct {
	app.Invite
	RoleName string
	Created  timeView
	Expires  timeView
	Expired  bool
}

type membersView struct {
	pageBase
	Members    []memberRow
	Invites    []inviteRow
	InviteURL  string // a link just made, shown once
	InvitedFor string
	Email      string
	Role       string
	Errors     map[string]string
	Notice     string
	Message    string // what was wrong with the invite, when no one field was
	Desktop    bool
}

func (s *Server) membersView(c echo.Context) (membersView, error) {
	ctx := c.Request().Context()
	base, settings := s.base(c, "Members")
	loc := settings.Location()
	me := s.memberOf(c)
	v := membersView{pageBase: base, Role: string(app.RoleViewer), Desktop: !s.Team}
	members, err := s.team().Members(ctx)
	if err != nil {
		return v, err
	}
	for _, m := range members {
		row := memberRow{Member: m, RoleName: m.Role.DisplayName(), Joined: newTimeView(m.JoinedAt, loc), IsMe: m.ID == me.ID}
		if !m.LastSignIn.IsZero() {
			t := newTimeView(m.LastSignIn, loc)
			row.LastSignIn = &t
		}
		row.CanChange = m.Role != app.RoleOwner
		row.CanTransfer = me.Role == app.RoleOwner && me.ID != "" && m.ID != me.ID
		v.Members = append(v.Members, row)
	}
	invites, err := s.team().Invites(ctx)
	if err != nil {
		return v, err
	}
	now := s.Log.Now()
	for _, inv := range invites {
		v.Invites = append(v.Invites, inviteRow{Invite: inv, RoleName: inv.Role.DisplayName(),
			Created: newTimeView(inv.CreatedAt, loc), Expires: newTimeView(inv.ExpiresAt, loc), Expired: inv.Expired(now)})
	}
	return v, nil
}

func (s *Server) membersPage(c echo.Context) error {
	v, err := s.membersView(c)
	if err != nil {
		return err
	}
	v.Notice = noticeOf(c.QueryParam("done"))
	sh := s.takeShown(c)
	v.InviteURL, v.InvitedFor = sh.InviteURL, sh.InvitedFor
	return s.renderSecretPage(c, http.StatusOK, "members", v)
}

// noticeOf says what the last change did, after the redirect that follows it.
func noticeOf(done string) string {
	switch done {
	case "role":
		return "The role is changed."
	case "removed":
		return "The member is removed; their sessions have ended."
	case "revoked":
		return "The invite is withdrawn; its link no longer works."
	case "transferred":
		return "Ownership is transferred; you are now an Admin."
	}
	return ""
}

// inviteMember makes a one-time invite link and shows it, once.
func (s *Server) inviteMember(c echo.Context) error {
	email, roleName := c.FormValue("email"), c.FormValue("role")
	role, err := app.ParseRole(roleName)
	if err != nil {
		err = app.FieldErrorf("role", "choose Admin or Viewer")
	}
	var secret string
	var inv app.Invite
	if err == nil {
		secret, inv, err = s.team().Invite(c.Request().Context(), email, role, s.memberOf(c))
	}
	v, verr := s.membersView(c)
	if verr != nil {
		return verr
	}
	if err != nil {
		f := accountForm{}
		status, ok := accountFormError(&f, err)
		if !ok {
			return err
		}
		v.Email, v.Role, v.Errors, v.Message = email, strings.ToLower(roleName), f.Errors, f.Message
		return render(c, status, "members", "layout", v)
	}
	// The link names the server as the invite was made through it, unless
	// that is this computer's own loopback name, which reaches no one else.
	host := c.Request().Host
	if isLoopbackHost(host) {
		host = s.shared(host)
	}
	link := s.scheme(c.Request()) + "://" + host + InvitePath + secret
	return s.showOnce(c, MembersPath, shown{InviteURL: link, InvitedFor: inv.Email + " as " + inv.Role.DisplayName()})
}

func (s *Server) revokeInvite(c echo.Context) error {
	if _, err := s.team().RevokeInvite(c.Request().Context(), pathParam(c, "id"), s.memberOf(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, MembersPath+"?done=revoked")
}

func (s *Server) changeRole(c echo.Context) error {
	role, err := app.ParseRole(c.FormValue("role"))
	if err != nil {
		return app.FieldErrorf("role", "choose Admin or Viewer")
	}
	if _, err := s.team().ChangeRole(c.Request().Context(), pathParam(c, "id"), role, s.memberOf(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, MembersPath+"?done=role")
}

func (s *Server) removeMember(c echo.Context) error {
	if _, err := s.team().Remove(c.Request().Context(), pathParam(c, "id"), s.memberOf(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, MembersPath+"?done=removed")
}

func (s *Server) transferOwnership(c echo.Context) error {
	me := s.memberOf(c)
	if me.ID == "" {
		return app.Errorf(app.EFORBIDDEN, "sign in as the Owner to transfer ownership")
	}
	if _, err := s.team().TransferOwnership(c.Request().Context(), pathParam(c, "id"), me); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, MembersPath+"?done=transferred")
}
