package app_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/store"
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
	newest, oldest := seqOf(t, whole.lines[0]), seqOf(t, whole.lines[len(whole.lines)-1])
	for _, tc := range []struct {
		name string
		x    ndjsonExport
		at   uint64 // the break names the first entry cut
	}{
		{"the two newest", keep(2, len(whole.lines)), newest - 1},
		{"the newest hundred", keep(100, len(whole.lines)), newest - 99},
		{"the oldest hundred", keep(0, len(whole.lines)-100), oldest},
		{"the oldest one", keep(0, len(whole.lines)-1), oldest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifyExport(t, f, tc.x.String())
			if v.Intact() || v.Break.Kind != app.BreakMissing || v.Break.Seq != tc.at {
				t.Fatalf("verification of an export without %s = %+v, want missing at sequence %d", tc.name, v.Break, tc.at)
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

// editLine re-encodes an entry line after edit has changed its fields.
func editLine(t *testing.T, line string, edit func(map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonString is the export as the JSON format writes it.
func (x ndjsonExport) jsonString() string {
	return `{"events":[` + strings.Join(x.lines, ",") + `],"proof":` + string(must(json.Marshal(x.proof))) + "}"
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Each way of tampering with an export's entries is found, named as what
// it is, in both formats: verification reads an entry at a time and keeps
// only its hashes, and must still tell what was done to it.
func TestEachKindOfTamperingIsFoundInBothFormats(t *testing.T) {
	f := sealedFixture(t)
	out, _ := exportString(t, f, "", app.NDJSON, time.UTC)
	whole := splitExport(t, out)
	// Lines are newest first: 150 is in the middle of a stretch, the
	// oldest starts one.
	mid, oldest := 150, len(whole.lines)-1
	with := func(i int, edit func(map[string]any)) ndjsonExport {
		x := whole
		x.lines = slices.Clone(whole.lines)
		x.lines[i] = editLine(t, x.lines[i], edit)
		return x
	}
	midSeq := seqOf(t, whole.lines[mid])
	var midPrev, midID string
	_ = editLine(t, whole.lines[mid], func(m map[string]any) { midPrev, midID = m["prev_hash"].(string), m["id"].(string) })
	swapped := whole
	swapped.lines = slices.Clone(whole.lines)
	swapped.lines[3], swapped.lines[200] = swapped.lines[200], swapped.lines[3]
	doubled := whole
	doubled.lines = slices.Insert(slices.Clone(whole.lines), mid, whole.lines[mid])
	badDigests := whole
	badDigests.proof.Digests = []app.DigestRun{{From: 1, Digests: "not base64!"}}
	for _, tc := range []struct {
		name    string
		x       ndjsonExport
		want    string // "" for intact
		seq     uint64
		found   string
		expects string
	}{
		{"lines in another order", swapped, "", 0, "", ""},
		{"a line twice", doubled, app.BreakInserted, midSeq, "", ""},
		{"a line without its seq", with(mid, func(m map[string]any) { delete(m, "seq") }), app.BreakInserted, 0, "", ""},
		{"a prev_hash in capitals", with(mid, func(m map[string]any) { m["prev_hash"] = strings.ToUpper(midPrev) }), app.BreakReordered, midSeq, strings.ToUpper(midPrev), ""},
		{"a prev_hash of another entry", with(mid, func(m map[string]any) { m["prev_hash"] = strings.Repeat("ab", 32) }), app.BreakReordered, midSeq, strings.Repeat("ab", 32), ""},
		{"an unreadable prev_hash where a stretch starts", with(oldest, func(m map[string]any) { m["prev_hash"] = "zz" }), app.BreakEdited, 1, "", ""},
		{"a hash replaced", with(mid, func(m map[string]any) { m["hash"] = strings.Repeat("cd", 32) }), app.BreakEdited, midSeq, "", strings.Repeat("cd", 32)},
		{"a hash emptied", with(mid, func(m map[string]any) { m["hash"] = "" }), app.BreakEdited, midSeq, "", ""},
		{"the detail edited", with(mid, func(m map[string]any) { m["detail"] = "Nothing happened" }), app.BreakEdited, midSeq, "", ""},
		{"the proof's digests unreadable", badDigests, app.BreakEdited, 1, "", ""},
	} {
		for _, format := range []string{"ndjson", "json"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				text := tc.x.String()
				if format == "json" {
					text = tc.x.jsonString()
				}
				v := verifyExport(t, f, text)
				if tc.want == "" {
					if !v.Intact() || v.Entries != len(whole.lines) {
						t.Fatalf("verification = %+v, want intact with %d entries", v, len(whole.lines))
					}
					return
				}
				if v.Intact() || v.Break.Kind != tc.want || v.Break.Seq != tc.seq {
					t.Fatalf("verification = %+v, want a break of kind %s at sequence %d", v.Break, tc.want, tc.seq)
				}
				if tc.found != "" && v.Break.Found != tc.found {
					t.Errorf("the break found %q, want %q", v.Break.Found, tc.found)
				}
				if tc.want == app.BreakEdited && tc.seq == midSeq && v.Break.Expected != tc.expects && tc.expects != "" {
					t.Errorf("the break expected %q, want %q", v.Break.Expected, tc.expects)
				}
				if tc.seq == midSeq && tc.want != app.BreakInserted && v.Break.ID != midID {
					t.Errorf("the break names entry %q, want %q", v.Break.ID, midID)
				}
			})
		}
	}
}

// A JSON export is read an entry at a time, however it is spaced. Anything else in it, which no seal covers, is refused: a note
// beside the proof would read as part of what verified.
func TestAJSONExportIsReadWhateverTheOrderOfItsParts(t *testing.T) {
	f := sealedFixture(t)
	out, n := exportString(t, f, "", app.NDJSON, time.UTC)
	x := splitExport(t, out)
	proof := string(must(json.Marshal(x.proof)))
	events := "[" + strings.Join(x.lines, ",") + "]"
	for name, text := range map[string]string{
		"events first":      `{"events":` + events + `,"proof":` + proof + `}`,
		"spaced and tabbed": "{\n\t\"events\": " + events + ",\n\t\"proof\": " + proof + "\n}\n",
	} {
		if v := verifyExport(t, f, text); !v.Intact() || v.Entries != n {
			t.Errorf("%s: verification = %+v", name, v)
		}
	}
	if v := verifyExport(t, f, `{"events":null,"proof":`+proof+`}`); v.Intact() || v.Break.Kind != app.BreakMissing {
		t.Errorf("no events: verification = %+v", v)
	}
	// A part twice, or in other letters, could show a reader of the file
	// other entries than were verified: refused.
	half := len(x.lines) / 2
	// Nor may an NDJSON export hold two proofs, or anything beside its proof
	// on the proof's line.
	if _, err := app.VerifyExport(strings.NewReader(x.String()+`{"proof":`+proof+"}\n"), f.log.PublicKey()); err == nil {
		t.Error("an NDJSON export with two proof lines: no error")
	}
	lines := strings.Join(x.lines, "\n") + "\n"
	for _, last := range []string{
		`{"proof":` + proof + `,"note":"approved by the auditor"}`,
		`{"proof":` + proof + `,"Proof":` + proof + `}`,
		`{"proof":` + strings.Replace(proof, `"query":`, `"query":"actor:maya","query":`, 1) + `}`,
	} {
		if _, err := app.VerifyExport(strings.NewReader(lines+last+"\n"), f.log.PublicKey()); err == nil {
			t.Errorf("an NDJSON export ending %.60q…: no error", last)
		}
	}
	for _, text := range []string{
		`{"events":{},"proof":` + proof + `}`,
		`{"events":[` + x.lines[0],
		`{"events":[` + strings.Join(x.lines[:half], ",") + `],"events":[` + strings.Join(x.lines[half:], ",") + `],"proof":` + proof + `}`,
		`{"events":` + events + `,"events":null,"proof":` + proof + `}`,
		`{"events":` + events + `,"proof":` + proof + `,"Events":[]}`,
		`{"events":` + events + `,"proof":` + proof + `,"proof":` + proof + `}`,
		`{"events":` + events + `,"proof":` + proof + `}{"events":[]}`,
		`{"events":` + events + `,"note":"approved by the auditor","proof":` + proof + `}`,
		`{"events":` + events + `,"proof":` + strings.Replace(proof, `"seal":`, `"note":"approved","seal":`, 1) + `}`,
		`{"Events":` + events + `,"proof":` + proof + `}`,
		`{"events":` + events + `,"proof":` + strings.Replace(proof, `"query":`, `"query":"actor:maya","query":`, 1) + `}`,
		`{"events":` + events + `,"proof":` + strings.Replace(proof, `"query":`, `"Query":"actor:maya","query":`, 1) + `}`,
	} {
		if _, err := app.VerifyExport(strings.NewReader(text), f.log.PublicKey()); err == nil {
			t.Errorf("%.40q…: no error", text)
		}
	}
}

// An entry that readers could read differently does not verify: a field
// given twice (a forged actor before the true one, which encoding/json
// passes over and a spreadsheet or script shows), a field no entry has, or
// one in other letters. The import refuses the same lines.
func TestAnEntryReadersCouldReadDifferentlyDoesNotVerify(t *testing.T) {
	f := demoFixture(t)
	out, _ := exportString(t, f, "", app.NDJSON, time.UTC)
	for _, tc := range []struct{ name, from, to, says string }{
		{"a forged actor before the true one", `"actor":"Lukas Brandt"`, `"actor":"Mallory Forger","actor":"Lukas Brandt"`, "actor is given more than once"},
		{"a field no entry has", `"actor":"Lukas Brandt"`, `"actor":"Lukas Brandt","note":"approved by the CFO"`, "note is not a known field"},
		{"a field in capitals beside its own", `"actor":"Lukas Brandt"`, `"ACTOR":"Mallory Forger","actor":"Lukas Brandt"`, "ACTOR is not a known field"},
	} {
		edited := strings.Replace(out, tc.from, tc.to, 1)
		if edited == out {
			t.Fatal("no entry by Lukas Brandt to edit")
		}
		for _, text := range []string{edited, ndjsonToJSON(t, edited)} {
			v, err := app.VerifyExport(strings.NewReader(text), f.log.PublicKey())
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: verification = %+v, %v; want it refused, saying %q", tc.name, v, err, tc.says)
			}
		}
		if _, err := app.DecodeEvents(strings.NewReader(edited), true); err == nil {
			t.Errorf("%s: the import takes the line", tc.name)
		}
	}
}

// ndjsonToJSON writes an NDJSON export's lines as a JSON export, unchanged.
func ndjsonToJSON(t *testing.T, ndjson string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(ndjson, "\n"), "\n")
	proof := strings.TrimSuffix(strings.TrimPrefix(lines[len(lines)-1], `{"proof":`), "}")
	return `{"events":[` + strings.Join(lines[:len(lines)-1], ",") + `],"proof":` + proof + "}"
}

// An export saved again by a tool verifies as it was written: JSON indented
// (as jq or an editor writes it), and either format after a byte order mark.
func TestAnExportSavedAgainByAToolStillVerifies(t *testing.T) {
	f := demoFixture(t)
	for _, format := range []app.ExportFormat{app.NDJSON, app.JSON} {
		out, n := exportString(t, f, "", format, time.UTC)
		variants := map[string]string{"with a byte order mark": "\uFEFF" + out}
		if format == app.JSON {
			var indented bytes.Buffer
			if err := json.Indent(&indented, []byte(out), "", "  "); err != nil {
				t.Fatal(err)
			}
			variants["indented"] = indented.String()
		}
		for name, text := range variants {
			v, err := app.VerifyExport(strings.NewReader(text), f.log.PublicKey())
			if err != nil || !v.Intact() || v.Entries != n {
				t.Errorf("%s %s: verification = %+v, %v; want intact with %d entries", format, name, v, err, n)
			}
		}
	}
}

// digestsOf reads a proof's digest runs into one digest per sequence number.
func digestsOf(t *testing.T, p app.Proof) map[uint64][]byte {
	t.Helper()
	out := map[uint64][]byte{}
	for _, run := range p.Digests {
		b, err := base64.StdEncoding.DecodeString(run.Digests)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+sha256.Size <= len(b); i += sha256.Size {
			out[run.From+uint64(i/sha256.Size)] = b[i : i+sha256.Size]
		}
	}
	return out
}

// digestRuns writes digests back as a proof's runs, one run per sequence number.
func digestRuns(digests map[uint64][]byte) []app.DigestRun {
	var runs []app.DigestRun
	for _, seq := range slices.Sorted(maps.Keys(digests)) {
		runs = append(runs, app.DigestRun{From: seq, Digests: base64.StdEncoding.EncodeToString(digests[seq])})
	}
	return runs
}

// A filtered export holds genuine entries and the digests of those it left
// out. Swapping one it holds for one it left out, digests and all, keeps
// every hash, the count and both ends: the seal names the entries, so the
// swap is found, and it says what the export was asked for.
func TestSwappingAnEntryOfAFilteredExportForAnotherIsFound(t *testing.T) {
	f := demoFixture(t)
	filtered, n := exportString(t, f, "namespace:users", app.NDJSON, time.UTC)
	whole, _ := exportString(t, f, "", app.NDJSON, time.UTC)
	x, all := splitExport(t, filtered), splitExport(t, whole)
	if v := verifyExport(t, f, filtered); !v.Intact() || !v.Listed || v.Query != "namespace:users" || v.Entries != n {
		t.Fatalf("the filtered export verifies as %+v", v)
	}

	// Out goes an entry from the middle; in comes one of another namespace
	// from between the same two ends.
	out := x.lines[n/2]
	outSeq := seqOf(t, out)
	var in string
	for _, line := range all.lines {
		if s := seqOf(t, line); s > seqOf(t, x.lines[n-1]) && s < seqOf(t, x.lines[0]) && !slices.Contains(x.lines, line) {
			in = line
			break
		}
	}
	if in == "" {
		t.Fatal("no entry of another namespace lies between the export's ends")
	}
	digests := digestsOf(t, x.proof)
	var e app.Event
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(app.AppendEntry(nil, &e))
	digests[outSeq] = d[:]
	delete(digests, seqOf(t, in))
	x.proof.Digests = digestRuns(digests)
	x.lines[n/2] = in

	v := verifyExport(t, f, x.String())
	if v.Intact() || v.Break.Kind != app.BreakInserted || !strings.Contains(v.Break.Message, "swapped") {
		t.Fatalf("verification of an export with an entry swapped = %+v", v.Break)
	}
	// Nor can the seal be made to say another query.
	x.proof.Seal.Query = ""
	if v := verifyExport(t, f, x.String()); v.Intact() || v.Break.Kind != app.BreakForged {
		t.Fatalf("verification with the query taken out of the seal = %+v", v.Break)
	}
}

// An export sealed by an earlier release, whose seal gives how many entries
// it holds and its two ends but not which, still verifies, and says so.
func TestAnExportSealedBeforeSealsListedTheEntriesStillVerifies(t *testing.T) {
	f := demoFixture(t)
	out, n := exportString(t, f, "namespace:users", app.NDJSON, time.UTC)
	x := splitExport(t, out)
	key, err := store.SigningKey(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	x.proof.Seal.Contents, x.proof.Seal.Query = "", ""
	x.proof.Seal.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, x.proof.Seal.SignedBytes()))
	if !strings.HasPrefix(string(x.proof.Seal.SignedBytes()), "auditlog-export-v1\n") {
		t.Fatalf("a seal without contents signs %q", x.proof.Seal.SignedBytes())
	}
	v := verifyExport(t, f, x.String())
	if !v.Intact() || v.Listed || v.Entries != n {
		t.Fatalf("an export sealed the earlier way verifies as %+v", v)
	}
	// Such a seal signs no query: one added to it is a forgery.
	x.proof.Seal.Query = "actor:maya"
	if v := verifyExport(t, f, x.String()); v.Intact() || v.Break.Kind != app.BreakForged {
		t.Fatalf("an earlier seal with a query added verifies as %+v", v)
	}
}
