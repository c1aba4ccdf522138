package cli

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app/store"
)

// doctorFixture is a data directory holding a few entries over several days.
func doctorFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i := range 30 {
		at := time.Now().Add(-time.Duration(i) * 6 * time.Hour).UTC().Format(time.RFC3339)
		fmt.Fprintf(&b, `{"id":"doc-%02d","namespace":"users","action":"user_invited","detail":"Invited pelican%d@example.com","timestamp":%q}`+"\n", i, i, at)
	}
	file := filepath.Join(t.TempDir(), "in.ndjson")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runIn(t, dir, "ingest", file); err != nil {
		t.Fatalf("ingest: %v\n%s", err, stderr)
	}
	if _, stderr, err := runIn(t, dir, "reindex"); err != nil {
		t.Fatalf("reindex: %v\n%s", err, stderr)
	}
	return dir
}

func TestDoctorSaysAHealthyDataDirectoryIsHealthy(t *testing.T) {
	dir := doctorFixture(t)
	out, stderr, err := runIn(t, dir, "doctor")
	if err != nil {
		t.Fatalf("doctor on a healthy directory: %v\n%s%s", err, out, stderr)
	}
	for _, want := range []string{"is sound: 30 entries", "intact", "every day holds as many entries as the store"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorNamesADamagedStoreSaysHowToRestoreAndDoesNotWriteToIt(t *testing.T) {
	dir := doctorFixture(t)
	path := filepath.Join(dir, store.FileName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut short mid-page, as a copy interrupted or a disk that lost its tail.
	if err := os.Truncate(path, st.Size()/2+100); err != nil {
		t.Fatal(err)
	}
	before := sum(t, path)
	m, out, _ := newTestMain(dir)
	err = m.Run(t.Context(), []string{"doctor"})
	m.Close()
	if err == nil || m.exitCode(err) != 1 {
		t.Fatalf("doctor on a damaged store: %v, want exit 1", err)
	}
	for _, want := range []string{path, "is damaged", "auditlog ingest EXPORT.ndjson"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out)
		}
	}
	if after := sum(t, path); after != before {
		t.Fatal("doctor changed the damaged store")
	}
}

func TestDoctorReportsADayOfTheIndexThatNeededARebuild(t *testing.T) {
	dir := doctorFixture(t)
	days, _ := filepath.Glob(filepath.Join(dir, "index", "20*"))
	if len(days) < 2 {
		t.Fatalf("index days %v, want several", days)
	}
	if err := os.RemoveAll(days[0]); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIn(t, dir, "doctor")
	if err == nil || !strings.Contains(out, filepath.Base(days[0])+" rebuilt") {
		t.Fatalf("doctor after a day of the index was deleted: %v\n%s", err, out)
	}
	// Rebuilt, the directory is healthy again.
	if out, _, err := runIn(t, dir, "doctor"); err != nil {
		t.Fatalf("doctor after the rebuild: %v\n%s", err, out)
	}
}

func sum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// An index gone whole (deleted, or its root unreadable) is rebuilt whole,
// and that is a repair to report as much as one day.
func TestDoctorReportsAnIndexRebuiltWhole(t *testing.T) {
	dir := doctorFixture(t)
	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIn(t, dir, "doctor")
	if err == nil || !strings.Contains(out, "rebuilt whole from the store") {
		t.Fatalf("doctor after the index was deleted: %v\n%s", err, out)
	}
	if out, _, err := runIn(t, dir, "doctor"); err != nil {
		t.Fatalf("doctor after the rebuild: %v\n%s", err, out)
	}
}

// A store file gone missing where a log was is a loss to report, with how
// to restore, not a directory that never held a log.
func TestDoctorReportsAStoreFileGoneMissing(t *testing.T) {
	dir := doctorFixture(t)
	if err := os.Remove(filepath.Join(dir, "auditlog.db")); err != nil {
		t.Fatal(err)
	}
	out, _, err := runIn(t, dir, "doctor")
	if err == nil || !strings.Contains(out, "missing, but a log existed here") {
		t.Fatalf("doctor after the store file went missing: %v\n%s", err, out)
	}
}
