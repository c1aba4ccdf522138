package ui

import (
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
)

// demoMu keeps two clicks on "Load demo data" from loading it twice.
var demoMu sync.Mutex

// loadDemo fills an empty Audit Log with 30 days of believable activity, then
// shows it. It does nothing once anything has been recorded, so demo entries
// never mix with real ones.
func (s *Server) loadDemo(c echo.Context) error {
	demoMu.Lock()
	defer demoMu.Unlock()
	if s.Log.IsEmpty() {
		if _, err := s.Log.LoadDemo(c.Request().Context(), nil); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, PagePath)
}
