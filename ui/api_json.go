package ui

import (
	"net/http"
	"sync"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// pageJSON answers a list of entries. app.AppendPageJSON writes what c.JSON
// would, byte for byte, without reflecting over every field of every entry;
// a pretty-printed answer (?pretty) and a page encoding/json refuses are
// left to c.JSON, which words the refusal.
func pageJSON(c echo.Context, page *app.Page) error {
	if _, pretty := c.QueryParams()["pretty"]; pretty || c.Echo().Debug {
		return c.JSON(http.StatusOK, page)
	}
	buf := jsonBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledRender {
			jsonBuffers.Put(buf)
		}
	}()
	b, err := app.AppendPageJSON((*buf)[:0], page)
	*buf = b
	if err != nil {
		return c.JSON(http.StatusOK, page)
	}
	return c.JSONBlob(http.StatusOK, b)
}

var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}
