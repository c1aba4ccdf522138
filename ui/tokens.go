package ui

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"auditlog/app"
	"auditlog/ui/api"

	"github.com/labstack/echo/v4"
)

// tokenRequest is api.TokenRequest read leniently: scopes may also come as
// one comma-separated string, "ingest,read", as people type them in curl;
// the expiry is read as an event's time is, its T and Z in either case.
type tokenRequest struct {
	Label     string          `json:"label"`
	Scopes    json.RawMessage `json:"scopes"`
	ExpiresAt json.RawMessage `json:"expires_at"`
	Owner     string          `json:"owner"`
}

// expiry reads expires_at: none, or an RFC 3339 time.
func (r *tokenRequest) expiry() (*time.Time, error) {
	var s *string
	if len(r.ExpiresAt) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(r.ExpiresAt, &s); err == nil && s == nil {
		return nil, nil // null
	}
	if s != nil {
		if t, ok := app.ParseTimestamp(*s); ok {
			return &t, nil
		}
	}
	return nil, app.Errorf(app.EINVALID, "expires_at: must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
}

// tokenCommand is the first-run card's command for creating a token: the
// one the command line gave, else the plain one.
func (s *Server) tokenCommand() string {
	if s.TokenCommand != "" {
		return s.TokenCommand
	}
	return "auditlog token create --label my-system --scopes ingest"
}

// createToken makes an API token; the secret is in this answer and nowhere else.
func (s *Server) createToken(c echo.Context) error {
	var req tokenRequest
	if err := decodeSettingsBody(c, &req, `{"label": "ci-deploy", "scopes": ["ingest"]}`); err != nil {
		return err
	}
	expires, err := req.expiry()
	if err != nil {
		return err
	}
	if expires != nil && !expires.After(s.Log.Now()) {
		// The store says "expires", as the command line and the page call it.
		return app.Errorf(app.EINVALID, "expires_at: must be in the future")
	}
	var list []string
	var joined string
	switch {
	case len(req.Scopes) == 0:
	case json.Unmarshal(req.Scopes, &list) == nil:
		joined = strings.Join(list, ",")
	case json.Unmarshal(req.Scopes, &joined) == nil:
	default:
		return app.Errorf(app.EINVALID, "scopes: must be a list such as [\"ingest\", \"read\"]")
	}
	scopes, err := app.ParseScopes(joined)
	if err != nil {
		return err
	}
	spec := app.TokenSpec{Label: req.Label, Scopes: scopes, ExpiresAt: expires, Owner: req.Owner}
	s.makerOf(c, &spec)
	secret, tok, err := s.Log.CreateTokenWith(c.Request().Context(), spec, s.actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, api.CreatedToken{Token: tok, Secret: secret})
}

// regenerateToken gives a token a new secret; the old one stops at once.
func (s *Server) regenerateToken(c echo.Context) error {
	var by app.TokenSpec
	s.makerOf(c, &by)
	secret, tok, err := s.Log.RegenerateTokenWith(c.Request().Context(), pathParam(c, "id"), by, s.actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.RegeneratedToken{Token: tok, Secret: secret})
}

func (s *Server) listTokens(c echo.Context) error {
	toks, err := s.Log.Tokens(c.Request().Context())
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []app.Token{}
	}
	return c.JSON(http.StatusOK, api.TokenList{Tokens: toks})
}

func (s *Server) revokeToken(c echo.Context) error {
	tok, err := s.Log.RevokeToken(c.Request().Context(), pathParam(c, "id"), s.actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.RevokedToken{Token: tok})
}

// WorkspaceOf describes the log's workspace as the API does.
func WorkspaceOf(log *app.Log) api.Workspace {
	settings := log.Settings()
	r := log.Retention()
	var system string
	if settings.ZoneName() == app.SystemZone {
		system = app.SystemZoneName()
	}
	return api.Workspace{
		Name:           settings.Workspace,
		Timezone:       settings.ZoneName(),
		SystemTimezone: system,
		RetentionDays:  int(r / (24 * time.Hour)),
		RetentionHours: int(r / time.Hour),
		Retention:      app.FormatRetention(r),
		Plan:           string(settings.PlanOf()),
	}
}

// requestedRetention reads the retention a PATCH of the workspace asks for,
// current being the retention now; nil: none asked, or the one there is.
func requestedRetention(req api.WorkspaceUpdate, current time.Duration) (*time.Duration, error) {
	days, hours := req.RetentionDays, req.RetentionHours
	if days != nil && (*days < 1 || *days > 3650) {
		return nil, app.Errorf(app.EINVALID, "retention_days: must be a whole number from 1 to 3650")
	}
	if hours != nil && (*hours < 24 || *hours > 3650*24) {
		return nil, app.Errorf(app.EINVALID, "retention_hours: must be a whole number from 24 to 87600 (1 to 3650 days)")
	}
	var d time.Duration
	switch {
	case hours != nil && days != nil && *days != *hours/24:
		return nil, app.Errorf(app.EINVALID, "retention_days and retention_hours: %d days is not %d hours; send one of them", *days, *hours)
	case hours != nil:
		d = time.Duration(*hours) * time.Hour
	case days == nil:
		return nil, nil
	case *days == int(current/(24*time.Hour)):
		return nil, nil // the days GET shows: a retention in hours stays as it is
	default:
		d = time.Duration(*days) * 24 * time.Hour
	}
	return &d, nil
}

func (s *Server) workspace(c echo.Context) error {
	return c.JSON(http.StatusOK, WorkspaceOf(s.Log))
}

// updateWorkspace changes the workspace's name, timezone, retention or plan;
// each change is recorded as a space_settings_updated entry.
func (s *Server) updateWorkspace(c echo.Context) error {
	var req api.WorkspaceUpdate
	if err := decodeSettingsBody(c, &req, `{"name": "Acme Data", "timezone": "Europe/Berlin"}`); err != nil {
		return err
	}
	now := WorkspaceOf(s.Log)
	if req.SystemTimezone != nil && *req.SystemTimezone != now.SystemTimezone {
		return app.Errorf(app.EINVALID, "system_timezone: is the server computer's zone (%q), which nothing here sets; set timezone", now.SystemTimezone)
	}
	if req.Retention != nil && *req.Retention != now.Retention {
		return app.Errorf(app.EINVALID, "retention: is how GET says the retention (%q); set retention_days or retention_hours", now.Retention)
	}
	change := app.SettingsChange{Workspace: req.Name, Timezone: req.Timezone}
	retention, err := requestedRetention(req, s.Log.Retention())
	if err != nil {
		return err
	}
	change.Retention = retention
	if req.Plan != nil {
		p, err := app.ParsePlan(*req.Plan)
		if err != nil {
			return err
		}
		change.Plan = &p
	}
	if _, err := s.Log.ChangeSettings(c.Request().Context(), change, s.actorOf(c)); err != nil {
		return err
	}
	return s.workspace(c)
}
