package ui

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDoc describes the HTTP API. It is written by hand; a test sends real
// requests through the server and checks every answer against it, so the
// document and the server cannot drift apart.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPIPath is where the document is served, without authentication: it
// describes the API, not the data.
const OpenAPIPath = "/api/v1/openapi.json"

func serveOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc)
}
