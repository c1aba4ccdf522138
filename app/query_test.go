package app

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseQueryReadsEveryPartOfTheLanguage(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		in   string
		want Query
	}{
		{"", Query{}},
		{"Snowflake", Query{Terms: []Term{{Text: "snowflake", Prefix: true}}}},
		{"snowflake ", Query{Terms: []Term{{Text: "snowflake"}}}},
		{"ci-deploy revoked", Query{Terms: []Term{{Text: "ci-deploy"}, {Text: "revoked", Prefix: true}}}},
		{`"Customer 360" partner`, Query{Terms: []Term{{Text: "customer 360", Phrase: true}, {Text: "partner", Prefix: true}}}},
		{"token -revoked", Query{Terms: []Term{{Text: "token"}, {Text: "revoked", Negate: true}}}},
		{`-"data product"`, Query{Terms: []Term{{Text: "data product", Phrase: true, Negate: true}}}},
		{"namespace:api_tokens", Query{Namespaces: []Namespace{APITokens}}},
		{`namespace:"Data Pipelines" ns:users`, Query{Namespaces: []Namespace{DataPipelines, Users}}},
		{"action:token_*", Query{Actions: []ActionMatch{{Value: "token_", Prefix: true}}}},
		{"action:token_created", Query{Actions: []ActionMatch{{Value: "token_created"}}}},
		{"action:token_* action:*", Query{anyAction: true}}, // either: every action
		{"action:* action:token_*", Query{anyAction: true}},
		{`actor:"Maya Chen"`, Query{Actors: []ActorMatch{{Value: "maya chen", Whole: true}}}},
		{"actor:anonymous", Query{Actors: []ActorMatch{{Value: "anonymous"}}}},
		{"after:2026-11-01 before:2026-11-08", Query{
			After:  time.Date(2026, 11, 1, 0, 0, 0, 0, berlin),
			Before: time.Date(2026, 11, 8, 0, 0, 0, 0, berlin),
		}},
		{"after:2026-11-01T10:00:00Z", Query{After: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}},
		{"after:2026-11-01T10:00", Query{After: time.Date(2026, 11, 1, 10, 0, 0, 0, berlin)}}, // the workspace's time
		{"before:2026-11-01T10:00:30", Query{Before: time.Date(2026, 11, 1, 10, 0, 30, 0, berlin)}},
		{"https://example.com", Query{Terms: []Term{{Text: "https://example.com", Prefix: true}}}},
		{"a - b", Query{Terms: []Term{{Text: "a"}, {Text: "b", Prefix: true}}}},
		{"user:maya", Query{Actors: []ActorMatch{{Value: "maya"}}}},
		{"at 10:30 ", Query{Terms: []Term{{Text: "at"}, {Text: "10:30"}}}},
		{"Error: urn:space:42 v1:beta ", Query{Terms: []Term{{Text: "error:"}, {Text: "urn:space:42"}, {Text: "v1:beta"}}}},
		{"Maya OR Lukas", Query{AnyOf: [][]Term{{{Text: "maya"}, {Text: "lukas", Prefix: true}}}}},
		{"token OR pipeline created", Query{
			Terms: []Term{{Text: "created", Prefix: true}},
			AnyOf: [][]Term{{{Text: "token"}, {Text: "pipeline"}}},
		}},
		{`a OR "b c" OR d x OR y `, Query{AnyOf: [][]Term{
			{{Text: "a"}, {Text: "b c", Phrase: true}, {Text: "d"}},
			{{Text: "x"}, {Text: "y"}},
		}}},
		{"maya or lukas ", Query{Terms: []Term{{Text: "maya"}, {Text: "or"}, {Text: "lukas"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseQuery(tt.in, berlin)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.in, err)
			}
			if !got.After.Equal(tt.want.After) || !got.Before.Equal(tt.want.Before) {
				t.Fatalf("time range = [%v, %v), want [%v, %v)", got.After, got.Before, tt.want.After, tt.want.Before)
			}
			got.After, got.Before, tt.want.After, tt.want.Before = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseQuery(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseQueryErrorsSayWhere(t *testing.T) {
	tests := []struct{ in, want string }{
		{`connection "Snowflake`, "character 12: unterminated quote"},
		{"namespace:bogus", "character 1: unknown namespace"},
		{"x after:yesterday", "character 3: after:"},
		{"action:to*ken", "'*' is allowed only at the end"},
		{"token - ", ""}, // a lone dash is punctuation, not an error
		{"-", ""},
		{"after:2026-11-08 before:2026-11-01", "after: must be earlier than before:"},
		{"actor:", "needs a value"},
		{"foo:bar", "character 1: unknown qualifier \"foo:\" (one of namespace:, ns:, action:, actor:, user:, after:, before:)"},
		{"maya Foo:bar", `character 6: unknown qualifier "Foo:"`},
		{`x label:"ci deploy"`, `character 3: unknown qualifier "label:"`},
		{"OR maya", "character 1: OR needs a word or phrase before it"},
		{"maya OR", "character 6: OR needs a word or phrase after it"},
		{"maya OR OR lukas", "character 9: OR needs a word or phrase before it"},
		{"maya OR -lukas", "character 9: OR joins words and phrases"},
		{"-maya OR lukas", "character 7: OR joins words and phrases, not excluded ones"},
		{"maya OR actor:lukas", "character 9: OR joins words and phrases, not qualifiers"},
		{"namespace:users OR maya", "character 17: OR joins words and phrases, not qualifiers; several namespace: qualifiers are already ORed"},
		{"actor:maya OR actor:lukas", "character 12: OR joins words and phrases, not qualifiers; several actor: qualifiers are already ORed"},
		{"after:2026-11-01 OR maya", "character 18: OR joins words and phrases, not qualifiers; for a range, write after: and before: once each"},
		{"maya OR before:2026-11-01", "character 9: OR joins words and phrases, not qualifiers; for a range"},
		{"-actor:bob OR maya", "character 12: OR joins words and phrases, not qualifiers; every excluded qualifier applies already"},
		{"actor:maya chen OR OR lukas", "character 20: OR needs a word or phrase before it"},
		// What holds no word would match every entry, not the symbol.
		{"€", `character 1: "€" has no letter, digit or emoji to search for`},
		{`unitest ①`, `character 9: "①" has no letter`},
		{`"—"`, `"—" has no letter`},
		{"maya OR ...", `character 9: "..." has no letter`},
		{"-™", `character 1: "™" has no letter`},
		{"🔥", ""},
		{"actor:...", `actor: "..." has no letter or digit; to find a name with punctuation, quote it whole, as in actor:"..."`},
		{"-user:*", `user: "*" has no letter or digit`},
		{"४२", ""},  // digits of another script
		{"Ⅻ Ⓐ", ""}, // letters drawn as numbers or in circles
	}
	for _, tt := range tests {
		_, err := ParseQuery(tt.in, time.UTC)
		if tt.want == "" {
			if err != nil {
				t.Errorf("ParseQuery(%q): unexpected error %v", tt.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseQuery(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
			continue
		}
		if ErrorCode(err) != EINVALID {
			t.Errorf("ParseQuery(%q) code = %s, want %s", tt.in, ErrorCode(err), EINVALID)
		}
	}
}

func TestRestrictNamespaceThatContradictsTheQueryMatchesNothing(t *testing.T) {
	q, _ := ParseQuery("namespace:users", time.UTC)
	q.RestrictNamespace(APITokens)
	if !q.Empty {
		t.Fatal("namespace:users restricted to api_tokens should match nothing")
	}
	q, _ = ParseQuery("namespace:users namespace:api_tokens", time.UTC)
	q.RestrictNamespace(APITokens)
	if q.Empty || !reflect.DeepEqual(q.Namespaces, []Namespace{APITokens}) {
		t.Fatalf("got %+v, want only api_tokens", q)
	}
}

func TestQueryStringParsesBackToTheSameQuery(t *testing.T) {
	for _, in := range []string{
		`"customer 360" -revoked namespace:users action:token_* actor:"maya chen" after:2026-11-01 deploy `,
		`maya OR "lukas brandt" OR or created `,
	} {
		q, err := ParseQuery(in, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseQuery(q.String()+" ", time.UTC)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", q.String(), err)
		}
		if !reflect.DeepEqual(q, again) {
			t.Fatalf("round trip changed the query:\n%+v\n%+v", q, again)
		}
	}
}

func FuzzParseQueryNeverPanicsAndErrorsAreInvalid(f *testing.F) {
	for _, s := range []string{"", "a b", `"x`, "namespace:users", "-", "action:*", `actor:"`, "after:2026-01-01", "-\"a b\" c:d",
		"foo:bar", "a OR b", "OR", "a OR", `a OR "b`, "x OR -y", "10:30 https://x", `user:"`, "a OR ns:users"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s, time.UTC)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseQuery(%q) failed with code %s", s, ErrorCode(err))
			}
			return
		}
		for _, term := range q.PositiveTerms() {
			if term.Text == "" {
				t.Fatalf("ParseQuery(%q) produced an empty term", s)
			}
		}
		for _, g := range q.AnyOf {
			if len(g) < 2 {
				t.Fatalf("ParseQuery(%q) produced an OR group of %d", s, len(g))
			}
		}
	})
}

func TestActorMatchesAWordOfTheNameOrItsStart(t *testing.T) {
	for _, tt := range []struct {
		actor, want string
		match       bool
	}{
		{"maya chen", "maya chen", true},
		{"maya chen", "maya", true},
		{"maya chen", "chen", true},
		{"maya chen", "ch", true},
		{"maya chen", "aya", false},
		{"maya chen", "maya chen x", false},
		{"alice@example.com", "example", true},
		{"ci-deploy", "deploy", true},
		{"zoë müller", "müll", true},
		{"anonymous", "anonymous", true},
		{"maya", "", false},
		{"李小龙", "小龙", true}, // written without spaces, each character starts a word
		{"李小龙", "李", true},
		{"สมชาย", "ชาย", true},
		{"mayachen", "chen", false},
	} {
		if got := ActorMatches(tt.actor, tt.want); got != tt.match {
			t.Errorf("ActorMatches(%q, %q) = %v, want %v", tt.actor, tt.want, got, tt.match)
		}
	}
}

// A quoted actor is the whole name: the page's "All entries by this actor"
// for svc-dbt must not bring svc-dbt-cloud's, nor an actor named OR every
// Ortega's.
func TestAQuotedActorIsTheWholeName(t *testing.T) {
	for _, tt := range []struct {
		query, actor string
		match        bool
	}{
		{`actor:"svc-dbt"`, "svc-dbt", true},
		{`actor:"svc-dbt"`, "svc-dbt-cloud", false},
		{`actor:svc-dbt`, "svc-dbt-cloud", true},
		{`actor:"OR"`, "Tomás Ortega", false},
		{`actor:"or"`, "OR", true},
		{`actor:"maya chen"`, "Maya Chen", true},
		{`actor:"Maya"`, "Maya Chen", false},
		{`actor:"chloe martin"`, "Chloé Martin", true},
		{`-actor:"svc-dbt"`, "svc-dbt-cloud", true},
		{`-actor:"svc-dbt"`, "svc-dbt", false},
		// Spaces as they print: two, or a no-break space, are one.
		{`actor:"Maya  Chen"`, "Maya Chen", true},
		{`actor:"Maya Chen"`, "Maya\u00a0Chen", true},
		{`actor:"Maya Chen"`, "Maya  Chen", true},
		{`actor:"Maya Chen"`, "MayaChen", false},
		// Typed, punctuation around a word is no part of it, nor a '*' after it.
		{`actor:maya.`, "Maya Chen", true},
		{`actor:(chen)`, "Maya Chen", true},
		{`actor:ma*`, "Maya Chen", true},
		{`actor:maya"`, "Maya Chen", true},
		{`actor:ma*`, "Lukas Brandt", false},
		{`-actor:maya.`, "Maya Chen", false},
	} {
		q, err := ParseQuery(tt.query, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.MatchStructured(&Event{Actor: tt.actor}); got != tt.match {
			t.Errorf("%s matches %q: %v, want %v", tt.query, tt.actor, got, tt.match)
		}
		if again, err := ParseQuery(q.String(), time.UTC); err != nil || again.MatchStructured(&Event{Actor: tt.actor}) != tt.match {
			t.Errorf("%s written back as %s reads otherwise (%v)", tt.query, q.String(), err)
		}
	}
}

func TestTallyWithinKeepsWholeSlotsOnly(t *testing.T) {
	at := func(s string) time.Time { ts, _ := time.Parse(time.RFC3339, s); return ts }
	slot := func(s string) int64 { return SlotOf(at(s)) }
	tally := Tally{
		{Slot: slot("2026-11-20T09:45:00Z"), Namespace: Users}:       2,
		{Slot: slot("2026-11-20T10:00:00Z"), Namespace: Users}:       3,
		{Slot: slot("2026-11-21T00:00:00Z"), Namespace: Connections}: 5,
	}
	got, ok := tally.Within(at("2026-11-20T10:00:00Z"), at("2026-11-21T00:00:00Z"))
	if !ok || len(got) != 1 || got[TallyCell{Slot: slot("2026-11-20T10:00:00Z"), Namespace: Users}] != 3 {
		t.Fatalf("Within = %v, %v", got, ok)
	}
	// Midnight in India (+5:30) falls on a slot boundary too.
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	if _, ok := tally.Within(time.Date(2026, 11, 21, 0, 0, 0, 0, kolkata), time.Time{}); !ok {
		t.Fatal("a day in a half-hour zone should be answerable from slots")
	}
	if _, ok := tally.Within(at("2026-11-20T10:07:00Z"), time.Time{}); ok {
		t.Fatal("a bound inside a slot cannot be answered from slot counts")
	}
	if got, ok := tally.Within(time.Time{}, time.Time{}); !ok || len(got) != 3 {
		t.Fatalf("open bounds should keep everything: %v", got)
	}
}

func TestSlotOfRoundsDown(t *testing.T) {
	for _, tt := range []struct {
		in   time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(899, 0), 0},
		{time.Unix(900, 0), 1},
		{time.Unix(-1, 0), -1},
	} {
		if got := SlotOf(tt.in); got != tt.want {
			t.Errorf("SlotOf(%v) = %d, want %d", tt.in.Unix(), got, tt.want)
		}
	}
}

func TestFilterRoundTripsThroughItsParameters(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	p := url.Values{"q": {"ci-deploy"}, "namespace": {"API Tokens"}, "after": {"2026-11-20"}, "before": {"2026-11-22T10:30:00Z"}}
	f, err := ParseFilter(p, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if f.Namespace != APITokens || !f.After.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, berlin)) {
		t.Fatalf("ParseFilter = %+v", f)
	}
	got := f.Values(berlin).Encode()
	want := "after=2026-11-20&before=2026-11-22T10%3A30%3A00Z&namespace=api_tokens&q=ci-deploy"
	if got != want {
		t.Fatalf("Values = %s, want %s", got, want)
	}
	if _, err := ParseFilter(url.Values{"namespace": {"bogus"}}, berlin); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "namespace") {
		t.Fatalf("bad namespace: %v", err)
	}
	q, err := f.Compile(berlin)
	if err != nil || len(q.Namespaces) != 1 || !q.Before.Equal(f.Before) {
		t.Fatalf("Compile = %+v, %v", q, err)
	}
}

func TestSlotCountsSumWholeSlotsPerNamespace(t *testing.T) {
	at := func(s string) time.Time { ts, _ := time.Parse(time.RFC3339, s); return ts }
	slot := func(s string) int64 { return SlotOf(at(s)) }
	c := NewSlotCounts(slot("2026-11-20T10:00:00Z"), slot("2026-11-20T11:00:00Z"))
	c.Add(slot("2026-11-20T10:00:00Z"), Users, 3)
	c.Add(slot("2026-11-20T09:45:00Z"), Users, 2)       // before the first row: grows at the front
	c.Add(slot("2026-11-21T00:00:00Z"), Connections, 5) // after the last: grows at the end
	c.Add(slot("2026-11-20T10:00:00Z"), "nonsense", 7)  // no such namespace: not counted
	if c.Total() != 10 {
		t.Fatalf("Total = %d, want 10", c.Total())
	}
	users, connections := namespaceIndex(Users), namespaceIndex(Connections)
	got, ok := c.Within(at("2026-11-20T10:00:00Z"), at("2026-11-21T00:00:00Z"))
	if !ok || got[users] != 3 || got[connections] != 0 {
		t.Fatalf("Within = %v, %v; want 3 Users entries", got, ok)
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	if got, ok := c.Within(time.Date(2026, 11, 21, 0, 0, 0, 0, kolkata), time.Time{}); !ok || got[connections] != 5 || got[users] != 0 {
		t.Fatalf("a day in a half-hour zone: %v, %v", got, ok)
	}
	if _, ok := c.Within(at("2026-11-20T10:07:00Z"), time.Time{}); ok {
		t.Fatal("a bound inside a slot cannot be answered from slot counts")
	}
	if got := c.PerNamespace(); got[users] != 5 || got[connections] != 5 {
		t.Fatalf("PerNamespace = %v", got)
	}
	if got := c.Sum(slot("2026-11-25T00:00:00Z"), slot("2026-11-26T00:00:00Z"), nil); got[users]+got[connections] != 0 {
		t.Fatalf("a day after the rows sums to %v", got)
	}
}
