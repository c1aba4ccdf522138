//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// An export that replaces a file shared with a group keeps that group, so
// that the permissions it keeps go to the people they went to.
func TestAnExportReplacingAFileKeepsItsGroup(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("giving a file another group needs root")
	}
	dir := t.TempDir()
	if _, stderr, err := runIn(t, dir, "token", "create", "--label", "ci-export"); err != nil {
		t.Fatalf("token create: %v %s", err, stderr)
	}
	shared := filepath.Join(t.TempDir(), "auditors.ndjson")
	os.WriteFile(shared, []byte("last week's\n"), 0o600)
	const auditors = 4242
	if err := os.Chown(shared, 0, auditors); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := runIn(t, dir, "export", "--format", "ndjson", "-o", shared); err != nil {
		t.Fatalf("export: %v %s", err, stderr)
	}
	fi, err := os.Stat(shared)
	if err != nil {
		t.Fatal(err)
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != auditors || fi.Mode().Perm() != 0o640 {
		t.Fatalf("the export replaced a file of group %d, mode 0640, with group %d, mode %v", auditors, gid, fi.Mode().Perm())
	}
}
