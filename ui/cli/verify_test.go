package cli

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A long verification says how far it has read, and ends its line; a quick
// one says nothing.
func TestVerifyingALargeFileShowsHowMuchIsRead(t *testing.T) {
	var ends []bool
	report := func(done, size int64, end bool) { ends = append(ends, end) }
	quick := &progressReader{r: strings.NewReader(strings.Repeat("x", 1000)), size: 1000, last: time.Now(), report: report}
	if _, err := io.Copy(io.Discard, quick); err != nil {
		t.Fatal(err)
	}
	quick.end()
	if len(ends) != 0 {
		t.Fatalf("a quick read reported %d times", len(ends))
	}
	var read []int64
	slow := &progressReader{r: strings.NewReader(strings.Repeat("x", 1000)), size: 1000, report: func(done, size int64, end bool) {
		read = append(read, done)
		report(done, size, end)
	}}
	buf := make([]byte, 400)
	for {
		slow.last = time.Time{} // as if a fifth of a second had passed since the last report
		if _, err := slow.Read(buf); err == io.EOF {
			break
		}
	}
	slow.end()
	if len(read) < 3 || read[0] != 400 || read[len(read)-1] != 1000 || !ends[len(ends)-1] {
		t.Fatalf("reports at %v, ending the line: %v", read, ends)
	}
}

// A walk that stops short of its total (a break found midway) still ends
// its progress line before the result is printed; a quick one says nothing.
func TestSlowProgressEndsALineItBegan(t *testing.T) {
	var quick strings.Builder
	report, end := slowProgress(&quick, "Verifying")
	report(10, 10)
	end()
	if quick.Len() != 0 {
		t.Fatalf("quick work printed %q", quick.String())
	}
	var slow strings.Builder
	report, end = slowProgress(&slow, "Verifying")
	time.Sleep(1100 * time.Millisecond)
	report(5, 10)
	end()
	if got := slow.String(); !strings.Contains(got, "Verifying: 5/10") || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("slow work stopped short printed %q, want one ended line", got)
	}
}

// verify --data with --public-key checks the checkpoints with the key an
// auditor trusts, not only with the one the data directory holds.
func TestVerifyADataDirectoryWithAGivenKey(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if _, stderr, err := runIn(t, dir, "token", "create", "--label", "ci"); err != nil {
			t.Fatalf("token create: %v %s", err, stderr)
		}
	}
	keyOf := func(dir string) string {
		out, _, err := runIn(t, dir, "verify", "--public-key")
		if err != nil {
			t.Fatalf("verify --public-key: %v", err)
		}
		return strings.TrimSpace(out)
	}
	if out, _, err := runIn(t, a, "verify", "--public-key", keyOf(a)); err != nil {
		t.Fatalf("verify with the log's own key: %v\n%s", err, out)
	}
	if out, _, err := runIn(t, a, "verify", "--public-key", keyOf(b)); err == nil {
		t.Fatalf("verify with another log's key said intact:\n%s", out)
	}
	if _, _, err := runIn(t, a, "verify", "--public-key", "ed25519:nonsense"); !isUsage(err) {
		t.Fatalf("verify with a key that does not read: %v", err)
	}
	// An export verifies from standard input too, as ingest reads one.
	exported, _, err := runIn(t, a, "export", "--format", "ndjson")
	if err != nil {
		t.Fatal(err)
	}
	m, out, _ := newTestMain(a)
	m.Stdin = strings.NewReader(exported)
	err = m.Run(context.Background(), []string{"verify", "--file", "-", "--public-key", keyOf(a)})
	m.Close()
	if err != nil || !strings.Contains(out.String(), "intact") {
		t.Fatalf("verify --file - of an export: %v %q", err, out)
	}
}

// Verifying an export says what it was asked for; a CSV export, which
// carries no proof, is told apart from a file that is no export.
func TestVerifyAnExportSaysItsQuery(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := runIn(t, dir, "token", "create", "--label", "ci-deploy"); err != nil {
		t.Fatalf("token create: %v %s", err, stderr)
	}
	files := t.TempDir()
	for _, format := range []string{"ndjson", "csv"} {
		if _, stderr, err := runIn(t, dir, "export", "--format", format, "-o", filepath.Join(files, "tokens."+format), "namespace:api_tokens"); err != nil {
			t.Fatalf("export: %v %s", err, stderr)
		}
	}
	key, _, err := runIn(t, dir, "verify", "--public-key")
	if err != nil {
		t.Fatal(err)
	}
	key = strings.TrimSpace(key)
	out, _, err := runIn(t, dir, "verify", "--file", filepath.Join(files, "tokens.ndjson"), "--public-key", key)
	if err != nil || !strings.Contains(out, `exported as the matches of "namespace:api_tokens"`) || !strings.Contains(out, "intact") {
		t.Fatalf("verify of a filtered export: %v\n%s", err, out)
	}
	if _, _, err := runIn(t, dir, "verify", "--file", filepath.Join(files, "tokens.csv"), "--public-key", key); err == nil || !strings.Contains(err.Error(), "CSV export, which carries no proof") {
		t.Fatalf("verify of a CSV export: %v", err)
	}
}
