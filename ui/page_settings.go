package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// Where the settings pages live, as in the product's navigation.
const (
	GeneralPath      = "/settings/general"
	TokensPath       = "/settings/security/api-tokens"
	ServiceUsersPath = "/settings/security/service-users"
)

// settingsRoutes serves General, API Tokens and Service Users. Each is for
// admins only: a token list and the workspace's plan are not a viewer's to
// see or change. Every form posts with the session's CSRF token.
func (s *Server) settingsRoutes() {
	e := s.echo
	admin := []echo.MiddlewareFunc{s.requireSession, s.requireRole(app.RoleAdmin)}
	e.GET(GeneralPath, s.generalPage, admin...)
	e.POST(GeneralPath, s.saveGeneral, admin...)
	e.GET(TokensPath, s.tokensPage, admin...)
	e.POST(TokensPath, s.createTokenPage, admin...)
	e.POST(TokensPath+"/:id/regenerate", s.regenerateTokenPage, admin...)
	e.POST(TokensPath+"/:id/revoke", s.revokeTokenPage, admin...)
	e.GET(ServiceUsersPath, s.serviceUsersPage, admin...)
	e.POST(ServiceUsersPath, s.createServiceUserPage, admin...)
	e.POST(ServiceUsersPath+"/:id/rename", s.renameServiceUserPage, admin...)
	e.POST(ServiceUsersPath+"/:id/disable", s.disableServiceUserPage, admin...)
	e.POST(ServiceUsersPath+"/:id/enable", s.enableServiceUserPage, admin...)
	e.POST(ServiceUsersPath+"/:id/delete", s.deleteServiceUserPage, admin...)
}

// formErrors are messages shown beside the fields they are about.
type formErrors map[string]string

// fieldError splits an app error's "field: message" into the two.
func fieldError(err error) (string, string, bool) {
	if app.ErrorCode(err) != app.EINVALID {
		return "", "", false
	}
	msg := app.ErrorMessage(err)
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.Contains(field, " ") {
		return "", msg, true
	}
	return field, rest, true
}

// stamp is a time as the settings pages show it, in the workspace's zone.
func stamp(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// expiryOf says when a token stops working: the form's expiry is a day,
// shown as that day (app.ValidThrough).
func expiryOf(t time.Time, loc *time.Location) string {
	if day, ok := app.ValidThrough(t, loc); ok {
		return "through " + day
	}
	return stamp(t, loc)
}

// ---- General ----

type generalView struct {
	pageBase
	Name, Timezone, RetentionDays string
	Plan                          string
	Plans                         []planOption
	Zones                         []string
	Now                           string // the time now in the workspace's zone
	Errors                        formErrors
	Saved                         bool
	// Confirm is set when a shorter retention waits for confirmation.
	Confirm *retentionConfirm
	// Exact is the retention, when it is no whole number of days (set on
	// the command line in hours): the days field shows it rounded down,
	// and leaves it as it is while the field says so.
	Exact string
}

// shownDays is how the days field shows retention r: whole days, rounded
// down, at least 1.
func shownDays(r time.Duration) string { return strconv.Itoa(max(1, int(r/(24*time.Hour)))) }

type planOption struct {
	Value, Label, About string
	Checked             bool
}

type retentionConfirm struct {
	From, To string
	Count    int
	// Key is what the confirmation is for: the days, the retention they
	// lower and how many entries go. A form with another asks again.
	Key string
}

var planAbout = map[app.Plan]string{
	app.PlanFree:       "Entries are recorded, but the Audit Log cannot be read, searched or exported.",
	app.PlanPro:        "The Audit Log: search, filters, exports and tamper evidence.",
	app.PlanEnterprise: "Everything in Pro, for larger organisations.",
}

func (s *Server) generalView(c echo.Context) generalView {
	base, settings := s.base(c, "General")
	base.Nav = "general"
	v := generalView{
		pageBase:      base,
		Name:          settings.Workspace,
		Timezone:      settings.ZoneName(),
		RetentionDays: shownDays(s.Log.Retention()),
		Plan:          string(settings.PlanOf()),
		Zones:         app.ZoneNames,
		Now:           stamp(s.Log.Now(), settings.Location()),
		Errors:        formErrors{},
	}
	if r := s.Log.Retention(); r%(24*time.Hour) != 0 {
		v.Exact = app.FormatRetention(r)
	}
	return v
}

func (v *generalView) fillPlans() {
	for _, p := range app.Plans {
		v.Plans = append(v.Plans, planOption{Value: string(p), Label: p.DisplayName(), About: planAbout[p], Checked: string(p) == v.Plan})
	}
}

func (s *Server) generalPage(c echo.Context) error {
	v := s.generalView(c)
	v.Saved = c.QueryParam("saved") != ""
	v.fillPlans()
	c.Response().Header().Set("Cache-Control", "no-store")
	return renderPage(c, "general", v)
}

// saveGeneral changes what the form changed. A shorter retention deletes
// entries for good, so it first answers with how many and asks again.
func (s *Server) saveGeneral(c echo.Context) error {
	v := s.generalView(c)
	v.Name = c.FormValue("name")
	v.Timezone = c.FormValue("timezone")
	v.RetentionDays = strings.TrimSpace(c.FormValue("retention_days"))
	v.Plan = c.FormValue("plan")
	var change app.SettingsChange
	change.Workspace = &v.Name
	tz := strings.TrimSpace(v.Timezone)
	if tz == "" {
		tz = app.SystemZone
	}
	change.Timezone = &tz
	days, err := strconv.Atoi(v.RetentionDays)
	switch current := s.Log.Retention(); {
	case v.Exact != "" && v.RetentionDays == shownDays(current):
		// A retention in hours the field cannot show stays as it is until
		// the days are changed: saving a new name must not change it.
	case err != nil || days < 1 || days > 3650:
		v.Errors["retention_days"] = "A whole number of days from 1 to 3650."
	default:
		d := time.Duration(days) * 24 * time.Hour
		change.Retention = &d
	}
	plan, err := app.ParsePlan(v.Plan)
	if err != nil {
		v.Errors["plan"] = "Choose Free, Pro or Enterprise."
	} else {
		change.Plan = &plan
	}
	if _, _, err := app.LoadZone(tz); err != nil {
		v.Errors["timezone"] = "Not a known timezone: pick one from the list, such as Europe/Berlin."
	}
	if name := strings.TrimSpace(v.Name); name == "" || len(name) > 80 {
		v.Errors["name"] = "1 to 80 characters."
	}
	// A lower retention deletes entries for good: it is done only when the
	// form confirms just what the warning said, the retention it lowers,
	// the days it lowers it to and how many entries that deletes. Confirmed
	// for 28 days, a form sent with 26 asks again, saying how many more it
	// deletes; so does one confirmed before someone else changed the
	// retention, or before older entries were imported.
	if current := s.Log.Retention(); len(v.Errors) == 0 && change.Retention != nil && *change.Retention < current {
		n, err := s.Log.ExpiredBy(c.Request().Context(), *change.Retention)
		if err != nil {
			return err
		}
		confirm := retentionConfirm{From: app.FormatRetention(current), To: app.FormatRetention(*change.Retention), Count: n}
		confirm.Key = fmt.Sprintf("%s/%d/%d", v.RetentionDays, current/time.Second, n)
		if c.FormValue("confirm") != confirm.Key {
			v.Confirm = &confirm
		}
		change.RetentionWas = &current // as confirmed, or nothing is saved
	}
	if len(v.Errors) > 0 || v.Confirm != nil {
		v.fillPlans()
		status := http.StatusOK
		if len(v.Errors) > 0 {
			status = http.StatusBadRequest
		}
		return render(c, status, "general", "layout", v)
	}
	if _, err := s.Log.ChangeSettings(c.Request().Context(), change, s.actorOf(c)); err != nil {
		status := http.StatusBadRequest
		field, msg, ok := fieldError(err)
		if app.ErrorCode(err) == app.ECONFLICT { // the retention changed under the confirmation
			status, field, msg, ok = http.StatusConflict, "retention", strings.TrimPrefix(app.ErrorMessage(err), "retention: "), true
		}
		if !ok {
			return err
		}
		if field == "retention" { // the app's name for what the form calls retention_days
			field = "retention_days"
		}
		v.Errors[field] = msg
		v.fillPlans()
		return render(c, status, "general", "layout", v)
	}
	return c.Redirect(http.StatusSeeOther, GeneralPath+"?saved=1")
}

// ---- API Tokens ----

type tokensView struct {
	pageBase
	Tokens       []tokenRow
	ServiceUsers []app.ServiceUser
	Form         tokenForm
	Errors       formErrors
	// Secret is shown once, right after it is made, and never again.
	Secret      string
	SecretLabel string
	SecretVerb  string // "created" or "regenerated"
	Notice      string
}

type tokenForm struct {
	Label, Expires, Owner string
	Scopes                map[string]bool
}

type tokenRow struct {
	app.Token
	ScopeList, Created, LastUsed, Expires, Owner, EntriesURL string
	IsExpired, OwnerDisabled                                 bool
}

func (s *Server) tokensView(c echo.Context) (tokensView, error) {
	ctx := c.Request().Context()
	base, settings := s.base(c, "API Tokens")
	base.Nav = "api-tokens"
	loc := settings.Location()
	v := tokensView{pageBase: base, Errors: formErrors{}, Form: tokenForm{Scopes: map[string]bool{}}}
	toks, err := s.Log.Tokens(ctx)
	if err != nil {
		return v, err
	}
	now := s.Log.Now()
	for _, t := range toks {
		r := tokenRow{Token: t, Created: stamp(t.CreatedAt, loc), Owner: t.OwnerName, EntriesURL: PagePath + "?q=" + url.QueryEscape(t.ID+" OR "+t.Fingerprint)}
		names := make([]string, len(t.Scopes))
		for i, sc := range t.Scopes {
			names[i] = string(sc)
		}
		r.ScopeList = strings.Join(names, ", ")
		if t.LastUsedAt != nil {
			r.LastUsed = stamp(*t.LastUsedAt, loc)
		}
		if t.ExpiresAt != nil {
			r.Expires = expiryOf(*t.ExpiresAt, loc)
			r.IsExpired = !now.Before(*t.ExpiresAt)
		}
		v.Tokens = append(v.Tokens, r)
	}
	v.ServiceUsers, err = s.Log.ServiceUsers(ctx)
	// A disabled service user's tokens are refused: the list says so, not
	// only their failing requests.
	for i, r := range v.Tokens {
		for _, su := range v.ServiceUsers {
			v.Tokens[i].OwnerDisabled = v.Tokens[i].OwnerDisabled || (su.ID == r.Token.Owner && su.Disabled)
		}
	}
	return v, err
}

func (s *Server) tokensPage(c echo.Context) error {
	v, err := s.tokensView(c)
	if err != nil {
		return err
	}
	sh := s.takeShown(c)
	v.Notice, v.Secret, v.SecretLabel, v.SecretVerb = sh.Notice, sh.Secret, sh.SecretLabel, sh.SecretVerb
	return s.renderSecretPage(c, http.StatusOK, "api_tokens", v)
}

// renderSecretPage keeps the page out of every cache: it may hold a secret.
func (s *Server) renderSecretPage(c echo.Context, status int, view string, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, status, view, "layout", v)
}

func (s *Server) createTokenPage(c echo.Context) error {
	v, err := s.tokensView(c)
	if err != nil {
		return err
	}
	settings := s.Log.Settings()
	form, _ := c.FormParams()
	v.Form = tokenForm{Label: form.Get("label"), Expires: form.Get("expires"), Owner: form.Get("owner"), Scopes: map[string]bool{}}
	var scopes []app.Scope
	for _, sc := range form["scopes"] {
		v.Form.Scopes[sc] = true
	}
	parsed, err := app.ParseScopes(strings.Join(form["scopes"], ","))
	if err != nil {
		v.Errors["scopes"] = "Choose at least one scope."
	} else {
		scopes = parsed
	}
	spec := app.TokenSpec{Label: v.Form.Label, Scopes: scopes, Owner: v.Form.Owner}
	if v.Form.Expires != "" {
		end, err := app.ParseDayEnd(v.Form.Expires, settings.Location()) // valid through the whole day chosen
		if err != nil {
			v.Errors["expires"] = "A date such as 2027-01-31, or leave it empty for no expiry."
		} else {
			if !end.After(s.Log.Now()) {
				v.Errors["expires"] = "The expiry must be in the future."
			}
			spec.ExpiresAt = &end
		}
	}
	if l := strings.TrimSpace(v.Form.Label); l == "" || len(l) > 64 {
		v.Errors["label"] = "1 to 64 characters, such as ci-deploy."
	}
	if len(v.Errors) == 0 {
		s.makerOf(c, &spec)
		secret, tok, err := s.Log.CreateTokenWith(c.Request().Context(), spec, s.actorOf(c))
		if err == nil {
			return s.showOnce(c, TokensPath, shown{Secret: secret, SecretLabel: tok.Label, SecretVerb: "created"})
		}
		field, msg, ok := fieldError(err)
		if !ok {
			return err
		}
		if field == "" {
			field = "label"
		}
		v.Errors[field] = msg
	}
	return s.renderSecretPage(c, http.StatusBadRequest, "api_tokens", v)
}

func (s *Server) regenerateTokenPage(c echo.Context) error {
	var by app.TokenSpec
	s.makerOf(c, &by)
	secret, tok, err := s.Log.RegenerateTokenWith(c.Request().Context(), pathParam(c, "id"), by, s.actorOf(c))
	if err != nil {
		return err
	}
	return s.showOnce(c, TokensPath, shown{Secret: secret, SecretLabel: tok.Label, SecretVerb: "regenerated"})
}

func (s *Server) revokeTokenPage(c echo.Context) error {
	tok, err := s.Log.RevokeToken(c.Request().Context(), pathParam(c, "id"), s.actorOf(c))
	if err != nil {
		return err
	}
	return s.showOnce(c, TokensPath, shown{Notice: "Revoked API token “" + tok.Label + "”: it no longer works."})
}

// ---- Service Users ----

type serviceUsersView struct {
	pageBase
	Users  []serviceUserRow
	Name   string
	Errors formErrors
	// RenameErrors: a failed rename's message, by service user id.
	RenameErrors map[string]string
	Notice       string
}

type serviceUserRow struct {
	app.ServiceUser
	Created string
	Tokens  []string
}

func (s *Server) serviceUsersView(c echo.Context) (serviceUsersView, error) {
	ctx := c.Request().Context()
	base, settings := s.base(c, "Service Users")
	base.Nav = "service-users"
	v := serviceUsersView{pageBase: base, Errors: formErrors{}, RenameErrors: map[string]string{}}
	users, err := s.Log.ServiceUsers(ctx)
	if err != nil {
		return v, err
	}
	toks, err := s.Log.Tokens(ctx)
	if err != nil {
		return v, err
	}
	for _, u := range users {
		r := serviceUserRow{ServiceUser: u, Created: stamp(u.CreatedAt, settings.Location())}
		for _, t := range toks {
			if t.Owner == u.ID {
				r.Tokens = append(r.Tokens, t.Label)
			}
		}
		v.Users = append(v.Users, r)
	}
	return v, nil
}

func (s *Server) serviceUsersPage(c echo.Context) error {
	v, err := s.serviceUsersView(c)
	if err != nil {
		return err
	}
	v.Notice = s.takeShown(c).Notice
	return renderPage(c, "service_users", v)
}

func (s *Server) createServiceUserPage(c echo.Context) error {
	name := c.FormValue("name")
	_, err := s.Log.CreateServiceUser(c.Request().Context(), name, s.actorOf(c))
	if err == nil {
		return s.showOnce(c, ServiceUsersPath, shown{Notice: "Created service user “" + strings.TrimSpace(name) + "”."})
	}
	_, msg, ok := fieldError(err)
	if !ok {
		return err
	}
	v, verr := s.serviceUsersView(c)
	if verr != nil {
		return verr
	}
	v.Name, v.Errors["name"] = name, msg
	return render(c, http.StatusBadRequest, "service_users", "layout", v)
}

func (s *Server) renameServiceUserPage(c echo.Context) error {
	id := pathParam(c, "id")
	su, err := s.Log.RenameServiceUser(c.Request().Context(), id, c.FormValue("name"), s.actorOf(c))
	if err == nil {
		return s.showOnce(c, ServiceUsersPath, shown{Notice: "Renamed the service user to “" + su.Name + "”."})
	}
	_, msg, ok := fieldError(err)
	if !ok {
		return err
	}
	v, verr := s.serviceUsersView(c)
	if verr != nil {
		return verr
	}
	v.RenameErrors[id] = msg
	return render(c, http.StatusBadRequest, "service_users", "layout", v)
}

func (s *Server) setServiceUserDisabled(c echo.Context, disabled bool) error {
	su, err := s.Log.SetServiceUserDisabled(c.Request().Context(), pathParam(c, "id"), disabled, s.actorOf(c))
	if err != nil {
		return err
	}
	msg := "Disabled service user “" + su.Name + "”: its API tokens no longer work."
	if !disabled {
		msg = "Enabled service user “" + su.Name + "” again."
	}
	return s.showOnce(c, ServiceUsersPath, shown{Notice: msg})
}

func (s *Server) disableServiceUserPage(c echo.Context) error {
	return s.setServiceUserDisabled(c, true)
}
func (s *Server) enableServiceUserPage(c echo.Context) error {
	return s.setServiceUserDisabled(c, false)
}

func (s *Server) deleteServiceUserPage(c echo.Context) error {
	su, err := s.Log.DeleteServiceUser(c.Request().Context(), pathParam(c, "id"), s.actorOf(c))
	if err != nil {
		return err
	}
	return s.showOnce(c, ServiceUsersPath, shown{Notice: "Deleted service user “" + su.Name + "” and revoked its API tokens."})
}

// planAllows answers a read of the Audit Log on a plan without it.
func (s *Server) planAllows(_ context.Context) error {
	if !s.Log.Settings().PlanOf().HasAuditLog() {
		return app.Errorf(app.EFORBIDDEN, "%s", app.AuditLogNeedsPro)
	}
	return nil
}

// requirePlan guards the Audit Log's read and export API.
func (s *Server) requirePlan(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.planAllows(c.Request().Context()); err != nil {
			return err
		}
		return next(c)
	}
}

// proNotice stands in for the Audit Log on a plan without it: what the
// feature is, that it needs Pro, and, for those who may, where to change the plan.
func (s *Server) proNotice(c echo.Context, base pageBase) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if isHTMX(c.Request()) {
		return app.Errorf(app.EFORBIDDEN, "%s", app.AuditLogNeedsPro)
	}
	return render(c, http.StatusForbidden, "pro_notice", "layout", struct {
		pageBase
		GeneralPath string
	}{base, GeneralPath})
}
