package index

import (
	"math"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2"

	"auditlog/app"
)

// shardCache keeps what searches learn of each day shard until a batch
// changes it: the tallies of recent queries, how many entries hold a word (or
// a prefix, or an actor), and the latest quarter hour it holds. The chart and
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
	newests  map[bleve.Index]newestEntry
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
}

func (t *shardCache) freq(shard bleve.Index, version uint64, word string) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.freqs[freqKey{shard, word}]
	if !ok || e.version != version {
		return 0, false
	}
	return e.n, true
}

func (t *shardCache) putFreq(shard bleve.Index, version uint64, word string, n uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.freqs == nil || len(t.freqs) >= 4*maxTallies {
		t.freqs = map[freqKey]freqEntry{}
	}
	t.freqs[freqKey{shard, word}] = freqEntry{version: version, n: n}
}

// newestEntry is a shard's latest quarter hour, as of a version.
type newestEntry struct {
	version uint64
	slot    int64
	ok      bool
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

func (t *shardCache) newest(shard bleve.Index) (slot int64, ok, hit bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, found := t.newests[shard]
	if !found || e.version != t.versions[shard] {
		return 0, false, false
	}
	return e.slot, e.ok, true
}

func (t *shardCache) putNewest(shard bleve.Index, version uint64, slot int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.newests == nil || len(t.newests) >= maxTallies {
		t.newests = map[bleve.Index]newestEntry{}
	}
	t.newests[shard] = newestEntry{version: version, slot: slot, ok: ok}
}

type tallyKey struct {
	shard bleve.Index
	query string
}

type tallyEntry struct {
	version uint64
	cells   app.Tally
}

// maxTallies bounds the cache: a month of shards for a few hundred queries.
const maxTallies = 8192

// get returns the cached tally for key, and the shard's version to put a
// fresh one under. The version is read before the search, so a batch that
// lands during it leaves the result stale rather than wrongly current.
//
// A stale tally is returned too, with partial set, when every batch since it
// was counted wrote only entries from hour from on: its cells before that
// hour still hold, and only the later ones need counting again. Live traffic
// writes into the latest hour of today's shard, so a tally of today recounts
// an hour rather than the day on every batch.
func (t *shardCache) get(key tallyKey) (cells app.Tally, version uint64, fresh bool, from int64, partial bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.versions[key.shard]
	e, ok := t.entries[key]
	if !ok {
		return nil, v, false, 0, false
	}
	if e.version == v {
		return e.cells, v, true, 0, false
	}
	marks := t.marks[key.shard]
	if len(marks) == 0 || marks[0].version > e.version+1 {
		return nil, v, false, 0, false // batches since then were forgotten
	}
	from, partial = math.MaxInt64, true
	for _, m := range marks {
		if m.version > e.version {
			from = min(from, m.minHour)
		}
	}
	return e.cells, v, false, from, partial
}

func (t *shardCache) put(key tallyKey, version uint64, cells app.Tally) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Versions are kept when entries are dropped: a version that started
	// again from zero could make a result counted before a batch look current.
	if t.entries == nil || len(t.entries) >= maxTallies {
		t.entries = map[tallyKey]tallyEntry{}
	}
	t.entries[key] = tallyEntry{version: version, cells: cells}
}

// batchMark is a batch that reached a shard: the version it made and the
// earliest hour of its entries.
type batchMark struct {
	version uint64
	minHour int64
}

// maxMarks is how many batches of a shard are remembered for partial
// recounts: a tally older than that is counted whole again.
const maxMarks = 64

// changed marks shard's cached tallies stale from minHour on, the earliest
// hour of the entries a batch wrote.
func (t *shardCache) changed(shard bleve.Index, minHour int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.versions == nil {
		t.versions = map[bleve.Index]uint64{}
		t.marks = map[bleve.Index][]batchMark{}
	}
	t.versions[shard]++
	m := append(t.marks[shard], batchMark{version: t.versions[shard], minHour: minHour})
	if len(m) > maxMarks {
		m = slices.Clone(m[len(m)-maxMarks:])
	}
	t.marks[shard] = m
}
