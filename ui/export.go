package ui

import (
	"mime"

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
	f, settings, err := s.filterOf(c)
	if err != nil {
		return err
	}
	q, err := f.Compile(settings.Location())
	if err != nil {
		return err
	}
	name := s.Log.ExportFilename(q, format, settings)
	h := c.Response().Header()
	h.Set("Content-Type", format.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "no-store")
	// The status goes out with the first byte: when the export cannot even be
	// recorded, the client gets an error instead of a file.
	_, err = s.Log.Export(c.Request().Context(), q, c.Response(), app.ExportOptions{
		Format:   format,
		Location: settings.Location(),
		Actor:    s.actorOf(c),
	})
	if err != nil && c.Response().Committed {
		// Part of the file is out; all that is left is to stop and say so.
		s.logger.Warn("export ended early", "file", name, "err", err)
		return nil
	}
	return err
}
