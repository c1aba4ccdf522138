package app

import (
	"strings"
	"unicode"
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
	s = PlainLetters(s)
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

// Emoji tells whether r is a pictograph searched for on its own (🔥, ✅,
// ⭐, a flag's letters): one of the blocks of emoji, or of the older symbols
// drawn as emoji. Not the letterlike ™ or ©, which stand against a word
// ("Acme™ Corp"), where a search for the phrase "acme corp" passes over
// them.
func Emoji(r rune) bool {
	return (0x2600 <= r && r <= 0x27BF || 0x2B00 <= r && r <= 0x2BFF || r >= 0x1F000) && unicode.Is(unicode.So, r)
}

// Unspaced tells whether r is a letter of a script written without spaces
// between words (Chinese, Japanese Hiragana, Thai, Lao, Khmer, Myanmar):
// each such character is searched as a word of its own, so that a word is
// found anywhere in a run of them.
func Unspaced(r rune) bool {
	return r >= 0x0E00 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

// PlainLetters writes the letters and digits of s drawn in compatibility
// forms as the plain ones they are (their NFKC): full-width Ｌａｔｉｎ and
// ０１２ (as Japanese and Chinese keyboards type them), the ligature in
// "ﬁnance" (copied out of a PDF), half-width ｶﾀｶﾅ, Ⅷ; and everything of the
// full-width block, whose punctuation joins or parts words as its ASCII
// does (ｏｒｄｅｒｓ＿ｄａｉｌｙ). Not other symbols: their NFKC may be letters (™
// is TM, ² is 2), and would glue "Acme™" into one word, "acmetm", which
// "acme" no longer finds. The forms are Unicode's (plain_table.go, made
// with its NFKC by fold_gen.go).
func PlainLetters(s string) string {
	plain := true
	for _, r := range s {
		if r >= 0x80 {
			if _, ok := plainForms[r]; ok || r == 0x3099 || r == 0x309A {
				plain = false
				break
			}
		}
	}
	if plain {
		return s // most text, and no copy of it
	}
	out := make([]rune, 0, len(s))
	changed := false
	add := func(r rune) {
		// A half-width kana and its half-width voicing mark are a kana
		// and a combining mark apart: ｸﾞ is グ only put together.
		if n := len(out); (r == 0x3099 || r == 0x309A) && n > 0 {
			if k, ok := voiced[[2]rune{out[n-1], r}]; ok {
				out[n-1], changed = k, true
				return
			}
		}
		out = append(out, r)
	}
	for _, r := range s {
		to, ok := plainForms[r]
		if !ok {
			add(r)
			continue
		}
		changed = true
		for _, p := range to {
			add(p)
		}
	}
	if !changed {
		return s
	}
	return string(out)
}

// diacritic tells whether r is a combining mark of the kind that accents a
// Latin, Greek or Cyrillic letter, or one of the vowel points and other
// marks that Arabic and Hebrew text may carry or leave out (مُحَمَّد is
// محمد, שָׁלוֹם is שלום), or the tatweel that only stretches an Arabic word
// (اتصـــال). Marks of other scripts are kept: the voicing mark that makes
// ハク into バグ, or the vowel signs of Devanagari and Thai, are part of the
// word, not an accent on it.
func diacritic(r rune) bool {
	return 0x0300 <= r && r <= 0x036F || // Combining Diacritical Marks
		0x1AB0 <= r && r <= 0x1AFF || // ... Extended
		0x1DC0 <= r && r <= 0x1DFF || // ... Supplement
		0xFE20 <= r && r <= 0xFE2F || // Combining Half Marks
		0x0591 <= r && r <= 0x05C7 && unicode.Is(unicode.Mn, r) || // Hebrew points and cantillation
		0x064B <= r && r <= 0x065F || r == 0x0670 || // Arabic vowel marks, superscript alef
		0x06D6 <= r && r <= 0x06ED && unicode.Is(unicode.Mn, r) || // Arabic Quranic marks
		r == 0x0640 // Arabic tatweel
}

// foldedLetters are the Latin letters without a decomposition, written as
// they are without the letter: Straße as strasse, Ærø as aero.
var foldedLetters = map[rune]string{
	'ς': "σ", // Greek final sigma: lower-casing makes it of a final Σ, or not
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t",
}
