package index

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"auditlog/app"
)

var base = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// fixture indexes a few entries over three days, each with something that
// sets it apart, and names them so that cases read as expectations.
func fixture(t *testing.T) (*Index, map[string]app.Key) {
	x, _ := openTemp(t)
	named := []struct {
		name string
		doc  app.IndexDoc
	}{
		{"snowflake", entry(base, app.Connections, "connection_created", "Alice@Example.com",
			"Created connection Snowflake prod", app.Target{Type: "connection", ID: "conn_1", Name: "Warehouse EU"})},
		{"pipeline", entry(base.Add(1*time.Hour), app.DataPipelines, "pipeline_run_started", "ci-deploy",
			"Pipeline nightly-load started by scheduler", app.Target{Type: "pipeline", ID: "pl_9", Name: "orders_daily"})},
		{"created", entry(base.Add(2*time.Hour), app.APITokens, "token_created", "bob",
			"Token ci-deploy created for deployments", app.Target{Type: "token", ID: "tok_1"})},
		{"revoked", entry(base.Add(3*time.Hour), app.APITokens, "token_revoked", "Alice@Example.com",
			"Token ci-deploy revoked")},
		{"invited", entry(base.Add(24*time.Hour), app.Users, "user_invited", "carol",
			"Invited dave@example.com as Viewer to the Zürich team")},
		{"deleted", entry(base.Add(48*time.Hour), app.Spaces, "space_deleted", "bob",
			"Deleted space Marketing Analytics (urn:space:42)")},
		{"published", entry(base.Add(49*time.Hour), app.DataProducts, "product_published", app.Anonymous,
			"Published data product Revenue, deployed weekly")},
		{"bot", entry(base.Add(50*time.Hour), app.ServiceUsers, "service_user_created", "carol",
			"Service user ci bot created to deploy models")},
	}
	keys := map[string]app.Key{}
	var docs []app.IndexDoc
	for _, n := range named {
		keys[n.name] = n.doc.Key
		docs = append(docs, n.doc)
	}
	mustIndex(t, x, docs...)
	return x, keys
}

func TestSearchTranslatesEveryPartOfTheQuery(t *testing.T) {
	x, keys := fixture(t)
	cases := []struct {
		name  string
		query string
		want  []string // newest first
	}{
		{"a finished word matches whole words only", "snow ", nil},
		{"the word being typed matches words that start with it", "snow", []string{"snowflake"}},
		{"words are ANDed", "token revoked ", []string{"revoked"}},
		{"words match whatever their case", "TOKEN Revoked ", []string{"revoked"}},
		{"non-ASCII words match whatever their case", "ZÜRICH ", []string{"invited"}},
		{"the actor is searched as text", "alice ", []string{"revoked", "snowflake"}},
		{"target names are searched", "warehouse ", []string{"snowflake"}},
		{"target IDs are searched", "tok_1 ", []string{"created"}},
		{"common English words are not dropped", "the team ", []string{"invited"}},
		{"a hyphenated word matches its parts together, not apart", "ci-deploy ", []string{"revoked", "created", "pipeline"}},
		{"a hyphenated word being typed matches its parts together", "ci-dep", []string{"revoked", "created", "pipeline"}},
		{"a hyphenated prefix with no word after it matches nothing", "ci-zz", nil},
		{"a part of a hyphenated word is a word", "deploy ", []string{"bot", "revoked", "created", "pipeline"}},
		{"a part of an identifier with underscores is a word", "orders ", []string{"pipeline"}},
		{"an identifier with underscores matches whole", "orders_daily ", []string{"pipeline"}},
		{"an identifier with underscores being typed matches", "orders_da", []string{"pipeline"}},
		{"an identifier's parts in another order do not match", "daily_orders ", nil},
		{"a domain is a word of an email address", "example ", []string{"invited", "revoked", "snowflake"}},
		{"an email address matches whole", "dave@example.com ", []string{"invited"}},
		{"an identifier with colons matches whole", "urn:space:42 ", []string{"deleted"}},
		{"a quoted phrase matches words standing together", `"deleted space"`, []string{"deleted"}},
		{"a quoted phrase does not match words in another order", `"analytics marketing"`, nil},
		{"an action's words are text too", `"space deleted"`, []string{"deleted"}},
		{"an action matches by its name", "token_revoked ", []string{"revoked"}},
		{"a phrase does not run from one field into the next", `"prod alice"`, nil},
		{"a minus excludes entries with the word", "deploy -revoked", []string{"bot", "created", "pipeline"}},
		{"a minus alone excludes from everything", "-token -ci",
			[]string{"published", "deleted", "invited", "snowflake"}},
		{"a minus excludes a hyphenated word as a phrase", "-ci-deploy namespace:api_tokens", nil},
		{"a minus excludes a quoted phrase", `-"ci bot" namespace:service_users`, nil},
		{"a namespace filters", "namespace:api_tokens", []string{"revoked", "created"}},
		{"namespaces are ORed", "namespace:api_tokens namespace:users", []string{"invited", "revoked", "created"}},
		{"a namespace and a word are ANDed", "namespace:api_tokens alice", []string{"revoked"}},
		{"an action matches whole", "action:token_created", []string{"created"}},
		{"an action does not match a prefix of itself", "action:token", nil},
		{"an action ending in a star matches by prefix", "action:token_*", []string{"revoked", "created"}},
		{"actions are ORed", "action:token_revoked action:space_deleted", []string{"deleted", "revoked"}},
		{"an actor matches whole whatever its case", "actor:ALICE@example.com", []string{"revoked", "snowflake"}},
		{"an actor matches by the start of its name", "actor:alice", []string{"revoked", "snowflake"}},
		{"an actor matches by a word of its name", "actor:deploy", []string{"pipeline"}},
		{"an actor matches by the start of a word of its name", "actor:dep", []string{"pipeline"}},
		{"an actor does not match inside a word", "actor:lice", nil},
		{"a quoted actor is the whole name, whatever its case", `actor:"ALICE@example.com"`, []string{"revoked", "snowflake"}},
		{"a quoted actor is not the start of a name", `actor:"alice"`, nil},
		{"a quoted actor is not a word of a name", `actor:"deploy"`, nil},
		{"a quoted actor excluded leaves out that name only", `namespace:data_pipelines -actor:"ci"`, []string{"pipeline"}},
		{"a quoted actor excluded leaves out that name", `namespace:data_pipelines -actor:"ci-deploy"`, nil},
		{"user: is actor:", "user:carol", []string{"bot", "invited"}},
		{"OR finds entries with either word", "snowflake OR marketing ", []string{"deleted", "snowflake"}},
		{"OR binds tighter than AND", "token OR pipeline created ", []string{"created"}},
		{"OR joins phrases and the word being typed", `"deleted space" OR zür`, []string{"deleted", "invited"}},
		{"actors are ORed", "actor:bob actor:carol", []string{"bot", "deleted", "invited", "created"}},
		{"an actor and an action are ANDed", "actor:bob action:token_*", []string{"created"}},
		{"after is inclusive", "after:2026-11-20T15:00:00Z", []string{"bot", "published", "deleted", "invited", "revoked"}},
		{"before is exclusive", "before:2026-11-20T15:00:00Z", []string{"created", "pipeline", "snowflake"}},
		{"a range inside one day", "after:2026-11-20T13:00:00Z before:2026-11-20T15:00:00Z", []string{"created", "pipeline"}},
		{"a range of whole days", "after:2026-11-21 before:2026-11-22", []string{"invited"}},
		{"a range and a word are ANDed", "after:2026-11-21 deploy ", []string{"bot"}},
		{"a word that is nowhere matches nothing", "kubernetes ", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustSearch(t, x, parse(t, c.query), app.Key{}, 100)
			var want []app.Key
			for _, n := range c.want {
				want = append(want, keys[n])
			}
			if !equalKeys(got, want) {
				t.Errorf("%q: got %v, want %v", c.query, names(keys, got), c.want)
			}
		})
	}
}

func names(keys map[string]app.Key, got []app.Key) []string {
	var out []string
	for _, k := range got {
		name := k.String()
		for n, v := range keys {
			if v == k {
				name = n
			}
		}
		out = append(out, name)
	}
	return out
}

func TestAQueryThatCannotMatchFindsNothing(t *testing.T) {
	x, _ := fixture(t)
	q := parse(t, "namespace:spaces")
	q.RestrictNamespace(app.Users)
	if got := mustSearch(t, x, q, app.Key{}, 10); len(got) != 0 {
		t.Errorf("got %d keys for an empty query", len(got))
	}
}

func TestTheZeroQueryMatchesEverything(t *testing.T) {
	x, keys := fixture(t)
	if got := mustSearch(t, x, &app.Query{}, app.Key{}, 100); len(got) != len(keys) {
		t.Errorf("got %d keys, want %d", len(got), len(keys))
	}
}

func TestIndexingTheSameKeyAgainReplacesTheDocument(t *testing.T) {
	x, _ := openTemp(t)
	d := entry(base, app.Spaces, "space_created", "bob", "Created space Finance")
	mustIndex(t, x, d)
	mustIndex(t, x, d)
	if got := mustSearch(t, x, parse(t, "finance "), app.Key{}, 10); len(got) != 1 {
		t.Fatalf("got %d hits after indexing twice, want 1", len(got))
	}
	changed := d
	changed.Event = &app.Event{Timestamp: base, Namespace: app.Spaces, Action: "space_created", Actor: "bob", Detail: "Created space Legal"}
	mustIndex(t, x, changed)
	if got := mustSearch(t, x, parse(t, "finance "), app.Key{}, 10); len(got) != 0 {
		t.Errorf("the replaced text still matches")
	}
	if got := mustSearch(t, x, parse(t, "legal "), app.Key{}, 10); len(got) != 1 {
		t.Errorf("the new text does not match")
	}
}

func TestSearchWalksDaysNewestFirstAndStopsWhenThePageIsFull(t *testing.T) {
	x, _ := openTemp(t)
	var all []app.Key
	for day := range 5 {
		for h := range 4 {
			d := entry(base.Add(time.Duration(day)*24*time.Hour+time.Duration(h)*time.Hour), app.Spaces, "space_updated", "bob", "Renamed space")
			mustIndex(t, x, d)
			all = append(all, d.Key)
		}
	}
	slices.Reverse(all)

	var visited []int64
	x.searched = func(day int64) { visited = append(visited, day) }
	got := mustSearch(t, x, parse(t, "renamed"), app.Key{}, 6)
	if !equalKeys(got, all[:6]) {
		t.Errorf("got %v, want the 6 newest %v", got, all[:6])
	}
	newest := dayOf(base) + 4
	if want := []int64{newest, newest - 1}; !slices.Equal(visited, want) {
		t.Errorf("searched days %v, want only %v", visited, want)
	}
}

func TestACursorSkipsNewerDaysAndExcludesItsOwnKey(t *testing.T) {
	x, _ := openTemp(t)
	var all []app.Key
	for i := range 10 {
		d := entry(base.Add(time.Duration(i)*6*time.Hour), app.Users, "user_updated", "carol", "Updated profile")
		mustIndex(t, x, d)
		all = append(all, d.Key)
	}
	slices.Reverse(all)
	var visited []int64
	x.searched = func(day int64) { visited = append(visited, day) }
	got := mustSearch(t, x, parse(t, "profile"), all[3], 3)
	if !equalKeys(got, all[4:7]) {
		t.Errorf("got %v, want %v", got, all[4:7])
	}
	if visited[0] != dayOf(all[3].Time()) {
		t.Errorf("first searched day %v, want the cursor's day %v", visited[0], dayOf(all[3].Time()))
	}
}

func TestACursorBetweenTwoEntriesOfTheSameInstantKeepsTheOlderOne(t *testing.T) {
	x, _ := openTemp(t)
	a := entry(base, app.Users, "user_updated", "carol", "Updated profile")
	b := entry(base, app.Users, "user_updated", "carol", "Updated profile")
	mustIndex(t, x, a, b) // b has the higher sequence, so it is newer
	got := mustSearch(t, x, parse(t, "profile"), b.Key, 10)
	if !equalKeys(got, []app.Key{a.Key}) {
		t.Errorf("got %v, want only %v", got, a.Key)
	}
}

// randomDocs spreads n entries over days days, with repeated timestamps so
// that ordering must fall back on the sequence number.
func randomDocs(n, days int, r *rand.Rand) []app.IndexDoc {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo"}
	actors := []string{"alice", "bob", "carol", "ci-deploy"}
	docs := make([]app.IndexDoc, n)
	for i := range docs {
		ts := base.Add(-time.Duration(r.IntN(days*24*3600)) * time.Second).Truncate(time.Minute)
		ns := app.Namespaces[r.IntN(len(app.Namespaces))]
		action := fmt.Sprintf("%s_%s", strings.TrimSuffix(string(ns), "s"), []string{"created", "updated", "deleted"}[r.IntN(3)])
		detail := fmt.Sprintf("%s %s entry %d", words[r.IntN(len(words))], words[r.IntN(len(words))], i)
		docs[i] = entry(ts, ns, action, actors[r.IntN(len(actors))], detail)
	}
	return docs
}

// bruteForce is what the index should answer, found by looking at every
// entry, newest first. Query words are checked against the detail alone:
// randomDocs uses none of them elsewhere.
// checkPaging pages through every match of query fifty at a time, as a
// reader does, and compares what it got with the matches of docs.
func checkPaging(t *testing.T, x *Index, docs []app.IndexDoc, query string) {
	t.Helper()
	q := parse(t, query)
	want := keysOf(bruteForce(docs, q))
	var got []app.Key
	var cursor app.Key
	for range len(docs)/50 + 1 {
		keys := mustSearch(t, x, q, cursor, 50)
		got = append(got, keys...)
		if len(keys) < 50 {
			break
		}
		cursor = keys[len(keys)-1]
	}
	if !equalKeys(got, want) {
		t.Errorf("paged through %d keys, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
}

// bruteTally counts the matches of q among docs per quarter hour and namespace.
func bruteTally(docs []app.IndexDoc, q *app.Query) app.Tally {
	t := app.Tally{}
	for _, d := range bruteForce(docs, q) {
		t[app.TallyCell{Slot: app.SlotOf(d.Key.Time()), Namespace: d.Event.Namespace}]++
	}
	return t
}

func bruteForce(docs []app.IndexDoc, q *app.Query) []app.IndexDoc {
	var out []app.IndexDoc
	for _, d := range docs {
		words := append(strings.Fields(d.Event.Detail), strings.Split(d.Event.Action, "_")...)
		anyOK := true
		for _, g := range q.AnyOf {
			anyOK = anyOK && slices.ContainsFunc(g, func(t app.Term) bool { return matchTerms([]app.Term{t}, words) })
		}
		if q.MatchStructured(d.Event) && matchTerms(q.Terms, words) && anyOK {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b app.IndexDoc) int { return strings.Compare(b.Key.String(), a.Key.String()) })
	return out
}

func matchTerms(terms []app.Term, words []string) bool {
	for _, t := range terms {
		found := slices.ContainsFunc(words, func(w string) bool {
			return w == t.Text || t.Prefix && strings.HasPrefix(w, t.Text)
		})
		if found == t.Negate {
			return false
		}
	}
	return true
}

func keysOf(docs []app.IndexDoc) []app.Key {
	out := make([]app.Key, len(docs))
	for i, d := range docs {
		out[i] = d.Key
	}
	return out
}

func TestPagingWithTheCursorVisitsEveryMatchOnceInOrder(t *testing.T) {
	x, _ := openTemp(t)
	docs := randomDocs(1500, 20, rand.New(rand.NewPCG(1, 2)))
	for i := 0; i < len(docs); i += 400 {
		mustIndex(t, x, docs[i:min(i+400, len(docs))]...)
	}
	for _, query := range []string{
		"",
		"-zulu",
		"bravo ",
		"del",
		"echo -alpha",
		"namespace:users namespace:spaces",
		"action:user_* action:space_created",
		"actor:ci-deploy actor:bob",
		"actor:deploy",
		"alpha OR bravo -charlie",
		"charlie after:2026-11-05 before:2026-11-15T06:30:00Z",
		"after:2026-11-06T07:13:00Z before:2026-11-12T19:41:00Z",
		"-alpha after:2026-11-08T02:00:00Z before:2026-11-10T21:37:00Z",
	} {
		t.Run(cmp.Or(query, "the zero query"), func(t *testing.T) {
			q := parse(t, query)
			want := keysOf(bruteForce(docs, q))
			var got []app.Key
			var cursor app.Key
			for page := 0; ; page++ {
				keys := mustSearch(t, x, q, cursor, 50)
				got = append(got, keys...)
				if len(keys) < 50 {
					break
				}
				cursor = keys[len(keys)-1]
				if page > len(docs) {
					t.Fatal("paging does not end")
				}
			}
			if len(want) < 100 {
				t.Fatalf("the fixture gives only %d matches; paging is not exercised", len(want))
			}
			if !equalKeys(got, want) {
				t.Errorf("paged through %d keys, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b []app.Key) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestTallyCountsWhatABruteForceCountFinds(t *testing.T) {
	x, _ := openTemp(t)
	docs := randomDocs(2000, 10, rand.New(rand.NewPCG(3, 4)))
	mustIndex(t, x, docs...)
	for _, query := range []string{
		"",
		"delta ",
		"namespace:api_tokens namespace:connections",
		"actor:ci-deploy echo -bravo",
		"user:c delta OR echo",
		"after:2026-11-14T10:00:00Z before:2026-11-17T23:59:00Z",
		// Bounds that cut quarter hours, on the minute of entries: the cut
		// quarter hours are counted entry by entry, after inclusive, before not.
		"after:2026-11-14T10:07:00Z before:2026-11-17T23:52:00Z",
		"echo after:2026-11-14T10:07:00Z before:2026-11-14T10:52:00Z",
		"namespace:users after:2026-11-16T00:01:00Z",
	} {
		t.Run(cmp.Or(query, "the zero query"), func(t *testing.T) {
			q := parse(t, query)
			want := bruteTally(docs, q)
			got, err := x.tallyMap(q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("got %d cells, want %d", len(got), len(want))
			}
			for cell, n := range want {
				if got[cell] != n {
					t.Errorf("cell %v: got %d, want %d", cell, got[cell], n)
				}
			}
		})
	}
}

func TestTallyOfAnEmptyQueryIsEmpty(t *testing.T) {
	x, _ := fixture(t)
	got, err := x.tallyMap(&app.Query{Empty: true})
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want an empty tally", got, err)
	}
}

// A word no shard's dictionary holds is answered without searching any
// shard, and a word only one day holds searches only that day, typed or not.
func TestAWordOrActorMissingFromADaysDictionarySkipsThatDay(t *testing.T) {
	x, _ := openTemp(t)
	for day := range 5 {
		detail := "Renamed space"
		if day == 2 {
			detail = "Renamed quarantined space"
		}
		actor := "bob"
		if day == 3 {
			actor = "Zoë Quist"
		}
		mustIndex(t, x, entry(base.Add(time.Duration(day)*24*time.Hour), app.Spaces, "space_updated", actor, detail))
	}
	for _, tc := range []struct {
		q    string
		want []int64
		hits int
	}{
		{"xylophonist ", nil, 0},
		{"xylophon", nil, 0},
		{"renamed xylophonist ", nil, 0},
		{"quarantined ", []int64{dayOf(base) + 2}, 1},
		{"quarant", []int64{dayOf(base) + 2}, 1},
		{"space quarantined ", []int64{dayOf(base) + 2}, 1},
		{"actor:quist", []int64{dayOf(base) + 3}, 1},
		{"actor:zoë actor:nobody", []int64{dayOf(base) + 3}, 1},
		{"actor:nobody", nil, 0},
		{"-quarantined renamed ", []int64{dayOf(base) + 4, dayOf(base) + 3, dayOf(base) + 2, dayOf(base) + 1, dayOf(base)}, 4},
		{"actor:bob -quarantined", []int64{dayOf(base) + 4, dayOf(base) + 2, dayOf(base) + 1, dayOf(base)}, 3},
	} {
		var visited []int64
		x.searched = func(day int64) { visited = append(visited, day) }
		got := mustSearch(t, x, parse(t, tc.q), app.Key{}, 50)
		if len(got) != tc.hits {
			t.Errorf("%q: %d hits, want %d", tc.q, len(got), tc.hits)
		}
		if !slices.Equal(visited, tc.want) {
			t.Errorf("%q: searched days %v, want %v", tc.q, visited, tc.want)
		}
		tally, err := x.tallyMap(parse(t, tc.q))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range tally {
			n += c
		}
		if n != tc.hits {
			t.Errorf("%q: tally counts %d, want %d", tc.q, n, tc.hits)
		}
	}
}

// A day's tally is counted once and then answered from the cache until a
// batch reaches that day; every answer equals a fresh count.
func TestATallyIsCountedAgainOnlyForTheDaysABatchReached(t *testing.T) {
	x, _ := openTemp(t)
	for day := range 3 {
		mustIndex(t, x, entry(base.Add(time.Duration(day)*24*time.Hour), app.Spaces, "space_updated", "bob", "Renamed space"))
	}
	var counted []int64
	x.tallied = func(day int64) { counted = append(counted, day) }
	total := func() int {
		t.Helper()
		tally, err := x.tallyMap(parse(t, "renamed "))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range tally {
			n += c
		}
		return n
	}
	if n := total(); n != 3 || len(counted) != 3 {
		t.Fatalf("first tally: %d entries from days %v, want 3 from 3 days", n, counted)
	}
	counted = nil
	if n := total(); n != 3 || len(counted) != 0 {
		t.Fatalf("second tally: %d entries, counted days %v afresh, want 3 and none", n, counted)
	}
	mustIndex(t, x, entry(base.Add(24*time.Hour+time.Minute), app.Spaces, "space_updated", "bob", "Renamed space again"))
	if n := total(); n != 4 || !slices.Equal(counted, []int64{dayOf(base) + 1}) {
		t.Fatalf("after a batch on one day: %d entries, counted days %v afresh, want 4 and only %d", n, counted, dayOf(base)+1)
	}
	// Another query is another count.
	counted = nil
	if tally, err := x.tallyMap(parse(t, "again ")); err != nil || len(tally) != 1 || len(counted) != 1 {
		t.Fatalf("tally of another word: %v, %v, counted %v", tally, err, counted)
	}
	// A dropped day is not answered from its old shard's counts.
	if err := x.DropDay(base.Add(24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := total(); n != 2 {
		t.Fatalf("after dropping a day: %d entries, want 2", n)
	}
}

func TestARangeThatCutsAQuarterHourCountsItsEntriesOneByOne(t *testing.T) {
	x, _ := openTemp(t)
	at := func(hhmmss string) time.Time {
		ts, err := time.Parse(time.DateTime, "2026-11-14 "+hhmmss)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	var docs []app.IndexDoc
	for _, ts := range []string{"10:00:00", "10:06:59", "10:07:00", "10:07:00", "10:14:59", "10:15:00", "10:30:00", "10:51:59", "10:52:00", "10:59:00"} {
		docs = append(docs, entry(at(ts), app.Users, "user_invited", "alice", "invited bob"))
	}
	docs = append(docs, entry(at("10:08:00"), app.Spaces, "space_created", "alice", "created space"))
	mustIndex(t, x, docs...)
	for _, c := range []struct {
		query       string
		wantUsers   int
		wantSpaces  int
		wantOldest  string
		wantNewest  string
		wantMatches int
	}{
		{"after:2026-11-14T10:07:00Z before:2026-11-14T10:52:00Z", 6, 1, "10:07:00", "10:51:59", 7},
		{"invited after:2026-11-14T10:07:00Z before:2026-11-14T10:52:00Z", 6, 0, "10:07:00", "10:51:59", 6},
		{"after:2026-11-14T10:06:59.5Z before:2026-11-14T10:14:59Z", 2, 1, "10:07:00", "10:08:00", 3},
		{"namespace:users before:2026-11-14T10:07:00Z", 2, 0, "10:00:00", "10:06:59", 2},
	} {
		t.Run(c.query, func(t *testing.T) {
			q := parse(t, c.query)
			tally, err := x.tallyMap(q)
			if err != nil {
				t.Fatal(err)
			}
			users, spaces := 0, 0
			for cell, n := range tally {
				switch cell.Namespace {
				case app.Users:
					users += n
				case app.Spaces:
					spaces += n
				}
			}
			if users != c.wantUsers || spaces != c.wantSpaces {
				t.Errorf("tally: %d users, %d spaces; want %d, %d", users, spaces, c.wantUsers, c.wantSpaces)
			}
			keys := mustSearch(t, x, q, app.Key{}, 100)
			if len(keys) != c.wantMatches {
				t.Fatalf("search: %d matches, want %d", len(keys), c.wantMatches)
			}
			if newest, oldest := keys[0].Time().Format(time.TimeOnly), keys[len(keys)-1].Time().Format(time.TimeOnly); newest != c.wantNewest || oldest != c.wantOldest {
				t.Errorf("search: from %s to %s, want from %s to %s", newest, oldest, c.wantNewest, c.wantOldest)
			}
		})
	}
}

// A burst of thousands of entries a second fills the latest quarter hour
// with most of a day's entries: the windows, sized for a day spread over its
// quarter hours, must still page through every match in order, older
// quarter hours included.
func TestADenseQuarterHourIsPagedThroughAndMissesNothing(t *testing.T) {
	for _, inOrder := range []bool{true, false} {
		t.Run(fmt.Sprint("batches in key order: ", inOrder), func(t *testing.T) {
			x, _ := openTemp(t)
			r := rand.New(rand.NewPCG(15, 16))
			day := base.Truncate(24 * time.Hour).Add(-24 * time.Hour)
			dense := day.Add(10*time.Hour + 15*time.Minute) // a quarter hour's start
			docs := make([]app.IndexDoc, 10000)
			for i := range docs {
				ts := dense.Add(time.Duration(r.Int64N(int64(time.Minute)))) // most in one minute
				if i%10 == 0 {
					ts = day.Add(time.Duration(r.Int64N(int64(10 * time.Hour)))) // and some earlier
				}
				word := "rare"
				if r.IntN(2) == 0 {
					word = "common"
				}
				if r.IntN(400) == 0 {
					word += " scarce"
				}
				docs[i] = entry(ts, app.Namespaces[r.IntN(len(app.Namespaces))], "thing_changed", "alice", word)
			}
			if inOrder {
				slices.SortFunc(docs, func(a, b app.IndexDoc) int { return bytes.Compare(a.Key[:], b.Key[:]) })
			}
			for i := 0; i < len(docs); i += 1000 {
				mustIndex(t, x, docs[i:i+1000]...)
			}
			for _, query := range []string{"", "common ", "scarce ", "-common", "actor:alice", "common namespace:users",
				"common before:" + dense.Add(30*time.Second).Format(time.RFC3339Nano)} {
				t.Run(cmp.Or(query, "the zero query"), func(t *testing.T) { checkPaging(t, x, docs, query) })
			}
		})
	}
}

// windowDoc is an entry at ts with the words a test of a search's windows
// looks for: "common" in 60% of entries, "medium" in 10%, "scarce" in the
// share given, and a word of its own.
func windowDoc(r *rand.Rand, ts time.Time, i int, scarce float64) app.IndexDoc {
	var words []string
	for _, w := range []struct {
		word string
		p    float64
	}{{"common", 0.6}, {"medium", 0.1}, {"scarce", scarce}} {
		if r.Float64() < w.p {
			words = append(words, w.word)
		}
	}
	ns := app.Namespaces[r.IntN(len(app.Namespaces))]
	return entry(ts, ns, "thing_changed", []string{"alice", "bob"}[r.IntN(2)], strings.Join(append(words, fmt.Sprint("n", i)), " "))
}

// windowAdder returns what adds n windowDocs to docs at random times from
// from to from+span, "scarce" in one of 500.
func windowAdder(r *rand.Rand, docs *[]app.IndexDoc) func(from time.Time, span time.Duration, n int) {
	return func(from time.Time, span time.Duration, n int) {
		for range n {
			*docs = append(*docs, windowDoc(r, from.Add(time.Duration(r.Int64N(int64(span)))), len(*docs), 0.002))
		}
	}
}

// checkWindowQueries indexes docs and pages through them with queries a
// search's windows must answer exactly (the last one bounded by before).
func checkWindowQueries(t *testing.T, x *Index, docs []app.IndexDoc, before time.Time) {
	t.Helper()
	for i := 0; i < len(docs); i += 1000 {
		mustIndex(t, x, docs[i:min(i+1000, len(docs))]...)
	}
	for _, query := range []string{"", "common ", "medium ", "scarce ", "com", "-common", "actor:alice", "common medium ",
		"common before:" + before.Format(time.RFC3339)} {
		t.Run(cmp.Or(query, "the zero query"), func(t *testing.T) { checkPaging(t, x, docs, query) })
	}
}

func TestABusyDayIsSearchedFromItsLatestHoursAndMissesNothing(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(11, 12))
	docs := make([]app.IndexDoc, 6000)
	day := base.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	for i := range docs {
		docs[i] = windowDoc(r, day.Add(time.Duration(r.Int64N(int64(24*time.Hour)))), i, 0.01)
	}
	var widths []int64
	x.windowed = func(slots int64) { widths = append(widths, slots) }
	checkWindowQueries(t, x, docs, day.Add(13*time.Hour+17*time.Minute))
	if len(widths) == 0 {
		t.Error("no search looked at the latest hours first: the test does not exercise the windows")
	}
}

func TestABusyQuarterHourIsSearchedFromItsLatestSecondsAndMissesNothing(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(21, 22))
	slot := base.Truncate(24 * time.Hour).Add(-24*time.Hour + 13*time.Hour + 30*time.Minute)
	docs := make([]app.IndexDoc, 0, 5200)
	add := windowAdder(r, &docs)
	add(slot.Add(-3*time.Hour), 3*time.Hour, 200)       // a quiet morning
	add(slot, app.TallySlot, 2600)                      // a burst over the quarter hour
	add(slot.Add(11*time.Minute), 20*time.Second, 2400) // and most of it in twenty seconds
	var widths []int64
	x.secondsWindowed = func(seconds int64) { widths = append(widths, seconds) }
	checkWindowQueries(t, x, docs, slot.Add(11*time.Minute+10*time.Second))
	if len(widths) == 0 {
		t.Fatal("no search looked at the latest seconds of the busy quarter hour first: the test does not exercise them")
	}
	if slices.Min(widths) > 20 {
		t.Errorf("the narrowest window was %d seconds: a busy quarter hour was not narrowed to its latest seconds", slices.Min(widths))
	}
}

func TestABurstWithQuietQuarterHoursAfterItIsStillSearchedFromItsLatestSeconds(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(31, 32))
	slot := base.Truncate(24 * time.Hour).Add(-24*time.Hour + 10*time.Hour)
	var docs []app.IndexDoc
	add := windowAdder(r, &docs)
	add(slot.Add(-3*time.Hour), 3*time.Hour, 200)  // a quiet morning
	add(slot, 30*time.Second, 4000)                // a burst
	add(slot.Add(20*time.Minute), 4*time.Hour, 60) // and quiet quarter hours after it, into the next hours
	checkWindowQueries(t, x, docs, slot.Add(20*time.Second))
	// The first page, which has no cursor in the burst to start from.
	var widths []int64
	x.secondsWindowed = func(seconds int64) { widths = append(widths, seconds) }
	if keys := mustSearch(t, x, parse(t, "common "), app.Key{}, 50); len(keys) != 50 {
		t.Fatalf("%d keys on the first page, want 50", len(keys))
	}
	if len(widths) == 0 {
		t.Fatal("the burst was sorted whole: the first page did not look at its latest seconds once quieter quarter hours followed it")
	}
}

func TestAQuarterHoursRoughEntriesAreFoundWhenTheyAreItsNewest(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(41, 42))
	slot := base.Truncate(24 * time.Hour).Add(-24*time.Hour + 9*time.Hour)
	var docs []app.IndexDoc
	add := windowAdder(r, &docs)
	// The quarter hour's first entries are its latest minute's, and so
	// rough: a window of its busier, earlier seconds must not pass them by.
	add(slot.Add(14*time.Minute), time.Minute, roughBelow-100)
	add(slot, 5*time.Minute, 4000)
	var widths []int64
	x.secondsWindowed = func(seconds int64) { widths = append(widths, seconds) }
	checkWindowQueries(t, x, docs, slot.Add(14*time.Minute+30*time.Second))
	if len(widths) == 0 {
		t.Fatal("no search looked at the latest seconds of the busy quarter hour first: the test does not exercise them")
	}
	// A day's batches indexed side by side each count from what the shard
	// held before them: up to roughBelow each.
	if n := docsWithTerm(t, x, roughSecondTermOf(app.SlotOf(slot))); n < roughBelow-100 || n > 2*roughBelow {
		t.Fatalf("%d entries of the busy quarter hour are rough, want its first %d to %d", n, roughBelow-100, 2*roughBelow)
	}
}

// docsWithTerm counts the entries of every shard whose text has term.
func docsWithTerm(t *testing.T, x *Index, term string) uint64 {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := uint64(0)
	for _, shard := range x.shards {
		req := bleve.NewSearchRequestOptions(termOn(fieldText, term), 0, 0, false)
		res, err := shard.Search(req)
		if err != nil {
			t.Fatal(err)
		}
		n += res.Total
	}
	return n
}

func TestATallysTailCountsRoughEntriesOfLiveTrafficFromMidQuarterHour(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(43, 44))
	day := base.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var docs []app.IndexDoc
	add := batchAdder(t, x, r, &docs)
	tails := 0
	x.recountTail = func(int64) { tails++ }
	// Live traffic from the middle of a quarter hour on, few enough that
	// every entry of it is rough: its term is at the quarter hour's end,
	// after the tail's start, as its own second is.
	now := day.Add(14*time.Hour + 37*time.Minute)
	add(day, 14*time.Hour, 300)
	checkTally(t, x, docs, "alpha ")
	for range 8 {
		add(now, time.Second, 20)
		now = now.Add(time.Second)
		checkTally(t, x, docs, "alpha ")
	}
	if tails == 0 {
		t.Fatal("no tally counted its tail again: the test does not exercise it")
	}
}

func TestATallyOfADayIsCountedAgainOnlyFromTheEarliestHourBatchesReached(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(13, 14))
	day := base.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var docs []app.IndexDoc
	add := func(fromHour, toHour, n int) {
		t.Helper()
		batch := make([]app.IndexDoc, n)
		for i := range batch {
			ts := day.Add(time.Duration(fromHour)*time.Hour + time.Duration(r.Int64N(int64(toHour-fromHour)*int64(time.Hour))))
			ns := app.Namespaces[r.IntN(len(app.Namespaces))]
			batch[i] = entry(ts, ns, "thing_changed", "alice", []string{"alpha", "bravo", "alpha bravo"}[r.IntN(3)])
		}
		mustIndex(t, x, batch...)
		docs = append(docs, batch...)
	}
	var froms []int64
	x.recount = func(from int64) { froms = append(froms, from) }
	check := func(query string, wantFrom ...int64) {
		t.Helper()
		froms = nil
		checkTally(t, x, docs, query)
		if !slices.Equal(froms, wantFrom) {
			t.Errorf("%q: counted again from hours %v, want %v", query, froms, wantFrom)
		}
	}
	hour := func(h int) int64 { return hourOf(day.Add(time.Duration(h) * time.Hour)) }

	add(0, 10, 500)
	check("alpha ")           // counted whole
	check("alpha ")           // cached: nothing counted
	add(10, 11, 50)           // live traffic in a later hour
	add(10, 12, 50)           // and another batch
	check("alpha ", hour(10)) // only from hour 10
	add(3, 4, 20)             // a late arrival in an earlier hour
	check("alpha ", hour(3))  // from that hour
	check("bravo -alpha ")    // another query: counted whole
	for range maxMarks + 1 {
		add(12, 13, 2)
	}
	check("bravo -alpha ") // too many batches since: whole again
	cut := "alpha after:" + day.Add(90*time.Minute+7*time.Second).Format(time.RFC3339)
	check(cut) // the range is no part of what is cached: whole, as alpha is too old
	add(12, 13, 5)
	check(cut, hour(12))
}

// batchAdder returns what indexes n entries at random times from from to
// from+span, as one batch, each with the words alpha, bravo or both, and
// keeps them in docs for a count of every entry to compare with.
func batchAdder(t *testing.T, x *Index, r *rand.Rand, docs *[]app.IndexDoc) func(from time.Time, span time.Duration, n int) {
	return func(from time.Time, span time.Duration, n int) {
		t.Helper()
		batch := make([]app.IndexDoc, n)
		for i := range batch {
			ts := from.Add(time.Duration(r.Int64N(int64(span))))
			ns := app.Namespaces[r.IntN(len(app.Namespaces))]
			batch[i] = entry(ts, ns, "thing_changed", "alice", []string{"alpha", "bravo", "alpha bravo"}[r.IntN(3)])
		}
		mustIndex(t, x, batch...)
		*docs = append(*docs, batch...)
	}
}

func TestATallyUnderLiveTrafficCountsOnlyItsLatestSecondsAgain(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(23, 24))
	day := base.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var docs []app.IndexDoc
	add := batchAdder(t, x, r, &docs)
	var hours, tails []int64
	x.recount = func(h int64) { hours = append(hours, h) }
	x.recountTail = func(s int64) { tails = append(tails, s) }
	check := func(query string, wantHours, wantTails int) {
		t.Helper()
		hours, tails = nil, nil
		checkTally(t, x, docs, query)
		if len(hours) != wantHours || len(tails) != wantTails {
			t.Errorf("%q: counted again from %d hours and %d tails, want %d and %d", query, len(hours), len(tails), wantHours, wantTails)
		}
	}
	now := day.Add(14*time.Hour + 30*time.Minute)
	add(day, 14*time.Hour, 500) // the day so far
	check("alpha ", 0, 0)       // counted whole
	add(now, time.Second, 30)   // live traffic
	now = now.Add(time.Second)
	check("alpha ", 1, 0) // from its hour, the latest seconds apart
	for range 4 {
		add(now, time.Second, 30)
		now = now.Add(time.Second)
		check("alpha ", 0, 1) // then only those again
	}
	check("alpha ", 0, 0)                                      // nothing new: cached
	add(now.Add(-(tailMargin-1)*time.Second), time.Second, 10) // a batch a little out of order, still in the tail
	check("alpha ", 0, 1)
	add(now.Add(-20*time.Minute), time.Second, 10) // a late one, before the tail
	check("alpha ", 1, 0)
	add(now, time.Second, 30) // counted again from the hour, the tail is kept again
	check("alpha ", 0, 1)
	add(day.Add(3*time.Hour), time.Hour, 30) // an import into the morning: from its hour, and no tail
	check("alpha ", 1, 0)
	add(now, time.Second, 30)
	check("alpha ", 1, 0)
	// An entry stamped ahead of the rest (a clock that runs fast) does not
	// put the tail ahead of the traffic that follows.
	add(now.Add(70*time.Second), time.Second, 1)
	check("alpha ", 0, 1)
	add(now.Add(-20*time.Minute), time.Second, 10)
	check("alpha ", 1, 0)
	add(now, time.Second, 30)
	now = now.Add(time.Second)
	check("alpha ", 0, 1)
	check("bravo ", 0, 0) // another query: counted whole, and cached apart
	add(now, time.Second, 30)
	check("bravo ", 1, 0)
	check("alpha ", 0, 1)

	// A tail that grows moves up, its older seconds joining the base.
	var froms []int64
	for range 4 {
		add(now, 10*time.Second, 2000)
		now = now.Add(10 * time.Second)
		check("alpha ", 0, 1)
		froms = append(froms, tails...)
	}
	if froms[len(froms)-1] <= froms[0] {
		t.Errorf("the tail stayed from second %d while %d matches landed in it", froms[0], 4*2000*2/3)
	}
}

func TestABoundAtOrBefore1970IsNoBoundAtAll(t *testing.T) {
	x, _ := openTemp(t)
	mustIndex(t, x, entry(base, app.Users, "user_invited", "carol", "hello world"))
	// 1970-01-01 in a zone east of UTC is an instant before the epoch.
	q, err := app.ParseQuery("hello after:1970-01-01", time.FixedZone("CET", 3600))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, x, &q, app.Key{}, 10); len(got) != 1 {
		t.Errorf("found %d entries after 1970, want 1", len(got))
	}
	q, err = app.ParseQuery("hello before:1970-01-01", time.FixedZone("CET", 3600))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, x, &q, app.Key{}, 10); len(got) != 0 {
		t.Errorf("found %d entries before 1970, want none", len(got))
	}
}

func TestActorQueriesThatPrintAlikeAreCountedApart(t *testing.T) {
	x, _ := openTemp(t)
	mustIndex(t, x,
		entry(base, app.Users, "user_invited", "Bob Smith", "a"),
		entry(base, app.Users, "user_invited", "Bob Jones", "b"),
		entry(base, app.Users, "user_invited", "Ann Smith", "c"))
	for _, query := range []string{`actor:"bob smith"`, `actor:bob actor:smith`} {
		q := parse(t, query)
		found := len(mustSearch(t, x, q, app.Key{}, 10))
		tally, err := x.tallyMap(q)
		if err != nil {
			t.Fatal(err)
		}
		counted := 0
		for _, n := range tally {
			counted += n
		}
		if counted != found {
			t.Errorf("%s: the tally counts %d, the search finds %d", query, counted, found)
		}
	}
}

func TestADayBefore1970IsCountedAgainWhole(t *testing.T) {
	x, _ := openTemp(t)
	day := time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)
	docs := []app.IndexDoc{
		entry(day.Add(2*time.Hour+time.Minute), app.Users, "user_invited", "ann", "alpha"),
		entry(day.Add(22*time.Hour+time.Minute), app.Users, "user_invited", "ann", "alpha"),
	}
	mustIndex(t, x, docs...)
	q := parse(t, "alpha ")
	if _, err := x.tallyMap(q); err != nil {
		t.Fatal(err)
	}
	late := entry(day.Add(10*time.Hour+time.Minute), app.Users, "user_invited", "ann", "alpha")
	mustIndex(t, x, late)
	docs = append(docs, late)
	got, err := x.tallyMap(q)
	if err != nil {
		t.Fatal(err)
	}
	want := app.Tally{}
	for _, d := range docs {
		want[app.TallyCell{Slot: app.SlotOf(d.Key.Time()), Namespace: d.Event.Namespace}]++
	}
	if !maps.Equal(got, want) {
		t.Errorf("tally %v, want %v", got, want)
	}
}

// Tallies counted while batches land, some of them side by side in one
// shard and some of them late, end exact once the batches are done: no
// entry is counted twice or missed by the counts that were kept and added to.
func TestTalliesCountedWhileBatchesLandEndExact(t *testing.T) {
	x, _ := openTemp(t)
	r := rand.New(rand.NewPCG(21, 22))
	day := base.Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var batches [][]app.IndexDoc
	at := day
	for i := range 16 {
		batch := make([]app.IndexDoc, 1200) // cut into a batch per core
		for j := range batch {
			ts := at.Add(time.Duration(j) * time.Second)
			if i%5 == 4 {
				ts = day.Add(time.Duration(r.Int64N(int64(time.Duration(i) * 30 * time.Minute)))) // late
			}
			batch[j] = entry(ts, app.Namespaces[r.IntN(len(app.Namespaces))], "thing_changed", "alice",
				[]string{"alpha", "bravo", "alpha bravo"}[r.IntN(3)])
		}
		slices.SortFunc(batch, func(a, b app.IndexDoc) int { return bytes.Compare(a.Key[:], b.Key[:]) })
		batches = append(batches, batch)
		at = at.Add(30 * time.Minute)
	}
	queries := []*app.Query{parse(t, "alpha "), parse(t, "bravo -alpha "), parse(t, "alpha namespace:users")}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, q := range queries {
					if _, err := x.tallyMap(q); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	var docs []app.IndexDoc
	for _, b := range batches {
		mustIndex(t, x, b...)
		docs = append(docs, b...)
	}
	close(done)
	wg.Wait()
	for _, q := range queries {
		got, err := x.tallyMap(q)
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteTally(docs, q); !maps.Equal(got, want) {
			t.Errorf("%v: the tally differs from a count of every entry (%d cells, want %d)", q.Terms, len(got), len(want))
		}
	}
}

// A day dropped takes what the cache learnt of its shard with it: a closed
// shard is not kept alive by its counts.
func TestADroppedDayLeavesNothingInTheCache(t *testing.T) {
	x, _ := openTemp(t)
	for d := range 3 {
		mustIndex(t, x, entry(base.Add(time.Duration(d)*24*time.Hour), app.Spaces, "space_updated", "bob", "Renamed space"))
	}
	dropped := []bleve.Index{x.shards[dayOf(base)], x.shards[dayOf(base)+1]}
	for _, query := range []string{"renamed ", "renamed actor:bob", "space"} {
		if _, err := x.tallyMap(parse(t, query)); err != nil {
			t.Fatal(err)
		}
		mustSearch(t, x, parse(t, query), app.Key{}, 10)
	}
	if err := x.DropDay(base.Add(24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := x.DropBefore(base.Add(24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	held := func(shard bleve.Index) (n int) {
		c := &x.cache
		c.mu.Lock()
		defer c.mu.Unlock()
		_, v := c.versions[shard]
		_, w := c.newests[shard]
		_, m := c.marks[shard]
		for k := range c.entries {
			if k.shard == shard {
				n++
			}
		}
		for k := range c.freqs {
			if k.shard == shard {
				n++
			}
		}
		for _, b := range []bool{v, w, m} {
			if b {
				n++
			}
		}
		return n
	}
	for i, shard := range dropped {
		if n := held(shard); n != 0 {
			t.Errorf("dropped shard %d: the cache still holds %d things of it", i, n)
		}
	}
	if n := held(x.shards[dayOf(base)+2]); n == 0 {
		t.Error("the kept shard has nothing cached: the test caches nothing")
	}
}

// The actors a person's search matches are kept with the shard until a batch
// changes it: someone new by that name, indexed after a search, is found by
// the next one, in the search and in the counts.
func TestAPersonsSearchFindsActorsIndexedSinceTheLast(t *testing.T) {
	x, _ := openTemp(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	docs := []app.IndexDoc{entry(at, app.Users, "user_invited", "Maya Smith", "Invited Bo")}
	mustIndex(t, x, docs...)
	q := parse(t, "actor:maya")
	if got := mustSearch(t, x, q, app.Key{}, 10); len(got) != 1 {
		t.Fatalf("before: %d found, want 1", len(got))
	}
	checkTally(t, x, docs, "actor:maya")
	later := entry(at.Add(time.Minute), app.Users, "user_invited", "Maya Jones", "Invited Cy")
	docs = append(docs, later)
	mustIndex(t, x, later)
	if got := mustSearch(t, x, q, app.Key{}, 10); len(got) != 2 || got[0] != later.Key {
		t.Fatalf("after a new Maya: %d found (%x), want both, the new one first", len(got), got)
	}
	checkTally(t, x, docs, "actor:maya")
}

// Words are found without their case or diacritics, as people type names on
// keyboards without those letters: "chloe" finds Chloé, and "Chloé" finds
// a Chloe written without the accent.
func TestWordsAndActorsAreFoundWithoutDiacritics(t *testing.T) {
	x, _ := openTemp(t)
	now := time.Now().UTC()
	chloe := entry(now.Add(-time.Minute), app.Users, "user_invited", "Chloé Martin", `Invited tomás@example.com to "Straße Süd"`)
	plain := entry(now, app.Users, "user_invited", "Chloe Dubois", "Invited bob@example.com")
	other := entry(now.Add(-2*time.Minute), app.Users, "user_invited", "Maya Chen", "Invited maya@example.com")
	greek := entry(now.Add(-3*time.Minute), app.Users, "user_invited", "Maya Chen", "Invited ΟΔΥΣΣΕΥΣ")
	kana := entry(now.Add(-4*time.Minute), app.DataPipelines, "pipeline_modified", "Maya Chen", "Fixed the バグ in orders")
	// A joiner between the letters it joins is no part of the word.
	persian := entry(now.Add(-5*time.Minute), app.Spaces, "space_renamed", "Darا‌یوش", "Renamed the space to می‌خواهم 👩‍💻")
	// Letters whose lower case is shorter than they are: İ, ẞ.
	turkish := entry(now.Add(-6*time.Minute), app.Users, "user_added", "İlker Yılmaz", "Added İlker Yılmaz to the İstanbul office, GROẞE Halle")
	// Compatibility forms: full-width letters, a ligature, half-width kana.
	wide := entry(now.Add(-7*time.Minute), app.DataPipelines, "pipeline_modified", "Ｙｕｋｉ Ｔａｎａｋａ", "Changed ｏｒｄｅｒｓ＿ｄａｉｌｙ for the ﬁnance team, ｶﾀﾛｸﾞ")
	// Symbols stay symbols, between words: ™ is not the letters TM.
	symbols := entry(now.Add(-8*time.Minute), app.Spaces, "space_booked", "Maya Chen", "Booked Acme™ Corp room 20m² for H₂O")
	mustIndex(t, x, chloe, plain, other, greek, kana, persian, turkish, wide, symbols)
	wantFound(t, x, []found{
		{"chloe", []app.Key{plain.Key, chloe.Key}},
		{"Chloé", []app.Key{plain.Key, chloe.Key}},
		{"CHLOÉ martin", []app.Key{chloe.Key}},
		{"actor:chloe", []app.Key{plain.Key, chloe.Key}},
		{`actor:"chloé martin"`, []app.Key{chloe.Key}},
		{"tomas", []app.Key{chloe.Key}},
		{`"strasse sud"`, []app.Key{chloe.Key}},
		{"stras", []app.Key{chloe.Key}}, // typed, a prefix
		{"-actor:chloe", []app.Key{other.Key, greek.Key, kana.Key, persian.Key, turkish.Key, wide.Key, symbols.Key}},
		{"می‌خواهم", []app.Key{persian.Key}},
		{"میخواهم", []app.Key{persian.Key}},
		{"actor:darایوش", []app.Key{persian.Key}},
		{"ΟΔΥΣΣΕΥΣ", []app.Key{greek.Key}}, // a final Σ lower-cases to ς in the index, σ in the query
		{`"invited οδυσσευς"`, []app.Key{greek.Key}},
		{"バグ", []app.Key{kana.Key}},
		{"ハク", nil}, // a voicing mark is no accent
		{"istanbul ", []app.Key{turkish.Key}},
		{"finance ", []app.Key{wide.Key}},
		{"ﬁnance ", []app.Key{wide.Key}},
		{"orders ", []app.Key{kana.Key, wide.Key}},
		{"orders_daily ", []app.Key{wide.Key}},
		{"ｏｒｄｅｒｓ＿ｄａｉ", []app.Key{wide.Key}}, // typed full-width, a prefix
		{"actor:yuki", []app.Key{wide.Key}},
		{`actor:"yuki tanaka"`, []app.Key{wide.Key}},
		{"カタログ ", []app.Key{wide.Key}},
		{`"acme corp"`, []app.Key{symbols.Key}},
		{"20m ", []app.Key{symbols.Key}},
		{"acmetm ", nil},
		{"İstanbul ", []app.Key{turkish.Key}},
		{"istanbu", []app.Key{turkish.Key}},
		{"ilk", []app.Key{turkish.Key}},
		{`"ilker yilmaz" istanbul`, []app.Key{turkish.Key}},
		{"grosse ", []app.Key{turkish.Key}},
		{"GROẞE halle", []app.Key{turkish.Key}},
	})
}

// Scripts written without spaces, Hiragana and emoji have no words by UAX
// #29: a search for them held no word, and matched every entry.
func TestWordsWithoutSpacesAndEmojiAreFound(t *testing.T) {
	x, _ := openTemp(t)
	now := time.Now().UTC()
	thai := entry(now.Add(-time.Minute), app.Users, "user_removed", "สมชาย ใจดี", "ลบข้อมูลลูกค้า ครับ")
	emoji := entry(now.Add(-2*time.Minute), app.DataPipelines, "pipeline_modified", "Maya Chen", "🔥 hot fix for orders ❤️ 🇩🇪")
	hiragana := entry(now.Add(-3*time.Minute), app.Spaces, "space_renamed", "Aiko", "ひらがな の スペース")
	plain := entry(now.Add(-4*time.Minute), app.Spaces, "space_booked", "Maya Chen", "Booked Acme™ Corp room")
	// Arabic and Hebrew are written with their vowel marks or without.
	pointed := entry(now.Add(-5*time.Minute), app.Connections, "connection_created", "مُحَمَّد علي", "أنشأ اتصـــال שָׁלוֹם")
	mustIndex(t, x, thai, emoji, hiragana, plain, pointed)
	wantFound(t, x, []found{
		{"ข้อมูล", []app.Key{thai.Key}}, // a word inside a run of Thai
		{"ลบข้อมูลลูกค้า ", []app.Key{thai.Key}},
		{"ลูกค้า ครับ", []app.Key{thai.Key}},
		{"สมชาย", []app.Key{thai.Key}},
		{`actor:"สมชาย ใจดี"`, []app.Key{thai.Key}},
		{"ข้อมูลผิด ", nil},
		{"🔥", []app.Key{emoji.Key}},
		{"🔥 orders", []app.Key{emoji.Key}},
		{"❤", []app.Key{emoji.Key}}, // without the selector that colours it
		{"🇩🇪", []app.Key{emoji.Key}},
		{"👍", nil},
		{"-🔥", []app.Key{thai.Key, hiragana.Key, plain.Key, pointed.Key}},
		{"がな", []app.Key{hiragana.Key}},
		{"ひらがな スペース", []app.Key{hiragana.Key}},
		{`"acme corp"`, []app.Key{plain.Key}}, // a letterlike symbol is no word between them
		{"actor:محمد", []app.Key{pointed.Key}},
		{"اتصال שלום", []app.Key{pointed.Key}},
		{"مُحَمَّد", []app.Key{pointed.Key}},
	})
}

// An apostrophe parts words, whichever one was typed: UAX #29 kept
// "O'Connor" one word, which "connor" did not find, nor "o'connor" O’Connor.
func TestAnApostrophePartsWords(t *testing.T) {
	x, _ := openTemp(t)
	now := time.Now().UTC()
	typed := entry(now.Add(-time.Minute), app.Users, "user_invited", "Siobhan O'Connor", "Invited Maya's partner")
	curly := entry(now.Add(-2*time.Minute), app.Users, "user_invited", "Liam O’Connor", "Didn’t invite anyone")
	turned := entry(now.Add(-3*time.Minute), app.Users, "user_invited", "Aoife O‘Connor", "Invited no one")
	mustIndex(t, x, typed, curly, turned)
	wantFound(t, x, []found{
		{"connor", []app.Key{typed.Key, curly.Key, turned.Key}},
		{"o'connor", []app.Key{typed.Key, curly.Key, turned.Key}},
		{"O’Connor ", []app.Key{typed.Key, curly.Key, turned.Key}},
		{"actor:connor", []app.Key{typed.Key, curly.Key, turned.Key}},
		{"maya ", []app.Key{typed.Key}},
		{`"maya's partner"`, []app.Key{typed.Key}},
		{"didn't", []app.Key{curly.Key}},
		{"-o'connor", nil},
		{"-connor", nil},
	})
}

// found is a query and the entries it finds, newest first.
type found struct {
	query string
	want  []app.Key
}

func wantFound(t *testing.T, x *Index, cases []found) {
	t.Helper()
	for _, tt := range cases {
		if got := mustSearch(t, x, parse(t, tt.query), app.Key{}, 10); !equalKeys(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}
