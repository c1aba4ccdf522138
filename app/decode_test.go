package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const okEvent = `{"namespace":"users","action":"user_invited","detail":"x"}`

func TestTrailingJunkAfterTheBodyIsRefused(t *testing.T) {
	for _, body := range []string{
		"[" + okEvent + "]]]]garbage{{{",
		"[" + okEvent + "]}]not json",
		"[" + okEvent + "]]",
		"[" + okEvent + "] x",
		okEvent + "garbage",
		okEvent + "}",
		okEvent + " " + okEvent,
		okEvent + "]",
	} {
		_, err := DecodeRequest(strings.NewReader(body), false)
		if ErrorCode(err) != EINVALID {
			t.Errorf("%q: got %v, want an invalid-request error", body, err)
		}
	}
	for _, line := range []string{okEvent + "garbage", okEvent + "]"} {
		if _, err := DecodeRequest(strings.NewReader(okEvent+"\n"+line+"\n"), true); ErrorCode(err) != EINVALID {
			t.Errorf("NDJSON line %q: got %v, want an invalid-request error", line, err)
		}
	}
	for _, body := range []string{"[" + okEvent + "]  \n", okEvent + "\n\t "} {
		if _, err := DecodeRequest(strings.NewReader(body), false); err != nil {
			t.Errorf("%q: trailing whitespace is fine, got %v", body, err)
		}
	}
}

func fieldNamed(err error, field string) bool {
	e, ok := err.(*Error)
	if !ok {
		return false
	}
	for _, d := range e.Details {
		if d.Field == field {
			return true
		}
	}
	return false
}

func TestValuesThatWouldBeQuietlyChangedAreRefusedByName(t *testing.T) {
	base := `"namespace":"users","action":"user_invited"`
	for _, tt := range []struct{ body, field string }{
		{`{` + base + `,"detail":"a\ud800b"}`, "detail"},
		{`{` + base + `,"detail":"a\udc00b"}`, "detail"},
		{`{` + base + `,"detail":"x","actor":"\ud83d"}`, "actor"},
		{`{` + base + `,"detail":"x","targets":[{"name":"\udfff"}]}`, "targets"},
		{`{` + base + `,"detail":"x","metadata":{"k":"\ud800\u0041"}}`, "metadata"},
		{`{` + base + `,"detail":"x","metadata":{"a":null}}`, "metadata"},
		{`{` + base + `,"detail":"x","metadata":{"a":5}}`, "metadata"},
		{`{` + base + `,"detail":"x","received_at":5}`, "received_at"},
		{`{` + base + `,"detail":"x","received_at":"2026-11-25T10:00:00Z"}`, "received_at"},
	} {
		_, err := DecodeRequest(strings.NewReader(tt.body), false)
		if !fieldNamed(err, tt.field) {
			t.Errorf("%s: got %v, want an error naming %s", tt.body, err, tt.field)
		}
	}
	// A whole pair is one character, and an escaped backslash before "u" is no escape.
	for _, detail := range []string{`a\ud83d\ude00b`, `a\\ud800b`, `\u00e9`} {
		events, err := DecodeRequest(strings.NewReader(`{`+base+`,"detail":"`+detail+`"}`), false)
		if err != nil || strings.ContainsRune(events[0].Detail, '\uFFFD') {
			t.Errorf("detail %s: got %v %+v", detail, err, events)
		}
	}
	// An export carries received_at; importing it again must work.
	if _, err := DecodeEvents(strings.NewReader(`{`+base+`,"detail":"x","received_at":"2026-11-25T10:00:00Z"}`), true); err != nil {
		t.Errorf("import of an exported entry: %v", err)
	}
}

func TestInvisibleCharactersAreRefusedNamingTheField(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, r := range []rune{0x202A, 0x202E, 0x2066, 0x2069, 0x200B, 0x200F, 0x2028, 0x2029, 0xFEFF} {
		s := "Mallory " + string(r) + "nimdA"
		for _, tt := range []struct {
			field string
			set   func(*Event)
		}{
			{"actor", func(e *Event) { e.Actor = s }},
			{"id", func(e *Event) { e.ID = s }},
			{"detail", func(e *Event) { e.Detail = s }},
			{"targets[0].name", func(e *Event) { e.Targets = []Target{{Type: "user", Name: s}} }},
			{"targets[0].id", func(e *Event) { e.Targets = []Target{{Type: "user", ID: s}} }},
			{"metadata.k", func(e *Event) { e.Metadata = map[string]string{"k": s} }},
		} {
			e := Event{Namespace: Users, Action: "user_invited", Detail: "x"}
			tt.set(&e)
			errs := e.Normalize(0, now, DefaultRetention)
			if !fieldNamed(&Error{Details: errs}, tt.field) {
				t.Errorf("U+%04X in %s: got %v", r, tt.field, errs)
			}
		}
	}
}

func TestDecodeObjectIsStrict(t *testing.T) {
	type req struct {
		Label string `json:"label"`
	}
	for _, tt := range []struct{ body, want string }{
		{`{"label":"a"}garbage`, "more after"},
		{`{"label":"a"}}`, "more after"},
		{`{"label":"a"} {"label":"b"}`, "more after"},
		{`{"label":"a","scope":1}`, "scope"},
		{`{"label":5}`, "label"},
		{`{"label":"\ud800"}`, "surrogate"},
		{"{\"label\":\"\xff\"}", "UTF-8"},
		{`["label"]`, "JSON object"},
		{``, "empty"},
		{`{"label":`, "JSON object"},
	} {
		var v req
		err := DecodeObject(strings.NewReader(tt.body), &v, `{"label": "x"}`)
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an invalid error mentioning %q", tt.body, err, tt.want)
		}
	}
	var v req
	if err := DecodeObject(strings.NewReader(" {\"label\":\"a\"}\n"), &v, ""); err != nil || v.Label != "a" {
		t.Fatalf("a good object: %v %+v", err, v)
	}
}

func FuzzDecodeCursorNeverPanicsAndRoundTrips(f *testing.F) {
	for _, s := range []string{"", "x", "AAAAAAAAAAAAAAAAAAAAAA", encodeCursor(MakeKey(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), 7)), "!!!!", "AAAAAAAAAAAAAAAAAAAAAA==", "/////////////////////w", "%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := decodeCursor(s)
		if err != nil {
			if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "cursor") {
				t.Fatalf("decodeCursor(%q): %v, want an invalid error naming the cursor", s, err)
			}
			return
		}
		if back, err := decodeCursor(encodeCursor(k)); err != nil || back != k {
			t.Fatalf("cursor of %x does not round-trip: %x, %v", k, back, err)
		}
	})
}

func FuzzDecodeObjectNeverPanicsAndRefusesTrailingData(f *testing.F) {
	for _, s := range []string{`{"label":"a"}`, `{"label":"a"}x`, `{"label":"\ud800"}`, `{"label":1}`, `{"x":1}`, `[]`, ``, `{"label":"a"} `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			Label  string          `json:"label"`
			Scopes json.RawMessage `json:"scopes"`
		}
		err := DecodeObject(strings.NewReader(body), &v, `{"label": "x"}`)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("DecodeObject(%q): code %s: %v", body, ErrorCode(err), err)
			}
			return
		}
		if strings.ContainsRune(v.Label, utf8.RuneError) && !strings.Contains(body, "\uFFFD") && !strings.Contains(strings.ToLower(body), `\ufffd`) {
			t.Fatalf("DecodeObject(%q) invented U+FFFD: %q", body, v.Label)
		}
	})
}
