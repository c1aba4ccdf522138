package index

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"
)

// A damaged day shard costs that day, which the Log rebuilds from the store,
// never the start of the app nor the other days.
func TestADamagedShardIsDroppedAloneAndReported(t *testing.T) {
	flip := func(t *testing.T, path string, at func(size int64) int64) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		must(t, err)
		defer f.Close()
		st, err := f.Stat()
		must(t, err)
		for i := int64(0); i < 1<<20; i++ {
			off := at(st.Size()) + i
			if off >= st.Size() {
				break
			}
			b := make([]byte, 1)
			_, err = f.ReadAt(b, off)
			must(t, err)
			b[0] ^= 0xff
			_, err = f.WriteAt(b, off)
			must(t, err)
		}
	}
	root := func(dir string) string { return filepath.Join(dir, "2026-11-20", "store", "root.bolt") }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"root.bolt is truncated to half", func(t *testing.T, dir string) {
			st, err := os.Stat(root(dir))
			must(t, err)
			must(t, os.Truncate(root(dir), st.Size()/2))
		}},
		{"root.bolt is truncated to nothing", func(t *testing.T, dir string) {
			must(t, os.Truncate(root(dir), 0))
		}},
		{"root.bolt has every byte flipped", func(t *testing.T, dir string) {
			flip(t, root(dir), func(int64) int64 { return 0 })
		}},
		{"root.bolt has its pages after the meta pages flipped", func(t *testing.T, dir string) {
			flip(t, root(dir), func(int64) int64 { return 2 * 4096 })
		}},
		{"a shard lost its Bleve metadata", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "2026-11-20", "index_meta.json")))
		}},
		{"a shard's Bleve metadata is half-written", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "2026-11-20", "index_meta.json"), []byte(`{"storage":`), 0o600))
		}},
		{"a shard directory is empty", func(t *testing.T, dir string) {
			must(t, os.RemoveAll(filepath.Join(dir, "2026-11-20")))
			must(t, os.Mkdir(filepath.Join(dir, "2026-11-20"), 0o700))
		}},
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, dir := openTemp(t)
			if _, err := os.Stat(root(dir)); err == nil {
				t.Fatal("the shard exists before anything was indexed")
			}
			mustIndex(t, x,
				entry(day.Add(time.Hour), app.Spaces, "space_created", "bob", "Created space"),
				entry(day.Add(25*time.Hour), app.Spaces, "space_created", "bob", "Created space"))
			gen := x.Generation()
			must(t, x.Close())
			c.damage(t, dir)

			y, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer y.Close()
			if y.Generation() != gen {
				t.Error("the whole index was recreated for one damaged day")
			}
			lost := y.TakeLost()
			if len(lost) != 1 || !lost[0].Day.Equal(day) || lost[0].Reason == "" {
				t.Fatalf("lost days: %+v, want 2026-11-20 with a reason", lost)
			}
			if again := y.TakeLost(); len(again) != 0 {
				t.Errorf("the lost day was reported twice: %+v", again)
			}
			if got := mustSearch(t, y, &app.Query{}, app.Key{}, 10); len(got) != 1 || got[0].Time().Before(day.Add(24*time.Hour)) {
				t.Errorf("the undamaged day should be searchable alone, got %v", got)
			}
			mustIndex(t, y, entry(day.Add(2*time.Hour), app.Spaces, "space_created", "bob", "Created space"))
			counts, err := y.DayCounts()
			must(t, err)
			if counts[day] != 1 || counts[day.Add(24*time.Hour)] != 1 {
				t.Errorf("day counts %v", counts)
			}
		})
	}
}

func TestDropDayEmptiesOneDay(t *testing.T) {
	x, _ := openTemp(t)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	mustIndex(t, x,
		entry(day.Add(time.Hour), app.Spaces, "space_created", "bob", "Created space"),
		entry(day.Add(25*time.Hour), app.Spaces, "space_created", "bob", "Created space"))
	must(t, x.DropDay(day))
	counts, err := x.DayCounts()
	must(t, err)
	if len(counts) != 1 || counts[day.Add(24*time.Hour)] != 1 {
		t.Fatalf("after dropping 2026-11-20: %v", counts)
	}
}

// A shard's files are memory-mapped: one cut short faults when read past its
// end, which ends the whole process unless the fault is made a panic and
// recovered, or the cut found before the shard is opened: Bleve's own
// goroutines read it too, where no recover reaches. Every cut must give an
// open shard or a damaged one.
func TestAShardCutShortAnywhereIsReportedDamagedRatherThanCrashing(t *testing.T) {
	x, dir := openTemp(t)
	at := base.Add(-time.Hour)
	mustIndex(t, x, entry(at, app.Users, "user_invited", "alice", "hello"))
	must(t, x.Close())
	shard := filepath.Join(dir, dayName(dayOf(at)))
	whole, err := os.ReadFile(filepath.Join(shard, "store", "root.bolt"))
	if err != nil {
		t.Fatal(err)
	}
	damaged, measured := 0, 0
	for size := 4096; size < len(whole); size += 4096 {
		// Each cut is a copy of its own: an open that faults midway keeps
		// its file lock, as it would on the shard the app then deletes.
		cut := filepath.Join(t.TempDir(), "shard")
		must(t, os.CopyFS(cut, os.DirFS(shard)))
		must(t, os.WriteFile(filepath.Join(cut, "store", "root.bolt"), whole[:size], 0o600))
		if rootCut(cut) != nil {
			measured++ // found short before Bleve opens it, and its goroutines read it
		}
		idx, err := openSafely(cut)
		if err != nil {
			damaged++
			continue
		}
		must(t, idx.Close())
	}
	if damaged == 0 || measured == 0 {
		t.Fatalf("of the cuts of a %d-byte file, %d were found damaged, %d by their size: the test damages nothing", len(whole), damaged, measured)
	}
	if err := rootCut(shard); err != nil {
		t.Fatalf("the whole file: %v", err)
	}
}

// A segment damaged after its shard opened (or in a way opening does not
// see) fails the searches that reach it. The day is then dropped at the
// Log's next repair, to be filled again from the store, rather than failing
// every search of it until someone rebuilds the index by hand.
func TestAShardThatFailsASearchIsDroppedToBeRebuilt(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	words := []string{"orders", "clickstream", "revenue", "partner", "warehouse", "finance", "tokens", "daily"}
	var docs []app.IndexDoc
	for i := range 4000 {
		docs = append(docs, entry(day.Add(time.Duration(i)*time.Second), app.DataPipelines, "pipeline_executed", "svc-airflow",
			fmt.Sprintf("Pipeline %s_%s ran %d rows", words[i%len(words)], words[(i/8)%len(words)], i)))
	}
	for i := 1; i < 100; i++ {
		at := float64(i) / 100
		x, dir := openTemp(t)
		mustIndex(t, x, docs...)
		must(t, x.Close())
		// Damage the largest segment at one place after another, keeping its
		// size, until a search fails.
		var largest string
		var size int64
		must(t, filepath.WalkDir(filepath.Join(dir, dayName(dayOf(day))), func(path string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".zap") {
				if fi, err := d.Info(); err == nil && fi.Size() > size {
					largest, size = path, fi.Size()
				}
			}
			return err
		}))
		f, err := os.OpenFile(largest, os.O_RDWR, 0)
		must(t, err)
		b := make([]byte, 64)
		off := int64(float64(size) * at)
		_, err = f.ReadAt(b, off)
		must(t, err)
		for i := range b {
			b[i] ^= 0x5a
		}
		_, err = f.WriteAt(b, off)
		must(t, err)
		must(t, f.Close())

		y, err := Open(dir)
		must(t, err)
		if lost := y.TakeLost(); len(lost) != 0 {
			y.Close()
			continue // found damaged on opening: the other test's case
		}
		// Searches, and counts, which read every match of the day.
		var failed error
		for _, w := range words {
			if _, err := y.Search(parse(t, w), app.Key{}, 50); err != nil {
				failed = err
				break
			}
			if err := y.Tally(parse(t, w), func(app.TallyCell, int) {}); err != nil {
				failed = err
				break
			}
		}
		if failed == nil {
			y.Close()
			continue // this damage broke no search: try another place
		}
		lost := y.TakeLost()
		if len(lost) != 1 || !lost[0].Day.Equal(day) || !strings.Contains(lost[0].Reason, "reading it failed") {
			t.Fatalf("a search failed (%v), and the lost days are %+v, want 2026-11-20", failed, lost)
		}
		if _, err := os.Stat(filepath.Join(dir, dayName(dayOf(day)))); !os.IsNotExist(err) {
			t.Fatalf("the broken shard's directory is still there: %v", err)
		}
		for _, w := range words {
			if _, err := y.Search(parse(t, w), app.Key{}, 50); err != nil {
				t.Fatalf("a search after the broken day was dropped: %v", err)
			}
			if err := y.Tally(parse(t, w), func(app.TallyCell, int) {}); err != nil {
				t.Fatalf("counts after the broken day was dropped: %v", err)
			}
		}
		must(t, y.Close())
		return
	}
	t.Fatal("no damage tried broke a search: the test damages nothing")
}
