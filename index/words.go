package index

import (
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/segment"

	"auditlog/app"
)

// analyzeText analyzes text as textAnalyzer does: identifiers split at
// '_', '.' and ':', then Unicode words (UAX #29), lower-cased. Text in ASCII,
// nearly all of what an audit log holds, takes a path of its own that yields
// the very same tokens (FuzzASCIIWordsMatchBleve compares every token, its
// offsets, position and type): Bleve's segmenter is a general state machine
// over Unicode, and it and its token slices were 7% of an import's CPU.
func analyzeText(text []byte) analysis.TokenStream {
	for _, c := range text {
		if c >= 0x80 {
			return textAnalysis.Analyze(text)
		}
	}
	return asciiWords(text)
}

// Classes of ASCII bytes for word breaks, as UAX #29 has them once '_', '.',
// ':' and the apostrophe are spaces.
const (
	breakByte  = iota
	letterByte // ALetter
	digitByte  // Numeric
	midNumByte // MidNum (',' and ';'): inside a number, between digits
)

var asciiClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = letterByte, letterByte
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = digitByte
	}
	t[','], t[';'] = midNumByte, midNumByte
	return t
}()

// joins reports whether the byte at i, a MidNum, is inside a number:
// between two digits.
func joins(text []byte, i int) bool {
	if i == 0 || i+1 >= len(text) {
		return false
	}
	return asciiClass[text[i-1]] == digitByte && asciiClass[text[i+1]] == digitByte
}

// asciiWords splits ASCII text into lower-cased words. The terms share one
// lower-cased copy of text, and the tokens one slice.
func asciiWords(text []byte) analysis.TokenStream {
	lower := make([]byte, len(text))
	for i, c := range text {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	var toks []analysis.Token
	for i := 0; i < len(text); {
		if k := asciiClass[text[i]]; k != letterByte && k != digitByte {
			i++
			continue
		}
		start, letters := i, false
		for i < len(text) {
			switch asciiClass[text[i]] {
			case letterByte:
				letters = true
			case digitByte:
			case midNumByte:
				if !joins(text, i) {
					goto end
				}
			default:
				goto end
			}
			i++
		}
	end:
		if toks == nil {
			toks = make([]analysis.Token, 0, len(text)/6+1)
		}
		typ := analysis.Numeric
		if letters {
			typ = analysis.AlphaNumeric
		}
		toks = append(toks, analysis.Token{Term: lower[start:i:i], Start: start, End: i, Position: len(toks) + 1, Type: typ})
	}
	// Pointers only once every token is in place: appends move them.
	out := make(analysis.TokenStream, len(toks))
	for i := range toks {
		out[i] = &toks[i]
	}
	return out
}

// wordTokenizer is Bleve's Unicode tokenizer (UAX #29 words) with one
// change: it also keeps the segments UAX #29 gives no word type when they
// begin with a letter, or are an emoji. UAX #29 leaves the words of scripts
// written without spaces to dictionaries (Thai, Lao, Khmer, Myanmar), and
// gives none to Hiragana or to emoji: Bleve dropped them, so a detail in
// Thai was found by no search, and a search for a Thai name or for 🔥 held
// no word at all and matched every entry. Each such segment, a character
// with its marks, becomes a token, as Bleve makes each ideograph one: a
// word of them is searched as a phrase of its characters. ASCII is left as
// UAX #29 has it, which asciiWords relies on.
type wordTokenizer struct{}

const wordTokenizerName = "auditlog_words"

func (wordTokenizer) Tokenize(input []byte) analysis.TokenStream {
	var toks []analysis.Token
	seg := segment.NewWordSegmenterDirect(input)
	start := 0
	for seg.Segment() {
		b := seg.Bytes()
		end := start + len(b)
		typ, keep := analysis.AlphaNumeric, true
		switch seg.Type() {
		case segment.Ideo, segment.Kana:
			typ = analysis.Ideographic
		case segment.Number:
			typ = analysis.Numeric
		case segment.None:
			typ, keep = analysis.Ideographic, unspacedWord(b)
		}
		if keep {
			if toks == nil {
				toks = make([]analysis.Token, 0, len(input)/6+1)
			}
			toks = append(toks, analysis.Token{Term: b, Start: start, End: end, Position: len(toks) + 1, Type: typ})
		}
		start = end
	}
	out := make(analysis.TokenStream, len(toks))
	for i := range toks {
		out[i] = &toks[i]
	}
	return out
}

// unspacedWord tells whether a segment UAX #29 gave no word type is a
// character to find: a letter (of a script without spaces) or an emoji, not
// punctuation, a space, a mark left on its own or another symbol.
func unspacedWord(b []byte) bool {
	r, _ := utf8.DecodeRune(b)
	return r >= utf8.RuneSelf && (unicode.IsLetter(r) || app.Emoji(r))
}
