package ui_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/ui"
	"auditlog/ui/api"
)

// TestIngestOnAFullDiskAnswers507AndReadsGoOn fills a 20 MB tmpfs of the
// test's own (root only: CI runs as root, and there a failing mount fails).
func TestIngestOnAFullDiskAnswers507AndReadsGoOn(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("filling a disk needs a tmpfs of the test's own, which only root may mount")
	}
	disk := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Fatalf("mount a 20 MB tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", disk).Run() })
	log, err := app.Open(logtest.Config(t, filepath.Join(disk, "data")))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui.NewServer(log).Handler())
	t.Cleanup(func() { srv.Close(); log.Close() })
	f := &apiFixture{t: t, log: log, srv: srv}
	f.ingest, _, _ = log.CreateToken(context.Background(), "ingester", []app.Scope{app.ScopeIngest}, "test")
	f.read, _, _ = log.CreateToken(context.Background(), "reader", []app.Scope{app.ScopeRead}, "test")

	if r := f.post(goodEvent); r.status != 201 {
		t.Fatalf("before the disk filled: %d %s", r.status, r.body)
	}
	ballast, err := os.Create(filepath.Join(disk, "ballast"))
	if err != nil {
		t.Fatal(err)
	}
	for chunk := make([]byte, 64<<10); ; {
		if _, err := ballast.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	ballast.Close()
	var full response
	for i := 0; i < 3000; i++ {
		full = f.post(fmt.Sprintf(`{"namespace":"spaces","action":"space_created","detail":"space %d with a description long enough to fill pages quickly"}`, i))
		if full.status != 201 {
			break
		}
	}
	if full.status != 507 {
		t.Fatalf("ingest on a full disk: %d %s, want 507", full.status, full.body)
	}
	if e := full.errorBody(t); e.Code != app.ENOSPACE || !strings.Contains(e.Message, "full") {
		t.Fatalf("the 507 does not say the disk is full: %+v", e)
	}
	checkAnswer(t, srv.URL, "POST", "/api/v1/events", full)
	// The health check says why words find nothing new, once the indexer
	// has tried.
	var health api.Health
	for deadline := time.Now().Add(15 * time.Second); health.IndexBehind == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		h := f.do("GET", "/healthz", "", "", nil)
		h.json(t, &health)
	}
	if !strings.Contains(health.IndexBehind, "too little room") || health.Status != "ok" {
		t.Errorf("healthz on a disk too full to index: %+v", health)
	}
	if r, page := f.list("limit=5"); r.status != 200 || len(page.Events) < 2 {
		t.Fatalf("listing on a full disk: %d %s", r.status, r.body)
	}
	if err := os.Remove(filepath.Join(disk, "ballast")); err != nil {
		t.Fatal(err)
	}
	if r := f.post(goodEvent); r.status != 201 {
		t.Fatalf("once space returned: %d %s", r.status, r.body)
	}
	f.waitIndexed()
}

// An entry damaged on disk is left out of pages, the rest is served, and the
// health check answers 503 saying what is damaged.
func TestADamagedEntryIsReportedOnHealthzAndTheRestServed(t *testing.T) {
	dir := t.TempDir()
	log, err := app.Open(logtest.Config(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	var damaged app.Key
	var damagedID string
	for i := 0; i < 20; i++ {
		out, err := log.Record(context.Background(), []app.Event{{Namespace: app.Spaces, Action: "space_created", Detail: fmt.Sprintf("space-%02d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 7 {
			damaged, damagedID = app.MakeKey(out[0].Timestamp, out[0].Seq), out[0].ID
		}
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "auditlog.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The entry's value follows its key and starts with its form (0x81:
	// packed); a form no reader knows makes it unreadable. Stale copies too.
	k := string(damaged[:])
	if !strings.Contains(string(b), k+"\x81") {
		t.Fatal("entry not in the file")
	}
	b = []byte(strings.ReplaceAll(string(b), k+"\x81", k+"\x7f"))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if log, err = app.Open(logtest.Config(t, dir)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ui.NewServer(log).Handler())
	t.Cleanup(func() { srv.Close(); log.Close() })
	f := &apiFixture{t: t, log: log, srv: srv}
	f.read, _, _ = log.CreateToken(context.Background(), "reader", []app.Scope{app.ScopeRead}, "test")
	r, page := f.list("limit=100&namespace=spaces")
	created := 0 // the background verification may add its own integrity_check_failed entry
	for _, e := range page.Events {
		if e.Action == "space_created" {
			created++
		}
	}
	if r.status != 200 || created != 19 {
		t.Fatalf("listing: %d, %d of the entries made, want the 19 readable", r.status, created)
	}
	h := f.do("GET", "/healthz", "", "", nil)
	if h.status != 503 || !strings.Contains(string(h.body), "damaged") || !strings.Contains(string(h.body), "unreadable") {
		t.Fatalf("healthz after meeting the damage: %d %s", h.status, h.body)
	}
	// Asked for by its id, it is said to be unreadable, not absent.
	r = f.do("GET", "/api/v1/events/"+damagedID, f.read, "", nil)
	if r.status != 503 || !strings.Contains(string(r.body), "cannot be read") {
		t.Fatalf("the damaged entry by its id: %d %s", r.status, r.body)
	}
	checkAnswer(t, srv.URL, "GET", "/api/v1/events/{id}", r)
	r = f.do("HEAD", "/api/v1/events/"+damagedID, f.read, "", nil)
	if r.status != 503 || len(r.body) != 0 {
		t.Fatalf("HEAD of the damaged entry: %d %q", r.status, r.body)
	}
	checkAnswer(t, srv.URL, "HEAD", "/api/v1/events/{id}", r)
	// Verifying the chain names the entry as a break, as it would an edited
	// one, rather than failing as a whole with nothing recorded.
	v, err := log.VerifyNow(context.Background())
	if err != nil || v.Break == nil || v.Break.Kind != app.BreakEdited || v.Break.Seq != damaged.Seq() || !strings.Contains(v.Break.Message, "unreadable") {
		t.Fatalf("verification of a store with an unreadable entry: %+v, %v", v.Break, err)
	}
}
