package index

import (
	"fmt"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/regexp"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"

	"auditlog/app"
)

// Field names in the Bleve documents.
const (
	fieldText   = "text"
	fieldNS     = "ns"
	fieldAction = "action"
	fieldActor  = "actor"
	fieldTS     = "ts"
	fieldCell   = "cell" // "<quarter-hour slot>|<namespace>", faceted by Tally
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

// doc is what Bleve sees of an entry: only what is searched or counted.
type doc struct {
	Text   []string  `json:"text"`
	NS     string    `json:"ns"`
	Action string    `json:"action"`
	Actor  string    `json:"actor"`
	TS     time.Time `json:"ts"`
	Cell   string    `json:"cell"`
}

// newDoc takes the time from the key, not the event, so that the shard a
// document lands in, its time-range matches and its sort order all agree.
func newDoc(k app.Key, e *app.Event) *doc {
	ts := k.Time()
	d := &doc{
		Text:   make([]string, 0, 3+2*len(e.Targets)),
		NS:     string(e.Namespace),
		Action: e.Action,
		Actor:  strings.ToLower(e.Actor),
		TS:     ts,
		Cell:   cell(app.SlotOf(ts), e.Namespace),
	}
	// Separate values, not one joined string: a phrase must not run from the
	// end of one value into the start of the next.
	// The action is text too: people type "token_revoked", or just "revoked".
	d.Text = append(d.Text, e.Detail, e.Actor, e.Action)
	// Which token sent it, so that what a token wrote is a search for it.
	for _, k := range []string{app.MetaTokenID, app.MetaTokenFingerprint} {
		if v := e.Metadata[k]; v != "" {
			d.Text = append(d.Text, v)
		}
	}
	for _, t := range e.Targets {
		if t.Name != "" {
			d.Text = append(d.Text, t.Name)
		}
		if t.ID != "" {
			d.Text = append(d.Text, t.ID)
		}
	}
	return d
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

// newMapping is written into every shard when it is created; changing it
// means bumping formatVersion so that existing indexes are rebuilt.
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

	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = docValues
		return f
	}

	ts := bleve.NewDateTimeFieldMapping()
	ts.Store = false
	ts.IncludeInAll = false
	ts.DocValues = false

	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fieldText, text)
	dm.AddFieldMappingsAt(fieldNS, kw(false))
	dm.AddFieldMappingsAt(fieldAction, kw(false))
	dm.AddFieldMappingsAt(fieldActor, kw(false))
	dm.AddFieldMappingsAt(fieldTS, ts)
	dm.AddFieldMappingsAt(fieldCell, kw(true)) // facets read doc values
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
