package app

import (
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNormalizeAcceptsAGoodEventAndFillsDefaults(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	e := Event{Namespace: "API Tokens", Action: "token_created", Detail: "Created API token \"ci-deploy\""}
	if errs := e.Normalize(0, now, DefaultRetention); len(errs) > 0 {
		t.Fatalf("unexpected errors: %+v", errs)
	}
	if e.Namespace != APITokens || e.Actor != Anonymous || !e.Timestamp.Equal(now) {
		t.Fatalf("defaults not filled: %+v", e)
	}
}

func TestNormalizeNamesTheFieldOfEveryBrokenRule(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	good := func() Event {
		return Event{Namespace: "users", Action: "user_invited", Detail: "Invited x", Actor: "Maya"}
	}
	tests := []struct {
		name  string
		edit  func(*Event)
		field string
	}{
		{"missing namespace", func(e *Event) { e.Namespace = "" }, "namespace"},
		{"unknown namespace", func(e *Event) { e.Namespace = "widgets" }, "namespace"},
		{"missing action", func(e *Event) { e.Action = "" }, "action"},
		{"action with capitals", func(e *Event) { e.Action = "TokenCreated" }, "action"},
		{"action too short", func(e *Event) { e.Action = "a" }, "action"},
		{"missing detail", func(e *Event) { e.Detail = "  " }, "detail"},
		{"detail too long", func(e *Event) { e.Detail = strings.Repeat("x", 4097) }, "detail"},
		{"detail with control character", func(e *Event) { e.Detail = "bell\a" }, "detail"},
		{"detail with invalid UTF-8", func(e *Event) { e.Detail = "\xff" }, "detail"},
		{"timestamp in the future", func(e *Event) { e.Timestamp = now.Add(6 * time.Minute) }, "timestamp"},
		{"timestamp before retention", func(e *Event) { e.Timestamp = now.Add(-31 * 24 * time.Hour) }, "timestamp"},
		{"id too long", func(e *Event) { e.ID = strings.Repeat("i", 129) }, "id"},
		{"too much metadata", func(e *Event) {
			e.Metadata = map[string]string{}
			for i := range 51 {
				e.Metadata[strings.Repeat("k", i+1)] = "v"
			}
		}, "metadata"},
		{"empty target", func(e *Event) { e.Targets = []Target{{}} }, "targets[0]"},
		{"bad ip", func(e *Event) { e.IP = "300.1.1.1" }, "ip"},
		{"actor with newline", func(e *Event) { e.Actor = "Maya\nChen" }, "actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good()
			tt.edit(&e)
			errs := e.Normalize(3, now, DefaultRetention)
			if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Index != 3 {
				t.Fatalf("errors = %+v, want one for field %q of event 3", errs, tt.field)
			}
		})
	}
}

func TestDetailMayCarryTabsAndFiveMinutesOfClockSkew(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	e := Event{Namespace: "spaces", Action: "space_created", Detail: "a\tb", Timestamp: now.Add(4 * time.Minute)}
	if errs := e.Normalize(0, now, DefaultRetention); len(errs) > 0 {
		t.Fatalf("unexpected errors: %+v", errs)
	}
}

func TestDecodeEventsNamesTheFieldWithTheWrongType(t *testing.T) {
	_, err := DecodeEvents(strings.NewReader(`[{"namespace":"users","action":"user_invited","detail":"x"},{"namespace":7,"timestamp":"yesterday","metadata":{"a":1},"colour":"red"}]`), false)
	e, ok := err.(*Error)
	if !ok || e.Code != EINVALID {
		t.Fatalf("err = %v, want an invalid error", err)
	}
	fields := map[string]bool{}
	for _, d := range e.Details {
		if d.Index != 1 {
			t.Errorf("detail %+v names event %d, want 1", d, d.Index)
		}
		fields[d.Field] = true
	}
	for _, f := range []string{"namespace", "timestamp", "metadata", "colour"} {
		if !fields[f] {
			t.Errorf("no error names field %q: %+v", f, e.Details)
		}
	}
}

func TestDecodeEventsReadsObjectsArraysAndNDJSON(t *testing.T) {
	one := `{"namespace":"users","action":"user_invited","detail":"x","anonymous":true}`
	for _, tt := range []struct {
		body   string
		ndjson bool
		want   int
	}{
		{one, false, 1},
		{"[" + one + "," + one + "]", false, 2},
		{one + "\n\n" + one + "\n", true, 2},
	} {
		events, err := DecodeEvents(strings.NewReader(tt.body), tt.ndjson)
		if err != nil || len(events) != tt.want {
			t.Fatalf("DecodeEvents(%q) = %d events, %v; want %d", tt.body, len(events), err, tt.want)
		}
		if events[0].Actor != Anonymous {
			t.Fatalf("anonymous: true should make the actor Anonymous, got %q", events[0].Actor)
		}
	}
}

func FuzzDecodeEventsNeverPanicsAndErrsOnlyWithClientCodes(f *testing.F) {
	for _, s := range []string{
		`{"namespace":"users","action":"user_invited","detail":"x"}`,
		`[{"namespace":"users"},{"id":7}]`,
		`{"targets":[{"type":1}],"metadata":{"a":"b"},"anonymous":true,"actor":"x"}`,
		"{}\n{}\n", `[`, `"x"`, `{"timestamp":"0001-01-01T00:00:00Z"}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, ndjson bool) {
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		events, err := DecodeEvents(strings.NewReader(body), ndjson)
		if err != nil {
			if c := ErrorCode(err); c != EINVALID && c != ETOOLARGE {
				t.Fatalf("DecodeEvents(%q) failed with code %s: %v", body, c, err)
			}
			return
		}
		for i := range events {
			events[i].Normalize(i, now, DefaultRetention) // must not panic on anything decoded
		}
	})
}

func TestTheActionRuleIsTheRegexpItStates(t *testing.T) {
	rule := regexp.MustCompile(`^[a-z][a-z0-9_.]{1,63}$`)
	for _, s := range []string{"", "a", "ab", "a1", "1a", "_a", "a_", "a.b", "a-b", "A_b", "aB", "a b", "a\n", "é_x", "a\x00",
		"a" + strings.Repeat("b", 63), "a" + strings.Repeat("b", 64), "token_created", "pipeline.run_finished"} {
		if got, want := validAction(s), rule.MatchString(s); got != want {
			t.Errorf("validAction(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

func TestParseNamespaceReadsWireAndDisplayNames(t *testing.T) {
	for in, want := range map[string]Namespace{"data_pipelines": DataPipelines, "Data Pipelines": DataPipelines, " data-products ": DataProducts,
		"API_TOKENS": APITokens, "users": Users, "widgets": "", "": ""} {
		if got, ok := ParseNamespace(in); got != want || ok != (want != "") {
			t.Errorf("ParseNamespace(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestTheIPRuleIsWhatNetParseIPAccepts(t *testing.T) {
	for _, s := range []string{"10.0.0.1", "010.0.0.1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::1", "2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4",
		"1.2.3.4 ", " 1.2.3.4", "2001:db8:::1", "example.com", "1.2.3.4/24", "[::1]"} {
		if got, want := validIP(s), net.ParseIP(s) != nil; got != want {
			t.Errorf("validIP(%q) = %v, net.ParseIP says %v", s, got, want)
		}
	}
}

func TestTheIDLimitIsCountedAndStatedInBytes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{strings.Repeat("i", 128), true},
		{strings.Repeat("€", 42) + "ab", true}, // 128 bytes
		{strings.Repeat("i", 129), false},
		{strings.Repeat("€", 43), false}, // 43 characters, 129 bytes
	} {
		e := Event{ID: tt.id, Namespace: Users, Action: "user_invited", Detail: "x"}
		errs := e.Normalize(0, now, DefaultRetention)
		if tt.ok != (len(errs) == 0) {
			t.Errorf("an id of %d bytes: %+v", len(tt.id), errs)
		}
		if !tt.ok && (len(errs) != 1 || errs[0].Field != "id" || errs[0].Message != "is longer than 128 bytes") {
			t.Errorf("an id of %d bytes: %+v, want id \"is longer than 128 bytes\"", len(tt.id), errs)
		}
	}
}

func TestAnIDWithSpacesAroundItIsRefused(t *testing.T) {
	for _, id := range []string{" ", "evt-1 ", " evt-1", "\tevt-1"} {
		e := Event{ID: id, Namespace: Users, Action: "user_invited", Detail: "x"}
		if errs := e.Normalize(0, time.Now(), DefaultRetention); !fieldNamed(&Error{Details: errs}, "id") {
			t.Errorf("id %q: %v", id, errs)
		}
	}
}

// The app's own entries quote names kept under an earlier release's rules,
// which let through characters refused since. Such an entry is still
// written, with U+FFFD for each: refusing it would leave a token whose
// label holds a word joiner unrevokable.
func TestOwnEntriesShowWhatTheRulesRefuseAsReplacementCharacters(t *testing.T) {
	e := Event{
		Namespace: APITokens, Action: "token_revoked", Actor: "Lukas\u00adBrandt",
		Detail:   "Revoked API token \"ci\u2060deploy\"",
		Targets:  []Target{{Type: "api_token", ID: "tok_1", Name: "ci\u2060deploy"}},
		Metadata: map[string]string{"email": strings.Repeat("\u200b", 400) + "@example.com"},
	}
	e.printableOwn()
	if errs := e.Normalize(0, time.Now(), DefaultRetention); len(errs) > 0 {
		t.Fatalf("still refused: %v", errs)
	}
	if e.Actor != "Lukas\ufffdBrandt" || e.Targets[0].Name != "ci\ufffddeploy" || !strings.Contains(e.Detail, "ci\ufffddeploy") {
		t.Fatalf("entry = %+v", e)
	}
	if m := e.Metadata["email"]; len(m) > maxMetaValue || !strings.HasSuffix(m, "…") {
		t.Fatalf("a value too long once replaced: %d bytes, %q", len(m), m[len(m)-10:])
	}
	ok := Event{Namespace: Users, Action: "user_invited", Actor: "Zoë", Detail: "Invited\tzoë"}
	ok.printableOwn()
	if ok.Actor != "Zoë" || ok.Detail != "Invited\tzoë" {
		t.Fatalf("text that keeps the rules was changed: %+v", ok)
	}
}
