package index

import (
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2"

	"auditlog/app"
)

// shardCache keeps what searches learn of each day shard until a batch
// changes it: the tallies of recent queries, how many entries hold a word (or
// a prefix, an actor), and how many entries each of its quarter hours holds;
// and, of the latest batches, which seconds they wrote, for a stale tally to
// be counted again only from there. The chart and
// the tabs are counted over the whole retention window on every keystroke,
// the refresh and every tab, while all but today's shard rarely change.
// Entries are keyed by the shard itself, so a shard dropped or reopened is
// never answered from its predecessor's.
//
// Each batch makes a new version of its shard. A version is read before the
// shard is, so a batch that lands meanwhile leaves what was learnt stale
// rather than wrongly current.
type shardCache struct {
	mu       sync.Mutex
	versions map[bleve.Index]uint64
	entries  map[tallyKey]tallyEntry
	newests  map[bleve.Index]slotsEntry
	freqs    map[freqKey]freqEntry
	marks    map[bleve.Index][]batchMark
}

// freqKey is a word of a shard's text, whose entries freqEntry counts.
type freqKey struct {
	shard bleve.Index
	word  string
}

type freqEntry struct {
	version uint64
	n       uint64
	terms   []string // for actors: the actor terms that match
}

func (t *shardCache) freq(shard bleve.Index, version uint64, word string) (uint64, []string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.freqs[freqKey{shard, word}]
	if !ok || e.version != version {
		return 0, nil, false
	}
	return e.n, e.terms, true
}

func (t *shardCache) putFreq(shard bleve.Index, version uint64, word string, n uint64, terms []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.freqs == nil || len(t.freqs) >= 4*maxTallies {
		t.freqs = map[freqKey]freqEntry{}
	}
	t.freqs[freqKey{shard, word}] = freqEntry{version: version, n: n, terms: terms}
}

// slotsEntry is how many entries each quarter hour of a shard holds, as of
// a version, oldest first.
type slotsEntry struct {
	version uint64
	slots   []slotCount
}

type slotCount struct {
	slot    int64
	entries uint64
}

// forget drops all that was learnt of shard, which is closed for good (a
// day dropped, or a shard reopened as another): nothing keeps it alive.
func (t *shardCache) forget(shard bleve.Index) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.versions, shard)
	delete(t.newests, shard)
	delete(t.marks, shard)
	for k := range t.entries {
		if k.shard == shard {
			delete(t.entries, k)
		}
	}
	for k := range t.freqs {
		if k.shard == shard {
			delete(t.freqs, k)
		}
	}
}

func (t *shardCache) version(shard bleve.Index) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.versions[shard]
}

func (t *shardCache) slots(shard bleve.Index) (slots []slotCount, hit bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, found := t.newests[shard]
	if !found || e.version != t.versions[shard] {
		return nil, false
	}
	return e.slots, true
}

func (t *shardCache) putSlots(shard bleve.Index, version uint64, slots []slotCount) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.newests == nil || len(t.newests) >= maxTallies {
		t.newests = map[bleve.Index]slotsEntry{}
	}
	t.newests[shard] = slotsEntry{version: version, slots: slots}
}

type tallyKey struct {
	shard bleve.Index
	query string
}

// tallyEntry is a shard's tally of a query, as two parts: base, the matches
// before second tailFrom, and tail, those from it on (when tail is nil,
// there are no parts, and only cells is kept). Each part is exact as of the
// version it is kept under: a batch that changed either since is marked. A
// tally of a shard under live traffic then counts again only its tail, the
// latest seconds, rather than the hour.
type tallyEntry struct {
	version  uint64
	base     app.Tally
	tail     app.Tally
	tailFrom int64
	cells    []cellCount // base and tail together, as a list: read on every keystroke
}

type cellCount struct {
	cell app.TallyCell
	n    int
}

func newTallyEntry(base, tail app.Tally, tailFrom int64) tallyEntry {
	sum := base
	if tail != nil {
		sum = maps.Clone(base)
		addTally(sum, tail)
	}
	cells := make([]cellCount, 0, len(sum))
	for c, n := range sum {
		cells = append(cells, cellCount{c, n})
	}
	if tail == nil {
		base = nil // the cells are all of it: no need to keep it twice
	}
	return tallyEntry{base: base, tail: tail, tailFrom: tailFrom, cells: cells}
}

// total is the tally as one map.
func (e tallyEntry) total() app.Tally {
	t := make(app.Tally, len(e.cells))
	for _, cc := range e.cells {
		t[cc.cell] = cc.n
	}
	return t
}

// maxTallies bounds the cache: a month of shards for a few hundred queries.
const maxTallies = 8192

// get returns the cached tally for key, and the shard's version to put a
// fresh one under. The version is read before the search, so a batch that
// lands during it leaves the result stale rather than wrongly current.
//
// A stale tally is returned too, with partial set, when the batches since it
// was counted are all remembered: from and to are the earliest and the
// latest second they wrote. What the tally counted before from still holds;
// it is counted again from the tail, when from is in it, else from the hour
// of from. Live traffic writes into the latest seconds of today's shard, so
// a tally of today recounts its tail rather than the day on every batch.
func (t *shardCache) get(key tallyKey) (e tallyEntry, version uint64, fresh bool, from, to int64, partial bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.versions[key.shard]
	e, ok := t.entries[key]
	if !ok {
		return e, v, false, 0, 0, false
	}
	if e.version == v {
		return e, v, true, 0, 0, false
	}
	marks := t.marks[key.shard]
	if len(marks) == 0 || marks[0].version > e.version+1 {
		return e, v, false, 0, 0, false // batches since then were forgotten
	}
	from, to, partial = math.MaxInt64, math.MinInt64, true
	for _, m := range marks {
		if m.version > e.version {
			from, to = min(from, m.minSecond), max(to, m.maxSecond)
		}
	}
	return e, v, false, from, to, partial
}

func (t *shardCache) put(key tallyKey, version uint64, e tallyEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Versions are kept when entries are dropped: a version that started
	// again from zero could make a result counted before a batch look current.
	if t.entries == nil || len(t.entries) >= maxTallies {
		t.entries = map[tallyKey]tallyEntry{}
	}
	e.version = version
	t.entries[key] = e
}

// batchMark is a batch that reached a shard: the version it made and the
// earliest and latest seconds of its entries.
type batchMark struct {
	version              uint64
	minSecond, maxSecond int64
}

// maxMarks is how many batches of a shard are remembered for partial
// recounts: a tally older than that is counted whole again.
const maxMarks = 64

// changed marks shard's cached tallies stale from second minSecond on, the
// earliest of the entries a batch wrote; maxSecond is the latest.
func (t *shardCache) changed(shard bleve.Index, minSecond, maxSecond int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.versions == nil {
		t.versions = map[bleve.Index]uint64{}
		t.marks = map[bleve.Index][]batchMark{}
	}
	t.versions[shard]++
	m := append(t.marks[shard], batchMark{version: t.versions[shard], minSecond: minSecond, maxSecond: maxSecond})
	if len(m) > maxMarks {
		m = slices.Clone(m[len(m)-maxMarks:])
	}
	t.marks[shard] = m
}
