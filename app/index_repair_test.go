package app_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"auditlog/app"
)

// recordDays records n entries on each of the three days before the clock's,
// all with the word "zebra", and waits for the index.
func recordDays(f *fixture, n int) []string {
	now := f.clock.Now()
	var events []app.Event
	for d := 1; d <= 3; d++ {
		for i := 0; i < n; i++ {
			events = append(events, ev(app.Spaces, "space_created", "Created zebra space", "bob", time.Duration(d)*24*time.Hour+time.Duration(i)*time.Minute, now))
		}
	}
	f.record(events...)
	f.waitIndexed()
	return f.all("zebra", 7)
}

func assertSameIDs(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("found %d entries, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range got {
		if got[i] != want[i] || seen[got[i]] {
			t.Fatalf("entry %d is %s, want %s (or seen twice)", i, got[i], want[i])
		}
		seen[got[i]] = true
	}
}

func TestADeletedDayOfTheIndexIsNoticedAndRebuilt(t *testing.T) {
	f := openFixture(t)
	want := recordDays(f, 20)
	f.close()
	day := f.clock.Now().Add(-48 * time.Hour).Format(time.DateOnly)
	if err := os.RemoveAll(filepath.Join(f.dir, "index", day)); err != nil {
		t.Fatal(err)
	}
	f.open()
	f.waitIndexed()
	assertSameIDs(t, f.all("zebra", 7), want)
	repairs := f.log.IndexRepairs()
	if len(repairs) != 1 || repairs[0].Day.Format(time.DateOnly) != day || !repairs[0].Done || repairs[0].Reason == "" {
		t.Fatalf("repairs %+v, want %s rebuilt with a reason", repairs, day)
	}
}

func TestADamagedDayOfTheIndexDoesNotStopTheStartAndIsRebuilt(t *testing.T) {
	f := openFixture(t)
	want := recordDays(f, 20)
	f.close()
	day := f.clock.Now().Add(-24 * time.Hour).Format(time.DateOnly)
	root := filepath.Join(f.dir, "index", day, "store", "root.bolt")
	st, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	// Keep only the two meta pages: the pages they name lie past the end, so
	// reading them faults on the memory map (half the file left could still
	// hold every page an open needs).
	if st.Size() <= 2*4096 {
		t.Fatalf("the shard's root file is only %d bytes", st.Size())
	}
	if err := os.Truncate(root, 2*4096); err != nil {
		t.Fatal(err)
	}
	f.open()
	f.waitIndexed()
	assertSameIDs(t, f.all("zebra", 7), want)
	repairs := f.log.IndexRepairs()
	if len(repairs) != 1 || repairs[0].Day.Format(time.DateOnly) != day || !repairs[0].Done {
		t.Fatalf("repairs %+v, want %s rebuilt", repairs, day)
	}
}

func TestAnIntactIndexIsNotRebuiltAtStart(t *testing.T) {
	f := openFixture(t)
	recordDays(f, 5)
	f.close()
	f.open()
	f.waitIndexed()
	if r := f.log.IndexRepairs(); len(r) != 0 {
		t.Fatalf("an intact index was repaired: %+v", r)
	}
}

func TestADamagedSegmentIsNoticedAndItsDayRebuilt(t *testing.T) {
	f := openFixture(t)
	want := recordDays(f, 20)
	f.close()
	day := f.clock.Now().Add(-72 * time.Hour).Format(time.DateOnly)
	segs, _ := filepath.Glob(filepath.Join(f.dir, "index", day, "store", "*.zap"))
	if len(segs) == 0 {
		t.Fatal("no segment files")
	}
	for _, s := range segs {
		if err := os.Truncate(s, 10); err != nil {
			t.Fatal(err)
		}
	}
	f.open()
	f.waitIndexed()
	assertSameIDs(t, f.all("zebra", 7), want)
	if r := f.log.IndexRepairs(); len(r) != 1 || r[0].Day.Format(time.DateOnly) != day || !r[0].Done {
		t.Fatalf("repairs %+v, want %s rebuilt", r, day)
	}
}
