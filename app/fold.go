package app

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold is how searches compare words: in lower case and without diacritics,
// so that "chloe" finds Chloé, "tomas" finds Tomás and "muller" finds
// Müller, as people type names on keyboards without those letters. The
// keyword index folds what it indexes and what it is asked alike, and the
// page marks what matched by the same rule.
//
// An accented letter written as one character (é) is looked up in a table
// generated from Unicode's canonical decompositions (fold_gen.go); one
// written as a letter and combining accents (e and U+0301, as some keyboards
// send it) loses the accents. Compatibility forms (full-width letters,
// ligatures) are their plain letters. The few Latin letters that are no letter plus
// accents (ß, æ, ø, ł, ...) are written as people write them without those
// keys.
//
//go:generate go run fold_gen.go
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	// Compatibility forms read as the plain letters they are drawn from:
	// full-width Ｌａｔｉｎ (as Japanese and Chinese keyboards type it), the
	// ligature in "ﬁnance" (copied out of a PDF), Ⅷ, ². NFKC makes them
	// plain, and composes a letter written with its accents.
	if !norm.NFKC.IsNormalString(s) {
		s = norm.NFKC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if diacritic(r) || isJoiner(r) {
			continue
		}
		r = unicode.ToLower(r)
		if f, ok := foldedLetters[r]; ok {
			b.WriteString(f)
			continue
		}
		if base, ok := unaccented[r]; ok {
			r = base
		}
		b.WriteRune(r)
	}
	return b.String()
}

// diacritic tells whether r is a combining mark of the kind that accents a
// Latin, Greek or Cyrillic letter. Marks of other scripts are kept: the
// voicing mark that makes ハク into バグ, or the vowel signs of Devanagari
// and Thai, are part of the word, not an accent on it.
func diacritic(r rune) bool {
	return 0x0300 <= r && r <= 0x036F || // Combining Diacritical Marks
		0x1AB0 <= r && r <= 0x1AFF || // ... Extended
		0x1DC0 <= r && r <= 0x1DFF || // ... Supplement
		0xFE20 <= r && r <= 0xFE2F // Combining Half Marks
}

// foldedLetters are the Latin letters without a decomposition, written as
// they are without the letter: Straße as strasse, Ærø as aero.
var foldedLetters = map[rune]string{
	'ς': "σ", // Greek final sigma: lower-casing makes it of a final Σ, or not
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t",
}
