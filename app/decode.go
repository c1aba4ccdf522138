package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DecodeRequest reads events as clients send them to the API: one JSON
// object, a JSON array of objects, or (ndjson) one object per line. Every
// problem is reported against the event's index and field, the way
// validation errors are, so a client learns from one answer everything that
// is wrong. received_at is refused: the server sets it. When some events
// could not be read, the error comes with every event as far as it was
// read, for Log.WithBrokenRules to add what the rules say of them.
func DecodeRequest(r io.Reader, ndjson bool) ([]Event, error) {
	return decodeEvents(r, ndjson, false)
}

// DecodeRequestLines is DecodeRequest that also says, for NDJSON, the line
// each event was on (from 1), for OnLines; nil for JSON. Its errors say
// so already.
func DecodeRequestLines(r io.Reader, ndjson bool) ([]Event, []int, error) {
	events, lines, err := decodeEventsLines(r, ndjson, false, true)
	return events, lines, OnLines(err, lines)
}

// DecodeEvents is DecodeRequest for an import of an export, whose entries
// carry the received_at and place in the chain they were once given (ignored,
// not refused: the importing log gives its own), and end with a proof line
// (skipped).
func DecodeEvents(r io.Reader, ndjson bool) ([]Event, error) {
	return decodeEvents(r, ndjson, true)
}

// byteOrderMark starts what some Windows tools write as UTF-8. It says how
// the bytes are encoded and is no part of the JSON, so it is read past.
var byteOrderMark = []byte("\ufeff")

func decodeEvents(r io.Reader, ndjson, imported bool) ([]Event, error) {
	return decodeEventsWith(r, ndjson, imported, true)
}

// decodeEventsWith reads the common shape of a request in one pass when fast
// is set (see fastArray); tests unset it to compare with the general reader.
func decodeEventsWith(r io.Reader, ndjson, imported, fast bool) ([]Event, error) {
	events, _, err := decodeEventsLines(r, ndjson, imported, fast)
	return events, err
}

// decodeEventsLines is decodeEventsWith, which also returns the line each
// event of NDJSON was on.
func decodeEventsLines(r io.Reader, ndjson, imported, fast bool) ([]Event, []int, error) {
	var raws []json.RawMessage
	var lines []int
	if ndjson {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 8<<20)
		for n, first := 1, true; sc.Scan(); n, first = n+1, false {
			line := sc.Bytes()
			if first {
				line = bytes.TrimPrefix(line, byteOrderMark)
			}
			line = bytes.TrimSpace(line)
			if len(line) == 0 || (imported && IsProofLine(line)) {
				continue // an export's proof line: exports are taken back as they are
			}
			if len(raws) == MaxBatch {
				return nil, lines, Errorf(ETOOLARGE, "more than %d events in one request", MaxBatch)
			}
			raws = append(raws, json.RawMessage(bytes.Clone(line)))
			lines = append(lines, n)
		}
		if err := sc.Err(); err != nil {
			return nil, lines, readError(err)
		}
	} else {
		body, err := io.ReadAll(r)
		if err != nil {
			return nil, lines, readError(err)
		}
		body = bytes.TrimSpace(bytes.TrimPrefix(body, byteOrderMark))
		switch {
		case len(body) == 0:
			return nil, lines, Errorf(EINVALID, "the body is empty: send one JSON object, an array of objects, or NDJSON")
		case body[0] == '[':
			if fast {
				if events, ok := fastArray(body, imported); ok {
					return events, lines, nil
				}
			}
			var err error
			if raws, err = splitArray(body); err != nil {
				return nil, lines, err
			}
		case body[0] == '{':
			// One value and nothing after it: {…}garbage is not an event.
			if n, err := valueEnd(body); err != nil {
				return nil, lines, Errorf(EINVALID, "the body is not a valid JSON object: %s", jsonProblem(err))
			} else if n != len(body) {
				return nil, lines, Errorf(EINVALID, "the body has more after the closing } (at byte %d); send several events as a JSON array, or as NDJSON lines with Content-Type: application/x-ndjson", n)
			}
			raws = []json.RawMessage{body}
		default:
			return nil, lines, Errorf(EINVALID, "the body must be a JSON object or an array of objects")
		}
	}
	if len(raws) > MaxBatch {
		return nil, lines, Errorf(ETOOLARGE, "%d events in one request; at most %d", len(raws), MaxBatch)
	}
	events := make([]Event, len(raws))
	var details []FieldError
	unread := map[int]bool{}
	for i, raw := range raws {
		if fast && fastObject(raw, &events[i], imported) {
			continue
		}
		events[i] = Event{}
		errs, read := decodeEvent(i, raw, &events[i], imported)
		details = append(details, errs...)
		if !read {
			unread[i] = true
		}
	}
	if len(details) > 0 {
		err := invalidEvents(Plural(countEvents(details), "event", "events")+" could not be read; nothing was recorded", details)
		err.unread = unread
		return events, lines, err
	}
	return events, lines, nil
}

// WithBrokenRules adds to err, a request's events that could not all be
// read (DecodeRequest), what the rules say of the events as far as they
// were read: a client fixing a field of the wrong type should not learn
// only on the next attempt that another event's action is malformed. A
// field already reported unreadable is not reported again, nor is anything
// of an event that is not an object at all. Any other error is returned as
// it is.
func (l *Log) WithBrokenRules(err error, events []Event) error {
	var read *Error
	if !errors.As(err, &read) || read.Code != EINVALID || len(read.Details) == 0 || len(events) == 0 {
		return err
	}
	reported := map[int]map[string]bool{}
	for i := range read.unread {
		reported[i] = map[string]bool{"": true}
	}
	for _, d := range read.Details {
		if reported[d.Index] == nil {
			reported[d.Index] = map[string]bool{}
		}
		reported[d.Index][d.Field] = true
	}
	now, retention := l.now(), l.Retention()
	details := slices.Clone(read.Details)
	for i := range events {
		if reported[i][""] {
			continue // not an object, or its reading stopped before its fields
		}
		e := events[i]
		for _, d := range e.Normalize(i, now, retention) {
			if !reported[i][d.Field] {
				details = append(details, d)
			}
		}
	}
	if len(details) == len(read.Details) {
		return err
	}
	return invalidEvents(Plural(countEvents(details), "event is", "events are")+" invalid; nothing was recorded", details)
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
	// dec.More is false before a stray ] or }, so look at the bytes left:
	// [{…}]]]]garbage must not pass for an array.
	if end := dec.InputOffset(); len(bytes.TrimSpace(body[end:])) > 0 {
		return nil, Errorf(EINVALID, "the body has more after the closing ] (at byte %d)", end)
	}
	return raws, nil
}

// valueEnd is the offset just past the one JSON value body starts with,
// trailing whitespace included.
func valueEnd(body []byte) (int, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return 0, err
	}
	end := int(dec.InputOffset())
	return end + len(body[end:]) - len(bytes.TrimLeft(body[end:], " \t\r\n")), nil
}

// loneSurrogate reports whether the JSON text raw holds a \u escape of half
// a UTF-16 surrogate pair without its other half. encoding/json turns one
// into U+FFFD, which would store something the sender did not send.
func loneSurrogate(raw []byte) bool {
	// hex4 reads the \uXXXX escape b starts with.
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
			return 0, false
		}
		return hexRune(string(b[2:6]))
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // \\, \" and the like: skip the escaped byte
			continue
		}
		r, ok := hex4(raw[i:])
		if !ok {
			continue // not valid JSON; the parser says so
		}
		switch {
		case 0xD800 <= r && r <= 0xDBFF:
			lo, ok := hex4(raw[i+6:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		case 0xDC00 <= r && r <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}

// ParseTimestamp reads a time a client sent, an event's or a token's
// expiry: RFC 3339, whose T and Z may also be written in lower case (RFC
// 3339, 5.6), which Go's parser refuses.
func ParseTimestamp(ts string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil && strings.ContainsAny(ts, "tz") {
		t, err = time.Parse(time.RFC3339Nano, strings.ToUpper(ts))
	}
	return t, err == nil && !t.IsZero() && rfc3339Tail(ts)
}

// rfc3339Tail checks what Go's parser takes beyond RFC 3339 after the
// seconds: a comma before the fraction, and an offset of 24 hours, which
// placed a time a whole day from where its sender meant. The parser has
// checked the rest.
func rfc3339Tail(ts string) bool {
	const secondsEnd = len("2006-01-02T15:04:05")
	if len(ts) <= secondsEnd {
		return false
	}
	tail := ts[secondsEnd:]
	if tail[0] == '.' {
		i := 1
		for i < len(tail) && '0' <= tail[i] && tail[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		tail = tail[i:]
	}
	switch {
	case tail == "Z" || tail == "z":
		return true
	case len(tail) != len("+07:00") || (tail[0] != '+' && tail[0] != '-') || tail[3] != ':':
		return false
	}
	hours, minutes := (tail[1]-'0')*10+tail[2]-'0', (tail[4]-'0')*10+tail[5]-'0'
	return hours <= 23 && minutes <= 59
}

// timestampProblem says what is wrong with a timestamp that does not parse:
// most often a local time without its offset, which cannot be placed.
func timestampProblem(ts string) string {
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", ts); err == nil {
		return "has no offset from UTC, so it names no one instant: add Z for UTC or the offset, as in 2026-11-25T14:03:00Z or 2026-11-25T15:03:00+01:00"
	}
	return "must be an RFC 3339 time such as 2026-11-25T14:03:00Z"
}

// decodeEvent reads one object field by field, so a wrong type names its field.
// It also says whether it read the fields: false when it stopped before
// them, and what it filled of e is no account of what was sent.
func decodeEvent(i int, raw json.RawMessage, e *Event, imported bool) (errs []FieldError, read bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) { // valid JSON, but not an object: say what it is, not what Go wanted
			return []FieldError{{Index: i, Field: "", Message: "must be a JSON object, not " + jsonKind(raw)}}, false
		}
		return []FieldError{{Index: i, Field: "", Message: "is not a JSON object: " + jsonProblem(err)}}, false
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD; an audit
	// record must be what the sender meant, so it is refused instead, by the
	// field that holds it. Finding that field walks the object again, which
	// only a refused event pays for.
	if !utf8.Valid(raw) {
		if errs := invalidUTF8(i, raw); len(errs) > 0 {
			return errs, false
		}
		return []FieldError{{Index: i, Field: "", Message: "is not valid UTF-8"}}, false
	}
	// encoding/json keeps the last of a name given twice; another reader (a
	// proxy that checked the request, a tool reading the same event) may keep
	// the first. What is recorded must not depend on the reader.
	if where, ok := repeatedName(raw); ok {
		return []FieldError{{Index: i, Field: where, Message: "is given more than once; send each field once"}}, false
	}
	for name, v := range fields {
		if loneSurrogate(v) {
			errs = append(errs, FieldError{Index: i, Field: name, Message: "holds a \\u escape of half a surrogate pair, which is no character"})
			delete(fields, name)
		}
	}
	str := func(name string, dst *string) {
		v, ok := fields[name]
		if !ok || string(v) == "null" {
			return
		}
		if err := json.Unmarshal(v, dst); err != nil {
			errs = append(errs, FieldError{Index: i, Field: name, Message: "must be a string, not " + jsonKind(v)})
		}
	}
	if v, ok := fields["timestamp"]; ok && string(v) == `""` {
		errs = append(errs, FieldError{Index: i, Field: "timestamp", Message: "is empty; leave it out to record the time the server receives the event, or send an RFC 3339 time such as 2026-11-25T14:03:00Z"})
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
		t, ok := ParseTimestamp(ts)
		if !ok {
			errs = append(errs, FieldError{Index: i, Field: "timestamp", Message: timestampProblem(ts)})
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
		var terrs []FieldError
		e.Targets, terrs = decodeTargets(i, v)
		errs = append(errs, terrs...)
	}
	if v, ok := fields["metadata"]; ok && string(v) != "null" {
		// Into raw values first: encoding/json reads {"a": null} as "a": "".
		var raws map[string]json.RawMessage
		if err := json.Unmarshal(v, &raws); err != nil {
			errs = append(errs, FieldError{Index: i, Field: "metadata", Message: "must be a flat object of string values, not " + jsonKind(v)})
		} else {
			e.Metadata = make(map[string]string, len(raws))
			for k, rv := range raws {
				var s string
				if len(rv) == 0 || rv[0] != '"' || json.Unmarshal(rv, &s) != nil {
					errs = append(errs, FieldError{Index: i, Field: "metadata", Message: fmt.Sprintf("the value of %s must be a string, not %s", Quoted(k), jsonKind(rv))})
					continue
				}
				e.Metadata[k] = s
			}
		}
	}
	for name := range fields {
		switch name {
		case "id", "namespace", "action", "detail", "actor", "ip", "timestamp", "anonymous", "targets", "metadata":
		case "received_at", "seq", "prev_hash", "hash":
			if !imported { // present in exports, ignored on import; the server sets them
				errs = append(errs, FieldError{Index: i, Field: name, Message: "is set by the server; leave it out"})
			}
		default:
			errs = append(errs, FieldError{Index: i, Field: Clip(name), Message: "is not a known field"})
		}
	}
	return errs, true
}

// decodeTargets reads an event's targets member by member, as decodeEvent
// reads the event: into a Target, encoding/json would drop a member it does
// not know and take "Name" for name, where an unknown field of the event is
// refused by name. A target's are refused the same way.
func decodeTargets(i int, v json.RawMessage) ([]Target, []FieldError) {
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, []FieldError{{Index: i, Field: "targets", Message: "must be an array of {\"type\", \"id\", \"name\"} objects, not " + jsonKind(v)}}
	}
	targets := make([]Target, len(elems))
	var errs []FieldError
	for j, elem := range elems {
		at := "targets[" + strconv.Itoa(j) + "]"
		var members map[string]json.RawMessage
		if err := json.Unmarshal(elem, &members); err != nil {
			errs = append(errs, FieldError{Index: i, Field: at, Message: "must be an object like {\"type\": \"user\", \"id\": \"u_1\", \"name\": \"Ann\"}, not " + jsonKind(elem)})
			continue
		}
		t := &targets[j] // null, like {}, is an empty target, which Normalize refuses
		for name, mv := range members {
			var dst *string
			switch name {
			case "type":
				dst = &t.Type
			case "id":
				dst = &t.ID
			case "name":
				dst = &t.Name
			default:
				errs = append(errs, FieldError{Index: i, Field: at + "." + Clip(name), Message: "is not a known field"})
				continue
			}
			if string(mv) != "null" && (mv[0] != '"' || json.Unmarshal(mv, dst) != nil) {
				errs = append(errs, FieldError{Index: i, Field: at + "." + name, Message: "must be a string, not " + jsonKind(mv)})
			}
		}
	}
	return targets, errs
}

// invalidUTF8 names each place where raw, an event's valid JSON, holds
// bytes that are not UTF-8: a string by its field, the way Normalize names
// fields ("detail", "targets[0].name", "metadata.k"), and a member's name by
// the object that has it.
func invalidUTF8(i int, raw []byte) []FieldError {
	var errs []FieldError
	walkJSON(raw, func(s jsonSpot) bool {
		switch {
		case utf8.Valid(s.sent):
		case !s.isName:
			errs = append(errs, FieldError{Index: i, Field: s.at, Message: "is not valid UTF-8"})
		case s.at == "":
			errs = append(errs, FieldError{Index: i, Field: "", Message: fmt.Sprintf("field name %s is not valid UTF-8", Quoted(s.name))})
		default:
			errs = append(errs, FieldError{Index: i, Field: s.at, Message: fmt.Sprintf("key %s is not valid UTF-8", Quoted(s.name))})
		}
		return true
	})
	return errs
}

// jsonProblem words a JSON syntax error for a message: where it is, and
// that the body stops short rather than Go's "EOF".
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends before the JSON is complete"
	}
	return err.Error()
}

// IsProofLine reports whether an NDJSON line (or its start) is the proof an
// export ends with.
func IsProofLine(line []byte) bool { return bytes.HasPrefix(line, []byte(`{"proof":`)) }

// DecodeObject reads a request body that must be one JSON object into v, as
// strictly as events are read: nothing but whitespace after the object, no
// field v does not know, no invalid UTF-8 or half surrogate pairs (which
// encoding/json would quietly turn into U+FFFD). example shows the caller a
// body that works.
func DecodeObject(r io.Reader, v any, example string) error {
	bad := func(problem string) error {
		return Errorf(EINVALID, "the body must be a JSON object like %s: %s", example, problem)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return readError(err)
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return bad("it is empty")
	case body[0] != '{':
		return bad("it does not start with {")
	case !utf8.Valid(body):
		return bad("it is not valid UTF-8")
	case loneSurrogate(body):
		return bad("it holds a \\u escape of half a surrogate pair, which is no character")
	}
	if n, err := valueEnd(body); err != nil {
		return bad(jsonProblem(err))
	} else if n != len(body) {
		return bad(fmt.Sprintf("there is more after the closing } (at byte %d)", n))
	}
	if where, ok := repeatedName(body); ok {
		return Errorf(EINVALID, "%s: is given more than once; send each field once", Clip(where))
	}
	if sent, field, ok := inexactName(body, v); ok {
		return Errorf(EINVALID, "%s: is not a known field; names are matched exactly: send %q", Clip(sent), field)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Errorf(EINVALID, "%s: must be %s, not %s", te.Field, jsonTypeName(te.Type), sentKind(te.Value))
		}
		if isTimeError(err) { // time.Time's own errors name Go's layout and no field
			if name := badTimeField(body, v); name != "" {
				return Errorf(EINVALID, "%s: must be an RFC 3339 time such as 2027-01-31T00:00:00Z", name)
			}
			return bad("a time must be in RFC 3339 form, such as 2027-01-31T00:00:00Z")
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Errorf(EINVALID, "%s: is not a known field; send a JSON object like %s", Clip(strings.Trim(name, `"`)), example)
		}
		return bad(jsonProblem(err))
	}
	// time.Time's reader took what RFC 3339 does not (see badTimeField).
	if name := badTimeField(body, v); name != "" {
		return Errorf(EINVALID, "%s: must be an RFC 3339 time such as 2027-01-31T00:00:00Z", name)
	}
	return nil
}

// jsonKind names the kind of a JSON value for a message.
func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == 'n':
		return "null"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == '"':
		return "a string"
	default:
		return "a number"
	}
}

// jsonTypeName says in JSON's words what a Go type is read from, for
// messages: "a whole number", not "int".
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string" // how encoding/json reads []byte
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another kind of value"
}

// sentKind words the Value of a json.UnmarshalTypeError, the kind of value
// the client sent: "number 1.5" (a number that did not fit) reads "1.5".
func sentKind(value string) string {
	if n, ok := strings.CutPrefix(value, "number "); ok {
		return n
	}
	switch value {
	case "bool":
		return "a boolean"
	case "array", "object":
		return "an " + value
	}
	return "a " + value // string, number
}

// isTimeError reports whether err comes from time.Time's UnmarshalJSON: a
// time.ParseError, or its complaint about a value that is no string.
func isTimeError(err error) bool {
	var pe *time.ParseError
	return errors.As(err, &pe) || strings.HasPrefix(err.Error(), "Time.UnmarshalJSON:")
}

var timeType = reflect.TypeFor[time.Time]()

// badTimeField names the member of body that v reads as a time and that
// holds none, or "" when that takes more than v's own fields to find.
func badTimeField(body []byte, v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var members map[string]json.RawMessage
	if t.Kind() != reflect.Struct || json.Unmarshal(body, &members) != nil {
		return ""
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || (f.Type != timeType && f.Type != reflect.PointerTo(timeType)) {
			continue
		}
		for k, raw := range members { // encoding/json matches names in any case
			if !strings.EqualFold(k, name) || string(raw) == "null" {
				continue
			}
			// As RFC 3339 has it, which time.Time's reader is not quite:
			// it takes an offset of 24 hours and a comma before the fraction.
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return k
			}
			if _, ok := ParseTimestamp(s); !ok {
				return k
			}
		}
	}
	return ""
}

// inexactName finds a name of body's object that is a field of the struct v
// points to in other letters: "Scopes" for "scopes". encoding/json would
// take it for the field, so that {"scopes": ["ingest"], "Scopes": ["admin"]}
// passes a check that reads the first (a proxy's, a reviewer's) and grants
// the second.
func inexactName(body []byte, v any) (sent, field string, found bool) {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", "", false
	}
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	walkJSON(body, func(s jsonSpot) bool {
		if !s.isName || s.at != "" || slices.Contains(names, s.name) {
			return true
		}
		for _, name := range names {
			if strings.EqualFold(s.name, name) {
				sent, field, found = s.name, name, true
			}
		}
		return !found
	})
	return sent, field, found
}

// repeatedName finds a name given twice in one object anywhere in raw, a
// valid JSON value, and says where: "namespace", "targets[0].name",
// "metadata.team".
func repeatedName(raw []byte) (where string, found bool) {
	walkJSON(raw, func(s jsonSpot) bool {
		if s.isName && s.again {
			where, found = memberAt(s.at, s.name), true
		}
		return !found
	})
	return where, found
}

// jsonSpot is a member's name or a string in a JSON value, as walkJSON
// meets it.
type jsonSpot struct {
	at     string // where the string is; for a name, where its object is ("" for the whole value)
	isName bool
	name   string // the name, decoded (bytes that are not UTF-8 read as U+FFFD)
	again  bool   // the name's object had it before
	sent   []byte // what was read for it: the string as sent, after any ',' or ':'
}

// walkJSON reads raw, a valid JSON value, token by token and hands visit
// each member's name and each string, in order, until visit says stop.
// Places are named as Normalize names fields: "targets[0].name".
func walkJSON(raw []byte, visit func(jsonSpot) bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var walk func(at string) bool // false: stop
	walk = func(at string) bool {
		from := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok := tok.(type) {
		case string:
			return visit(jsonSpot{at: at, sent: raw[from:dec.InputOffset()]})
		case json.Delim:
			if tok == '{' {
				seen := map[string]bool{}
				for dec.More() {
					from := dec.InputOffset()
					name, err := dec.Token()
					k, _ := name.(string)
					if err != nil || !visit(jsonSpot{at: at, isName: true, name: k, again: seen[k], sent: raw[from:dec.InputOffset()]}) {
						return false
					}
					seen[k] = true
					if !walk(memberAt(at, k)) {
						return false
					}
				}
			} else {
				for j := 0; dec.More(); j++ {
					if !walk(at + "[" + strconv.Itoa(j) + "]") {
						return false
					}
				}
			}
			_, err = dec.Token() // the closing bracket
			return err == nil
		}
		return true
	}
	walk("")
}

func memberAt(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}
