package ui

import (
	"context"
	"net/http"
	"sync"

	"auditlog/app/demo"

	"github.com/labstack/echo/v4"
)

// demoMu keeps two clicks on "Load demo data" from loading it twice.
var demoMu sync.Mutex

// loadDemo fills an empty Audit Log with 30 days of believable activity, then
// shows it. It does nothing once anything else has been recorded, so demo
// entries never mix with real ones.
func (s *Server) loadDemo(c echo.Context) error {
	demoMu.Lock()
	defer demoMu.Unlock()
	// Finish the load even if the browser goes away: the request's context
	// ends with the connection. A load cut short by a crash is finished by the
	// next click, which the page keeps offering until then.
	ctx := context.WithoutCancel(c.Request().Context())
	if demo.Wanted(ctx, s.Log) {
		if _, err := demo.Load(ctx, s.Log, nil); err != nil {
			return err
		}
	}
	return c.Redirect(http.StatusSeeOther, PagePath)
}
