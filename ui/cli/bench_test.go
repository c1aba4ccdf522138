package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The bench runs every stage on a small month and prints a row for every
// figure the README's table holds, each with its target.
func TestBenchPrintsEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("the bench ingests, indexes, restarts and purges a month")
	}
	var out, errOut bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
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
