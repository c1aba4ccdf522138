package index

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/document"
	index "github.com/blevesearch/bleve_index_api"

	"auditlog/app"
)

// The entry field must give Bleve what its own text field would from the
// same analysis, less what no search reads: every term, and the words of
// values of three words or more at the same positions, but no byte offsets,
// and no positions for the whole-value terms, which are never part of a
// phrase.
func TestEntryFieldGivesWhatBlevesTextFieldGives(t *testing.T) {
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	docs := realisticDocs(3000, from, from.Add(30*24*time.Hour), rand.New(rand.NewPCG(1, 2)))
	odd := []app.Event{
		{Namespace: app.DataPipelines, Action: "pipeline_failed", Actor: "Zoë Ådahl",
			Detail: "Ünïcode détail: orders orders_daily orders failed, failed again"},
		{Namespace: app.Users, Action: "user_invited", Actor: "bob", Detail: ""},
		{Namespace: app.Spaces, Action: "space_created", Actor: "bob", Detail: "bob bob bob",
			Targets: []app.Target{{Type: "space", ID: "bob", Name: "Bob's bob"}}},
	}
	for i := range odd {
		docs = append(docs, app.IndexDoc{Key: app.MakeKey(from.Add(time.Duration(i)*time.Minute), uint64(90000+i)), Event: &odd[i]})
	}
	for i, d := range docs {
		f, ok := newDocument(d.Key, d.Event, i%2 == 0).Fields[0].(*entryField)
		if !ok {
			t.Fatalf("the document's first field is a %T", newDocument(d.Key, d.Event, i%2 == 0).Fields[0])
		}
		f.Analyze()
		ref := document.NewTextFieldCustom(fieldText, nil, nil, entryFieldOptions, &f.text)
		ref.Analyze()
		if f.AnalyzedLength() != ref.AnalyzedLength() {
			t.Fatalf("%q: %d tokens, Bleve's field %d", d.Event.Detail, f.AnalyzedLength(), ref.AnalyzedLength())
		}
		got, want := f.AnalyzedTokenFrequencies(), ref.AnalyzedTokenFrequencies()
		if len(got) != len(want) {
			t.Fatalf("%q: %d terms, Bleve's field %d", d.Event.Detail, len(got), len(want))
		}
		// Positions of the words of values of three words or more.
		positioned := map[int]bool{}
		for _, tok := range f.text.Analyze(nil)[:f.text.positioned] {
			if strings.HasPrefix(string(tok.Term), "\x01") {
				t.Fatalf("%q: a whole-value term %q keeps its position", d.Event.Detail, tok.Term)
			}
			positioned[tok.Position] = true
		}
		for term, w := range want {
			g := got[term]
			if g == nil || string(g.Term) != string(w.Term) || g.Frequency() != w.Frequency() {
				t.Fatalf("%q: term %q is %+v, Bleve's field has %+v", d.Event.Detail, term, g, w)
			}
			var wantAt []*index.TokenLocation
			for _, l := range w.Locations {
				if positioned[l.Position] {
					wantAt = append(wantAt, &index.TokenLocation{Position: l.Position})
				}
			}
			if !reflect.DeepEqual(g.Locations, wantAt) {
				t.Fatalf("%q: term %q is at %s, want %s", d.Event.Detail, term, locations(g.Locations), locations(wantAt))
			}
		}
		// Only an estimate, for scorch's statistics, but of the right size.
		if s, r := f.Size(), ref.Size(); s < r/3 || s > 2*r {
			t.Errorf("%q: size %d, Bleve's field says %d", d.Event.Detail, s, r)
		}
	}
}

func locations(ls []*index.TokenLocation) string {
	var out []string
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%+v", *l))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// An entry's actor or target that its detail repeats word for word is
// indexed once, in the detail (dropRepeatedValues). Every query must still
// find exactly what it finds in the values one by one: words, phrases,
// identifiers, the word being typed after others, and exclusions. The
// entries repeat values in their details often, in part, in another order
// and in other cases, so that a value dropped wrongly shows.
func TestAValueRepeatedInTheDetailIsFoundAsBefore(t *testing.T) {
	x, _ := openTemp(t)
	r := newRand()
	people := []string{"Maya Chen", "Chen Maya", "Lukas", "maya", "Zoë Ådahl"}
	objects := []string{"orders_daily", "orders", "daily orders", "ci-deploy", "Customer 360", "360"}
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var docs []app.IndexDoc
	for i := range 400 {
		actor, object := pick(people), pick(objects)
		var detail string
		switch r.IntN(5) {
		case 0:
			detail = actor + " ran " + object
		case 1:
			detail = strings.ToUpper(object) + " changed by " + pick(people)
		case 2:
			detail = "ran " + pick(objects) + " for " + pick(people)
		case 3:
			detail = object
		default:
			detail = ""
		}
		d := entry(from.Add(time.Duration(i)*time.Minute), app.DataPipelines, "pipeline_run", actor, detail,
			app.Target{Type: "pipeline", Name: object, ID: pick(objects)})
		docs = append(docs, d)
	}
	mustIndex(t, x, docs...)

	// One value's words, and each query as words in a row, the last
	// perhaps a prefix: what the index answers when nothing is dropped.
	valuesOf := func(e *app.Event) [][]string {
		var out [][]string
		for _, v := range []string{e.Detail, e.Actor, e.Action} {
			out = append(out, tokens(v))
		}
		for _, tg := range e.Targets {
			out = append(out, tokens(tg.Name), tokens(tg.ID))
		}
		return out
	}
	inRow := func(words, want []string, prefix bool) bool {
		for i := 0; i+len(want) <= len(words); i++ {
			ok := true
			for j, w := range want {
				last := j == len(want)-1
				ok = ok && (words[i+j] == w || prefix && last && strings.HasPrefix(words[i+j], w))
			}
			if ok {
				return true
			}
		}
		return false
	}
	type part struct {
		words  []string
		prefix bool
		negate bool
	}
	for _, c := range []struct {
		query string
		parts []part
	}{
		{`"maya chen" `, []part{{words: []string{"maya", "chen"}}}},
		{`"chen maya" `, []part{{words: []string{"chen", "maya"}}}},
		{`"chen ran" `, []part{{words: []string{"chen", "ran"}}}},
		{"orders_daily ", []part{{words: []string{"orders", "daily"}}}},
		{`"daily orders" `, []part{{words: []string{"daily", "orders"}}}},
		{"orders_da", []part{{words: []string{"orders", "da"}, prefix: true}}},
		{"ci-dep", []part{{words: []string{"ci", "dep"}, prefix: true}}},
		{`"customer 360" `, []part{{words: []string{"customer", "360"}}}},
		{"zoe ", []part{{words: []string{"zoe"}}}},
		{`"zoe adahl" `, []part{{words: []string{"zoe", "adahl"}}}},
		{"lukas -orders_daily", []part{{words: []string{"lukas"}}, {words: []string{"orders", "daily"}, negate: true}}},
		{`-"maya chen"`, []part{{words: []string{"maya", "chen"}, negate: true}}},
	} {
		var want []app.IndexDoc
		for _, d := range docs {
			ok := true
			for _, p := range c.parts {
				found := slices.ContainsFunc(valuesOf(d.Event), func(words []string) bool { return inRow(words, p.words, p.prefix) })
				ok = ok && found != p.negate
			}
			if ok {
				want = append(want, d)
			}
		}
		slices.SortFunc(want, func(a, b app.IndexDoc) int { return strings.Compare(b.Key.String(), a.Key.String()) })
		got := mustSearch(t, x, parse(t, c.query), app.Key{}, len(docs))
		if len(want) == 0 {
			t.Fatalf("%q: the entries hold no match; the test proves nothing", c.query)
		}
		if !equalKeys(got, keysOf(want)) {
			t.Errorf("%q: %d entries found, %d hold it", c.query, len(got), len(want))
		}
	}
}

func TestAValueTheDetailRepeatsAddsNoWordsToTheIndex(t *testing.T) {
	count := func(e app.Event) int {
		f := newDocument(app.MakeKey(time.Unix(0, 0), 1), &e, false).Fields[0].(*entryField)
		n := 0
		for _, tok := range f.text.Analyze(nil) {
			if !strings.HasPrefix(string(tok.Term), "\x01") {
				n++
			}
		}
		return n
	}
	detail := "Maya Chen ran orders_daily: 120 rows"
	base := count(app.Event{Detail: detail, Action: "pipeline_run"})
	if got := count(app.Event{Detail: detail, Action: "pipeline_run", Actor: "Maya Chen",
		Targets: []app.Target{{Name: "orders_daily", ID: "ORDERS.daily"}}}); got != base {
		t.Errorf("an actor and a target the detail names add %d words", got-base)
	}
	if got := count(app.Event{Detail: detail, Action: "pipeline_run", Actor: "Chen Maya"}); got != base+2 {
		t.Errorf("an actor in another order than the detail's adds %d words, want 2", got-base)
	}
	alone := count(app.Event{Detail: "orders", Action: "pipeline_run"})
	if got := count(app.Event{Detail: "orders", Action: "pipeline_run", Targets: []app.Target{{Name: "orders", ID: "orders"}}}); got != alone {
		t.Errorf("three equal values give %d words, one gives %d", got, alone)
	}
}
