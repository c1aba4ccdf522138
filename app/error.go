package app

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error codes. The ui package maps each to one HTTP status, in one place.
const (
	EINVALID      = "invalid"            // the request or an event breaks a rule
	ENOTFOUND     = "not_found"          // no such entry, token or page
	EUNAUTHORIZED = "unauthorized"       // no valid credentials
	EFORBIDDEN    = "forbidden"          // valid credentials, wrong scope
	ETOOLARGE     = "too_large"          // body or batch over the limits
	EUNSUPPORTED  = "unsupported"        // a content type or format we do not speak
	EMETHOD       = "method_not_allowed" // the path exists, the method does not: the Allow header lists those that do
	ECONFLICT     = "conflict"           // the state does not allow it (e.g. data dir in use)
	ENOSPACE      = "no_space"           // the disk is full: nothing was written
	EUNAVAILABLE  = "unavailable"        // a part it needs is out of reach (a damaged or read-only store, a cluster without quorum): nothing was written; retry later
	ETHROTTLED    = "throttled"          // too many attempts (wrong passwords); wait and try again
	EINTERNAL     = "internal"           // our fault; logged, never shown in detail
)

// FieldError names one field of one event that broke a rule.
type FieldError struct {
	Index   int    `json:"index"`
	Line    int    `json:"line,omitempty"` // for NDJSON: the event's line, from 1 (see OnLines)
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the domain error: a code the caller can act on and a message a person can read.
type Error struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
	// RetryAfter, for ETHROTTLED, is how long to wait.
	RetryAfter time.Duration `json:"-"`
	// unread, for events that could not all be read, marks those whose
	// reading stopped before their fields (see Log.WithBrokenRules).
	unread map[int]bool
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	d := e.Details[0]
	if d.Line > 0 {
		return fmt.Sprintf("%s: event %d (line %d): %s: %s", e.Message, d.Index, d.Line, d.Field, d.Message)
	}
	return fmt.Sprintf("%s: event %d: %s: %s", e.Message, d.Index, d.Field, d.Message)
}

// OnLines adds to err's details the line each event was on, lines[i] being
// event i's (DecodeRequestLines): in a file of NDJSON with blank lines, the
// index alone sends a person to the wrong line. Any other error is returned
// as it is.
func OnLines(err error, lines []int) error {
	var e *Error
	if lines == nil || !errors.As(err, &e) {
		return err
	}
	for i, d := range e.Details {
		if d.Index >= 0 && d.Index < len(lines) {
			e.Details[i].Line = lines[d.Index]
		}
	}
	return err
}

// MaxDetails is how many problems an answer lists. A batch can hold far
// more (a 5 MiB event of half a million unknown fields), and listing them
// all made an answer of 32 MB.
const MaxDetails = 100

// invalidEvents answers a batch that breaks the rules: its problems in the
// order of its events, each event's by field, the first MaxDetails of them.
func invalidEvents(message string, details []FieldError) *Error {
	slices.SortFunc(details, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), strings.Compare(a.Field, b.Field), strings.Compare(a.Message, b.Message))
	})
	if len(details) > MaxDetails {
		message += fmt.Sprintf("; the first %d of %d problems are listed", MaxDetails, len(details))
		details = details[:MaxDetails:MaxDetails]
	}
	return &Error{Code: EINVALID, Message: message, Details: details}
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err that is safe to show to a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Quoted quotes what a request sent, for a message that names it, Clipped.
func Quoted(s string) string {
	clipped := Clip(s)
	if len(clipped) == len(s) {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.TrimSuffix(clipped, "…")) + "…"
}

// Clip shortens what a request sent to at most 64 bytes, cut at a
// character, and "…" for the rest: an answer to a 100 KB metadata key, or to
// an id of thousands of characters, must not be as long again.
func Clip(s string) string {
	const most = 64
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
