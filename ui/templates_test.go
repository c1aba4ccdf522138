package ui

import (
	"bytes"
	"strings"
	"testing"
)

func TestEveryViewIsParsedAtStart(t *testing.T) {
	for _, name := range []string{"audit_log", "entry", "error", "partials"} {
		if views[name] == nil {
			t.Errorf("view %q is missing", name)
		}
	}
	for _, partial := range []string{"results", "rows", "row", "chart", "entry_panel", "first-run", "flash", "range"} {
		if views["partials"].Lookup(partial) == nil {
			t.Errorf("partial %q is missing", partial)
		}
	}
}

func TestWhileTheIndexIsRebuiltTheResultsSaySo(t *testing.T) {
	var buf bytes.Buffer
	v := resultsView{PagePath: PagePath, Rebuilding: true, RebuildDone: 1200, RebuildTotal: 4500}
	if err := views["partials"].ExecuteTemplate(&buf, "results", v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "The keyword index is being rebuilt (1,200 of 4,500 entries). Keyword search results may be incomplete") {
		t.Fatalf("no rebuild notice in:\n%s", buf.String())
	}
}

func TestCountsHaveThousandsSeparators(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 4589: "4,589", 1234567: "1,234,567", -1200: "-1,200"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWhileADayOfTheIndexIsRebuiltTheResultsNameIt(t *testing.T) {
	var buf bytes.Buffer
	v := resultsView{PagePath: PagePath, Repairs: []repairView{{Day: "2026-11-20", Reason: "the index holds 0 entries of that day and the store 812"}}}
	if err := views["partials"].ExecuteTemplate(&buf, "results", v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "day 2026-11-20 (UTC) is being rebuilt from the store") || !strings.Contains(buf.String(), "the store 812. Keyword search may miss entries of that day") {
		t.Fatalf("no notice naming the day in:\n%s", buf.String())
	}
}
