package index

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"

	"auditlog/app"
)

// sortNewestFirst orders hits by document ID, which is the key (docID) and so
// sorts exactly as the store does, ties included.
var sortNewestFirst = []string{"-_id"}

// Search returns the keys of the entries matching q, newest first, strictly
// older than before (the zero Key means from the newest), at most limit.
//
// Documents hold no time: their IDs are their keys, which sort by time, so
// the range is a range of IDs. Its newer end, like the cursor, is where the
// newest-first order starts; its older end is where the search stops.
func (x *Index) Search(q *app.Query, before app.Key, limit int) ([]app.Key, error) {
	if q.Empty || limit <= 0 {
		return nil, nil
	}
	c := compile(q)
	upper := before
	if !q.Before.IsZero() {
		if k := app.MakeKey(q.Before, 0); upper == (app.Key{}) || bytes.Compare(k[:], upper[:]) < 0 {
			upper = k
		}
	}
	hasUpper, upperDay := upper != app.Key{}, dayOf(upper.Time())
	// Keys hold unsigned nanoseconds: a bound at or before 1970 (after:1970-01-01
	// in a zone east of UTC is one) would wrap; every entry is after it anyway.
	var lower app.Key
	if q.After.UnixNano() > 0 {
		lower = app.MakeKey(q.After, 0)
	}

	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return nil, errClosed
	}
	var keys []app.Key
	for _, day := range x.days(q) {
		if hasUpper && day > upperDay {
			continue
		}
		ok, est, err := x.mayMatch(x.shards[day], c)
		if err != nil {
			return nil, x.readFailed(day, fmt.Errorf("index: search %s: %w", dayName(day), err))
		} else if !ok {
			continue
		}
		if x.searched != nil {
			x.searched(day)
		}
		var after string
		if hasUpper && day == upperDay {
			after = docID(upper)
		}
		hits, err := x.searchDay(day, c, after, limit-len(keys), est)
		if err != nil {
			return nil, x.readFailed(day, fmt.Errorf("index: search %s: %w", dayName(day), err))
		}
		for _, h := range hits {
			k, ok := keyOf(day, h.ID)
			if !ok {
				return nil, x.readFailed(day, fmt.Errorf("index: shard %s holds a document with ID %q", dayName(day), h.ID))
			}
			if bytes.Compare(k[:], lower[:]) < 0 {
				return keys, nil // older than the range: so is every later hit
			}
			// A damaged segment can name a document twice; a page must not.
			if len(keys) > 0 && bytes.Compare(k[:], keys[len(keys)-1][:]) >= 0 {
				continue
			}
			keys = append(keys, k)
		}
		if len(keys) >= limit {
			break
		}
	}
	return keys, nil
}

// searchDay finds the newest n matches of c in one day's shard, strictly
// older than the document ID after (none: from the newest).
//
// Sorting by ID reads the ID of every match, which for a common word is most
// of the shard while the page needs fifty. So the search walks the day's
// quarter hours newest first, in windows: each holds enough entries for
// about 2n matches (est, when known, is how many entries of the day at most
// can match), and each next window eight times as many while the matches
// are fewer than hoped; half a day on, the rest of the day is searched
// whole. Every match outside a window is older than every match in it, so
// the windows' matches, newest first and in turn, are the newest n.
//
// A busy quarter hour (a burst: an import of today, or live traffic) is a
// window alone, searched from its latest seconds (searchBusySlot): its
// matches alone could be tens of thousands to sort.
func (x *Index) searchDay(day int64, c *compiled, after string, n, est int) (search.DocumentMatchCollection, error) {
	shard := x.shards[day]
	// With an estimate, a shard with few matches is searched whole; without
	// one, every entry is taken to match, and windows hold 4n entries.
	if est >= 0 && est < 8*n {
		return newestMatches(shard, c.bq, n, after)
	}
	// wantFor is how many entries a window holds for about 2k matches.
	wantFor := func(k int) uint64 { return uint64(4 * k) }
	if est > 0 {
		docs, err := docCount(shard)
		if err != nil {
			return nil, err
		}
		wantFor = func(k int) uint64 { return max(uint64(2*k), uint64(2*k)*docs/uint64(est)) }
	}
	want := wantFor(n)
	slots, err := x.slotsOf(shard)
	if err != nil {
		return nil, err
	}
	i := len(slots) - 1 // the newest quarter hour not searched yet
	if k, valid := keyOf(day, after); valid {
		cut := app.SlotOf(k.Time())
		for i >= 0 && slots[i].slot > cut {
			i--
		}
	}
	const half = 48 // quarter hours: half a day, after which the rest is searched whole
	var found search.DocumentMatchCollection
	for walked := 0; len(found) < n && i >= 0; {
		need := n - len(found)
		if walked >= half {
			// The rest of the day at once: what was found is newer than all of it.
			hits, err := newestMatches(shard, bleve.NewConjunctionQuery(c.bq, window(slots[0].slot, slots[i].slot)), need, after)
			return append(found, hits...), err
		}
		if slots[i].entries > busySlot {
			hits, done, err := x.searchBusySlot(shard, day, c, after, need, wantFor(need), slots[i].slot, slots[i].entries)
			if err != nil {
				return nil, err
			}
			if !done {
				if hits, err = newestMatches(shard, bleve.NewConjunctionQuery(c.bq, window(slots[i].slot, slots[i].slot)), need, after); err != nil {
					return nil, err
				}
			}
			found = append(found, hits...)
			i, walked = i-1, walked+1
			continue
		}
		// A window of quiet quarter hours, up to the next busy one.
		lo, held := i, slots[i].entries
		for lo > 0 && held < want && slots[lo-1].entries <= busySlot && walked+(i-lo+1) < half {
			lo--
			held += slots[lo].entries
		}
		if x.windowed != nil {
			x.windowed(slots[i].slot - slots[lo].slot + 1)
		}
		hits, err := newestMatches(shard, bleve.NewConjunctionQuery(c.bq, window(slots[lo].slot, slots[i].slot)), need, after)
		if err != nil {
			return nil, err
		}
		found = append(found, hits...)
		if len(hits) < need {
			// Too few: the next window eight times as large. Not the whole
			// day at once: a window cut by the cursor holds few of a common
			// word, and the whole day would sort all of them.
			want *= 8
		}
		walked += i - lo + 1
		i = lo - 1
	}
	return found, nil
}

// busySlot is how many entries a quarter hour holds before a search looks
// at its latest seconds first: sorting the matches of a quarter hour by ID
// costs about half a microsecond each, so up to a millisecond at this size.
const busySlot = 2048

// searchBusySlot searches quarter hour slot, which holds entries entries,
// from its latest seconds, as searchDay searches a day in windows of
// quarter hours.
//
// The seconds read from the shard's dictionary say how many entries each
// holds; a window takes the latest that hold want entries (searchDay's
// estimate for about 2n matches), then eight times as many. done is
// false when the quarter hour's matches are too few for a window of seconds
// to hold n, or when a window would be all of it: the quarter hour is then
// searched whole.
func (x *Index) searchBusySlot(shard bleve.Index, day int64, c *compiled, after string, n int, want uint64, slot int64, entries uint64) (hits search.DocumentMatchCollection, done bool, err error) {
	first, last := app.TallyCell{Slot: slot}.Start().Unix(), lastSecondOf(slot)
	if k, valid := keyOf(day, after); valid {
		last = min(last, k.Time().Unix())
	}
	if want >= entries {
		return nil, false, nil // a window would be the whole quarter hour
	}
	// The seconds are read from the dictionary newest first, a stretch at a
	// time, each eight times as long as all before it: the whole quarter
	// hour is up to 900 terms in every segment, where a window needs the
	// latest few (reading them all was two fifths of such a search).
	var seconds []int64 // newest first
	var counts []uint64
	read := last + 1 // the seconds from read on have been read
	i, held := 0, uint64(0)
	for {
		for held < want {
			if i == len(seconds) {
				if read <= first {
					break
				}
				from := max(first, read-max(16, 8*(last+1-read)))
				s, c, err := secondsIn(shard, from, read-1)
				if err != nil {
					return nil, false, err
				}
				for j := len(s) - 1; j >= 0; j-- {
					seconds, counts = append(seconds, s[j]), append(counts, c[j])
				}
				read = from
				continue
			}
			held += counts[i]
			i++
		}
		if i == len(seconds) && read <= first {
			return nil, false, nil // the window would be the whole quarter hour
		}
		oldest := seconds[i-1]
		if x.secondsWindowed != nil {
			x.secondsWindowed(last - oldest + 1)
		}
		// The quarter hour's rough entries (see roughBelow) may be of any of
		// its seconds: each window takes them in, and is enough only if its
		// nth newest hit is of the window's seconds. Any match newer than
		// that hit is then in the window.
		window := bleve.NewDisjunctionQuery(termRange(secondTermOf(oldest), secondTermOf(last)), termOn(fieldText, roughSecondTermOf(slot)))
		hits, err := newestMatches(shard, bleve.NewConjunctionQuery(c.bq, window), n, after)
		if err != nil {
			return nil, false, err
		}
		if len(hits) >= n {
			k, ok := keyOf(day, hits[n-1].ID)
			if !ok {
				return nil, false, fmt.Errorf("a document has the ID %q", hits[n-1].ID)
			}
			if k.Time().Unix() >= oldest {
				return hits, true, nil
			}
		}
		// Eight times as many, and at least one second more: a second can
		// hold more than the window wanted.
		want = max(want*8, held+1)
	}
}

// newestMatches runs bq on shard for its n newest matches strictly older
// than the document ID after (none: from the newest).
func newestMatches(shard bleve.Index, bq query.Query, n int, after string) (search.DocumentMatchCollection, error) {
	req := bleve.NewSearchRequestOptions(bq, n, 0, false)
	req.SortBy(sortNewestFirst)
	req.Score = bleve.ScoreNone
	if after != "" {
		req.SearchAfter = []string{after}
	}
	var res *bleve.SearchResult
	if err := safely(func() (err error) { res, err = shard.Search(req); return err }); err != nil {
		return nil, err
	}
	return res.Hits, nil
}

func docCount(shard bleve.Index) (n uint64, err error) {
	err = safely(func() (err error) { n, err = shard.DocCount(); return err })
	return n, err
}

// termRange matches the text terms from lo to hi, both included.
func termRange(lo, hi string) query.Query {
	incl := true
	r := bleve.NewTermRangeInclusiveQuery(lo, hi, &incl, &incl)
	r.SetField(fieldText)
	return r
}

// secondsIn lists the seconds from first to last that shard holds entries
// in, oldest first, with how many entries each holds. Rough entries (see
// roughBelow) are not counted: they are of no second in particular.
func secondsIn(shard bleve.Index, first, last int64) (seconds []int64, counts []uint64, err error) {
	err = withReader(shard, func(r index.IndexReader) error {
		dict, err := r.FieldDictRange(fieldText, []byte(secondTermOf(first)), []byte(secondTermOf(last)))
		if err != nil {
			return err
		}
		return eachTimeTerm(dict, secondTerm, func(sec int64, n uint64) {
			seconds, counts = append(seconds, sec), append(counts, n)
		})
	})
	return seconds, counts, err
}

// eachTimeTerm reads a dictionary of the time terms under prefix (hours,
// quarter hours or seconds) to its end, in order, handing fn each one's
// number and how many entries hold it, and closes it.
func eachTimeTerm(dict index.FieldDict, prefix string, fn func(n int64, entries uint64)) error {
	defer dict.Close()
	for {
		e, err := dict.Next()
		if err != nil || e == nil {
			return err
		}
		if strings.HasSuffix(e.Term, roughSuffix) {
			continue // a quarter hour's rough entries (see roughBelow)
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(e.Term, prefix), 10, 64)
		if err != nil {
			return fmt.Errorf("a time term %q: %w", e.Term, err)
		}
		fn(n, e.Count)
	}
}

// window matches the entries of the quarter hours from first to last,
// exactly: a window of a day's older quarter hours must not take in the
// newer ones searched before it. The hours wholly inside go by their hour
// terms, which is a few terms rather than dozens; the quarter hours at
// either end by theirs.
func window(first, last int64) query.Query {
	const perHour = 4
	fromHour := floorDiv(first+perHour-1, perHour) // the first hour wholly inside
	toHour := floorDiv(last+1, perHour) - 1        // the last
	if fromHour > toHour {
		return timeTerms(slotTermOf, first, last)
	}
	parts := []query.Query{timeTerms(hourTermOf, fromHour, toHour)}
	if first < fromHour*perHour {
		parts = append(parts, timeTerms(slotTermOf, first, fromHour*perHour-1))
	}
	if last >= (toHour+1)*perHour {
		parts = append(parts, timeTerms(slotTermOf, (toHour+1)*perHour, last))
	}
	return anyOf(parts)
}

// timeTerms matches the time terms term(from) to term(to). Up to
// maxNamedTerms are named one by one: a range reads the shard's dictionary
// to list its terms, in every segment, and that cost more than the search it
// bounds.
func timeTerms(term func(int64) string, from, to int64) query.Query {
	if to-from >= maxNamedTerms {
		return termRange(term(from), term(to))
	}
	parts := make([]query.Query, 0, to-from+1)
	for n := from; n <= to; n++ {
		parts = append(parts, termOn(fieldText, term(n)))
	}
	return anyOf(parts)
}

// anyOf matches what any of parts matches.
func anyOf(parts []query.Query) query.Query {
	if len(parts) == 1 {
		return parts[0]
	}
	return bleve.NewDisjunctionQuery(parts...)
}

// maxNamedTerms is how many time terms of one kind (hours, or quarter hours
// at either end) a window names before it takes them as a range.
const maxNamedTerms = 8

// slotsOf lists the quarter hours that shard holds entries in, oldest
// first, with how many entries each holds: read from its dictionary once per
// change of the shard.
func (x *Index) slotsOf(shard bleve.Index) ([]slotCount, error) {
	if slots, hit := x.cache.slots(shard); hit {
		return slots, nil
	}
	version := x.cache.version(shard)
	var slots []slotCount
	err := withReader(shard, func(r index.IndexReader) error {
		dict, err := r.FieldDictPrefix(fieldText, []byte(slotTerm))
		if err != nil {
			return err
		}
		return eachTimeTerm(dict, slotTerm, func(s int64, n uint64) {
			slots = append(slots, slotCount{s, n})
		})
	})
	if err != nil {
		return nil, err
	}
	x.cache.putSlots(shard, version, slots)
	return slots, nil
}

// tallyFacetSize bounds the cells of one day shard (96 quarter hours × the
// namespaces) with room to spare; a shard with more is reported, not truncated.
const tallyFacetSize = 96 * 8

// Tally counts the entries matching q per quarter hour and namespace, and
// hands each cell's count to add.
//
// Each day's shard is counted whole, and cached so, whatever the range (a
// batch since makes it count again only from where the batch wrote): the
// range only picks the quarter hours it covers. A quarter hour the range cuts
// (the retention's cutoff, or a bound typed to the second) is counted entry
// by entry from the IDs, which are keys and so carry the time.
func (x *Index) Tally(q *app.Query, add func(cell app.TallyCell, n int)) error {
	if q.Empty {
		return nil
	}
	c := compile(q)
	fingerprint := c.fingerprint(q)

	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return errClosed
	}
	for _, day := range x.days(q) {
		if ok, _, err := x.mayMatch(x.shards[day], c); err != nil {
			return x.readFailed(day, fmt.Errorf("index: tally %s: %w", dayName(day), err))
		} else if !ok {
			continue
		}
		shard := x.shards[day]
		key := tallyKey{shard: shard, query: fingerprint}
		e, version, fresh, from, to, partial := x.cache.get(key)
		if !fresh {
			if x.tallied != nil {
				x.tallied(day)
			}
			var err error
			switch {
			case partial && e.tail != nil && from >= e.tailFrom:
				if x.recountTail != nil {
					x.recountTail(e.tailFrom)
				}
				e, err = recountTail(shard, c.bq, day, e, from)
			case partial && from >= 0: // hour terms sort as numbers only from 1970 on
				if x.recount != nil {
					x.recount(floorDiv(from, 3600))
				}
				e, err = recountFrom(shard, c.bq, day, e.total(), from, to)
			default:
				var cells app.Tally
				cells, err = tallyDay(shard, c.bq, day)
				e = newTallyEntry(cells, nil, 0)
			}
			if err != nil {
				return x.readFailed(day, err)
			}
			x.cache.put(key, version, e)
		}
		// Cells wholly inside the range are added as counted; a cell the range
		// cuts is counted again, entry by entry.
		afterNs, beforeNs := q.After.UnixNano(), q.Before.UnixNano()
		for _, cc := range e.cells {
			start := cc.cell.Slot * int64(app.TallySlot)
			end := start + int64(app.TallySlot)
			switch {
			case (!q.After.IsZero() && end <= afterNs) || (!q.Before.IsZero() && start >= beforeNs):
				// outside the range
			case (q.After.IsZero() || start >= afterNs) && (q.Before.IsZero() || end <= beforeNs):
				add(cc.cell, cc.n)
			default:
				m, err := countCut(shard, c.bq, cc.cell, cc.n, q)
				if err != nil {
					return x.readFailed(day, fmt.Errorf("index: tally %s: %w", dayName(day), err))
				}
				if m > 0 {
					add(cc.cell, m)
				}
			}
		}
	}
	return nil
}

// countCut counts the matches of bq in one cell, which holds n of them,
// whose time falls inside q's range.
func countCut(shard bleve.Index, bq query.Query, cl app.TallyCell, n int, q *app.Query) (int, error) {
	var res *bleve.SearchResult
	// A batch landing since the cell was counted can have added to it: ask
	// again for as many as there are.
	for size, try := n, 0; try < 2 && (res == nil || int(res.Total) > len(res.Hits)); size, try = int(res.Total), try+1 {
		req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(bq, termOn(fieldCell, cell(cl.Slot, cl.Namespace))), size, 0, false)
		req.Score = bleve.ScoreNone
		if err := safely(func() (err error) { res, err = shard.Search(req); return err }); err != nil {
			return 0, err
		}
	}
	m := 0
	for _, h := range res.Hits {
		k, ok := keyOf(dayOf(cl.Start()), h.ID)
		if !ok {
			return 0, fmt.Errorf("a document has the ID %q", h.ID)
		}
		if t := k.Time(); (q.After.IsZero() || !t.Before(q.After)) && (q.Before.IsZero() || t.Before(q.Before)) {
			m++
		}
	}
	return m, nil
}

// recountFrom keeps stale's cells before the hour of second from, the
// earliest a batch has written since they were counted, and counts the
// shard's matches of bq again from that hour on. When the batches since
// wrote within liveSpan seconds (from to to), as live traffic's do, the
// matches from tailMargin before from on are counted apart, as the tally's
// tail: the batches that follow write there, and only the tail is counted
// again for them (recountTail). An import writes all over the day, and its
// tallies keep no tail.
func recountFrom(shard bleve.Index, bq query.Query, day int64, stale app.Tally, from, to int64) (tallyEntry, error) {
	hour := floorDiv(from, 3600)
	hours := termRange(hourTermOf(hour), hourTermOf(lastNumber))
	base := make(app.Tally, len(stale))
	for cell, n := range stale {
		if hourOf(cell.Start()) < hour {
			base[cell] = n
		}
	}
	if to-from > liveSpan {
		newer, err := tallyDay(shard, bleve.NewConjunctionQuery(bq, hours), day)
		addTally(base, newer)
		return newTallyEntry(base, nil, 0), err
	}
	tailFrom := max(from-tailMargin, hour*3600)
	before := bleve.NewBooleanQuery()
	before.AddMust(bq, hours)
	before.AddMustNot(secondsFrom(tailFrom))
	newer, err := tallyDay(shard, before, day)
	if err != nil {
		return tallyEntry{}, err
	}
	addTally(base, newer)
	tail, err := tallyDay(shard, bleve.NewConjunctionQuery(bq, secondsFrom(tailFrom)), day)
	return newTallyEntry(base, tail, tailFrom), err
}

// liveSpan is how many seconds the batches since a tally was counted may
// span and still be live traffic's, for the tally to keep a tail.
const liveSpan = 60

// tailMargin is how far before the earliest second of the latest batches a
// tally's tail starts: live traffic's batches arrive a little out of order
// (clients batch, and retry), and one that reaches before the tail makes the
// tally count again from its hour. The tail is anchored to what batches
// wrote, not to the newest second: an entry stamped minutes ahead (clocks
// differ) would put every later batch before it.
const tailMargin = 5

// tailRecount is how many matches a tail may hold before the next count
// moves it up, to tailMargin before the earliest second written since.
const tailRecount = 2048

// recountTail counts e's tail again, for batches since e was counted that
// all wrote from its first second on, the earliest at second from: e's base
// still holds. A tail grown past tailRecount matches moves up, its older
// seconds joining the base.
func recountTail(shard bleve.Index, bq query.Query, day int64, e tallyEntry, from int64) (tallyEntry, error) {
	held := 0
	for _, n := range e.tail {
		held += n
	}
	to := from - tailMargin
	if held <= tailRecount || to <= e.tailFrom {
		tail, err := tallyDay(shard, bleve.NewConjunctionQuery(bq, secondsFrom(e.tailFrom)), day)
		return newTallyEntry(e.base, tail, e.tailFrom), err
	}
	between := bleve.NewBooleanQuery()
	between.AddMust(bq, secondsFrom(e.tailFrom))
	between.AddMustNot(secondsFrom(to))
	moved, err := tallyDay(shard, between, day)
	if err != nil {
		return tallyEntry{}, err
	}
	base := maps.Clone(e.base)
	addTally(base, moved)
	tail, err := tallyDay(shard, bleve.NewConjunctionQuery(bq, secondsFrom(to)), day)
	return newTallyEntry(base, tail, to), err
}

// secondsFrom matches the entries of second sec and later.
func secondsFrom(sec int64) query.Query {
	return termRange(secondTermOf(sec), secondTermOf(lastNumber))
}

// lastNumber is later than any hour or second an entry can have, in the
// ten digits of their terms.
const lastNumber = 9_999_999_999

func addTally(to, from app.Tally) {
	for cell, n := range from {
		to[cell] += n
	}
}

// tallyDay counts one shard's matches of bq per quarter hour and namespace.
func tallyDay(shard bleve.Index, bq query.Query, day int64) (app.Tally, error) {
	req := bleve.NewSearchRequestOptions(bq, 0, 0, false)
	req.Score = bleve.ScoreNone
	req.AddFacet(fieldCell, bleve.NewFacetRequest(fieldCell, tallyFacetSize))
	var res *bleve.SearchResult
	err := safely(func() (err error) { res, err = shard.Search(req); return err })
	if err != nil {
		return nil, fmt.Errorf("index: tally %s: %w", dayName(day), err)
	}
	cells := app.Tally{}
	f := res.Facets[fieldCell]
	if f == nil {
		return cells, nil
	}
	if f.Other > 0 {
		return nil, fmt.Errorf("index: tally %s: more than %d slot and namespace cells", dayName(day), tallyFacetSize)
	}
	for _, t := range f.Terms.Terms() {
		hn, ok := parseCell(t.Term)
		if !ok {
			return nil, fmt.Errorf("index: tally %s: bad cell %q", dayName(day), t.Term)
		}
		cells[hn] += t.Count
	}
	return cells, nil
}

// fingerprint names what c asks of a shard: the parts of the query a tally
// follows. The range is not one of them: a shard is counted whole.
func (c *compiled) fingerprint(q *app.Query) string {
	// %#v quotes every string: actor:"bob smith" and actor:bob actor:smith
	// must not share a count.
	return fmt.Sprintf("%#v|%#v|%#v|%#v|%#v|%#v|%#v", q.Terms, q.AnyOf, q.Namespaces, q.Actions, q.Actors, q.NotActions, q.NotActors)
}

// days lists the open shards that may hold entries in q's time range, newest
// first. The caller holds mu.
func (x *Index) days(q *app.Query) []int64 {
	out := make([]int64, 0, len(x.shards))
	for day := range x.shards {
		if !q.After.IsZero() && day < dayOf(q.After) {
			continue
		}
		if !q.Before.IsZero() && day > dayOf(q.Before.Add(-time.Nanosecond)) {
			continue
		}
		out = append(out, day)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// compiled is the part of a Bleve query that is the same in every shard.
type compiled struct {
	must    []query.Query
	mustNot []query.Query
	bq      query.Query // must and mustNot together
	// needs are what every match has: a shard whose dictionary lacks one
	// cannot match, which its dictionary says far more cheaply than a search.
	needs []need
	// actor is the query's actorQuery, if it asks for actors.
	actor *actorQuery
}

// need is something every match of a query has (a word, a word starting
// with a prefix, one of the actors asked for), and how to count the entries
// of a shard that have it. key names it in the shard cache; prefixes and
// actors are kept under keys no word can be, as words hold no NUL.
type need struct {
	key   string
	count func(index.IndexReader) (uint64, error)
	// actors, for the need of an actor, lists the actor terms that match as
	// well as counting their entries: mayMatch keeps them for the search.
	actors func(index.IndexReader) ([]string, uint64, error)
}

func compile(q *app.Query) *compiled {
	c := &compiled{}
	for _, t := range q.Terms {
		tq := termQuery(t)
		switch {
		case tq == nil:
			// Only punctuation: nothing to look for, so it constrains nothing.
		case t.Negate:
			c.mustNot = append(c.mustNot, tq)
		default:
			c.must = append(c.must, tq)
			toks := tokens(t.Text)
			if t.Prefix {
				p := toks[len(toks)-1]
				c.needs = append(c.needs, need{key: "\x00" + p, count: func(r index.IndexReader) (uint64, error) { return entriesStartingWith(r, p) }})
				toks = toks[:len(toks)-1]
			}
			for _, w := range toks {
				c.needs = append(c.needs, need{key: w, count: func(r index.IndexReader) (uint64, error) { return entriesWith(r, w) }})
			}
		}
	}
	for _, g := range q.AnyOf {
		var alternatives []query.Query
		for _, t := range g {
			if tq := termQuery(t); tq != nil {
				alternatives = append(alternatives, tq)
			}
		}
		if len(alternatives) == 0 {
			continue // only punctuation on every side: constrains nothing, as a lone term
		}
		c.must = append(c.must, anyOf(alternatives))
	}
	if len(q.Namespaces) > 0 {
		var alternatives []query.Query
		for _, n := range q.Namespaces {
			alternatives = append(alternatives, termOn(fieldText, nsTerm+string(n)))
		}
		c.must = append(c.must, anyOf(alternatives))
	}
	if len(q.Actions) > 0 {
		c.must = append(c.must, actionsQuery(q.Actions))
	}
	if len(q.NotActions) > 0 {
		c.mustNot = append(c.mustNot, actionsQuery(q.NotActions))
	}
	if len(q.Actors) > 0 {
		c.actor = &actorQuery{want: q.Actors}
		c.must = append(c.must, c.actor)
		c.needs = append(c.needs, need{key: fmt.Sprintf("\x00\x00%#v", q.Actors), actors: func(r index.IndexReader) ([]string, uint64, error) { return entriesByActors(r, q.Actors) }})
	}
	if len(q.NotActors) > 0 {
		// Not told its shard's actors by mayMatch: it reads them itself.
		c.mustNot = append(c.mustNot, &actorQuery{want: q.NotActors})
	}
	b := bleve.NewBooleanQuery()
	if len(c.must) == 0 {
		b.AddMust(bleve.NewMatchAllQuery())
	} else {
		b.AddMust(c.must...)
	}
	if len(c.mustNot) > 0 {
		b.AddMustNot(c.mustNot...)
	}
	c.bq = b
	return c
}

// actionsQuery matches any of the actions.
func actionsQuery(actions []app.ActionMatch) query.Query {
	var alternatives []query.Query
	for _, a := range actions {
		if a.Prefix {
			p := bleve.NewPrefixQuery(actionTerm + a.Value)
			p.SetField(fieldText)
			alternatives = append(alternatives, p)
		} else {
			alternatives = append(alternatives, termOn(fieldText, actionTerm+a.Value))
		}
	}
	return anyOf(alternatives)
}

// mayMatch reports whether shard's text dictionary holds every word, a word
// starting with every prefix and one of the actors c requires, and est, about
// how many entries at most can match: the fewest that hold one of them, or
// -1 when c requires none. A word that matches nothing otherwise builds and
// runs a searcher in each of thirty shards; the counts are kept until the
// shard changes, so a word typed again costs no look at the shards at all.
func (x *Index) mayMatch(shard bleve.Index, c *compiled) (ok bool, est int, err error) {
	est = -1
	if len(c.needs) == 0 {
		return true, est, nil
	}
	version := x.cache.version(shard)
	var missing []need
	for _, w := range c.needs {
		n, terms, hit := x.cache.freq(shard, version, w.key)
		if !hit {
			missing = append(missing, w)
			continue
		}
		if w.actors != nil {
			c.actor.inShard(terms)
		}
		if n == 0 {
			return false, 0, nil
		} else if est < 0 || int(n) < est {
			est = int(n)
		}
	}
	if len(missing) == 0 {
		return true, est, nil
	}
	ok = true
	err = withReader(shard, func(r index.IndexReader) error {
		for _, w := range missing {
			var n uint64
			var terms []string
			var err error
			if w.actors != nil {
				terms, n, err = w.actors(r)
			} else {
				n, err = w.count(r)
			}
			if err != nil {
				return err
			}
			x.cache.putFreq(shard, version, w.key, n, terms)
			if w.actors != nil {
				c.actor.inShard(terms)
			}
			if n == 0 {
				ok = false
				return nil
			}
			if est < 0 || int(n) < est {
				est = int(n)
			}
		}
		return nil
	})
	return ok, est, err
}

// entriesByActors lists the actor terms that one of want matches,
// as actorQuery looks them up, and counts their entries: a day none of whose
// actors match is skipped without a search, and the count sizes the search
// of one that has.
func entriesByActors(r index.IndexReader, want []app.ActorMatch) ([]string, uint64, error) {
	dict, err := r.FieldDictPrefix(fieldText, []byte(actorTerm))
	if err != nil {
		return nil, 0, err
	}
	return readTerms(dict, actorMatcher(want))
}

// actorMatcher accepts the actor terms whose actor one of want matches.
func actorMatcher(want []app.ActorMatch) func(term string) bool {
	return func(term string) bool {
		for _, w := range want {
			if w.Matches(term[len(actorTerm):]) {
				return true
			}
		}
		return false
	}
}

// maxPrefixTerms bounds how many of a prefix's words are counted: a short
// prefix can start thousands, and the count only sizes a search.
const maxPrefixTerms = 256

// entriesWith counts the entries holding the word w.
func entriesWith(r index.IndexReader, w string) (uint64, error) {
	tfr, err := r.TermFieldReader(context.Background(), []byte(w), fieldText, false, false, false)
	if err != nil {
		return 0, err
	}
	n := tfr.Count()
	return n, tfr.Close()
}

// entriesStartingWith is about how many entries hold a word starting with
// p: the sum over its first words, which overstates entries holding several
// and understates a prefix of more than maxPrefixTerms words. It is zero
// only when none can match.
func entriesStartingWith(r index.IndexReader, p string) (uint64, error) {
	dict, err := r.FieldDictPrefix(fieldText, []byte(p))
	if err != nil {
		return 0, err
	}
	var n uint64
	for range maxPrefixTerms {
		e, err := dict.Next()
		if err != nil || e == nil {
			_ = dict.Close()
			return n, err
		}
		n += e.Count
	}
	return n, dict.Close()
}

// withReader runs fn on a reader of shard's present state, safely.
func withReader(shard bleve.Index, fn func(index.IndexReader) error) error {
	return safely(func() error {
		adv, err := shard.Advanced()
		if err != nil {
			return err
		}
		r, err := adv.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		return fn(r)
	})
}

func termOn(field, term string) query.Query {
	t := bleve.NewTermQuery(term)
	t.SetField(field)
	return t
}

// termQuery matches one free-text term on the text field, or returns nil when
// the term holds no word at all. A word that analyzes into several tokens,
// like "ci-deploy", must match them as a phrase; the word being typed matches
// words that start with its last token. A phrase of two words matches a
// value of two words by its pair term too, whose words keep no positions
// (see entryText).
func termQuery(t app.Term) query.Query {
	toks := tokens(t.Text)
	switch {
	case len(toks) == 0:
		return nil
	case t.Prefix && len(toks) == 1:
		return prefixOn(fieldText, toks[0])
	case t.Prefix && len(toks) == 2:
		return anyOf([]query.Query{
			&phrasePrefixQuery{words: toks[:1], prefix: toks[1]},
			prefixOn(fieldText, string(pairTermOf(toks[0], toks[1]))),
		})
	case t.Prefix:
		return &phrasePrefixQuery{words: toks[:len(toks)-1], prefix: toks[len(toks)-1]}
	case len(toks) == 1:
		return termOn(fieldText, toks[0])
	case len(toks) == 2:
		return anyOf([]query.Query{
			bleve.NewPhraseQuery(toks, fieldText),
			termOn(fieldText, string(pairTermOf(toks[0], toks[1]))),
		})
	default:
		return bleve.NewPhraseQuery(toks, fieldText)
	}
}

func prefixOn(field, prefix string) query.Query {
	p := bleve.NewPrefixQuery(prefix)
	p.SetField(field)
	return p
}

// phrasePrefixQuery matches words followed by a word that starts with prefix,
// as "ci-dep" typed so far should match "ci-deploy". Bleve has no such query;
// each shard expands the prefix against its own terms into a multi-phrase.
type phrasePrefixQuery struct {
	words  []string
	prefix string
}

func (p *phrasePrefixQuery) Searcher(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	dict, err := r.FieldDictPrefix(fieldText, []byte(p.prefix))
	if err != nil {
		return nil, err
	}
	expanded, _, err := readTerms(dict, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	if len(expanded) == 0 {
		return searcher.NewMatchNoneSearcher(r)
	}
	terms := make([][]string, 0, len(p.words)+1)
	for _, w := range p.words {
		terms = append(terms, []string{w})
	}
	terms = append(terms, expanded)
	return query.NewMultiPhraseQuery(terms, fieldText).Searcher(ctx, r, m, opts)
}

// actorQuery matches entries whose actor one of want matches: the whole
// name, or a word of it or the start of one. Each shard holds few distinct actors, so it
// reads them all from its dictionary, keeps those the domain's own rule
// accepts and looks those up whole; the index and a walk of the store cannot
// disagree.
type actorQuery struct {
	want []app.ActorMatch

	// known are the actor terms of the shard being searched, when mayMatch
	// has just read them, or found them in the shard cache. Reading the
	// actors of every segment's dictionary again for each search was most
	// of a person's search on a day of live traffic (1.1 of 2.4 ms).
	known   []string
	isKnown bool
}

// inShard tells the query the actor terms of the shard it is about to
// search: a compiled query searches its shards one after another, each
// after mayMatch.
func (a *actorQuery) inShard(terms []string) { a.known, a.isKnown = terms, true }

func (a *actorQuery) Searcher(ctx context.Context, r index.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	terms := a.known
	if !a.isKnown {
		var err error
		if terms, _, err = entriesByActors(r, a.want); err != nil {
			return nil, err
		}
	}
	if len(terms) == 0 {
		return searcher.NewMatchNoneSearcher(r)
	}
	alternatives := make([]query.Query, len(terms))
	for i, t := range terms {
		alternatives[i] = termOn(fieldText, t)
	}
	return anyOf(alternatives).Searcher(ctx, r, m, opts)
}

// readTerms reads a field dictionary to its end, keeping the terms keep
// accepts and counting the entries that hold them, and closes it.
func readTerms(dict index.FieldDict, keep func(term string) bool) (terms []string, entries uint64, err error) {
	for {
		e, err := dict.Next()
		if err != nil {
			_ = dict.Close()
			return nil, 0, err
		}
		if e == nil {
			break
		}
		if keep(e.Term) {
			terms = append(terms, e.Term)
			entries += e.Count
		}
	}
	return terms, entries, dict.Close()
}
