package app_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/demo"
)

func exportString(t *testing.T, f *fixture, q string, format app.ExportFormat, loc *time.Location) (string, int) {
	t.Helper()
	query, err := app.ParseQuery(q, loc)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	n, err := f.log.Export(context.Background(), query, &b, app.ExportOptions{Format: format, Location: loc, Actor: "Auditor"})
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), n
}

// sameEntry compares what an entry says; when and where in the chain it was
// recorded belong to the log that recorded it.
func sameEntry(a, b app.Event) bool {
	a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}
	a.Seq, a.PrevHash, a.Hash, b.Seq, b.PrevHash, b.Hash = 0, "", "", 0, "", ""
	return a.Timestamp.Equal(b.Timestamp) && reflect.DeepEqual(withoutTime(a), withoutTime(b))
}

func withoutTime(e app.Event) app.Event { e.Timestamp = time.Time{}; return e }

func TestNDJSONExportImportsIntoAnEmptyLogAsTheSameEntries(t *testing.T) {
	src := openFixture(t)
	if _, err := demo.Load(context.Background(), src.log, nil); err != nil {
		t.Fatal(err)
	}
	want := src.all("", 500)
	out, n := exportString(t, src, "", app.NDJSON, time.UTC)
	if n != len(want) || strings.Count(out, "\n") != n+1 {
		t.Fatalf("exported %d entries in %d lines (one more holds the proof), the log lists %d", n, strings.Count(out, "\n"), len(want))
	}

	dst := openFixture(t)
	lines := strings.SplitAfter(strings.TrimSuffix(out, "\n"), "\n")
	for i := 0; i < len(lines); i += app.MaxBatch {
		events, err := app.DecodeEvents(strings.NewReader(strings.Join(lines[i:min(i+app.MaxBatch, len(lines))], "")), true)
		if err != nil {
			t.Fatal(err)
		}
		dst.record(events...)
	}
	got := dst.all("", 500)
	if len(got) != len(want) {
		t.Fatalf("imported %d entries, want %d", len(got), len(want))
	}
	// Ids travel with the entries; entries sharing a timestamp may swap places.
	for _, id := range want {
		a, _ := src.log.Get(context.Background(), id)
		b, err := dst.log.Get(context.Background(), id)
		if err != nil || !sameEntry(a, b) {
			t.Fatalf("entry %s differs after the round trip (%v):\n%+v\n%+v", id, err, a, b)
		}
	}
}

func TestCSVExportParsesBackToTheEntries(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	e := ev(app.DataProducts, "data_product_shared", "Shared \"Customer 360\", with a comma, a \"quote\"\tand a tab; café", "Tomás Ortega", time.Hour, now)
	e.Targets = []app.Target{{Type: "data_product", ID: "dp_1", Name: "Customer 360"}}
	e.Metadata = map[string]string{"access": "read"}
	e.IP = "10.0.0.7"
	f.record(e, ev(app.Users, "user_invited", "Invited Ana", "", 2*time.Hour, now))
	berlin, _ := time.LoadLocation("Europe/Berlin")
	listed := f.search("", "", 10).Events

	out, n := exportString(t, f, "", app.CSV, berlin)
	if !strings.HasPrefix(out, "\uFEFF") {
		t.Fatal("no byte order mark: spreadsheets would misread UTF-8")
	}
	if !strings.Contains(out, "\r\n") {
		t.Fatal("rows are not CRLF-terminated as RFC 4180 says")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(rows) != 3 || !reflect.DeepEqual(rows[0], app.CSVHeader) {
		t.Fatalf("%d entries, rows %v", n, rows)
	}
	for i, row := range rows[1:] {
		want := listed[i]
		// A date, a space, a time in whole seconds: what spreadsheets read as a
		// date-time (they leave RFC 3339 with its T, fraction and offset as text).
		ts, err := time.ParseInLocation("2006-01-02 15:04:05", row[0], berlin)
		utc, err2 := time.Parse("2006-01-02 15:04:05", row[1])
		whole := want.Timestamp.Truncate(time.Second)
		if err != nil || err2 != nil || !ts.Equal(whole) || !utc.Equal(whole) {
			t.Fatalf("row %d timestamps %q %q, want %v in Berlin and in UTC, to the second", i, row[0], row[1], want.Timestamp)
		}
		if row[10] != "UTC+01:00" {
			t.Errorf("row %d: utc_offset %q, want UTC+01:00", i, row[10])
		}
		var targets []app.Target
		if row[7] != "" {
			json.Unmarshal([]byte(row[7]), &targets)
		}
		var meta map[string]string
		if row[9] != "" {
			json.Unmarshal([]byte(row[9]), &meta)
		}
		got := want
		got.Namespace, _ = app.ParseNamespace(row[2])
		got.Timestamp = want.Timestamp // to the second above; the id keeps the rest
		got.Action, got.Detail, got.Actor, got.ID, got.Targets, got.IP, got.Metadata = row[3], row[4], row[5], row[6], targets, row[8], meta
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("row %d parses to\n%+v\nwant\n%+v", i, got, want)
		}
	}
}

func TestCSVCellsThatASpreadsheetWouldRunAreNeutralised(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	f.record(
		ev(app.Users, "user_invited", `=HYPERLINK("http://evil.example","click")`, "@admin", time.Hour, now),
		ev(app.Users, "user_invited", "+1 invited", "-Maya", 2*time.Hour, now),
		ev(app.Users, "user_invited", "\tTabbed", "Maya", 3*time.Hour, now),
	)
	out, _ := exportString(t, f, "", app.CSV, time.UTC)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
	if rows[1][4] != `'=HYPERLINK("http://evil.example","click")` || rows[1][5] != "'@admin" {
		t.Errorf("neutralised cells lost their text: %q %q", rows[1][4], rows[1][5])
	}
}

// jsonExport is the shape of a JSON export: an API page's events, and the proof.
type jsonExport struct {
	Events []app.Event `json:"events"`
	Proof  *app.Proof  `json:"proof"`
}

func TestJSONExportHoldsWhatTheAPIReturnsAndItsProof(t *testing.T) {
	f := openFixture(t)
	f.record(ev(app.Spaces, "space_created", "Created space Finance", "Priya", time.Hour, f.clock.Now()))
	want := f.search("", "", 10).Events[0]
	out, n := exportString(t, f, "", app.JSON, time.UTC)
	var doc jsonExport
	if err := json.Unmarshal([]byte(out), &doc); err != nil || n != 1 || len(doc.Events) != 1 || doc.Proof == nil || len(doc.Proof.Checkpoints) != 1 {
		t.Fatalf("export is not one page of 1 entry with its proof (%v): %s", err, out)
	}
	got := doc.Events
	if !sameEntry(got[0], want) || got[0].Timestamp.Location() != time.UTC {
		t.Fatalf("exported %+v, the API lists %+v", got[0], want)
	}
	empty, n := exportString(t, f, "nothingmatchesthis", app.JSON, time.UTC)
	doc = jsonExport{}
	if err := json.Unmarshal([]byte(empty), &doc); err != nil || n != 0 || doc.Events == nil || len(doc.Events) != 0 {
		t.Fatalf("an empty export is not an empty list of events: %q", empty)
	}
}

func TestAnExportIsItselfRecorded(t *testing.T) {
	f := openFixture(t)
	f.record(ev(app.APITokens, "token_created", "Created API token \"ci-deploy\"", "Maya", time.Hour, f.clock.Now()))
	f.waitIndexed()
	exportString(t, f, "ci-deploy namespace:api_tokens", app.CSV, time.UTC)
	f.waitIndexed()
	page := f.search("action:audit_log_exported", "", 10)
	if len(page.Events) != 1 {
		t.Fatalf("%d export entries, want 1", len(page.Events))
	}
	e := page.Events[0]
	if e.Namespace != app.Spaces || e.Actor != "Auditor" || !strings.Contains(e.Detail, "Exported 1 entry as CSV") || !strings.Contains(e.Detail, "ci-deploy") || e.Metadata["count"] != "1" {
		t.Fatalf("export entry = %+v", e)
	}
}

func TestExportFilenameSaysWhoseAndWhen(t *testing.T) {
	f := openFixture(t)
	q, _ := app.ParseQuery("after:2026-11-20 before:2026-11-22", time.UTC)
	name := f.log.ExportFilename(q, app.CSV, app.Settings{Workspace: "Acme Data Co.", Timezone: "UTC"})
	if name != "audit-log-acme-data-co-20261120T0000-20261122T0000.csv" {
		t.Fatalf("filename = %q", name)
	}
	name = f.log.ExportFilename(q, app.CSV, app.Settings{Workspace: "Müller & Söhne Straßenbau", Timezone: "UTC"})
	if name != "audit-log-muller-sohne-strassenbau-20261120T0000-20261122T0000.csv" {
		t.Fatalf("filename of a workspace named in accented letters = %q", name)
	}
	name = f.log.ExportFilename(app.Query{}, app.NDJSON, app.Settings{Workspace: "Acme", Timezone: "UTC"})
	if name != "audit-log-acme-20261026T1200-20261125T1200.ndjson" {
		t.Fatalf("filename of an unbounded export = %q (the retention window)", name)
	}
	// A range that ends before the retention window, or starts after now,
	// is empty, never backwards.
	for query, want := range map[string]string{
		"before:2020-01-01": "audit-log-acme-20200101T0000-20200101T0000.ndjson",
		"after:2030-01-01":  "audit-log-acme-20261125T1200-20261125T1200.ndjson",
	} {
		q, _ := app.ParseQuery(query, time.UTC)
		if name := f.log.ExportFilename(q, app.NDJSON, app.Settings{Workspace: "Acme", Timezone: "UTC"}); name != want {
			t.Errorf("filename of an export of %s = %q, want %q", query, name, want)
		}
	}
}

// An export by words right after a write holds what was just written: the
// keyword index takes entries a moment after the store, and an export whose
// proof covers them must not leave them out as if they did not match.
func TestAnExportByWordsRightAfterAWriteHoldsIt(t *testing.T) {
	f := openFixture(t)
	var events []app.Event
	for i := range 1000 {
		events = append(events, ev(app.Spaces, "space_updated", fmt.Sprintf("Renamed space lagword-%d", i), "Maya", time.Minute, f.clock.Now()))
	}
	f.record(events...)
	for _, q := range []string{"lagword", "actor:maya", "action:space_updated"} {
		if _, n := exportString(t, f, q, app.NDJSON, time.UTC); n != 1000 {
			t.Fatalf("an export of %q right after the write holds %d entries, want 1000", q, n)
		}
	}
}

// An export by words right after the entries were recorded, while the index
// has not yet taken them, holds them, and its entry counts them: it waits
// for the index before counting, not only before writing.
func TestAnExportByWordsCountsEntriesTheIndexHadNotYetTaken(t *testing.T) {
	b := openBacklogs(t)
	ctx := context.Background()
	var events []app.Event
	for i := range 3 {
		events = append(events, ev(app.DataPipelines, "pipeline_created", fmt.Sprintf("Created pipeline zebrafish_%d", i), "Maya", time.Minute, b.now))
	}
	b.index.hold()
	b.index.mu.Lock()
	entered := b.index.entered
	b.index.mu.Unlock()
	if _, err := b.log.Record(ctx, events); err != nil {
		t.Fatal(err)
	}
	<-entered // the index has them at its gate
	go func() {
		time.Sleep(300 * time.Millisecond) // the export has begun, and waits
		b.index.release()
	}()
	q, err := app.ParseQuery("zebrafish", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	n, err := b.log.Export(ctx, q, &out, app.ExportOptions{Format: app.NDJSON, Actor: "Auditor"})
	if err != nil || n != 3 {
		t.Fatalf("exported %d entries (%v), want 3", n, err)
	}
	if err := b.log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	q, _ = app.ParseQuery("action:audit_log_exported", time.UTC)
	page, err := b.log.Search(ctx, q, "", 10)
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("%d export entries (%v), want 1", len(page.Events), err)
	}
	if e := page.Events[0]; e.Metadata["count"] != "3" || !strings.Contains(e.Detail, "Exported 3 entries") {
		t.Fatalf("the export's entry says %q (count %s), want 3 entries", e.Detail, e.Metadata["count"])
	}
}
