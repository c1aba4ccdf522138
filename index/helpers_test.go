package index

import (
	"maps"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"auditlog/app"
)

var seq atomic.Uint64

// entry builds a document whose key is unique even when timestamps repeat.
func entry(ts time.Time, ns app.Namespace, action, actor, detail string, targets ...app.Target) app.IndexDoc {
	return app.IndexDoc{
		Key: app.MakeKey(ts, seq.Add(1)),
		Event: &app.Event{
			Timestamp: ts,
			Namespace: ns,
			Action:    action,
			Actor:     actor,
			Detail:    detail,
			Targets:   targets,
		},
	}
}

func openTemp(t testing.TB) (*Index, string) {
	t.Helper()
	dir := t.TempDir()
	x, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, dir
}

func mustIndex(t testing.TB, x *Index, docs ...app.IndexDoc) {
	t.Helper()
	if err := x.Index(docs, false); err != nil {
		t.Fatal(err)
	}
}

func parse(t testing.TB, s string) *app.Query {
	t.Helper()
	q, err := app.ParseQuery(s, time.UTC)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", s, err)
	}
	return &q
}

func mustSearch(t testing.TB, x *Index, q *app.Query, before app.Key, limit int) []app.Key {
	t.Helper()
	keys, err := x.Search(q, before, limit)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func equalKeys(a, b []app.Key) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// newRand gives every test the same entries, so a failure can be replayed.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(5, 6)) }

// tallyMap is Tally's counts in one map, to compare with a count of every
// entry.
func (x *Index) tallyMap(q *app.Query) (app.Tally, error) {
	t := app.Tally{}
	err := x.Tally(q, func(cell app.TallyCell, n int) { t[cell] += n })
	return t, err
}

// checkTally compares x's tally of query with a count of every entry of docs.
func checkTally(t *testing.T, x *Index, docs []app.IndexDoc, query string) {
	t.Helper()
	q := parse(t, query)
	got, err := x.tallyMap(q)
	if err != nil {
		t.Fatal(err)
	}
	if want := bruteTally(docs, q); !maps.Equal(got, want) {
		t.Errorf("%q: the tally differs from a count of every entry (%d cells, want %d)", query, len(got), len(want))
	}
}
