package index

import (
	"unsafe"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	index "github.com/blevesearch/bleve_index_api"
)

// entryField is the text field of an entry's document: the words of its
// values and its whole-value terms, as entryText splits them.
//
// Bleve's TextField would hold the same and more (see termLocations), and
// costs more where an import spends most: analysis.TokenFrequency allocates
// each term's record and list of locations alone, and scorch asks every
// document of a batch its Size, for statistics, on the one goroutine that
// then builds the batch's segment; TextField.Size walks every location of
// every term to answer (a twentieth of an import's CPU). Here the records
// and the locations are cut from one slab each, and the size is counted
// once, while analyzing.
type entryField struct {
	text   entryText
	length int
	freqs  index.TokenFrequencies
	size   int
}

var _ document.Field = (*entryField)(nil)

// Phrases need term positions, so the field keeps term vectors. Nothing is
// scored (hits come newest first), so no frequencies or norms: they cost a
// sixth of the indexing time and 20 bytes an entry.
const entryFieldOptions = index.IndexField | index.IncludeTermVectors | index.SkipFreqNorm

func (f *entryField) Name() string                                     { return fieldText }
func (f *entryField) ArrayPositions() []uint64                         { return nil }
func (f *entryField) Options() index.FieldIndexingOptions              { return entryFieldOptions }
func (f *entryField) Value() []byte                                    { return nil } // not stored
func (f *entryField) EncodedFieldType() byte                           { return 't' }
func (f *entryField) AnalyzedLength() int                              { return f.length }
func (f *entryField) AnalyzedTokenFrequencies() index.TokenFrequencies { return f.freqs }
func (f *entryField) Size() int                                        { return f.size }

func (f *entryField) NumPlainTextBytes() uint64 {
	n := 0
	for _, v := range f.text.values {
		n += len(v)
	}
	return uint64(n)
}

func (f *entryField) Analyze() {
	tokens := f.text.Analyze(nil)
	f.length = len(tokens)
	f.freqs, f.size = termLocations(tokens, f.text.positioned)
}

// Sizes of what a field's frequencies hold, for the estimate scorch keeps.
const (
	termSize     = int(unsafe.Sizeof(index.TokenFreq{}) + unsafe.Sizeof("") + unsafe.Sizeof(&index.TokenFreq{}))
	locationSize = int(unsafe.Sizeof(index.TokenLocation{}) + unsafe.Sizeof(&index.TokenLocation{}))
)

// termLocations gathers tokens by term, as analysis.TokenFrequency does for
// a field with term vectors and without frequencies, and estimates the bytes
// the result holds. It keeps less of where each term occurs, for which zap
// writes five numbers an occurrence:
//   - Only the first n tokens keep their positions: the words of values
//     of three words or more (see entryText). The whole-value terms after
//     them are matched alone, never in a phrase, and their positions cost
//     30 bytes an entry.
//   - A position keeps no byte offsets: they serve Bleve's highlighting,
//     which nothing here uses (the page highlights matches itself), and
//     past the 127th byte of an entry's text each takes two bytes.
func termLocations(tokens analysis.TokenStream, n int) (index.TokenFrequencies, int) {
	termBytes := 0
	for _, t := range tokens {
		termBytes += len(t.Term)
	}
	// The map's keys are cut from one string, the records and locations
	// from one slice each; a word that occurs again (rare in an entry) has
	// its list of locations grown alone.
	keys := make([]byte, 0, termBytes)
	for _, t := range tokens {
		keys = append(keys, t.Term...)
	}
	all := string(keys)
	freqs := make(index.TokenFrequencies, len(tokens))
	records := make([]index.TokenFreq, 0, len(tokens)) // never grown: pointers into it stay valid
	locs := make([]index.TokenLocation, n)
	ptrs := make([]*index.TokenLocation, n)
	size, at := 0, 0
	for i, t := range tokens {
		key := all[at : at+len(t.Term)]
		at += len(t.Term)
		var here []*index.TokenLocation
		if i < n {
			locs[i] = index.TokenLocation{Position: t.Position}
			ptrs[i] = &locs[i]
			here = ptrs[i : i+1 : i+1]
			size += locationSize
		}
		if tf, ok := freqs[key]; ok {
			tf.Locations = append(tf.Locations, here...)
			continue
		}
		records = append(records, index.TokenFreq{Term: t.Term, Locations: here})
		freqs[key] = &records[len(records)-1]
		size += termSize + 2*len(key)
	}
	return freqs, size
}
