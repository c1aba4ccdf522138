package app_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"auditlog/app"
)

// verifyExport checks an export with the Log's own public key.
func verifyExport(t *testing.T, f *fixture, export string) app.ExportVerification {
	t.Helper()
	v, err := app.VerifyExport(strings.NewReader(export), f.log.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// demoFixture holds a few hundred entries across every namespace, recorded
// in batches as clients send them. Exports read the store, not the index, so
// nothing waits for indexing.
func demoFixture(t *testing.T) *fixture {
	f := openFixture(t)
	actors := []string{"Maya Chen", "Lukas Brandt", "Priya Raman", app.Anonymous}
	var batch []app.Event
	for i := range 300 {
		ns := app.Namespaces[i%len(app.Namespaces)]
		batch = append(batch, ev(ns, "object_changed", fmt.Sprintf("Changed object %d", i), actors[i%len(actors)], time.Duration(300-i)*time.Minute, f.clock.Now()))
		if len(batch) == 100 {
			f.record(batch...)
			batch = nil
		}
	}
	return f
}

func TestAnUnchangedExportVerifiesOffline(t *testing.T) {
	f := demoFixture(t)
	for _, format := range []app.ExportFormat{app.NDJSON, app.JSON} {
		out, n := exportString(t, f, "", format, time.UTC)
		v := verifyExport(t, f, out)
		// At most the export's own entry is left out: the export is signed
		// with it, but does not hold it.
		if !v.Intact() || v.Entries != n || v.Checkpoints == 0 || v.LeftOut > 1 {
			t.Fatalf("%s: verification = %+v (exported %d)", format, v, n)
		}
	}
}

func TestAFilteredExportVerifiesWithTheDigestsOfWhatItLeftOut(t *testing.T) {
	f := demoFixture(t)
	out, n := exportString(t, f, "namespace:api_tokens", app.NDJSON, time.UTC)
	v := verifyExport(t, f, out)
	if !v.Intact() || v.Entries != n || n == 0 || v.LeftOut == 0 {
		t.Fatalf("verification = %+v (exported %d)", v, n)
	}
}

func TestEditingOneCellOfAnExportIsFound(t *testing.T) {
	f := demoFixture(t)
	out, _ := exportString(t, f, "", app.NDJSON, time.UTC)
	edited := strings.Replace(out, `"actor":"Lukas Brandt"`, `"actor":"Maya Chen"`, 1)
	if edited == out {
		t.Fatal("no entry by Lukas Brandt to edit")
	}
	v := verifyExport(t, f, edited)
	if v.Intact() || v.Break.Kind != app.BreakEdited {
		t.Fatalf("verification of an edited export = %+v", v)
	}
}

func TestRemovingOneLineOfAnExportIsFound(t *testing.T) {
	f := demoFixture(t)
	out, _ := exportString(t, f, "", app.NDJSON, time.UTC)
	lines := strings.SplitAfter(out, "\n")
	cut := strings.Join(append(lines[:10:10], lines[11:]...), "")
	v := verifyExport(t, f, cut)
	if v.Intact() || v.Break.Kind != app.BreakMissing {
		t.Fatalf("verification of an export missing a line = %+v", v)
	}
}

func TestAnExportIsNotVerifiedWithAnotherKey(t *testing.T) {
	f := demoFixture(t)
	other := openFixture(t)
	out, _ := exportString(t, f, "", app.NDJSON, time.UTC)
	v, err := app.VerifyExport(bytes.NewReader([]byte(out)), other.log.PublicKey())
	if err != nil || v.Intact() || v.Break.Kind != app.BreakForged {
		t.Fatalf("verification with another log's key = %+v, %v", v, err)
	}
}
