package ui

import (
	"mime"
	"net/http"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// export streams every entry the current search shows as a file download.
// Nothing is buffered: a million entries cost no more memory than fifty.
func (s *Server) export(c echo.Context) error {
	format, err := app.ParseExportFormat(c.QueryParam("format"))
	if err != nil {
		return err
	}
	q, err := s.filterOf(c)
	if err != nil {
		return err
	}
	settings, err := s.Log.Settings(c.Request().Context())
	if err != nil {
		return err
	}
	name := s.Log.ExportFilename(q, format, settings)
	h := c.Response().Header()
	h.Set("Content-Type", format.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	_, err = s.Log.Export(c.Request().Context(), q, c.Response(), app.ExportOptions{
		Format:   format,
		Location: settings.Location(),
		Actor:    s.actorOf(c),
	})
	if err != nil {
		// The status is sent; all we can do is stop and say so in the log.
		s.logger.Warn("export ended early", "file", name, "err", err)
	}
	return nil
}
