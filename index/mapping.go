package index

import (
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/regexp"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
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
const (
	nsTerm     = "\x01n"
	actionTerm = "\x01a"
	actorTerm  = "\x01u"
)

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
)

// newDocument builds what Bleve sees of an entry: only what is searched or
// counted, nothing stored. It is built directly rather than mapped from a
// struct, which saves Bleve walking a struct by reflection for every entry.
// The time is the key's, not the event's, so the shard a document lands in
// and its order agree; the key is the document's ID.
func newDocument(k app.Key, e *app.Event) *document.Document {
	d := document.NewDocument(k.String())
	t := &entryText{
		// Separate values, not one joined string: a phrase must not run from
		// the end of one value into the start of the next.
		// The action is text too: people type "token_revoked", or just "revoked".
		values: make([]string, 0, 5+2*len(e.Targets)),
		terms: []string{
			nsTerm + string(e.Namespace),
			actionTerm + e.Action,
			actorTerm + strings.ToLower(e.Actor),
		},
	}
	t.values = append(t.values, e.Detail, e.Actor, e.Action)
	// Which token sent it, so that what a token wrote is a search for it.
	for _, k := range []string{app.MetaTokenID, app.MetaTokenFingerprint} {
		if v := e.Metadata[k]; v != "" {
			t.values = append(t.values, v)
		}
	}
	for _, tg := range e.Targets {
		if tg.Name != "" {
			t.values = append(t.values, tg.Name)
		}
		if tg.ID != "" {
			t.values = append(t.values, tg.ID)
		}
	}
	// Phrases need term positions, so text keeps term vectors.
	d.AddField(document.NewTextFieldCustom(fieldText, nil, nil, index.IndexField|index.IncludeTermVectors, t))
	// No analyzer: the whole value is the one term. Facets read doc values.
	c := cell(app.SlotOf(k.Time()), e.Namespace)
	d.AddField(document.NewTextFieldCustom(fieldCell, nil, []byte(c), index.IndexField|index.DocValues, nil))
	return d
}

// entryText analyzes an entry's text values as one field: each value's words
// as tokens() splits them, a position left empty between values so no phrase
// spans two, then the whole-value terms. Bleve calls it on its analysis
// workers, so an entry is split on whichever core is free.
type entryText struct {
	values, terms []string
}

func (t *entryText) Analyze([]byte) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, 16)
	pos := 0
	for _, v := range t.values {
		for _, tok := range textAnalysis.Analyze([]byte(v)) {
			tok.Position += pos
			out = append(out, tok)
		}
		if n := len(out); n > 0 {
			pos = out[n-1].Position + 1
		}
	}
	for _, term := range t.terms {
		pos += 2
		out = append(out, &analysis.Token{Term: []byte(term), Position: pos, Type: analysis.AlphaNumeric})
	}
	return out
}

func cell(slot int64, ns app.Namespace) string { return fmt.Sprintf("%d|%s", slot, ns) }

func parseCell(s string) (app.TallyCell, bool) {
	sl, ns, ok := strings.Cut(s, "|")
	if !ok {
		return app.TallyCell{}, false
	}
	var slot int64
	if _, err := fmt.Sscan(sl, &slot); err != nil {
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
	im := bleve.NewIndexMapping()
	err := im.AddCustomCharFilter(wordSeparator, map[string]interface{}{
		"type":    regexp.Name,
		"regexp":  `[_.:]`,
		"replace": " ",
	})
	if err == nil {
		err = im.AddCustomAnalyzer(textAnalyzer, map[string]interface{}{
			"type":          custom.Name,
			"char_filters":  []string{wordSeparator},
			"tokenizer":     unicode.Name,
			"token_filters": []string{lowercase.Name},
		})
	}
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

	cell := bleve.NewKeywordFieldMapping()
	cell.Analyzer = keyword.Name
	cell.Store = false
	cell.IncludeInAll = false
	cell.IncludeTermVectors = false
	cell.DocValues = true // facets read doc values

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

// tokens splits s as the text field was split: "ci-deploy" gives "ci", "deploy".
func tokens(s string) []string {
	var out []string
	for _, t := range textAnalysis.Analyze([]byte(s)) {
		out = append(out, string(t.Term))
	}
	return out
}
