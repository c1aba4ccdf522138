package ui

import (
	"bytes"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"

	"auditlog/app"
	"auditlog/assets"

	"github.com/labstack/echo/v4"
)

// serveAsset serves an embedded file. Addressed with its current content
// hash (?v=, as the page links it), it may be cached for a year; otherwise
// the browser checks back each time, with the hash as its ETag.
func serveAsset(c echo.Context) error {
	name := c.Param("name")
	b, err := fs.ReadFile(assets.FS(), name)
	if err != nil || name != path.Base(name) {
		return app.Errorf(app.ENOTFOUND, "no asset %q", name)
	}
	h := c.Response().Header()
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "text/plain; charset=utf-8" // the licence file
	}
	h.Set("Content-Type", ctype)
	version := assets.Version(name)
	if c.QueryParam("v") == version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+version+`"`)
	http.ServeContent(c.Response(), c.Request(), name, time.Time{}, bytes.NewReader(b))
	return nil
}
