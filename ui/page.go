package ui

import (
	"html/template"
	"net/http"
	"strings"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// pageRoutes serves the Audit Log page. Until the page lands, a placeholder.
func (s *Server) pageRoutes() {
	s.echo.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, PagePath) })
	s.echo.GET(PagePath, func(c echo.Context) error {
		return c.HTML(http.StatusOK, "<!doctype html><title>Audit Log</title><h1>Audit Log</h1><p>The page is coming; use the API meanwhile.</p>")
	}, s.requireSession)
}

func wantsHTML(c echo.Context) bool {
	r := c.Request()
	return r.Method == http.MethodGet && !isAPI(r.URL.Path) && (r.Header.Get("HX-Request") != "" || acceptsHTML(r))
}

func isAPI(path string) bool { return strings.HasPrefix(path, "/api/") }

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Audit Log</title><h1>{{.Title}}</h1><p>{{.Message}}</p></html>`))

func (s *Server) renderError(c echo.Context, status int, err *app.Error) {
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().WriteHeader(status)
	_ = errorPage.Execute(c.Response(), map[string]string{"Title": http.StatusText(status), "Message": err.Message})
}
