package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

type tokenRequest struct {
	Label  string          `json:"label"`
	Scopes json.RawMessage `json:"scopes"` // ["ingest","read"] or "ingest,read"
}

type createdToken struct {
	Token  app.Token `json:"token"`
	Secret string    `json:"secret"` // shown this once; only its hash is kept
}

// createToken makes an API token; the secret is in this answer and nowhere else.
func (s *Server) createToken(c echo.Context) error {
	var req tokenRequest
	if err := app.DecodeObject(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10), &req, `{"label": "ci-deploy", "scopes": ["ingest"]}`); err != nil {
		return err
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
	secret, tok, err := s.Log.CreateToken(c.Request().Context(), req.Label, scopes, s.actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdToken{Token: tok, Secret: secret})
}

func (s *Server) listTokens(c echo.Context) error {
	toks, err := s.Log.Tokens(c.Request().Context())
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []app.Token{}
	}
	return c.JSON(http.StatusOK, map[string][]app.Token{"tokens": toks})
}

func (s *Server) revokeToken(c echo.Context) error {
	tok, err := s.Log.RevokeToken(c.Request().Context(), pathParam(c, "id"), s.actorOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]app.Token{"token": tok})
}

// Workspace is what a client needs to show entries as the page does.
type Workspace struct {
	Name          string `json:"name"`
	Timezone      string `json:"timezone"` // IANA name
	RetentionDays int    `json:"retention_days"`
}

// WorkspaceOf describes the log's workspace as the API does.
func WorkspaceOf(ctx context.Context, log *app.Log) (Workspace, error) {
	settings := log.Settings()
	return Workspace{
		Name:          settings.Workspace,
		Timezone:      settings.Location().String(),
		RetentionDays: int(log.Retention().Hours() / 24),
	}, nil
}

func (s *Server) workspace(c echo.Context) error {
	w, err := WorkspaceOf(c.Request().Context(), s.Log)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

type workspaceUpdate struct {
	Name     *string `json:"name"`
	Timezone *string `json:"timezone"` // IANA name; "" for this computer's zone
}

// updateWorkspace renames the workspace or changes its timezone; the change is
// recorded as a workspace_settings_updated entry.
func (s *Server) updateWorkspace(c echo.Context) error {
	var req workspaceUpdate
	if err := app.DecodeObject(http.MaxBytesReader(c.Response(), c.Request().Body, 64<<10), &req, `{"name": "Acme Data", "timezone": "Europe/Berlin"}`); err != nil {
		return err
	}
	if _, err := s.Log.ChangeSettings(c.Request().Context(), app.SettingsChange{Workspace: req.Name, Timezone: req.Timezone}, s.actorOf(c)); err != nil {
		return err
	}
	return s.workspace(c)
}
