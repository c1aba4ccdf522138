package ui

import (
	"html"
	"html/template"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"auditlog/app"
)

// highlight returns text, escaped, with the words that the query's positive
// free-text terms matched wrapped in <mark>. It finds words by the keyword
// index's rule (index/mapping.go): '_', '.' and ':' separate words, as '-'
// does, so "revenue" marks its part of daily_revenue_rollup just as it finds
// it, and so do apostrophes ("connor" marks O'Connor); a comma between digits does not. It
// compares words as the index does, without case or diacritics (app.Fold),
// matches a phrase as consecutive words and the word being typed as a
// prefix. Everything outside the marks goes
// through html.EscapeString, so no text from an event can become markup.
func highlight(text string, terms []app.Term) template.HTML {
	spans := matchSpans(text, terms)
	if len(spans) == 0 {
		return template.HTML(html.EscapeString(text))
	}
	var b strings.Builder
	at := 0
	for _, s := range spans {
		b.WriteString(html.EscapeString(text[at:s.start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[s.start:s.end]))
		b.WriteString("</mark>")
		at = s.end
	}
	b.WriteString(html.EscapeString(text[at:]))
	return template.HTML(b.String())
}

// highlightIdent is highlight for an identifier such as an action name: it
// also lets the name wrap after its underscores and dots, not mid-word.
func highlightIdent(text string, terms []app.Term) template.HTML {
	spans := matchSpans(text, terms)
	var b strings.Builder
	next := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if next < len(spans) && i == spans[next].start {
			b.WriteString("<mark>")
		}
		b.WriteString(html.EscapeString(text[i : i+size]))
		i += size
		if next < len(spans) && i == spans[next].end {
			b.WriteString("</mark>")
			next++
		}
		if r == '_' || r == '.' {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String())
}

// actorTerms adds to terms the actor: qualifiers, for marking the actor: a
// whole name as a phrase, a bare value as a word of the name or its start.
func actorTerms(terms []app.Term, actors []app.ActorMatch) []app.Term {
	out := slices.Clip(terms)
	for _, a := range actors {
		out = append(out, app.Term{Text: a.Value, Phrase: a.Whole, Prefix: !a.Whole})
	}
	return out
}

type span struct{ start, end int }

// matchSpans finds the byte ranges of text to mark, sorted and merged.
func matchSpans(text string, terms []app.Term) []span {
	if len(terms) == 0 || text == "" {
		return nil
	}
	words := splitWords(text)
	lower := make([]string, len(words))
	for i, w := range words {
		lower[i] = app.Fold(text[w.start:w.end])
	}
	var spans []span
	for _, t := range terms {
		if t.Negate {
			continue
		}
		toks := splitWords(t.Text)
		if len(toks) == 0 {
			continue
		}
		want := make([]string, len(toks))
		for i, w := range toks {
			want[i] = app.Fold(t.Text[w.start:w.end])
		}
		for i := 0; i+len(want) <= len(words); i++ {
			if matchAt(lower[i:i+len(want)], want, t.Prefix) {
				spans = append(spans, span{words[i].start, words[i+len(want)-1].end})
			}
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

func matchAt(have, want []string, prefix bool) bool {
	for i := range want {
		last := i == len(want)-1
		if last && prefix {
			if !strings.HasPrefix(have[i], want[i]) {
				return false
			}
		} else if have[i] != want[i] {
			return false
		}
	}
	return true
}

// splitWords finds the words of s as byte ranges as the index's analyzer
// does: runs of letters, digits and marks, which a comma or semicolon
// between two digits does not break. The index turns '_', '.' and ':' into spaces before it segments, so
// here they always break.
func splitWords(s string) []span {
	var out []span
	start := -1
	var prev rune
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case standsAlone(r):
			if start >= 0 {
				out = append(out, span{start, i})
				start = -1
			}
			end := i + size
			for end < len(s) {
				m, n := utf8.DecodeRuneInString(s[end:])
				if !unicode.In(m, unicode.Mn, unicode.Mc, unicode.Me) && m != zeroWidthJoiner {
					break
				}
				end += n
			}
			out = append(out, span{i, end})
			prev, i = r, end
			continue
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		case start >= 0 && joins(prev, r, s[i+size:]):
			// stays inside the word
		default:
			if start >= 0 {
				out = append(out, span{start, i})
				start = -1
			}
		}
		prev = r
		i += size
	}
	if start >= 0 {
		out = append(out, span{start, len(s)})
	}
	return out
}

// standsAlone tells whether r is a word of its own, with the marks after
// it, as the index splits text (index/words.go): an ideograph, a letter of
// Hiragana or of a script written without spaces, or an emoji.
func standsAlone(r rune) bool {
	return app.Unspaced(r) || app.Emoji(r)
}

const zeroWidthJoiner = '\u200d'

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)
}

// joins reports whether the punctuation r, between prev and the text rest,
// keeps a number together, as in "1,000".
func joins(prev, r rune, rest string) bool {
	next, _ := utf8.DecodeRuneInString(rest)
	return (r == ',' || r == ';') && unicode.IsDigit(prev) && unicode.IsDigit(next)
}
