package index

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/document"
	index "github.com/blevesearch/bleve_index_api"

	"auditlog/app"
)

// The entry field must give Bleve what its own text field would from the
// same analysis, less what no search reads: every term, and every word at
// the same positions, but no byte offsets, and no positions for the
// whole-value terms, which are never part of a phrase.
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
		for term, w := range want {
			g := got[term]
			if g == nil || string(g.Term) != string(w.Term) || g.Frequency() != w.Frequency() {
				t.Fatalf("%q: term %q is %+v, Bleve's field has %+v", d.Event.Detail, term, g, w)
			}
			var wantAt []*index.TokenLocation
			if !strings.HasPrefix(term, "\x01") {
				for _, l := range w.Locations {
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
