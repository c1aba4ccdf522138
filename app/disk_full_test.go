package app_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"auditlog/app"
)

// smallDisk gives the test a directory on a 20 MB tmpfs of its own, so it can
// fill the disk for real. Mounting needs root; CI runs as root and must not
// skip, so there a failing mount fails the test.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Getuid() != 0 {
		t.Skip("filling a disk needs a tmpfs of the test's own, which only root may mount")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a 20 MB tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	return dir
}

// fill writes a ballast file until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

func TestAFullDiskRefusesWritesKeepsReadsAndRecoversWhenSpaceReturns(t *testing.T) {
	disk := smallDisk(t)
	f := &fixture{t: t, dir: filepath.Join(disk, "data"), clock: &clock{now: time.Now().UTC()}}
	f.open()
	defer f.close()
	ctx := context.Background()
	detail := func(i int) string {
		return fmt.Sprintf("Created zebra space number %d with a longish description to fill pages", i)
	}
	var acked []string
	record := func(i int) error {
		out, err := f.log.Record(ctx, []app.Event{ev(app.Spaces, "space_created", detail(i), "bob", time.Second, f.clock.Now())})
		if err == nil {
			acked = append(acked, out[0].ID)
		}
		return err
	}
	for i := 0; i < 50; i++ {
		if err := record(i); err != nil {
			t.Fatal(err)
		}
	}
	f.waitIndexed()

	ballast := filepath.Join(disk, "ballast")
	fill(t, ballast)
	// Write until the store says the disk is full; the index fails somewhere
	// along the way, and must neither take the process down nor be reused.
	var full error
	for i := 50; i < 5000 && full == nil; i++ {
		if err := record(i); err != nil {
			full = err
		}
		if i%50 == 0 {
			f.log.DrainOutbox()
		}
	}
	if full == nil {
		t.Fatal("the store never reported the full disk")
	}
	if app.ErrorCode(full) != app.ENOSPACE {
		t.Fatalf("a full disk gave %v (code %s), want code %s", full, app.ErrorCode(full), app.ENOSPACE)
	}
	t.Logf("%d entries acknowledged, then: %v", len(acked), full)
	for i := 0; i < 3; i++ {
		t.Logf("indexing while full: %v", f.log.DrainOutbox()) // may fail, must not panic
	}
	// Reads keep working.
	if page := f.search("", "", 10); len(page.Events) != 10 {
		t.Fatalf("listing while the disk is full gave %d entries", len(page.Events))
	}
	if _, err := f.log.Get(ctx, acked[0]); err != nil {
		t.Fatalf("get while the disk is full: %v", err)
	}

	// A restart while the disk is still full starts, and serves reads.
	f.close()
	f.open()
	if page := f.search("", "", 10); len(page.Events) != 10 {
		t.Fatalf("listing after a restart on a full disk gave %d entries", len(page.Events))
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if err := record(-1); err != nil {
		t.Fatalf("recording once space returned: %v", err)
	}
	f.waitIndexed()
	got := f.all("zebra", 100)
	if len(got) != len(acked) {
		t.Fatalf("keyword search finds %d entries, %d were acknowledged", len(got), len(acked))
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s found twice", id)
		}
		seen[id] = true
	}
	for _, id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged entry %s is not searchable", id)
		}
	}
}

// Indexing goes on while there is room for some entries, not only for a
// whole drain: the index refuses a drain it has not the room for, and the
// log then drains fewer at a time.
func TestIndexingGoesOnWithRoomForPartOfADrain(t *testing.T) {
	disk := smallDisk(t)
	f := &fixture{t: t, dir: filepath.Join(disk, "data"), clock: &clock{now: time.Now().UTC()}}
	f.open()
	defer f.close()
	ctx := context.Background()
	// 7 MiB free: room for the store, and for the index to take a few
	// hundred entries at a time beyond the 4 MiB it keeps spare, not the
	// 3,000 below at once.
	var st syscall.Statfs_t
	if err := syscall.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(disk, "ballast"), make([]byte, int64(st.Bavail)*st.Bsize-7<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := 0; i < n; i += 1000 {
		var batch []app.Event
		for j := i; j < i+1000; j++ {
			batch = append(batch, ev(app.Spaces, "space_created", fmt.Sprintf("Created okapi space number %d", j), "bob", time.Second, f.clock.Now()))
		}
		if _, err := f.log.Record(ctx, batch); err != nil {
			t.Fatalf("recording with 7 MiB free: %v", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(wctx); err != nil {
		t.Fatalf("with room for part of a drain, indexing did not go on: %v", err)
	}
	if got := f.all("okapi", 100); len(got) != n {
		t.Fatalf("keyword search finds %d entries, %d were acknowledged", len(got), n)
	}
}
