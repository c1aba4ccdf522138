package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"auditlog/app"
)

// The bench runs every stage on a small month and prints a row for every
// figure the README's table holds, each with its target.
func TestBenchPrintsEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench ingests, indexes, restarts and purges a month")
	}
	out, errOut := &syncBuffer{}, &syncBuffer{}
	m := &Main{Stdout: out, Stderr: errOut, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), []string{"bench", "--events", "2000", "--rounds", "2", "--data", t.TempDir()})
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	table := out.String()
	for _, figure := range []string{
		"acknowledged ingest, batches of 1000",
		"ingest → searchable, a month (import)",
		"ingest → searchable, live traffic",
		"API: newest 50, no filter, p50 / p95",
		"API: one namespace, 50, p50 / p95",
		"API: one word, p50 / p95",
		"API: two words, p50 / p95",
		"API: a person (actor:), p50 / p95",
		"API: a rare word, p50 / p95",
		"API: a word that matches nothing, p50 / p95",
		"API: deep paging, page ",
		"API: the whole mix, p50 / p95",
		"page partial, counts and chart, idle, p50 / p99",
		"page partial under ingest, p50 / p99",
		"bytes on disk per entry (store + index)",
		"start-up until the page answers",
		"purge of one expired day",
		"anonymous memory while serving",
	} {
		line := lineWith(table, figure)
		if line == "" {
			t.Errorf("no row %q in:\n%s", figure, table)
			continue
		}
		if !strings.ContainsAny(line, "≤≥–") {
			t.Errorf("row %q has no target: %q", figure, line)
		}
	}
	if strings.Contains(lineWith(table, "purge of one expired day"), "(0 entries)") {
		t.Errorf("the purge found no expired day:\n%s", table)
	}
	if !strings.Contains(table, "cores") || !strings.Contains(table, "linux/") && !strings.Contains(table, "darwin/") && !strings.Contains(table, "windows/") {
		t.Errorf("the table does not say the machine it ran on:\n%s", table)
	}
	if !strings.Contains(errOut.String(), "batches acknowledged") {
		t.Errorf("no progress on the terminal:\n%s", errOut.String())
	}
}

func lineWith(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// Each shape of ids gives the same month otherwise, so runs of the bench
// with different ids compare only what ids cost: numbered ids grow within a
// request, ordered ones are UUIDv7s that sort as the events do, random ones
// are distinct UUIDv4s, and "none" leaves the id to the server.
func TestBenchIDShapesChangeOnlyTheIDs(t *testing.T) {
	end := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	month := map[string][]app.Event{}
	for _, shape := range idShapes {
		month[shape] = benchEvents(end, benchMonth, 3000, 1, shape)
	}
	seen := map[string]bool{}
	for i, e := range month[idsRandom] {
		if !uuid4.MatchString(e.ID) {
			t.Fatalf("random id %d = %q, not a UUIDv4", i, e.ID)
		}
		if seen[e.ID] {
			t.Fatalf("random id %q given twice", e.ID)
		}
		seen[e.ID] = true
		if n := month[idsNumbered][i].ID; n != fmt.Sprintf("bench-1-%d", i) {
			t.Fatalf("numbered id %d = %q", i, n)
		}
		if none := month[idsNone][i].ID; none != "" {
			t.Fatalf("id %d without ids = %q", i, none)
		}
		ordered := month[idsOrdered][i].ID
		if !uuid7.MatchString(ordered) || !strings.HasPrefix(strings.ReplaceAll(ordered, "-", ""), fmt.Sprintf("%012x", e.Timestamp.UnixMilli())) {
			t.Fatalf("ordered id %d = %q, not a UUIDv7 of %v", i, ordered, e.Timestamp)
		}
		if i > 0 && ordered <= month[idsOrdered][i-1].ID {
			t.Fatalf("ordered id %d = %q does not sort after %q", i, ordered, month[idsOrdered][i-1].ID)
		}
		for _, shape := range idShapes {
			other := month[shape][i]
			other.ID = e.ID
			if !reflect.DeepEqual(other, e) {
				t.Fatalf("event %d differs beyond its id with %s ids:\n%+v\n%+v", i, shape, other, e)
			}
		}
	}
	if again := benchEvents(end, benchMonth, 3000, 1, idsRandom); !reflect.DeepEqual(again, month[idsRandom]) {
		t.Error("the random ids are not the same from one run to the next")
	}
	body, err := json.Marshal(wireEvents(month[idsNone][:1]))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), `"id"`) {
		t.Errorf("an event without an id is sent with one: %s", body)
	}

	out, errOut := &syncBuffer{}, &syncBuffer{}
	m := &Main{Stdout: out, Stderr: errOut, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), []string{"bench", "--ids", "uuid", "--data", t.TempDir()})
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "--ids") || !strings.Contains(err.Error(), "random") {
		t.Errorf("bench --ids uuid: %v", err)
	}
}

var (
	uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	uuid7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)
