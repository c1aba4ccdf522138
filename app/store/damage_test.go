package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/store"
)

// filled makes a store with n entries in a fresh directory and closes it.
func filled(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var events []app.Event
	for i := 0; i < n; i++ {
		events = append(events, entry(app.Users, fmt.Sprintf("evt-%05d", i), time.Duration(i)*time.Second))
	}
	for len(events) > 0 {
		k := min(len(events), 500)
		if _, err := s.Commit(context.Background(), app.Commit{Events: events[:k], ReceivedAt: now}); err != nil {
			t.Fatal(err)
		}
		events = events[k:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d:%x", len(b), sha256.Sum256(b))
}

// pagesWhere finds every page of the file holding needle: bbolt copies a
// page on write, so stale copies of the live one lie in free pages too.
func pagesWhere(t *testing.T, path string, needle string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pages []int64
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(needle))
		if i < 0 {
			break
		}
		pages = append(pages, int64(off+i)/int64(os.Getpagesize()))
		off += i + len(needle)
	}
	if len(pages) == 0 {
		t.Fatalf("%q is not in the file", needle)
	}
	return pages
}

// breakPages overwrites the header of every page holding needle.
func breakPages(t *testing.T, path, needle string) {
	t.Helper()
	for _, p := range pagesWhere(t, path, needle) {
		overwrite(t, path, p*int64(os.Getpagesize()), bytes.Repeat([]byte{0xAB}, 16))
	}
}

func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// A store that fails its checks is refused with its path and what is wrong,
// is never written to, and the doctor's check says the same and how to restore.
func TestADamagedStoreIsRefusedAndNeverWrittenTo(t *testing.T) {
	page := int64(os.Getpagesize())
	cases := []struct {
		name    string
		damage  func(t *testing.T, path string)
		problem string
	}{
		{"truncated to half", func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			must(t, os.Truncate(path, st.Size()/2/page*page))
		}, "cut short"},
		{"truncated mid-page", func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			must(t, os.Truncate(path, st.Size()/2+100))
		}, "not a multiple of its page size"},
		{"truncated to nothing", func(t *testing.T, path string) {
			must(t, os.Truncate(path, 0))
		}, "empty (0 bytes), but a log existed"},
		{"deleted", func(t *testing.T, path string) {
			must(t, os.Remove(path))
		}, "missing, but a log existed"},
		{"grown by a few bytes", func(t *testing.T, path string) {
			f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("junk"))
			f.Close()
		}, "not a multiple of its page size"},
		{"both meta pages overwritten", func(t *testing.T, path string) {
			overwrite(t, path, 0, bytes.Repeat([]byte{0xAB}, int(2*page)))
		}, "meta pages parses"},
		{"a page's header overwritten after a crash", func(t *testing.T, path string) {
			key := keyOf(t, filepath.Dir(path), damagedID) // opens and closes cleanly
			must(t, os.Remove(filepath.Join(filepath.Dir(path), store.FileName+".clean")))
			breakPages(t, path, key+"\x81") // the entry's page: its key, then its packed value
		}, "consistency check failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filled(t, 2000)
			path := filepath.Join(dir, store.FileName)
			c.damage(t, path)
			before := fileSum(t, path)

			s, err := store.Open(dir)
			if err == nil {
				s.Close()
				t.Fatal("a damaged store was opened")
			}
			if app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.problem) {
				t.Fatalf("Open: %v; want the path and %q", err, c.problem)
			}
			if after := fileSum(t, path); after != before {
				t.Fatalf("the damaged file changed: %s → %s", before, after)
			}
			r, err := store.Check(dir)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.Contains(r.String(), c.problem) || !strings.Contains(r.String(), "auditlog ingest") {
				t.Fatalf("Check says:\n%s\nwant %q and how to restore", r, c.problem)
			}
			if after := fileSum(t, path); after != before {
				t.Fatalf("Check changed the file: %s → %s", before, after)
			}
		})
	}
}

func TestASoundStoreChecksOutAndOpens(t *testing.T) {
	dir := filled(t, 300)
	r, err := store.Check(dir)
	if err != nil || !r.OK() || r.Entries != 300 {
		t.Fatalf("Check: %v %+v", err, r)
	}
	// After a crash (no clean marker) the full check runs, and passes.
	must(t, os.Remove(filepath.Join(dir, store.FileName+".clean")))
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	// A new directory is no damage.
	s, err = store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
}

// damagedID is the entry these tests damage.
const damagedID = "evt-01000"

// keyOf returns the key of the entry with id in the store in dir: stored
// values are packed, so an entry's page is found by its key, which every
// page of the entry's buckets holds as it is.
func keyOf(t *testing.T, dir, id string) string {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var key app.Key
	err = s.Walk(context.Background(), app.Range{}, func(k app.Key, e *app.Event) bool {
		key = k
		return e.ID != id
	})
	if err != nil || key == (app.Key{}) {
		t.Fatalf("%s not found: %v", id, err)
	}
	return string(key[:])
}

// Damage met while serving costs the damaged entries, not the process nor
// the rest; the health check names it.
func TestDamagedEntriesAreReportedAndTheRestServed(t *testing.T) {
	dir := filled(t, 2000)
	path := filepath.Join(dir, store.FileName)
	key := keyOf(t, dir, damagedID)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// In the entries' bucket a key is followed by its value, which starts
	// with its form (packed, or a canonical form's version). The page parses,
	// the entry does not; stale copies in free pages too.
	n := 0
	for _, form := range []string{"\x81", "\x01"} {
		n += bytes.Count(b, []byte(key+form))
		b = bytes.ReplaceAll(b, []byte(key+form), []byte(key+"\x7f")) // a form no reader knows
	}
	if n == 0 {
		t.Fatal("entry not found in the file")
	}
	must(t, os.WriteFile(path, b, 0o600))
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n = 0
	err = s.Walk(context.Background(), app.Range{}, func(app.Key, *app.Event) bool { n++; return true })
	if err != nil || n != 1999 {
		t.Fatalf("walk: %d entries, %v; want the 1999 readable ones", n, err)
	}
	// A namespace's walk and a page of keys from the index read entries by
	// key: the same entry is left out there too.
	n = 0
	for _, ns := range app.Namespaces {
		err = s.Walk(context.Background(), app.Range{Namespace: ns}, func(app.Key, *app.Event) bool { n++; return true })
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != 1999 {
		t.Fatalf("walks of each namespace: %d entries; want the 1999 readable ones", n)
	}
	var damaged, before app.Key
	copy(damaged[:], key)
	err = s.Walk(context.Background(), app.Range{Before: damaged}, func(k app.Key, _ *app.Event) bool { before = k; return false })
	if err != nil || before == (app.Key{}) {
		t.Fatalf("no entry before the damaged one: %v", err)
	}
	events, found, err := s.Read(context.Background(), []app.Key{damaged, before})
	if err != nil || len(events) != 1 || len(found) != 1 || found[0] != before {
		t.Fatalf("Read of the damaged entry and the one before it: %d entries %x, %v; want the one before", len(events), found, err)
	}
	err = s.Check()
	if app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("Check after meeting damage: %v", err)
	}
}

func TestDamagedPagesMetWhileServingDoNotPanicAndStopWrites(t *testing.T) {
	dir := filled(t, 2000)
	path := filepath.Join(dir, store.FileName)
	breakPages(t, path, keyOf(t, dir, damagedID)+"\x81") // the entry's page; the clean marker is there: no check at open
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Walk(context.Background(), app.Range{}, func(app.Key, *app.Event) bool { return true })
	if app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(err.Error(), "entries before") {
		t.Fatalf("walking onto a damaged page: %v; want an unavailable error naming the range", err)
	}
	if err := s.Check(); app.ErrorCode(err) != app.EUNAVAILABLE {
		t.Fatalf("Check: %v", err)
	}
	_, err = s.Commit(context.Background(), app.Commit{Events: []app.Event{entry(app.Users, "new", 0)}, ReceivedAt: now})
	if app.ErrorCode(err) != app.EUNAVAILABLE {
		t.Fatalf("a write to a damaged store: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
