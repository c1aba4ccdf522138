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
// A letter is taken apart into its base and its marks (Unicode's canonical
// decomposition), the marks are dropped, and the rest put together again.
// The few Latin letters that are no base plus marks (ß, æ, ø, ł, ...) are
// written as people write them without those keys.
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
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if f, ok := foldedLetters[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// foldedLetters are the Latin letters without a decomposition, written as
// they are without the letter: Straße as strasse, Ærø as aero.
var foldedLetters = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t",
}
