// Package index is the keyword index of the audit log, built on Bleve.
//
// It keeps one Bleve index (a shard) per UTC day. One big index sorted by time
// scores and sorts every hit of a query, which is too slow at a million
// entries; with a shard per day a search walks the days newest first and stops
// once the page is full, and purging a day is deleting a directory. Bleve
// stores nothing: the store holds the entries and the index answers with keys.
package index

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"

	"auditlog/app"
)

// formatVersion changes whenever the mapping or the layout does; an index
// written in another format is recreated, and so rebuilt from the store.
const formatVersion = 3 // 2: tally cells are quarter hours; 3: actions are searchable words

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

	searched func(day int64) // tests watch which shards a search visits
}

var _ app.SearchIndex = (*Index)(nil)

// Open opens the index in dir. When dir is missing, was written in another
// format or holds a shard that cannot be opened, it is recreated empty with a
// new generation, which tells the Log to rebuild it from the store.
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
	if m.Format != formatVersion || m.Generation == "" {
		return fmt.Errorf("index: format %d, want %d", m.Format, formatVersion)
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
		idx, err := bleve.Open(filepath.Join(x.dir, name))
		if err != nil {
			return fmt.Errorf("index: shard %s: %w", name, err)
		}
		x.shards[day] = idx
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
	if idx, err = bleve.Open(final); err != nil {
		return fmt.Errorf("index: shard %s: %w", dayName(day), err)
	}
	x.shards[day] = idx
	return nil
}

// Index adds or replaces documents, one Bleve batch per day. Bleve's batches
// are persisted before they return, so the documents are durable on nil.
func (x *Index) Index(docs []app.IndexDoc) error {
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
			err := x.indexLocked(days, byDay)
			x.mu.RUnlock()
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

func (x *Index) indexLocked(days []int64, byDay map[int64][]app.IndexDoc) error {
	for _, day := range days {
		shard := x.shards[day]
		b := shard.NewBatch()
		for _, d := range byDay[day] {
			if err := b.Index(d.Key.String(), newDoc(d.Key, d.Event)); err != nil {
				return fmt.Errorf("index: %s: %w", d.Key, err)
			}
		}
		if err := shard.Batch(b); err != nil {
			return fmt.Errorf("index: shard %s: %w", dayName(day), err)
		}
	}
	return nil
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
		delete(x.shards, day)
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
		if err := shard.Close(); err != nil && first == nil {
			first = fmt.Errorf("index: shard %s: %w", dayName(day), err)
		}
	}
	x.shards = map[int64]bleve.Index{}
	return first
}
