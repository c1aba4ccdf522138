package index

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"auditlog/app"
)

func shardDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

func reopen(t *testing.T, x *Index, dir string) *Index {
	t.Helper()
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { y.Close() })
	return y
}

func TestANewIndexIsEmptyAndHasAGeneration(t *testing.T) {
	x, dir := openTemp(t)
	gen := x.Generation()
	if b, err := hex.DecodeString(gen); err != nil || len(b) != 16 {
		t.Errorf("generation %q is not 32 hex digits", gen)
	}
	if got := mustSearch(t, x, &app.Query{}, app.Key{}, 10); len(got) != 0 {
		t.Errorf("a new index found %d keys", len(got))
	}
	if dirs := shardDirs(t, dir); len(dirs) != 0 {
		t.Errorf("a new index has shards %v before any entry", dirs)
	}
}

func TestOpeningAMissingDirectoryCreatesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	x, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	mustIndex(t, x, entry(base, app.Spaces, "space_created", "bob", "Created space"))
}

func TestEachUTCDayGetsItsOwnShard(t *testing.T) {
	x, dir := openTemp(t)
	midnight := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	mustIndex(t, x,
		entry(midnight.Add(-time.Nanosecond), app.Spaces, "space_created", "bob", "Late"),
		entry(midnight, app.Spaces, "space_created", "bob", "Early"),
		entry(midnight.Add(time.Hour), app.Spaces, "space_created", "bob", "Later"),
	)
	if got, want := shardDirs(t, dir), []string{"2026-11-20", "2026-11-21"}; !slices.Equal(got, want) {
		t.Errorf("shards %v, want %v", got, want)
	}
}

func TestReopeningKeepsTheEntriesAndTheGeneration(t *testing.T) {
	x, dir := openTemp(t)
	docs := randomDocs(300, 5, newRand())
	mustIndex(t, x, docs...)
	gen := x.Generation()
	before := mustSearch(t, x, parse(t, "alpha"), app.Key{}, 500)

	y := reopen(t, x, dir)
	if y.Generation() != gen {
		t.Errorf("generation changed from %s to %s", gen, y.Generation())
	}
	if after := mustSearch(t, y, parse(t, "alpha"), app.Key{}, 500); !equalKeys(after, before) || len(after) == 0 {
		t.Errorf("found %d keys after reopening, %d before", len(after), len(before))
	}
}

func TestAnIndexOfTheFormatBeforeIsKeptAndMarkedAsThisOne(t *testing.T) {
	x, dir := openTemp(t)
	mustIndex(t, x, entry(base, app.Spaces, "space_created", "bob", "Created space"))
	gen := x.Generation()
	must(t, x.Close())
	must(t, writeMeta(dir, meta{Format: keptFormat, Generation: gen}))
	x, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.Generation() != gen {
		t.Fatalf("the index of format %d was rebuilt (generation %q, was %q)", keptFormat, x.Generation(), gen)
	}
	if keys := mustSearch(t, x, parse(t, "space "), app.Key{}, 10); len(keys) != 1 {
		t.Fatalf("%d entries found in the kept index, want 1", len(keys))
	}
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m meta
	must(t, json.Unmarshal(b, &m))
	if m.Format != formatVersion || m.Generation != gen {
		t.Fatalf("the meta file says %+v, want format %d of generation %q", m, formatVersion, gen)
	}
}

func TestOpenStartsAFreshGenerationWhen(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"the meta file is missing", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, metaFile)))
		}},
		{"the meta file is garbage", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, metaFile), []byte("{not json"), 0o600))
		}},
		{"the format version differs", func(t *testing.T, dir string) {
			must(t, writeMeta(dir, meta{Format: formatVersion + 1, Generation: "abc"}))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, dir := openTemp(t)
			mustIndex(t, x,
				entry(base, app.Spaces, "space_created", "bob", "Created space"),
				entry(base.Add(24*time.Hour), app.Spaces, "space_created", "bob", "Created space"))
			gen := x.Generation()
			must(t, x.Close())
			must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not the index's"), 0o600))
			c.damage(t, dir)

			y, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer y.Close()
			if y.Generation() == gen {
				t.Error("the generation did not change")
			}
			if got := mustSearch(t, y, &app.Query{}, app.Key{}, 10); len(got) != 0 {
				t.Errorf("the recreated index holds %d entries", len(got))
			}
			if dirs := shardDirs(t, dir); len(dirs) != 0 {
				t.Errorf("shards %v survived", dirs)
			}
			if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
				t.Errorf("a file the index did not write was removed: %v", err)
			}
			mustIndex(t, y, entry(base, app.Spaces, "space_created", "bob", "Created space"))
		})
	}
}

func TestAShardLeftHalfCreatedIsRemovedAndTheGenerationKept(t *testing.T) {
	x, dir := openTemp(t)
	mustIndex(t, x, entry(base, app.Spaces, "space_created", "bob", "Created space"))
	gen := x.Generation()
	must(t, x.Close())
	must(t, os.MkdirAll(filepath.Join(dir, "2026-11-21"+newSuffix, "store"), 0o700))

	y, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if y.Generation() != gen {
		t.Error("the generation changed")
	}
	if got, want := shardDirs(t, dir), []string{"2026-11-20"}; !slices.Equal(got, want) {
		t.Errorf("shards %v, want %v", got, want)
	}
	mustIndex(t, y, entry(base.Add(24*time.Hour), app.Spaces, "space_created", "bob", "Created space"))
	if got := mustSearch(t, y, &app.Query{}, app.Key{}, 10); len(got) != 2 {
		t.Errorf("found %d entries, want 2", len(got))
	}
}

func TestResetEmptiesTheIndexAndStartsANewGeneration(t *testing.T) {
	x, dir := openTemp(t)
	mustIndex(t, x, randomDocs(50, 3, newRand())...)
	gen := x.Generation()
	must(t, x.Reset())
	if x.Generation() == gen {
		t.Error("the generation did not change")
	}
	if got := mustSearch(t, x, &app.Query{}, app.Key{}, 10); len(got) != 0 {
		t.Errorf("found %d entries after Reset", len(got))
	}
	if dirs := shardDirs(t, dir); len(dirs) != 0 {
		t.Errorf("shards %v survived Reset", dirs)
	}
	mustIndex(t, x, entry(base, app.Spaces, "space_created", "bob", "Created space"))
	gen = x.Generation()
	y := reopen(t, x, dir)
	if y.Generation() != gen {
		t.Error("the generation after Reset did not survive reopening")
	}
	if got := mustSearch(t, y, &app.Query{}, app.Key{}, 10); len(got) != 1 {
		t.Errorf("found %d entries, want the one indexed after Reset", len(got))
	}
}

func TestDropBeforeRemovesOnlyDaysThatEndByTheCutoff(t *testing.T) {
	x, dir := openTemp(t)
	byDay := map[string]app.Key{}
	for i := range 5 {
		d := entry(time.Date(2026, 11, 18+i, 12, 0, 0, 0, time.UTC), app.Spaces, "space_created", "bob", "Created space")
		mustIndex(t, x, d)
		byDay[d.Key.Time().Format(dayLayout)] = d.Key
	}
	// The 20th has begun but not ended by the cutoff, so it stays.
	must(t, x.DropBefore(time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC)))
	want := []string{"2026-11-20", "2026-11-21", "2026-11-22"}
	if got := shardDirs(t, dir); !slices.Equal(got, want) {
		t.Errorf("shards %v, want %v", got, want)
	}
	got := mustSearch(t, x, &app.Query{}, app.Key{}, 10)
	if wantKeys := []app.Key{byDay["2026-11-22"], byDay["2026-11-21"], byDay["2026-11-20"]}; !equalKeys(got, wantKeys) {
		t.Errorf("found %v, want %v", got, wantKeys)
	}
	// A cutoff exactly at a day's end drops that day.
	must(t, x.DropBefore(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)))
	if got := shardDirs(t, dir); !slices.Equal(got, want[1:]) {
		t.Errorf("shards %v, want %v", got, want[1:])
	}
}

func TestAClosedIndexRefusesWork(t *testing.T) {
	x, _ := openTemp(t)
	must(t, x.Close())
	if _, err := x.Search(&app.Query{}, app.Key{}, 10); err == nil {
		t.Error("Search succeeded")
	}
	if _, err := x.tallyMap(&app.Query{}); err == nil {
		t.Error("Tally succeeded")
	}
	if err := x.Index([]app.IndexDoc{entry(base, app.Spaces, "space_created", "bob", "x")}, false); err == nil {
		t.Error("Index succeeded")
	}
	if err := x.DropBefore(base); err == nil {
		t.Error("DropBefore succeeded")
	}
	if err := x.Reset(); err == nil {
		t.Error("Reset succeeded")
	}
	if err := x.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestAnEntryWithoutAnEventIsRefused(t *testing.T) {
	x, _ := openTemp(t)
	if err := x.Index([]app.IndexDoc{{Key: app.MakeKey(base, 1)}}, false); err == nil {
		t.Error("indexed an entry without an event")
	}
}

func TestSearchingWhileIndexingAndDroppingIsSafe(t *testing.T) {
	x, _ := openTemp(t)
	docs := randomDocs(2000, 10, newRand())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < len(docs); i += 100 {
			if err := x.Index(docs[i:min(i+100, len(docs))], false); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			for range 50 {
				keys, err := x.Search(parse(t, "bravo"), app.Key{}, 50)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.IsSortedFunc(keys, func(a, b app.Key) int { return bytes.Compare(b[:], a[:]) }) {
					t.Error("keys out of order")
				}
				if _, err := x.tallyMap(parse(t, "charlie")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 10 {
			if err := x.DropBefore(base.Add(-time.Duration(10-i) * 24 * time.Hour)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Document IDs sort as their keys do, since a search orders hits by ID and
// takes its range and cursor as IDs, and they give the keys back.
func TestDocumentIDsSortAsKeysAndGiveThemBack(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	seqs := []uint64{0, 1, 63, 64, 4095, 4096, 1 << 24, 1<<60 - 1, 1 << 60, math.MaxUint64 - 1, math.MaxUint64}
	var keys []app.Key
	for range 300 {
		var k app.Key
		for i := range k {
			k[i] = byte(r.IntN(256))
		}
		ns := binary.BigEndian.Uint64(k[:8])
		start := ns - uint64(dayOf(k.Time()))*nsPerDay
		// Keys of its day: the same instant and another sequence number,
		// the day's first and last nanoseconds, and ones nearby.
		for _, at := range []uint64{ns, ns + 1, ns - 1, ns - start, ns - start + nsPerDay - 1} {
			for _, seq := range append(seqs, k.Seq(), k.Seq()+1, r.Uint64N(1<<20)) {
				var sk app.Key
				binary.BigEndian.PutUint64(sk[:8], at)
				binary.BigEndian.PutUint64(sk[8:], seq)
				keys = append(keys, sk)
			}
		}
	}
	byDay := map[int64][]app.Key{}
	for _, k := range keys {
		id := docID(k)
		day := dayOf(k.Time())
		if back, ok := keyOf(day, id); !ok || back != k {
			t.Fatalf("key %x: ID %q gives back %x, %v", k[:], id, back[:], ok)
		}
		byDay[day] = append(byDay[day], k)
	}
	for _, ks := range byDay {
		for _, p := range ks {
			for _, k := range ks {
				if want, got := bytes.Compare(p[:], k[:]), strings.Compare(docID(p), docID(k)); want != got {
					t.Fatalf("keys %x and %x compare %d, their IDs %d", p[:], k[:], want, got)
				}
			}
		}
	}
	// An ID is taken only as docID spells it: any other spelling would be
	// a second ID for one key.
	accepted := 0
	for range 20000 {
		b := make([]byte, 9+r.IntN(12))
		for i := range b {
			b[i] = idAlphabet[r.IntN(len(idAlphabet))]
		}
		b[0] = idAlphabet[r.IntN(20)] // mostly inside a day's nanoseconds
		b[8] = idAlphabet[len(b)-9]   // mostly the right count of digits
		day := int64(r.IntN(40000)) - 10000
		if k, ok := keyOf(day, string(b)); ok {
			accepted++
			if docID(k) != string(b) {
				t.Fatalf("ID %q is taken for key %x, which is spelt %q", b, k[:], docID(k))
			}
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d random IDs were taken: the check proves little", accepted)
	}
	id := docID(keys[0])
	day := dayOf(keys[0].Time())
	for _, bad := range []string{"", "short", id + "x", id[:len(id)-1], "0123456789abcdef0123456789abcdef",
		"zzzzzzzz0-",           // the 2^48-1st nanosecond of a day
		"--------1-1",          // a digit to spare before the number
		"--------Azzzzzzzzzzz", // eleven digits: 66 bits
		"--------0\x00",        // not of the alphabet
	} {
		if _, ok := keyOf(day, bad); ok {
			t.Errorf("keyOf(%q) accepted", bad)
		}
	}
}

// While people read, indexing runs one batch fewer at a time: an import of
// a few days is indexed a day fewer at once than there are cores, where
// with nobody reading it takes them all.
func TestIndexingRunsABatchFewerForReaders(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		cores   int
		readers bool
		want    int
	}{
		{cores: 2, readers: false, want: 2},
		{cores: 2, readers: true, want: 1},
		{cores: 4, readers: false, want: 4},
		{cores: 4, readers: true, want: 3},
		{cores: 1, readers: false, want: 2},
		{cores: 1, readers: true, want: 1},
	} {
		runtime.GOMAXPROCS(c.cores)
		x, _ := openTemp(t)
		// Each batch waits until as many run as should (or, should fewer
		// ever run, for a long while), then a moment more: time enough for
		// one too many to start.
		var mu sync.Mutex
		running, most := 0, 0
		enough := make(chan struct{})
		x.batching = func(int) func() {
			mu.Lock()
			running++
			most = max(most, running)
			if running == c.want {
				select {
				case <-enough:
				default:
					close(enough)
				}
			}
			mu.Unlock()
			select {
			case <-enough:
				time.Sleep(20 * time.Millisecond)
			case <-time.After(10 * time.Second):
			}
			return func() { mu.Lock(); running--; mu.Unlock() }
		}
		var docs []app.IndexDoc
		for day := range c.want + 1 {
			for i := range 20 {
				docs = append(docs, entry(base.AddDate(0, 0, day).Add(time.Duration(i)*time.Minute), app.DataPipelines, "pipeline_created", "maya", "Created pipeline orders"))
			}
		}
		if err := x.Index(docs, c.readers); err != nil {
			t.Fatal(err)
		}
		if most != c.want {
			t.Errorf("on %d cores with readers %v, %d batches ran at once; want %d", c.cores, c.readers, most, c.want)
		}
		if keys := mustSearch(t, x, parse(t, "orders"), app.Key{}, 1000); len(keys) != len(docs) {
			t.Errorf("on %d cores with readers %v, %d of %d entries found", c.cores, c.readers, len(keys), len(docs))
		}
	}
}

// An ordered import's drain often holds most of one day and a little of the
// next. Built a batch per day, the large day kept one core busy while the
// other sat idle; each core must get about an equal share, largest first.
func TestADrainIsSharedEvenlyAcrossWorkers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	x, _ := openTemp(t)
	var mu sync.Mutex
	var sizes []int
	x.batching = func(entries int) func() {
		mu.Lock()
		sizes = append(sizes, entries)
		mu.Unlock()
		return func() {}
	}
	base := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	var docs []app.IndexDoc
	for i := range 2000 {
		// 200 entries late on one day, 1800 early on the next: the large
		// day, later, must start first.
		at := base.Add(time.Duration(i) * time.Second)
		if i >= 200 {
			at = base.Add(time.Hour + time.Duration(i)*time.Second)
		}
		docs = append(docs, entry(at, app.DataPipelines, "pipeline_run_finished", "maya", "Pipeline orders finished"))
	}
	if err := x.Index(docs, false); err != nil {
		t.Fatal(err)
	}
	if want := []int{900, 900, 200}; !slices.Equal(sizes, want) {
		t.Errorf("batches of %v entries, in the order they started; want %v", sizes, want)
	}
	if keys := mustSearch(t, x, parse(t, "orders"), app.Key{}, 5000); len(keys) != len(docs) {
		t.Errorf("%d of %d entries found", len(keys), len(docs))
	}
}
