// Package index is the keyword index of the audit log, built on Bleve.
//
// It keeps one Bleve index (a shard) per UTC day. One big index sorted by time
// scores and sorts every hit of a query, which is too slow at a million
// entries; with a shard per day a search walks the days newest first and stops
// once the page is full, and purging a day is deleting a directory. Bleve
// stores nothing: the store holds the entries and the index answers with keys.
package index

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"

	"auditlog/app"
)

// formatVersion changes whenever the mapping or the layout does; an index
// written in another format is recreated, and so rebuilt from the store.
//
//	2: tally cells are quarter hours
//	3: actions are searchable words
//	4: one text field holds the namespace, action and actor terms; no time field
//	5: quarter-hour terms, for a search to start from the latest ones
//	6: no term frequencies or norms
//	7: document IDs of 22 characters rather than 32 hex digits
//	8: second terms, for a busy quarter hour to be searched from its latest seconds
//	9: a quarter hour's first entries share a rough second term (see roughBelow)
//	10: words and actors folded (app.Fold): "chloe" finds Chloé
//	11: document IDs of their day: the nanosecond and the sequence number, 13 characters rather than 22
//	12: words of values of one or two words keep no positions; a value of two words is a pair term
//	13: words lower-cased by rune, not in place: "İstanbul" was garbled
//	14: compatibility forms made plain (NFKC): "ｆｕｌｌｗｉｄｔｈ" is fullwidth, "ﬁnance" finance
//	15: only letters, digits and the full-width block made plain: 14 glued "Acme™" into "acmetm"
//	16: made plain by a table of Unicode's forms, which puts together kana and voicing marks only
//	17: letters UAX #29 gives no word (Thai, Hiragana) and emoji are words (see wordTokenizer);
//	    apostrophes part words; Arabic and Hebrew vowel marks folded away
const formatVersion = 17

// keptFormat is a format before, which this one reads as it is, marking it
// as its own before anything is added to it (so that the release before
// rebuilds it rather than misread it); none is, now: an index of format 9
// holds words with their diacritics, which a folded search would not find.
const keptFormat = -1

const (
	metaFile   = "index.json"
	dayLayout  = "2006-01-02"
	newSuffix  = ".new" // a shard being created; left behind only by a crash
	secsPerDay = 24 * 60 * 60
)

var errClosed = errors.New("index: closed")

type meta struct {
	Format     int    `json:"format"`
	Generation string `json:"generation"`
}

// Index is a directory of day shards. It implements app.SearchIndex.
type Index struct {
	dir string

	// mu guards the fields below. Searches and batches hold it for reading for
	// their whole run, so a shard is never closed under them; opening,
	// dropping and closing shards hold it for writing.
	mu     sync.RWMutex
	gen    string
	shards map[int64]bleve.Index // by day: unix seconds / secsPerDay
	closed bool
	lost   []app.LostDay // shards dropped as damaged, until the Log takes them

	// broken names the open shards a read failed in (a damaged segment
	// reads as EOF), with why, until TakeLost drops them to be filled
	// again: reads hold mu only for reading, so they cannot drop a shard.
	brokenMu sync.Mutex
	broken   map[int64]string

	searched        func(day int64)                 // tests watch which shards a search visits
	tallied         func(day int64)                 // tests watch which shards a tally counts afresh
	windowed        func(slots int64)               // tests watch a search look at the latest quarter hours first
	secondsWindowed func(seconds int64)             // tests watch a search look at a busy quarter hour's latest seconds first
	recount         func(from int64)                // tests watch a tally count a shard again from an hour on
	recountTail     func(from int64)                // tests watch a tally count only its tail again, from a second on
	batching        func(entries int) (done func()) // tests watch the batches that run at once

	cache shardCache
}

var (
	_ app.SearchIndex = (*Index)(nil)
	_ app.DayShards   = (*Index)(nil)
)

// Open opens the index in dir. When dir is missing or was written in another
// format, it is recreated empty with a new generation, which tells the Log to
// rebuild it from the store. A day shard that cannot be opened (a damaged or
// missing file, or Bleve panicking over one) is dropped alone and reported by
// TakeLost, so that only its day is rebuilt and the app still starts.
//
// Only the process that holds the store may open its index: Bleve waits for
// a lock a second process would hold, and the store's lock keeps it out.
func Open(dir string) (*Index, error) {
	x := &Index{dir: dir, shards: map[int64]bleve.Index{}}
	if err := x.load(); err != nil {
		x.closeShards()
		if err := x.recreate(); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func (x *Index) load() error {
	b, err := os.ReadFile(filepath.Join(x.dir, metaFile))
	if err != nil {
		return err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("index: %s: %w", metaFile, err)
	}
	if (m.Format != formatVersion && m.Format != keptFormat) || m.Generation == "" {
		return fmt.Errorf("index: format %d, want %d", m.Format, formatVersion)
	}
	if m.Format == keptFormat {
		if err := writeMeta(x.dir, meta{Format: formatVersion, Generation: m.Generation}); err != nil {
			return err
		}
	}
	x.gen = m.Generation
	entries, err := os.ReadDir(x.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if base := strings.TrimSuffix(name, newSuffix); base != name {
			if _, ok := parseDayName(base); ok {
				// A crash while creating this shard: nothing was indexed into it yet.
				if err := os.RemoveAll(filepath.Join(x.dir, name)); err != nil {
					return err
				}
			}
			continue
		}
		day, ok := parseDayName(name)
		if !ok || !e.IsDir() {
			continue
		}
		idx, err := openSafely(filepath.Join(x.dir, name))
		if err != nil {
			if err := x.dropDamaged(day, fmt.Sprintf("its shard could not be opened: %v", err)); err != nil {
				return err
			}
			continue
		}
		x.shards[day] = idx
	}
	return nil
}

// openSafely opens a shard, turning a panic over a damaged file into an
// error: one bad day must not stop the app from starting.
func openSafely(path string) (idx bleve.Index, err error) {
	if err := rootCut(path); err != nil {
		return nil, err
	}
	err = safely(func() (err error) { idx, err = bleve.Open(path); return err })
	return idx, err
}

// safely runs fn, turning a panic inside Bleve, or a fault reading a
// damaged memory-mapped file, into an error. Shard files are memory-mapped,
// and a truncated one faults when read past its end, which would end the
// process; made a panic, it is recovered like any other. That holds for
// reads on the calling goroutine: Bleve's own background goroutines (merges,
// persisting) are not covered.
func safely(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bleve panicked: %v", r)
		}
	}()
	return fn()
}

// dropDamaged deletes a day's shard, which is not open, and notes the day as
// lost so the Log fills it again. The caller holds mu for writing (or is
// Open).
func (x *Index) dropDamaged(day int64, reason string) error {
	x.removeShard(day)
	if err := os.RemoveAll(filepath.Join(x.dir, dayName(day))); err != nil {
		return fmt.Errorf("index: unable to drop the damaged shard %s: %w", dayName(day), err)
	}
	x.lost = append(x.lost, app.LostDay{Day: dayStart(day), Reason: reason})
	return nil
}

// readFailed notes that reading day's shard failed with err, and returns
// err: the shard is dropped, and its day filled again, at the Log's next
// repair (TakeLost). A shard whose segment was damaged after it opened
// fails every search that reaches it until then.
func (x *Index) readFailed(day int64, err error) error {
	x.brokenMu.Lock()
	defer x.brokenMu.Unlock()
	if x.broken == nil {
		x.broken = map[int64]string{}
	}
	if _, noted := x.broken[day]; !noted {
		x.broken[day] = "reading it failed: " + err.Error()
	}
	return err
}

// TakeLost returns the days whose shards were dropped as damaged since the
// last call, and forgets them; shards a read failed in are dropped first.
func (x *Index) TakeLost() []app.LostDay {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.brokenMu.Lock()
	broken := x.broken
	x.broken = nil
	x.brokenMu.Unlock()
	for day, reason := range broken {
		if shard := x.removeShard(day); shard != nil {
			_ = safely(shard.Close) // it is being thrown away; a damaged one may not close cleanly
		}
		if err := x.dropDamaged(day, reason); err != nil {
			x.lost = append(x.lost, app.LostDay{Day: dayStart(day), Reason: reason}) // filled again over what is left
		}
	}
	lost := x.lost
	x.lost = nil
	return lost
}

// DayCounts returns how many entries each day's shard holds.
func (x *Index) DayCounts() (map[time.Time]int, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, errClosed
	}
	out := make(map[time.Time]int, len(x.shards))
	for day, shard := range x.shards {
		var n uint64
		err := safely(func() (err error) { n, err = shard.DocCount(); return err })
		if err != nil {
			return nil, fmt.Errorf("index: shard %s: %w", dayName(day), err)
		}
		out[dayStart(day)] = int(n)
	}
	return out, nil
}

// DropDay deletes the shard of the UTC day that starts at day, for it to be
// filled again.
func (x *Index) DropDay(day time.Time) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errClosed
	}
	d := dayOf(day)
	if shard := x.removeShard(d); shard != nil {
		_ = safely(shard.Close) // it is being thrown away; a damaged one may not close cleanly
	}
	if err := os.RemoveAll(filepath.Join(x.dir, dayName(d))); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// recreate deletes what the index wrote (and nothing else that may share the
// directory) and starts a new generation. The meta file goes first: a crash
// midway must not leave the old generation naming a partly deleted index.
func (x *Index) recreate() error {
	if err := os.MkdirAll(x.dir, 0o700); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := os.Remove(filepath.Join(x.dir, metaFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("index: %w", err)
	}
	entries, err := os.ReadDir(x.dir)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if _, ok := parseDayName(strings.TrimSuffix(name, newSuffix)); ok || name == metaFile || name == metaFile+".tmp" {
			if err := os.RemoveAll(filepath.Join(x.dir, name)); err != nil {
				return fmt.Errorf("index: %w", err)
			}
		}
	}
	gen, err := newGeneration()
	if err != nil {
		return err
	}
	if err := writeMeta(x.dir, meta{Format: formatVersion, Generation: gen}); err != nil {
		return err
	}
	x.gen = gen
	x.shards = map[int64]bleve.Index{}
	return nil
}

func newGeneration() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("index: generation: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// writeMeta replaces the meta file atomically, so a crash leaves the old one
// or the new one, never half of either.
func writeMeta(dir string, m meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, metaFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, metaFile))
	}
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes renames in dir survive a power cut: a new shard whose name
// was lost would be removed as half-created, with the entries in it. Some
// systems cannot sync a directory; there this is skipped.
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}

func dayOf(t time.Time) int64 { return floorDiv(t.Unix(), secsPerDay) }

func dayStart(day int64) time.Time { return time.Unix(day*secsPerDay, 0).UTC() }

func dayName(day int64) string { return dayStart(day).Format(dayLayout) }

func parseDayName(name string) (int64, bool) {
	t, err := time.Parse(dayLayout, name)
	if err != nil || t.Format(dayLayout) != name {
		return 0, false
	}
	return dayOf(t), true
}

// openShard creates a day's shard under a temporary name and renames it into
// place once Bleve has written it, so that a crash midway leaves a directory
// that Open removes rather than a shard that fails to open. The caller holds
// mu for writing.
func (x *Index) openShard(day int64) error {
	final := filepath.Join(x.dir, dayName(day))
	tmp := final + newSuffix
	// Neither is open, so either can only be left over from a failed attempt.
	for _, p := range []string{final, tmp} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	idx, err := bleve.New(tmp, newMapping())
	if err != nil {
		return fmt.Errorf("index: shard %s: %w", dayName(day), err)
	}
	if err := idx.Close(); err != nil {
		return fmt.Errorf("index: shard %s: %w", dayName(day), err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	syncDir(x.dir)
	if idx, err = openSafely(final); err != nil {
		return fmt.Errorf("index: shard %s: %w", dayName(day), err)
	}
	x.shards[day] = idx
	return nil
}

// Index adds or replaces documents in Bleve batches of one day each, about
// an equal share per worker. Bleve's batches are persisted before they
// return, so the documents are durable on nil. With attended set, someone
// waits on the log (a read, a write's acknowledgement): one batch fewer runs
// at a time.
func (x *Index) Index(docs []app.IndexDoc, attended bool) error {
	byDay := map[int64][]app.IndexDoc{}
	for _, d := range docs {
		if d.Event == nil {
			return fmt.Errorf("index: document %s has no event", d.Key)
		}
		day := dayOf(d.Key.Time())
		byDay[day] = append(byDay[day], d)
	}
	days := make([]int64, 0, len(byDay))
	for day := range byDay {
		days = append(days, day)
	}
	slices.Sort(days)

	for {
		x.mu.RLock()
		if x.closed {
			x.mu.RUnlock()
			return errClosed
		}
		var missing []int64
		for _, day := range days {
			if x.shards[day] == nil {
				missing = append(missing, day)
			}
		}
		if len(missing) == 0 {
			err := x.indexLocked(days, byDay, attended)
			x.mu.RUnlock()
			reopened := map[int64]bool{} // a day cut into batches may fail in each
			for _, e := range splitJoined(err) {
				var failed *batchError
				if errors.As(e, &failed) && !reopened[failed.day] {
					reopened[failed.day] = true
					x.reopen(failed.day, failed.err)
				}
			}
			return err
		}
		x.mu.RUnlock()

		// Shards are created under the write lock, then the loop starts over
		// under the read lock, in case a DropBefore came in between.
		x.mu.Lock()
		var err error
		if x.closed {
			err = errClosed
		}
		for _, day := range missing {
			if err == nil && x.shards[day] == nil {
				err = x.openShard(day)
			}
		}
		x.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// Room a batch needs on disk before Bleve is given it: Bleve's own failure
// on a full disk leaves the index broken (a segment closed while still in
// use, then "assignment to entry in nil map"), so it is not risked. The
// entries stay in the store's outbox until there is room; the log drains
// fewer at a time meanwhile (app.ENOSPACE). An entry takes about 300 bytes
// in the index, and a merge writes its segments again before the old ones
// go: a kilobyte an entry is that, with room to spare.
const (
	spareBytes  = 4 << 20
	bytesPerDoc = 1 << 10
)

func (x *Index) indexLocked(days []int64, byDay map[int64][]app.IndexDoc, attended bool) error {
	n := 0
	for _, docs := range byDay {
		n += len(docs)
	}
	if free, ok := freeSpace(x.dir); ok && free < uint64(spareBytes+n*bytesPerDoc) {
		return app.Errorf(app.ENOSPACE, "index: the disk holding %s has %d bytes free, too little to index %d entries safely; indexing waits for space", x.dir, free, n)
	}
	// An import spreads each drain over a month of shards: their batches are
	// independent, and each waits on its own fsync, so they run side by side.
	// Live traffic fills one shard: its drain is cut into a batch per core,
	// which Bleve turns into segments side by side too (a key is in one
	// drain once, so no two batches write the same document). While someone
	// waits on the log, one batch fewer runs at a time: Bleve analyzes a
	// batch on its own workers too, so this is room for them, not a core of
	// their own.
	workers := max(2, runtime.GOMAXPROCS(0))
	if attended {
		workers = max(1, runtime.GOMAXPROCS(0)-1)
	}
	// The drain is cut into batches of about an equal share per worker, a
	// day's entries into several when it holds more than a share (and at
	// least 2*minSplit), and the largest go first: a drain of an ordered
	// import often holds most of one day and a little of the next, and a
	// batch per day left one core idle while the other built the large day
	// alone.
	type batch struct {
		day  int64
		docs []app.IndexDoc
	}
	share := (n + workers - 1) / workers
	var batches []batch
	for _, day := range days {
		docs := byDay[day]
		pieces := 1
		if len(docs) >= 2*minSplit {
			pieces = min((len(docs)+share-1)/share, len(docs)/minSplit)
		}
		size := (len(docs) + pieces - 1) / pieces
		for from := 0; from < len(docs); from += size {
			batches = append(batches, batch{day, docs[from:min(from+size, len(docs))]})
		}
	}
	slices.SortStableFunc(batches, func(a, b batch) int { return cmp.Compare(len(b.docs), len(a.docs)) })
	work := make(chan int, len(batches))
	for i := range batches {
		work <- i
	}
	close(work)
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for range min(len(batches), workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				done := func() {}
				if x.batching != nil {
					done = x.batching(len(batches[i].docs))
				}
				errs[i] = x.indexDay(batches[i].day, batches[i].docs)
				done()
			}
		}()
	}
	wg.Wait()
	// Every failed day is reopened by the caller, not only the first.
	return errors.Join(errs...)
}

// minSplit is the fewest entries worth a batch of their own: below it, the
// cost of one more segment to merge outweighs the core it keeps busy.
const minSplit = 500

func (x *Index) indexDay(day int64, docs []app.IndexDoc) error {
	shard := x.shards[day]
	// How many entries each quarter hour holds decides which are rough (see
	// roughBelow). Without the counts every entry keeps its second, which is
	// never wrong, only larger.
	var held map[int64]uint64 // nil: the counts could not be read
	if slots, err := x.slotsOf(shard); err == nil {
		held = make(map[int64]uint64, len(slots))
		for _, s := range slots {
			held[s.slot] = s.entries
		}
	}
	b := shard.NewBatch()
	for _, d := range docs {
		rough := false
		if held != nil {
			slot := app.SlotOf(d.Key.Time())
			rough = held[slot] < roughBelow
			held[slot]++
		}
		if err := b.IndexAdvanced(newDocument(d.Key, d.Event, rough)); err != nil {
			return fmt.Errorf("index: %s: %w", d.Key, err)
		}
	}
	err := safely(func() error { return shard.Batch(b) })
	// Even a failed batch may have changed the shard: its tallies are stale,
	// from the earliest second it wrote.
	minSecond, maxSecond := int64(math.MaxInt64), int64(math.MinInt64)
	for _, d := range docs {
		sec := d.Key.Time().Unix()
		minSecond, maxSecond = min(minSecond, sec), max(maxSecond, sec)
	}
	x.cache.changed(shard, minSecond, maxSecond)
	if err != nil {
		return &batchError{day: day, err: err}
	}
	return nil
}

// splitJoined lists the errors errors.Join put together, or err alone.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// batchError is a Bleve batch that failed (a full disk, say). Bleve's
// in-memory state is not to be trusted after one: the next batch on the same
// index panicked with "assignment to entry in nil map".
type batchError struct {
	day int64
	err error
}

func (e *batchError) Error() string { return fmt.Sprintf("index: shard %s: %v", dayName(e.day), e.err) }
func (e *batchError) Unwrap() error { return e.err }

// reopen closes the shard a batch failed on and opens it again from what is
// on disk, which holds every batch that succeeded; the failed batch's
// entries are still in the store's outbox and are indexed again. A shard
// that will not open again is dropped and its day rebuilt later.
func (x *Index) reopen(day int64, cause error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	shard := x.shards[day]
	if x.closed || shard == nil {
		return
	}
	x.removeShard(day)
	_ = safely(shard.Close)
	idx, err := openSafely(filepath.Join(x.dir, dayName(day)))
	if err != nil {
		_ = x.dropDamaged(day, fmt.Sprintf("a write to it failed (%v) and it could not be opened again: %v", cause, err))
		return
	}
	x.shards[day] = idx
}

// DropBefore deletes the shards of days that end at or before cutoff.
func (x *Index) DropBefore(cutoff time.Time) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errClosed
	}
	var first error
	for day, shard := range x.shards {
		if dayStart(day + 1).After(cutoff) {
			continue
		}
		x.removeShard(day)
		if err := shard.Close(); err != nil && first == nil {
			first = fmt.Errorf("index: shard %s: %w", dayName(day), err)
		}
		if err := os.RemoveAll(filepath.Join(x.dir, dayName(day))); err != nil && first == nil {
			first = fmt.Errorf("index: %w", err)
		}
	}
	return first
}

// Generation identifies the index's contents; see app.SearchIndex.
func (x *Index) Generation() string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.gen
}

// Reset deletes every shard and starts a new generation.
func (x *Index) Reset() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errClosed
	}
	x.closeShards()
	return x.recreate()
}

// Close closes every shard. Later calls do nothing.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	return x.closeShards()
}

func (x *Index) closeShards() error {
	var first error
	for day, shard := range x.shards {
		x.removeShard(day)
		if err := shard.Close(); err != nil && first == nil {
			first = fmt.Errorf("index: shard %s: %w", dayName(day), err)
		}
	}
	return first
}

// removeShard takes day's shard, if open, out of the index and out of the
// cache, and returns it for the caller to close. The caller holds mu for
// writing.
func (x *Index) removeShard(day int64) bleve.Index {
	shard := x.shards[day]
	delete(x.shards, day)
	if shard != nil {
		x.cache.forget(shard)
	}
	return shard
}
