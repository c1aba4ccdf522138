package ui

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"auditlog/app"
	"auditlog/ui/api"

	"github.com/labstack/echo/v4"
)

// statusOf is the one place where domain error codes become HTTP statuses.
var statusOf = map[string]int{
	app.EINVALID:      http.StatusBadRequest,
	app.ENOTFOUND:     http.StatusNotFound,
	app.EUNAUTHORIZED: http.StatusUnauthorized,
	app.EFORBIDDEN:    http.StatusForbidden,
	app.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	app.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	app.EMETHOD:       http.StatusMethodNotAllowed,
	app.ECONFLICT:     http.StatusConflict,
	app.ENOSPACE:      http.StatusInsufficientStorage,
	app.EUNAVAILABLE:  http.StatusServiceUnavailable,
	app.ETHROTTLED:    http.StatusTooManyRequests,
	app.EINTERNAL:     http.StatusInternalServerError,
}

// codeOf maps statuses that Echo itself produces (unknown route, wrong method) back to codes.
var codeOf = map[int]string{
	http.StatusBadRequest:            app.EINVALID,
	http.StatusNotFound:              app.ENOTFOUND,
	http.StatusMethodNotAllowed:      app.EMETHOD,
	http.StatusUnauthorized:          app.EUNAUTHORIZED,
	http.StatusForbidden:             app.EFORBIDDEN,
	http.StatusRequestEntityTooLarge: app.ETOOLARGE,
	http.StatusUnsupportedMediaType:  app.EUNSUPPORTED,
	http.StatusTooManyRequests:       app.ETHROTTLED,
}

// errorHandler answers every failed request: JSON for the API, a short page
// otherwise. Only internal errors are logged, and their details never leave.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var appErr *app.Error
	var httpErr *echo.HTTPError
	switch {
	case errors.As(err, &appErr):
	case errors.As(err, &httpErr):
		code, ok := codeOf[httpErr.Code]
		if !ok {
			code = app.EINTERNAL
		}
		msg, _ := httpErr.Message.(string)
		if msg == "" {
			msg = http.StatusText(httpErr.Code)
		}
		appErr = &app.Error{Code: code, Message: msg}
		if httpErr.Code == http.StatusNotFound && errors.Is(err, echo.ErrNotFound) && strings.HasPrefix(c.Request().URL.Path, "/api/") {
			appErr.Message = fmt.Sprintf("no such endpoint: %s %s; %s lists them", c.Request().Method, c.Request().URL.Path, OpenAPIPath)
		}
		if httpErr.Code == http.StatusMethodNotAllowed {
			if allow := c.Response().Header().Get(echo.HeaderAllow); allow != "" {
				appErr.Message = fmt.Sprintf("%s is not allowed on %s; allowed: %s", c.Request().Method, c.Request().URL.Path, allow)
			}
			_ = c.JSON(httpErr.Code, api.ErrorBody{Error: appErr})
			return
		}
	default:
		appErr = &app.Error{Code: app.EINTERNAL, Message: "internal error"}
	}
	status := statusOf[appErr.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		s.logger.Error("request failed", slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path), slog.Any("err", err))
		if status == http.StatusInternalServerError { // a full or damaged disk is worth telling; a bug's details are not
			appErr = &app.Error{Code: app.EINTERNAL, Message: "internal error; see the server log"}
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if wantsHTML(c) {
		s.renderError(c, status, appErr)
		return
	}
	_ = c.JSON(status, api.ErrorBody{Error: appErr})
}
