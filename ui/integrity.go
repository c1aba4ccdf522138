package ui

import (
	"net/http"

	"auditlog/app"
	"auditlog/ui/api"

	"github.com/labstack/echo/v4"
)

// integrity verifies the chain now and says what it found, with the key
// anyone can check the checkpoints (and exports) with.
func (s *Server) integrity(c echo.Context) error {
	ctx := c.Request().Context()
	v, err := s.Log.VerifyNow(ctx)
	if err != nil {
		return err
	}
	out := api.Integrity{Verification: v}
	if key := s.Log.PublicKey(); key != nil {
		out.PublicKey = app.EncodePublicKey(key)
	}
	if cp, ok, err := s.Log.LatestCheckpoint(ctx); err != nil {
		return err
	} else if ok {
		out.Checkpoint = &cp
	}
	return c.JSON(http.StatusOK, out)
}
