package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// DecodeEvents reads events as clients send them: one JSON object, a JSON
// array of objects, or (ndjson) one object per line. Every problem is reported
// against the event's index and field, the way validation errors are, so a
// client learns from one answer everything that is wrong.
func DecodeEvents(r io.Reader, ndjson bool) ([]Event, error) {
	var raws []json.RawMessage
	if ndjson {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || isProofLine(line) {
				continue // an export's proof line: exports are taken back as they are
			}
			if len(raws) == MaxBatch {
				return nil, Errorf(ETOOLARGE, "more than %d events in one request", MaxBatch)
			}
			raws = append(raws, json.RawMessage(bytes.Clone(line)))
		}
		if err := sc.Err(); err != nil {
			return nil, readError(err)
		}
	} else {
		body, err := io.ReadAll(r)
		if err != nil {
			return nil, readError(err)
		}
		body = bytes.TrimSpace(body)
		switch {
		case len(body) == 0:
			return nil, Errorf(EINVALID, "the body is empty: send one JSON object, an array of objects, or NDJSON")
		case body[0] == '[':
			var err error
			if raws, err = splitArray(body); err != nil {
				return nil, err
			}
		case body[0] == '{':
			raws = []json.RawMessage{body}
		default:
			return nil, Errorf(EINVALID, "the body must be a JSON object or an array of objects")
		}
	}
	if len(raws) > MaxBatch {
		return nil, Errorf(ETOOLARGE, "%d events in one request; at most %d", len(raws), MaxBatch)
	}
	events := make([]Event, len(raws))
	var details []FieldError
	for i, raw := range raws {
		details = append(details, decodeEvent(i, raw, &events[i])...)
	}
	if len(details) > 0 {
		return nil, &Error{Code: EINVALID, Message: plural(countEvents(details), "event", "events") + " could not be read; nothing was recorded", Details: details}
	}
	return events, nil
}

func readError(err error) error {
	var appErr *Error
	if errors.As(err, &appErr) {
		return appErr // the reader's own verdict, such as a size limit
	}
	if err == bufio.ErrTooLong {
		return Errorf(ETOOLARGE, "an NDJSON line is longer than 8 MiB")
	}
	return Errorf(EINVALID, "the body could not be read: %v", err)
}

// splitArray cuts a JSON array into its elements, one at a time, so that an
// array of a million tiny items stops at the limit instead of filling memory.
func splitArray(body []byte) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	bad := func(err error) error {
		return Errorf(EINVALID, "the body is not a valid JSON array of objects: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); err != nil { // [
		return nil, bad(err)
	}
	var raws []json.RawMessage
	for dec.More() {
		if len(raws) == MaxBatch {
			return nil, Errorf(ETOOLARGE, "more than %d events in one request", MaxBatch)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad(err)
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil { // ]
		return nil, bad(err)
	}
	if dec.More() {
		return nil, Errorf(EINVALID, "the body has more after the closing ]")
	}
	return raws, nil
}

// decodeEvent reads one object field by field, so a wrong type names its field.
func decodeEvent(i int, raw json.RawMessage, e *Event) []FieldError {
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; an audit
	// record must be what the sender meant, so it is refused instead.
	if !utf8.Valid(raw) {
		return []FieldError{{Index: i, Field: "", Message: "is not valid UTF-8"}}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return []FieldError{{Index: i, Field: "", Message: "is not a JSON object: " + jsonProblem(err)}}
	}
	var errs []FieldError
	str := func(name string, dst *string) {
		v, ok := fields[name]
		if !ok || string(v) == "null" {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			errs = append(errs, FieldError{Index: i, Field: name, Message: "must be a string"})
		}
	}
	var ns, ts string
	str("id", &e.ID)
	str("namespace", &ns)
	str("action", &e.Action)
	str("detail", &e.Detail)
	str("actor", &e.Actor)
	str("ip", &e.IP)
	str("timestamp", &ts)
	e.Namespace = Namespace(ns)
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || t.IsZero() {
			errs = append(errs, FieldError{Index: i, Field: "timestamp", Message: "must be an RFC 3339 time such as 2026-11-25T14:03:00Z"})
		}
		e.Timestamp = t
	}
	if v, ok := fields["anonymous"]; ok && string(v) != "null" {
		var anon bool
		if err := json.Unmarshal(v, &anon); err != nil {
			errs = append(errs, FieldError{Index: i, Field: "anonymous", Message: "must be true or false"})
		} else if anon {
			if e.Actor != "" && e.Actor != Anonymous {
				errs = append(errs, FieldError{Index: i, Field: "anonymous", Message: "cannot be true when an actor is given"})
			}
			e.Actor = Anonymous
		}
	}
	if v, ok := fields["targets"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &e.Targets); err != nil {
			errs = append(errs, FieldError{Index: i, Field: "targets", Message: "must be a list of {\"type\", \"id\", \"name\"} objects with string values"})
		}
	}
	if v, ok := fields["metadata"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &e.Metadata); err != nil {
			errs = append(errs, FieldError{Index: i, Field: "metadata", Message: "must be a flat object of string values"})
		}
	}
	for name := range fields {
		switch name {
		case "id", "namespace", "action", "detail", "actor", "ip", "timestamp", "anonymous", "targets", "metadata",
			"received_at", "seq", "prev_hash", "hash": // set by the server; present in exports, ignored on import
		default:
			errs = append(errs, FieldError{Index: i, Field: name, Message: "is not a known field"})
		}
	}
	return errs
}

func jsonProblem(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	return err.Error()
}

// isProofLine reports whether an NDJSON line is the proof an export ends with.
func isProofLine(line []byte) bool { return bytes.HasPrefix(line, []byte(`{"proof":`)) }
