package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
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

// The proof line grows with the log, not the export: one longer than any
// fixed limit of a line (here 65 MiB, by JSON's own whitespace) still reads.
func TestAnExportWithAProofLineOfAnyLengthVerifies(t *testing.T) {
	f := demoFixture(t)
	out, n := exportString(t, f, "namespace:api_tokens", app.NDJSON, time.UTC)
	at := strings.Index(out, `{"proof":`) + len(`{"proof":`)
	padded := out[:at] + strings.Repeat(" ", 65<<20) + out[at:]
	v := verifyExport(t, f, padded)
	if !v.Intact() || v.Entries != n || n == 0 {
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

// sealedFixture is demoFixture with a signed checkpoint after each 100
// entries, so an export's proof ends several stretches.
func sealedFixture(t *testing.T) *fixture {
	f := openFixture(t)
	for b := range 3 {
		var batch []app.Event
		for i := range 100 {
			n := 100*b + i
			batch = append(batch, ev(app.Namespaces[n%len(app.Namespaces)], "object_changed", fmt.Sprintf("Changed object %d", n), "Maya Chen", time.Duration(300-n)*time.Minute, f.clock.Now()))
		}
		f.record(batch...)
		if _, err := f.log.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
	}
	return f
}

// ndjsonExport is an NDJSON export taken apart: its entry lines, newest
// first, and its proof.
type ndjsonExport struct {
	lines []string
	proof app.Proof
}

func splitExport(t *testing.T, out string) ndjsonExport {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var pl struct{ Proof app.Proof }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &pl); err != nil {
		t.Fatal(err)
	}
	return ndjsonExport{lines: lines[:len(lines)-1], proof: pl.Proof}
}

func (x ndjsonExport) String() string {
	p, _ := json.Marshal(map[string]any{"proof": x.proof})
	return strings.Join(append(slices.Clone(x.lines), string(p)), "\n") + "\n"
}

// seqOf is the seq of an entry line.
func seqOf(t *testing.T, line string) uint64 {
	var e app.Event
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	return e.Seq
}

// Cutting whole stretches from either end of an export, and the checkpoints
// no entry leads to any more from its proof, leaves a chain that verifies:
// the seal is what tells.
func TestCuttingEntriesFromEitherEndOfAnExportIsFound(t *testing.T) {
	f := sealedFixture(t)
	out, n := exportString(t, f, "", app.NDJSON, time.UTC)
	whole := splitExport(t, out)
	if len(whole.proof.Checkpoints) < 3 || n != 300 {
		t.Fatalf("the export holds %d entries and %d checkpoints; the test needs 300 and several", n, len(whole.proof.Checkpoints))
	}
	if v := verifyExport(t, f, whole.String()); !v.Intact() || v.Entries != n || v.Sealed.IsZero() {
		t.Fatalf("the export as written: %+v", v)
	}
	// keep leaves the lines [from, to) and the checkpoints an entry left
	// still leads to, as someone covering their tracks would.
	keep := func(from, to int) ndjsonExport {
		x := whole
		x.lines = whole.lines[from:to]
		oldest, newest := seqOf(t, x.lines[len(x.lines)-1]), seqOf(t, x.lines[0])
		x.proof.Checkpoints = nil
		reached := uint64(0)
		for _, c := range whole.proof.Checkpoints {
			if c.Seq >= oldest && reached < newest {
				x.proof.Checkpoints = append(x.proof.Checkpoints, c)
				reached = c.Seq
			}
		}
		return x
	}
	for _, tc := range []struct {
		name string
		x    ndjsonExport
	}{
		{"the two newest", keep(2, len(whole.lines))},
		{"the newest hundred", keep(100, len(whole.lines))},
		{"the oldest hundred", keep(0, len(whole.lines)-100)},
		{"the oldest one", keep(0, len(whole.lines)-1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifyExport(t, f, tc.x.String())
			if v.Intact() || v.Break.Kind != app.BreakMissing {
				t.Fatalf("verification of an export without %s = %+v", tc.name, v)
			}
		})
	}
	// Nor can the seal be changed to match, or left out.
	x := keep(100, len(whole.lines))
	seal := *x.proof.Seal
	seal.Entries, seal.Last = len(x.lines), seqOf(t, x.lines[0])
	x.proof.Seal = &seal
	if v := verifyExport(t, f, x.String()); v.Intact() || v.Break.Kind != app.BreakForged {
		t.Fatalf("verification with a seal edited to match = %+v", v)
	}
	x.proof.Seal = nil
	if v := verifyExport(t, f, x.String()); v.Intact() || v.Break.Kind != app.BreakForged {
		t.Fatalf("verification without a seal = %+v", v)
	}
}
