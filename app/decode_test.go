package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	for _, r := range []rune{0x202A, 0x202E, 0x2066, 0x2069, 0x200B, 0x200F, 0x2028, 0x2029, 0xFEFF, 0x2060, 0x061C, 0x3164, 0x115F, 0xFFA0, 0x034F, 0x00AD, 0xE0041, 0x180E} {
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

// A joiner (U+200C, U+200D) is text where it joins or keeps apart two
// visible characters outside ASCII, as emoji and some scripts need; anywhere
// else it only hides, and is refused like the other invisible characters.
func TestJoinersAreTakenOnlyBetweenWhatTheyJoin(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		text string
		ok   bool
	}{
		{"Deployed by 👩\u200d💻", true},
		{"🏳\ufe0f\u200d🌈 pride month", true},
		{"\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", true}, // Persian
		{"\u0915\u094d\u200d\u0937", true},                         // Devanagari half form
		{"Fin\u200dance", false},                                   // between Latin letters
		{"Mallory \u200cnimdA", false},
		{"Mallory\u200c", false},
		{"\u200d👩", false},
		{"👩\u200d\u200d💻", false},
		{"👩\u200d \u200d💻", false},
		{"\u0416\u200d\ufe0f\u200d\u0416", false}, // a selector standing alone between joiners
		{"\ufe0f\u200d\u0416", false},
	} {
		for _, field := range []string{"detail", "actor", "targets[0].name"} {
			e := Event{Namespace: Users, Action: "user_invited", Detail: "x"}
			switch field {
			case "detail":
				e.Detail = tt.text
			case "actor":
				e.Actor = tt.text
			default:
				e.Targets = []Target{{Type: "user", Name: tt.text}}
			}
			errs := e.Normalize(0, now, DefaultRetention)
			if tt.ok && len(errs) > 0 {
				t.Errorf("%+q in %s refused: %v", tt.text, field, errs)
			} else if !tt.ok && !fieldNamed(&Error{Details: errs}, field) {
				t.Errorf("%+q in %s: got %v, want it refused", tt.text, field, errs)
			}
		}
	}
	// What the app writes of what others typed keeps a joiner where it joins.
	if got := printable("👩\u200d💻 Fin\u200dance", 100, false); got != "👩\u200d💻 Fin\ufffdance" {
		t.Errorf("printable: %+q", got)
	}
}

// What prints, however rare, is not invisible: accents, other scripts,
// emoji with the selector that colours them, the Arabic number sign.
func TestVisibleCharactersAreKept(t *testing.T) {
	for _, s := range []string{"Zoë Ångström", "Łukasz", "حسن", "山田 太郎", "Deployed ✔️", "\u0600123", "Tab\tseparated"} {
		e := Event{Namespace: Users, Action: "user_invited", Detail: s, Actor: "Maya"}
		if errs := e.Normalize(0, time.Now(), DefaultRetention); len(errs) > 0 {
			t.Errorf("%q refused: %v", s, errs)
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

// refusal is one field error a body must get, and its message in part.
type refusal struct {
	index          int
	field, message string
}

// refusedWith fails t unless err carries every one of want.
func refusedWith(t *testing.T, body string, err error, want ...refusal) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Code != EINVALID {
		t.Errorf("%q: got %v, want an invalid error", body, err)
		return
	}
	for _, w := range want {
		if !slices.ContainsFunc(e.Details, func(d FieldError) bool {
			return d.Index == w.index && d.Field == w.field && strings.Contains(d.Message, w.message)
		}) {
			t.Errorf("%q: details %+v, want event %d's %q refused with %q", body, e.Details, w.index, w.field, w.message)
		}
	}
}

func TestInvalidUTF8IsRefusedNamingItsField(t *testing.T) {
	for _, tt := range []struct {
		event string // the second of two events
		want  []refusal
	}{
		{"{\"namespace\":\"users\",\"action\":\"user_invited\",\"detail\":\"caf\xe9\"}", []refusal{{1, "detail", "is not valid UTF-8"}}},
		{"{\"detail\":\"x\",\"actor\":\"\xc0\xaf\"}", []refusal{{1, "actor", "is not valid UTF-8"}}},
		{"{\"detail\":\"x\",\"targets\":[{\"type\":\"user\"},{\"type\":\"user\",\"name\":\"Ann\xff\"}]}", []refusal{{1, "targets[1].name", "is not valid UTF-8"}}},
		{"{\"detail\":\"x\",\"metadata\":{\"ok\":\"v\",\"k\":\"\xed\xa0\x80\"}}", []refusal{{1, "metadata.k", "is not valid UTF-8"}}},
		{"{\"detail\":\"x\",\"metadata\":{\"k\xff\":\"v\"}}", []refusal{{1, "metadata", "key \"k\uFFFD\" is not valid UTF-8"}}},
		{"{\"detail\":\"x\",\"det\xffail\":\"v\"}", []refusal{{1, "", "field name \"det\uFFFDail\" is not valid UTF-8"}}},
		{"{\"detail\":\"\xff\",\"actor\":\"\xff\"}", []refusal{{1, "detail", "UTF-8"}, {1, "actor", "UTF-8"}}},
	} {
		array := "[" + okEvent + "," + tt.event + "]"
		_, err := decodeBoth(t, array, false, false)
		refusedWith(t, array, err, tt.want...)
		ndjson := okEvent + "\n" + tt.event + "\n"
		_, err = decodeBoth(t, ndjson, true, false)
		refusedWith(t, ndjson, err, tt.want...)
	}
}

func TestUnknownTargetFieldsAreRefusedByName(t *testing.T) {
	event := func(targets string) string {
		return `{"namespace":"users","action":"user_invited","detail":"x","targets":` + targets + `}`
	}
	for _, tt := range []struct {
		targets string
		want    []refusal
	}{
		{`[{"type":"a","foo":"b"}]`, []refusal{{0, "targets[0].foo", "is not a known field"}}},
		{`[{"type":"a"},{"Name":"b","type":"c"}]`, []refusal{{0, "targets[1].Name", "is not a known field"}}},
		{`[{"type":"a","id":5}]`, []refusal{{0, "targets[0].id", "must be a string, not a number"}}},
		{`[{"type":"a"},"b"]`, []refusal{{0, "targets[1]", "must be an object"}}},
		{`{"type":"a"}`, []refusal{{0, "targets", "must be an array"}}},
	} {
		for _, body := range []string{"[" + event(tt.targets) + "]", event(tt.targets)} {
			_, err := decodeBoth(t, body, false, false)
			refusedWith(t, body, err, tt.want...)
		}
		_, err := decodeBoth(t, event(tt.targets)+"\n", true, false)
		refusedWith(t, event(tt.targets), err, tt.want...)
	}
	// Metadata is the free map: any key goes.
	body := `[{"namespace":"users","action":"user_invited","detail":"x","targets":[{"type":"user","id":"u1","name":"Ann"},null,{}],` +
		`"metadata":{"foo":"1","Type":"2","targets[0].foo":"3","name":"4"}}]`
	events, err := decodeBoth(t, body, false, false)
	if err != nil || len(events[0].Metadata) != 4 || len(events[0].Targets) != 3 || events[0].Targets[0] != (Target{Type: "user", ID: "u1", Name: "Ann"}) {
		t.Fatalf("%s: %+v %v", body, events, err)
	}
}

// goInternals are what Go's own error texts leak into a message.
var goInternals = []string{"json:", "Go value", "Go struct", "map[", "[]", "RawMessage", "int", "float", "bool,", "Unmarshal", "2006", "EOF"}

func leaksGoInternals(message string) bool {
	return slices.ContainsFunc(goInternals, func(s string) bool { return strings.Contains(message, s) })
}

func TestEventsOfTheWrongShapeAreRefusedInJSONTerms(t *testing.T) {
	for _, tt := range []struct {
		body   string
		ndjson bool
		want   []refusal // none: the message of the whole request is checked alone
	}{
		{`[[1]]`, false, []refusal{{0, "", "must be a JSON object, not an array"}}},
		{`[` + okEvent + `,5]`, false, []refusal{{1, "", "must be a JSON object, not a number"}}},
		{"[" + okEvent + "]\n", true, []refusal{{0, "", "must be a JSON object, not an array"}}},
		{okEvent + "\n\"x\"\n", true, []refusal{{1, "", "must be a JSON object, not a string"}}},
		{`[{"namespace":"users","action":"user_invited","detail":"x","metadata":[1]}]`, false, []refusal{{0, "metadata", "must be a flat object of string values, not an array"}}},
		{`[{"namespace":"users","action":"user_invited","detail":{"a":1}}]`, false, []refusal{{0, "detail", "must be a string, not an object"}}},
		{`[{"namespace":"users","action":"user_invited","detail":"x","targets":5}]`, false, []refusal{{0, "targets", "must be an array"}}},
		{`[`, false, nil},
		{`[{"namespace":"users"`, false, nil},
		{`{"namespace":`, false, nil},
	} {
		_, err := decodeBoth(t, tt.body, tt.ndjson, false)
		if tt.want != nil {
			refusedWith(t, tt.body, err, tt.want...)
		}
		e, ok := err.(*Error)
		if !ok {
			t.Errorf("%q: got %v, want an *Error", tt.body, err)
			continue
		}
		if leaksGoInternals(e.Message) {
			t.Errorf("%q: message %q speaks Go, not JSON", tt.body, e.Message)
		}
		for _, d := range e.Details {
			if leaksGoInternals(d.Message) {
				t.Errorf("%q: %q %q speaks Go, not JSON", tt.body, d.Field, d.Message)
			}
		}
	}
}

func TestDecodeObjectWordsWrongTypesInJSONTerms(t *testing.T) {
	type req struct {
		Count   *int              `json:"count"`
		Ratio   float64           `json:"ratio"`
		Label   string            `json:"label"`
		On      bool              `json:"on"`
		Scopes  []string          `json:"scopes"`
		Labels  map[string]string `json:"labels"`
		Expires *time.Time        `json:"expires_at"`
	}
	for _, tt := range []struct{ body, want string }{
		{`{"count":"x"}`, "count: must be a whole number, not a string"},
		{`{"count":1.5}`, "count: must be a whole number, not 1.5"},
		{`{"ratio":"x"}`, "ratio: must be a number, not a string"},
		{`{"label":5}`, "label: must be a string, not a number"},
		{`{"on":"yes"}`, "on: must be true or false, not a string"},
		{`{"scopes":"ingest"}`, "scopes: must be an array, not a string"},
		{`{"labels":[]}`, "labels: must be an object, not an array"},
		{`{"label":{}}`, "label: must be a string, not an object"},
		{`{"label":true}`, "label: must be a string, not a boolean"},
		{`{"expires_at":5}`, "expires_at: must be an RFC 3339 time"},
		{`{"expires_at":"tomorrow"}`, "expires_at: must be an RFC 3339 time"},
		{`{"expires_at":"2027-01-31T00:00:00+24:00"}`, "expires_at: must be an RFC 3339 time"},
		{`{"expires_at":"2027-01-31T00:00:00,5Z"}`, "expires_at: must be an RFC 3339 time"},
		{`{"label":"a",`, "ends before the JSON is complete"},
	} {
		var v req
		err := DecodeObject(strings.NewReader(tt.body), &v, `{"label": "x"}`)
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.want) || leaksGoInternals(err.Error()) {
			t.Errorf("%s: got %v, want an invalid error saying %q", tt.body, err, tt.want)
		}
	}
}

func TestANameGivenTwiceIsRefusedWherever(t *testing.T) {
	for _, tt := range []struct{ body, field string }{
		{`{"namespace":"users","action":"user_invited","detail":"x","namespace":"spaces"}`, "namespace"},
		{`{"namespace":"users","action":"user_invited","detail":"x","detail":"y"}`, "detail"},
		{`{"namespace":"users","action":"user_invited","detail":"x","targets":[{"type":"user","name":"a"},{"name":"b","type":"user","name":"c"}]}`, "targets[1].name"},
		{`{"namespace":"users","action":"user_invited","detail":"x","metadata":{"team":"a","team":"b"}}`, "metadata.team"},
	} {
		for _, fast := range []bool{true, false} {
			_, err := decodeEventsWith(strings.NewReader("["+tt.body+"]"), false, false, fast)
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID || len(e.Details) != 1 || e.Details[0].Field != tt.field {
				t.Errorf("%s (fast reader %v): %v, want one problem with %s", tt.body, fast, err, tt.field)
			}
		}
	}
	// The same name in two objects is no repetition.
	if _, err := DecodeRequest(strings.NewReader(`{"namespace":"users","action":"user_invited","detail":"x","targets":[{"type":"user","name":"a"},{"type":"user","name":"b"}],"metadata":{"name":"n"}}`), false); err != nil {
		t.Fatalf("names repeated only across objects: %v", err)
	}
	var v struct {
		Name string `json:"name"`
	}
	if err := DecodeObject(strings.NewReader(`{"name":"a","name":"b"}`), &v, `{"name": "x"}`); ErrorCode(err) != EINVALID || !strings.HasPrefix(ErrorMessage(err), "name: ") {
		t.Fatalf("an object with a name twice: %v", err)
	}
}

// An answer lists at most MaxDetails problems, always the same ones: in the
// order of the events, each event's by field.
func TestABatchOfManyProblemsListsTheFirstInOrder(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"namespace":"users","action":"user_invited","detail":"x"`)
	for i := range 300 {
		fmt.Fprintf(&b, `,"f%03d":0`, i)
	}
	b.WriteString("}")
	var first *Error
	for range 3 {
		_, err := DecodeEvents(strings.NewReader(b.String()), false)
		var e *Error
		if !errors.As(err, &e) || len(e.Details) != MaxDetails || !strings.Contains(e.Message, "the first 100 of 300 problems") {
			t.Fatalf("err = %v (%d details)", err, len(e.Details))
		}
		if e.Details[0].Field != "f000" || e.Details[MaxDetails-1].Field != "f099" {
			t.Fatalf("listed %s to %s, want f000 to f099", e.Details[0].Field, e.Details[MaxDetails-1].Field)
		}
		if first != nil && fmt.Sprint(first.Details) != fmt.Sprint(e.Details) {
			t.Fatal("two reads of one body listed other problems")
		}
		first = e
	}
}

// RFC 3339 allows a lower-case t and z; an empty timestamp is a mistake,
// not a request for the time of receipt, which leaving it out (or null) is.
func TestTimestampsAreReadAsRFC3339Says(t *testing.T) {
	for _, fast := range []bool{false, true} { // the general reader and the fast one
		read := func(ts string) ([]Event, error) {
			body := `[{"namespace":"users","action":"user_invited","detail":"x","timestamp":` + ts + `}]`
			return decodeEventsWith(strings.NewReader(body), false, false, fast)
		}
		if evs, err := read(`"2026-11-27t10:00:00.5z"`); err != nil || !evs[0].Timestamp.Equal(time.Date(2026, 11, 27, 10, 0, 0, 5e8, time.UTC)) {
			t.Errorf("fast %v: lower case: %+v, %v", fast, evs, err)
		}
		if evs, err := read(`null`); err != nil || !evs[0].Timestamp.IsZero() {
			t.Errorf("fast %v: null: %+v, %v", fast, evs, err)
		}
		if _, err := read(`""`); !fieldNamed(err, "timestamp") || !strings.Contains(err.Error(), "is empty") {
			t.Errorf("fast %v: empty: %v", fast, err)
		}
		if _, err := read(`"2026-11-27x10:00:00z"`); !fieldNamed(err, "timestamp") {
			t.Errorf("fast %v: not a time: %v", fast, err)
		}
		// What Go's parser takes and RFC 3339 does not: an offset of a whole
		// day, a comma before the fraction, a dot with no digits after it.
		for _, ts := range []string{`"2026-11-27T10:00:00+24:00"`, `"2026-11-27T10:00:00-24:00"`, `"2026-11-27T10:00:00,5Z"`, `"2026-11-27T10:00:00.Z"`} {
			if _, err := read(ts); !fieldNamed(err, "timestamp") {
				t.Errorf("fast %v: %s: %v", fast, ts, err)
			}
		}
		if evs, err := read(`"2026-11-27T10:00:00.123-23:59"`); err != nil || !evs[0].Timestamp.Equal(time.Date(2026, 11, 28, 9, 59, 0, 123e6, time.UTC)) {
			t.Errorf("fast %v: the largest offset: %+v, %v", fast, evs, err)
		}
	}
}
