package ui

import (
	"net/url"
	"testing"
	"time"

	"auditlog/app"
)

func TestTheTimeRangeControlMapsToAfterAndBefore(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 25, 14, 3, 12, 0, berlin)
	const month = 30 * 24 * time.Hour
	tests := []struct {
		name, query                  string
		after, before, rng, from, to string
		url                          string
	}{
		{"nothing is the whole window", "", "", "", rangeAll, "", "", PagePath},
		{"the last 24 hours", "range=24h", "2026-11-24T13:03:00Z", "", range24h, "", "", PagePath + "?after=2026-11-24T13%3A03%3A00Z"},
		{"the last 7 days start 6 days before today", "range=7d", "2026-11-19", "", range7d, "", "", PagePath + "?after=2026-11-19"},
		{"all drops the bounds", "range=all&after=2026-11-19", "", "", rangeAll, "", "", PagePath},
		{"custom dates: before is the day after to", "range=custom&from=2026-11-10&to=2026-11-12", "2026-11-10", "2026-11-13", rangeCustom, "2026-11-10", "2026-11-12", PagePath + "?after=2026-11-10&before=2026-11-13"},
		{"custom dates the wrong way round", "range=custom&from=2026-11-12&to=2026-11-10", "2026-11-10", "2026-11-13", rangeCustom, "2026-11-10", "2026-11-12", ""},
		{"custom without dates starts from the window", "range=custom", "2026-10-26", "2026-11-26", rangeCustom, "2026-10-26", "2026-11-25", ""},
		{"only a start date", "range=custom&from=2026-11-10", "2026-11-10", "", rangeCustom, "2026-11-10", "", ""},
		{"an unchanged control keeps an exact time", "range=custom&from=2026-11-20&to=&after=2026-11-20T08:30:00Z", "2026-11-20T08:30:00Z", "", rangeCustom, "2026-11-20", "", ""},
		{"a changed control replaces it", "range=custom&from=2026-11-21&to=&after=2026-11-20T08:30:00Z", "2026-11-21", "", rangeCustom, "2026-11-21", "", ""},
		{"after and before from the URL", "after=2026-11-18&before=2026-11-19", "2026-11-18", "2026-11-19", rangeCustom, "2026-11-18", "2026-11-18", PagePath + "?after=2026-11-18&before=2026-11-19"},
		{"namespace all is no namespace", "namespace=all&q=x", "", "", rangeAll, "", "", PagePath + "?q=x"},
		{"a display name becomes the wire name", "namespace=Data+Pipelines", "", "", rangeAll, "", "", PagePath + "?namespace=data_pipelines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := url.ParseQuery(tt.query)
			v := resolveView(p, now, berlin, month)
			if v.After != tt.after || v.Before != tt.before || v.Range != tt.rng || v.From != tt.from || v.To != tt.to {
				t.Errorf("got after=%q before=%q range=%q from=%q to=%q\nwant after=%q before=%q range=%q from=%q to=%q",
					v.After, v.Before, v.Range, v.From, v.To, tt.after, tt.before, tt.rng, tt.from, tt.to)
			}
			if tt.url != "" && v.URL() != tt.url {
				t.Errorf("URL = %s, want %s", v.URL(), tt.url)
			}
		})
	}
}

func TestTheViewIsReadIntoOneFilterInTheWorkspaceZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 11, 25, 14, 3, 12, 0, berlin)
	p, _ := url.ParseQuery("q=ci-deploy&namespace=API+Tokens&after=2026-11-20&before=2026-11-22T10:30:00Z")
	v := resolveView(p, now, berlin, 30*24*time.Hour)
	want := app.Filter{Q: "ci-deploy", Namespace: app.APITokens,
		After: time.Date(2026, 11, 20, 0, 0, 0, 0, berlin), Before: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)}
	if v.Err != nil || v.Filter.Q != want.Q || v.Filter.Namespace != want.Namespace || !v.Filter.After.Equal(want.After) || !v.Filter.Before.Equal(want.Before) {
		t.Fatalf("Filter = %+v, %v; want %+v", v.Filter, v.Err, want)
	}
	// The links the page draws narrow the same Filter, not a re-read copy.
	day := v.withDay(time.Date(2026, 11, 21, 0, 0, 0, 0, berlin))
	if !day.Filter.After.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, berlin)) || day.After != "2026-11-21" || day.Filter.Namespace != app.APITokens {
		t.Fatalf("withDay = %+v", day)
	}
	// A parameter that cannot be read is left out, with the reason; the
	// others are kept as sent.
	bad := resolveView(url.Values{"after": {"yesterday"}, "namespace": {"users"}, "q": {"x"}}, now, berlin, 30*24*time.Hour)
	if bad.Err == nil || bad.After != "" || bad.Namespace != "users" || bad.Q != "x" {
		t.Fatalf("a bad after gave %+v", bad)
	}
}

func TestNiceCeilRoundsUpToARoundGridline(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 3: 3, 7: 8, 9: 10, 11: 15, 143: 150, 151: 200, 260: 300, 4100: 5000, 9001: 10000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}
