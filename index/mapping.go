package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	index "github.com/blevesearch/bleve_index_api"

	"auditlog/app"
)

// Field names in the Bleve documents.
const (
	fieldText = "text"
	fieldCell = "cell" // "<quarter-hour slot>|<namespace>", faceted by Tally
)

// The namespace, the action and the actor are matched whole, not as words.
// They are terms of the text field under prefixes no word can start with (the
// tokenizer never yields a control character), rather than fields of their
// own: Bleve pays for every field of every document, and three keyword fields
// cost as much to index as all the text.
// The hour, the quarter hour and the second are such terms too, zero-padded
// so that terms sort by time: a search looks at the latest quarter hours
// first, and in a busy quarter hour at its latest seconds. (They sort so
// from 1970 on, and every entry is: it is inside the retention window.)
const (
	nsTerm     = "\x01n"
	actionTerm = "\x01a"
	actorTerm  = "\x01u"
	hourTerm   = "\x01h"
	slotTerm   = "\x01q"
	secondTerm = "\x01s"
	pairTerm   = "\x01p" // a value of two words (see entryText)
)

func slotTermOf(slot int64) string { return fmt.Sprintf("%s%010d", slotTerm, slot) }

func secondTermOf(sec int64) string { return fmt.Sprintf("%s%010d", secondTerm, sec) }

// An entry's second term costs as much to index as all its words when no
// other entry shares it, as in every quarter hour of an import: a term of
// its own, each with its postings, for a tenth of the index's CPU and 30
// bytes an entry. Seconds serve only a busy quarter hour's search (see
// searchBusySlot), so the first roughBelow entries of each quarter hour
// share one term instead, its last second marked rough. It sorts after
// that second's own term and before the next second's, so a range of
// seconds from any second of the quarter hour on takes the rough entries
// in, as a tally's tail needs: every entry's second term is at or after its
// second. A search of a busy quarter hour's latest seconds takes them in
// too, and its hits are checked against the window. The number is a
// quarter of a busy quarter hour, as counted when a batch is built: batches
// of one day indexed side by side each count from what the shard held
// before them, so a quarter hour holds up to that many rough entries per
// batch that ran beside another, and each window of it takes them in.
const (
	roughBelow  = busySlot / 4
	roughSuffix = "~"
)

func roughSecondTermOf(slot int64) string { return secondTermOf(lastSecondOf(slot)) + roughSuffix }

func lastSecondOf(slot int64) int64 {
	return app.TallyCell{Slot: slot}.Start().Unix() + int64(app.TallySlot/time.Second) - 1
}

func hourOf(t time.Time) int64 { return floorDiv(t.Unix(), 3600) }

func hourTermOf(hour int64) string { return fmt.Sprintf("%s%010d", hourTerm, hour) }

// textAnalyzer is Bleve's standard analyzer (Unicode words, lower-cased)
// with two changes. It keeps English stop words: people search details for
// words like "on", "not" or "by", and a stop word dropped from a query makes
// the whole query match nothing. And it splits identifiers at '_', '.' and
// ':' as Unicode already splits them at '-': "orders" finds orders_daily and
// "acme" finds alice@acme.io, while the whole identifier still matches, as a
// phrase of its parts.
const (
	textAnalyzer  = "auditlog_text"
	wordSeparator = "auditlog_word_separator"
	wordFolder    = "auditlog_word_folder"
)

// separatorFilter turns the characters that join the parts of identifiers
// into spaces. It does what a regexp char filter would, at a tenth of its
// cost on every entry indexed.
//
// Apostrophes part words too, the typed one and the curly ones phones and
// Macs type (’, and ‘ where one was meant): UAX #29 keeps "O'Connor" one
// word, which "connor" did not find, and O’Connor another, which
// "o'connor" did not find. Split, both are the phrase "o connor", and
// "maya" finds "Maya's".
type separatorFilter struct{}

func (separatorFilter) Filter(input []byte) []byte {
	out := input
	blank := func(i, n int) {
		if &out[0] == &input[0] {
			out = bytes.Clone(input) // Bleve may hold on to its input
		}
		for j := range n {
			out[i+j] = ' '
		}
	}
	for i := 0; i < len(input); i++ {
		switch c := input[i]; {
		case c == '_' || c == '.' || c == ':' || c == '\'':
			blank(i, 1)
		case c == 0xE2 && i+2 < len(input) && input[i+1] == 0x80 && (input[i+2] == 0x99 || input[i+2] == 0x98): // ’ and ‘
			blank(i, 3)
			i += 2
		}
	}
	return out
}

// foldFilter lower-cases and folds each word as app.Fold does: "Chloé" is
// indexed, and asked for, as "chloe". Text all in ASCII never reaches it
// (see analyzeText); its words in ASCII are lower-cased here too. It takes
// the place of Bleve's lowercase filter, which lower-cases in place and so
// garbles a word whose lower case is shorter: "İstanbul" became
// "i\xb0stanbu", found by no search.
type foldFilter struct{}

func (foldFilter) Filter(input analysis.TokenStream) analysis.TokenStream {
	for _, t := range input {
		folded := false
		for _, c := range t.Term {
			if c >= 0x80 {
				t.Term, folded = []byte(app.Fold(string(t.Term))), true
				break
			}
		}
		if !folded {
			t.Term = bytes.ToLower(t.Term) // a copy: Bleve may hold on to its input
		}
	}
	return input
}

// separatorRegistered makes the filters known to Bleve by name before any
// mapping that names them is built: newMapping refers to it, so Go
// initializes it first.
var separatorRegistered = func() bool {
	err := registry.RegisterCharFilter(wordSeparator, func(map[string]interface{}, *registry.Cache) (analysis.CharFilter, error) {
		return separatorFilter{}, nil
	})
	if err == nil {
		err = registry.RegisterTokenFilter(wordFolder, func(map[string]interface{}, *registry.Cache) (analysis.TokenFilter, error) {
			return foldFilter{}, nil
		})
	}
	if err == nil {
		err = registry.RegisterTokenizer(wordTokenizerName, func(map[string]interface{}, *registry.Cache) (analysis.Tokenizer, error) {
			return wordTokenizer{}, nil
		})
	}
	if err != nil {
		panic("index: " + err.Error()) // two registrations of one name: a programming error
	}
	return true
}()

// newDocument builds what Bleve sees of an entry: only what is searched or
// counted, nothing stored. It is built directly rather than mapped from a
// struct, which saves Bleve walking a struct by reflection for every entry.
// The time is the key's, not the event's, so the shard a document lands in
// and its order agree; the key is the document's ID.
func newDocument(k app.Key, e *app.Event, rough bool) *document.Document {
	d := document.NewDocument(docID(k))
	second := secondTermOf(k.Time().Unix())
	if rough {
		second = roughSecondTermOf(app.SlotOf(k.Time()))
	}
	f := &entryField{text: entryText{
		// Separate values, not one joined string: a phrase must not run from
		// the end of one value into the start of the next.
		// The action is text too: people type "token_revoked", or just "revoked".
		values: make([]string, 0, 5+2*len(e.Targets)),
		terms: []string{
			nsTerm + string(e.Namespace),
			actionTerm + e.Action,
			actorTerm + app.Fold(e.Actor),
			hourTermOf(hourOf(k.Time())),
			slotTermOf(app.SlotOf(k.Time())),
			second,
		},
	}}
	t := &f.text
	t.values = append(t.values, plain(e.Detail), plain(e.Actor), e.Action)
	// Which token sent it, so that what a token wrote is a search for it.
	for _, k := range []string{app.MetaTokenID, app.MetaTokenFingerprint} {
		if v := e.Metadata[k]; v != "" {
			t.values = append(t.values, v)
		}
	}
	for _, tg := range e.Targets {
		if tg.Name != "" {
			t.values = append(t.values, plain(tg.Name))
		}
		if tg.ID != "" {
			t.values = append(t.values, plain(tg.ID))
		}
	}
	d.AddField(f)
	// No analyzer: the whole value is the one term. Facets read doc values.
	c := cell(app.SlotOf(k.Time()), e.Namespace)
	d.AddField(document.NewTextFieldCustom(fieldCell, nil, []byte(c), index.IndexField|index.DocValues|index.SkipFreqNorm, nil))
	return d
}

// A document's ID is its key, written so that IDs sort exactly as keys do,
// ties included, but only as far as its shard needs: every key of a shard
// is of its day, so the ID spells the nanosecond of the day and the sequence
// number, not the whole time. The ID is stored and in the dictionary of its
// shard, two bytes an entry for each character: these take 13 characters
// for the first sixteen million entries, where the whole key took 22.
//
// The nanosecond of the day takes eight characters of six bits; the
// sequence number its digits, as few as it needs, after one that says how
// many: a number of more digits is larger, and of as many, sorts as its
// digits do.
const (
	idAlphabet   = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz" // in ASCII order
	idTimeDigits = 8                                                                  // 48 bits: a day has fewer than 2^47 nanoseconds
	nsPerDay     = secsPerDay * uint64(time.Second)
)

// idDigit is the value of each character of the alphabet, or 0xff.
var idDigit = func() (d [256]byte) {
	for i := range d {
		d[i] = 0xff
	}
	for i := range len(idAlphabet) {
		d[idAlphabet[i]] = byte(i)
	}
	return d
}()

// docID is the Bleve document ID of the entry at key k, in its day's shard.
func docID(k app.Key) string {
	// Modulo 2^64, as keys hold the time: exact for any key's day.
	ns := binary.BigEndian.Uint64(k[:8]) - uint64(dayOf(k.Time()))*nsPerDay
	seq := k.Seq()
	n := 1
	for seq>>(6*n) != 0 && n < 11 {
		n++
	}
	var b [idTimeDigits + 1 + 11]byte
	for i := range idTimeDigits {
		b[i] = idAlphabet[ns>>(6*(idTimeDigits-1-i))&63]
	}
	b[idTimeDigits] = idAlphabet[n]
	for i := range n {
		b[idTimeDigits+1+i] = idAlphabet[seq>>(6*(n-1-i))&63]
	}
	return string(b[:idTimeDigits+1+n])
}

// keyOf is the key a document ID of the shard of day was made from.
func keyOf(day int64, id string) (app.Key, bool) {
	var k app.Key
	if len(id) < idTimeDigits+2 {
		return k, false
	}
	var ns, seq uint64
	for i := range idTimeDigits {
		d := idDigit[id[i]]
		if d == 0xff {
			return k, false
		}
		ns = ns<<6 | uint64(d)
	}
	n := int(idDigit[id[idTimeDigits]])
	if ns >= nsPerDay || n < 1 || n > 11 || len(id) != idTimeDigits+1+n {
		return k, false
	}
	for i := range n {
		d := idDigit[id[idTimeDigits+1+i]]
		// Only the spelling docID gives: no digit to spare before the
		// number, and no more than 64 bits in eleven digits.
		if d == 0xff || i == 0 && (n > 1 && d == 0 || n == 11 && d > 15) {
			return k, false
		}
		seq = seq<<6 | uint64(d)
	}
	binary.BigEndian.PutUint64(k[:8], uint64(day)*nsPerDay+ns)
	binary.BigEndian.PutUint64(k[8:], seq)
	return k, dayOf(k.Time()) == day
}

// entryText analyzes an entry's text values as one field: each value's words
// as tokens() splits them, a position left empty between values so no phrase
// spans two, then the whole-value terms. Bleve calls it on its analysis
// workers, so an entry is split on whichever core is free.
//
// Only the words of values of three words or more keep their positions,
// which zap writes at six bytes each. A phrase of several words can only
// match in a value of two words as the value itself, or as its first word
// and the start of its second (a word being typed): each two-word value is
// a pair term too, which termQuery asks for beside the phrase. And a value
// of one word holds no phrase at all. Actors, actions, the token's id and
// fingerprint, target names: most values are of one or two words.
type entryText struct {
	values, terms []string

	// positioned is how many of the tokens Analyze gave, the first ones,
	// keep their positions.
	positioned int
}

// valueBreak joins the values for one pass of the analyzer; it is no part of
// a word, so no token spans it.
const valueBreak = '\n'

// minPositioned is how many words a value needs for its words to keep their
// positions.
const minPositioned = 3

func (t *entryText) Analyze([]byte) analysis.TokenStream {
	n := len(t.values)
	for _, v := range t.values {
		n += len(v)
	}
	text := make([]byte, 0, n)
	ends := make([]int, 0, len(t.values)) // where each value ends in text
	for _, v := range t.values {
		text = append(text, v...)
		ends = append(ends, len(text))
		text = append(text, valueBreak)
	}
	toks := analyzeText(text)
	gap, value := 0, 0
	from := make([]int, len(ends)+1) // value v's tokens are toks[from[v]:from[v+1]]
	for i, tok := range toks {
		for value < len(ends) && tok.Start >= ends[value] {
			value++
			gap++
			from[value] = i
		}
		tok.Position += gap
	}
	for value++; value <= len(ends); value++ {
		from[value] = len(toks)
	}
	words := func(v int) analysis.TokenStream { return toks[from[v]:from[v+1]] }
	kept := keptValues(len(t.values), words)

	out := make(analysis.TokenStream, 0, len(toks)+len(t.terms)+len(t.values))
	for v, ok := range kept {
		if ok && len(words(v)) >= minPositioned {
			out = append(out, words(v)...)
		}
	}
	t.positioned = len(out)
	var pairs [][]byte
	for v, ok := range kept {
		if w := words(v); ok && len(w) < minPositioned {
			out = append(out, w...)
			if len(w) == 2 {
				pairs = append(pairs, pairTermOf(w[0].Term, w[1].Term))
			}
		}
	}
	pos := gap
	if len(toks) > 0 {
		pos = toks[len(toks)-1].Position
	}
	add := func(term []byte) {
		pos += 2
		out = append(out, &analysis.Token{Term: term, Position: pos, Type: analysis.AlphaNumeric})
	}
	for _, term := range t.terms {
		add([]byte(term))
	}
	for _, term := range pairs {
		add(term)
	}
	return out
}

// pairTermOf is the pair term of a value of the two words a and b, or with
// b the start of the second word, the start of the pair terms with it.
func pairTermOf[S []byte | string](a, b S) []byte {
	term := make([]byte, 0, len(pairTerm)+len(a)+1+len(b))
	term = append(term, pairTerm...)
	term = append(term, a...)
	term = append(term, ' ') // no word holds a space
	return append(term, b...)
}

// keptValues tells which of an entry's n values are indexed, leaving out
// each value that another already says, word for word and in the same
// order: an actor or a target that its detail names, as details do ("Maya
// Chen ran orders_daily: ..."). Every word, phrase or word being typed that
// matches in such a value matches where it is repeated, so the entry is
// found by the same queries, with fewer words to index. Of two equal
// values, the first is kept. words(v) are value v's tokens.
func keptValues(n int, words func(v int) analysis.TokenStream) []bool {
	// Longest first: a value can only be inside one at least as long. A
	// value inside one dropped is inside the one that one repeats, kept.
	order := make([]int, n)
	for v := range order {
		order[v] = v
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(words(b)) - len(words(a)) })
	kept := make([]bool, n)
	for i, v := range order {
		kept[v] = true
		if len(words(v)) == 0 {
			continue
		}
		for _, u := range order[:i] {
			if containsWords(words(u), words(v)) {
				kept[v] = false
				break
			}
		}
	}
	return kept
}

// containsWords tells whether the terms of part occur in whole, in a row.
func containsWords(whole, part analysis.TokenStream) bool {
next:
	for i := 0; i+len(part) <= len(whole); i++ {
		for j, t := range part {
			if !bytes.Equal(whole[i+j].Term, t.Term) {
				continue next
			}
		}
		return true
	}
	return false
}

func cell(slot int64, ns app.Namespace) string { return fmt.Sprintf("%d|%s", slot, ns) }

func parseCell(s string) (app.TallyCell, bool) {
	sl, ns, ok := strings.Cut(s, "|")
	if !ok {
		return app.TallyCell{}, false
	}
	slot, err := strconv.ParseInt(sl, 10, 64) // base 10: the padding is no octal prefix
	if err != nil {
		return app.TallyCell{}, false
	}
	return app.TallyCell{Slot: slot, Namespace: app.Namespace(ns)}, true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// newMapping is written into every shard when it is created, and describes
// what newDocument builds; changing either means bumping formatVersion so
// that existing indexes are rebuilt.
func newMapping() *mapping.IndexMappingImpl {
	_ = separatorRegistered
	im := bleve.NewIndexMapping()
	err := im.AddCustomAnalyzer(textAnalyzer, map[string]interface{}{
		"type":          custom.Name,
		"char_filters":  []string{wordSeparator},
		"tokenizer":     wordTokenizerName,
		"token_filters": []string{wordFolder},
	})
	if err != nil {
		panic("index: text analyzer: " + err.Error()) // a programming error, caught by any test
	}

	// Phrases need term positions, so text keeps term vectors; nothing else does.
	text := bleve.NewTextFieldMapping()
	text.Analyzer = textAnalyzer
	text.Store = false
	text.IncludeInAll = false
	text.IncludeTermVectors = true
	text.DocValues = false
	text.SkipFreqNorm = true

	cell := bleve.NewKeywordFieldMapping()
	cell.Analyzer = keyword.Name
	cell.Store = false
	cell.IncludeInAll = false
	cell.IncludeTermVectors = false
	cell.DocValues = true // facets read doc values
	cell.SkipFreqNorm = true

	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fieldText, text)
	dm.AddFieldMappingsAt(fieldCell, cell)
	dm.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())

	im.DefaultMapping = dm
	im.DefaultAnalyzer = textAnalyzer
	im.DefaultField = fieldText
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}

// textAnalysis analyzes query words exactly as documents were analyzed.
var textAnalysis = newMapping().AnalyzerNamed(textAnalyzer)

// plain writes the letters and digits of s drawn in compatibility forms as
// the plain ones (app.PlainLetters), as app.Fold does: "ｏｒｄｅｒｓ＿ｄａｉｌｙ"
// is orders_daily, split at its '_' as that is, and "ﬁnance" is finance.
// Values are made plain before they are analyzed, and so are the words
// searched for, since a value's words are placed by their offsets in it.
func plain(s string) string { return app.PlainLetters(s) }

// tokens splits s as the text field was split: "ci-deploy" gives "ci", "deploy".
func tokens(s string) []string {
	var out []string
	for _, t := range analyzeText([]byte(plain(s))) {
		out = append(out, string(t.Term))
	}
	return out
}
