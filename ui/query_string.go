package ui

import (
	"errors"
	"net/url"
	"strings"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// strictQuery refuses a query string that does not decode. Go's parser
// drops a pair it cannot read and carries on, so q=%zz reached the handlers
// as no q at all, and a search answered with every entry.
func strictQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw := c.Request().URL.RawQuery
		if raw == "" {
			return next(c)
		}
		if _, err := url.ParseQuery(raw); err != nil {
			return app.Errorf(app.EINVALID, "the query string does not decode: %s; write %% as %%25 and separate parameters with &", queryProblem(err))
		}
		return next(c)
	}
}

// queryProblem says what the parser met, without Go's package prefix.
func queryProblem(err error) string {
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return "the escape %" + strings.TrimPrefix(string(esc), "%") + " is not two hexadecimal digits"
	}
	return strings.TrimPrefix(err.Error(), "invalid ")
}
