package ui

import (
	"net/http"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// QuitPath stops the app from the page, for someone who started it with a
// double-click and never saw its terminal.
const QuitPath = PagePath + "/quit"

// QuitRequested is closed when the person at the page quits. The command line
// waits on it beside the signals and then closes the server as on Ctrl-C.
func (s *Server) QuitRequested() <-chan struct{} { return s.quitting }

// quit answers with a page that says the app has stopped, then asks the
// command line to shut down. Closing the server is left to the command line:
// a graceful shutdown waits for this very answer to be sent. Shutting down
// changes nothing in the workspace, so nothing is recorded.
func (s *Server) quit(c echo.Context) error {
	if !fromThisComputer(c.Request()) {
		// A team's server stops where it runs, not from someone's browser
		// across the network.
		return app.Errorf(app.EFORBIDDEN, "Audit Log can be stopped from the page only on the computer it runs on; stop it there")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	err := render(c, http.StatusOK, "stopped", "layout", pageBase{
		Title: "Stopped", Workspace: "Audit Log", Initial: "A", PagePath: PagePath, Bare: true,
	})
	s.quitOnce.Do(func() { close(s.quitting) })
	return err
}
