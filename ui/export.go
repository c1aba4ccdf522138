package ui

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"auditlog/app"
	"auditlog/ui/api"

	"github.com/labstack/echo/v4"
)

// export streams every entry the current search shows as a file download.
// Nothing is buffered: a million entries cost no more memory than fifty.
func (s *Server) export(c echo.Context) error {
	if err := onlyParams(c, exportParams); err != nil {
		return err
	}
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
	// The file's headers go out with its first byte, not before: when the
	// export cannot even be recorded, the client gets the error as the error
	// it is, not as a download named ….csv that holds JSON.
	expected := -1
	w := &attachment{w: c.Response(), header: func(h http.Header) {
		h.Set("Content-Type", format.ContentType())
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		h.Set("Cache-Control", "no-store")
		h.Set("Trailer", api.EntriesTrailer)
		if expected >= 0 {
			h.Set(api.ExpectedHeader, strconv.Itoa(expected))
		}
	}}
	n, err := s.Log.Export(c.Request().Context(), q, w, app.ExportOptions{
		Format:   format,
		Location: settings.Location(),
		Actor:    s.actorOf(c),
		Counted:  func(total int) { expected = total },
	})
	if err != nil && c.Response().Committed {
		// Part of the file is out. Ending the response normally would make
		// it look whole to whoever saves it; the connection is cut instead,
		// so that a client sees a download that failed.
		s.logger.Warn("export ended early", "file", name, "err", err)
		panic(http.ErrAbortHandler)
	}
	if err == nil {
		c.Response().Header().Set(api.EntriesTrailer, strconv.Itoa(n))
	}
	return err
}

// attachment sets a download's headers just before its first byte.
type attachment struct {
	w       *echo.Response
	header  func(http.Header)
	started bool
}

var _ io.Writer = (*attachment)(nil)

func (a *attachment) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.header(a.w.Header())
	}
	return a.w.Write(p)
}
