package app

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Term is one free-text part of a query: a word or a quoted phrase.
type Term struct {
	Text   string // lower-cased
	Phrase bool   // written in quotes: the words must stand together, in order
	Prefix bool   // the last bare word: matches words that start with it (search as you type)
	Negate bool   // written with a leading '-': entries containing it are excluded
}

// ActionMatch is one `action:` qualifier; `action:token_*` matches by prefix.
type ActionMatch struct {
	Value  string
	Prefix bool
	alias  bool // added for a renamed action; the query as written lacks it
}

// ActorMatch is one actor: qualifier's value, folded (Fold). Written in
// quotes it is the actor's whole name (actor:"svc-dbt" is not svc-dbt-cloud,
// which the page's "All entries by this actor" must tell apart); bare, as
// typed, it is a word of the name or the start of one (actor:maya and
// actor:chen find Maya Chen).
type ActorMatch struct {
	Value string
	Whole bool
}

// Matches reports whether the folded actor name is matched. The keyword
// index applies this same method to its actor terms, so the index and a
// walk of the store agree.
func (a ActorMatch) Matches(actor string) bool {
	if a.Whole {
		// Spaces as they print: two, or a no-break space, are one.
		return actor == a.Value || oneSpaced(actor) == a.Value
	}
	return ActorMatches(actor, a.Value)
}

// oneSpaced writes each run of white space in s as one space.
func oneSpaced(s string) string {
	prevSpace := false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if space && (r != ' ' || prevSpace) {
			return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
		}
		prevSpace = space
	}
	return s
}

// Query is a parsed search: free text plus structured qualifiers. The zero
// Query matches every entry. Qualifiers of the same kind are ORed; different
// kinds and free words are ANDed; a qualifier written with a leading '-'
// excludes what it matches (an excluded namespace is folded into
// Namespaces: every other one). Words joined by OR form a group that
// matches when any of its words does; OR binds tighter than the implicit AND,
// so "token OR pipeline created" is (token OR pipeline) AND created.
type Query struct {
	Terms      []Term
	AnyOf      [][]Term // groups of words joined by OR, each ANDed with the rest
	Namespaces []Namespace
	Actions    []ActionMatch
	Actors     []ActorMatch
	NotActions []ActionMatch
	NotActors  []ActorMatch
	After      time.Time // inclusive; zero means unbounded
	Before     time.Time // exclusive; zero means unbounded
	// Empty is set when the qualifiers contradict each other (e.g. the
	// namespace parameter and a namespace: qualifier differ): nothing matches.
	Empty bool

	notNamespaces []Namespace // as written, for String
	anyAction     bool        // action:* was given
}

// HasText reports whether the query needs the keyword index: free words, or
// qualifiers the store has no index for.
func (q *Query) HasText() bool {
	// The store keys one namespace at a time; several are the index's job.
	return len(q.Terms) > 0 || len(q.AnyOf) > 0 || len(q.Actions) > 0 || len(q.Actors) > 0 || len(q.Namespaces) > 1 ||
		len(q.NotActions) > 0 || len(q.NotActors) > 0
}

// PositiveTerms returns the terms that may have matched: every word that is
// not excluded, those joined by OR included.
func (q *Query) PositiveTerms() []Term {
	var out []Term
	for _, t := range q.Terms {
		if !t.Negate {
			out = append(out, t)
		}
	}
	for _, g := range q.AnyOf {
		out = append(out, g...)
	}
	return out
}

// RestrictNamespace narrows the query to one namespace, as the namespace filter does.
func (q *Query) RestrictNamespace(n Namespace) {
	if len(q.Namespaces) == 0 {
		q.Namespaces = []Namespace{n}
		return
	}
	for _, have := range q.Namespaces {
		if have == n {
			q.Namespaces = []Namespace{n}
			return
		}
	}
	q.Empty = true
}

// RestrictTime narrows the query to [after, before); zero bounds are ignored.
func (q *Query) RestrictTime(after, before time.Time) {
	if !after.IsZero() && (q.After.IsZero() || after.After(q.After)) {
		q.After = after
	}
	if !before.IsZero() && (q.Before.IsZero() || before.Before(q.Before)) {
		q.Before = before
	}
	if !q.After.IsZero() && !q.Before.IsZero() && !q.After.Before(q.Before) {
		q.Empty = true
	}
}

// MatchStructured reports whether e satisfies the namespace, action, actor and
// time parts of q. Free-text terms are the index's business.
func (q *Query) MatchStructured(e *Event) bool {
	if q.Empty {
		return false
	}
	if !q.After.IsZero() && e.Timestamp.Before(q.After) {
		return false
	}
	if !q.Before.IsZero() && !e.Timestamp.Before(q.Before) {
		return false
	}
	if len(q.Namespaces) > 0 && !containsNS(q.Namespaces, e.Namespace) {
		return false
	}
	if len(q.Actions) > 0 && !anyAction(q.Actions, e.Action) || anyAction(q.NotActions, e.Action) {
		return false
	}
	if len(q.Actors) > 0 || len(q.NotActors) > 0 {
		actor := Fold(e.Actor)
		if len(q.Actors) > 0 && !anyActor(q.Actors, actor) || anyActor(q.NotActors, actor) {
			return false
		}
	}
	return true
}

func anyAction(list []ActionMatch, action string) bool {
	for _, a := range list {
		if a.Value == action || (a.Prefix && strings.HasPrefix(action, a.Value)) {
			return true
		}
	}
	return false
}

func anyActor(list []ActorMatch, actor string) bool {
	for _, a := range list {
		if a.Matches(actor) {
			return true
		}
	}
	return false
}

// ActorMatches reports whether the lower-cased actor name is matched by a
// bare actor: qualifier's value: the whole name, a word of it, or the start
// of a word, so actor:maya and actor:chen both find "maya chen" and
// actor:ali finds "alice@example.com". In a script written without spaces
// every character starts a word, as in a search by words: actor:小龙 finds
// 李小龙.
func ActorMatches(actor, want string) bool {
	if want == "" {
		return false
	}
	for i := 0; i+len(want) <= len(actor); {
		j := strings.Index(actor[i:], want)
		if j < 0 {
			return false
		}
		at := i + j
		if at == 0 {
			return true
		}
		if r, _ := utf8.DecodeLastRuneInString(actor[:at]); !unicode.IsLetter(r) && !unicode.IsDigit(r) || Unspaced(r) {
			return true
		}
		_, size := utf8.DecodeRuneInString(actor[at:])
		i = at + size
	}
	return false
}

func containsNS(list []Namespace, n Namespace) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// String renders the query in the query language, for people to read (in an
// export's entry, say). Which word was being typed as a prefix is not kept.
func (q *Query) String() string {
	var parts []string
	if len(q.notNamespaces) > 0 {
		for _, n := range q.notNamespaces {
			parts = append(parts, "-namespace:"+string(n))
		}
	} else {
		for _, n := range q.Namespaces {
			parts = append(parts, "namespace:"+string(n))
		}
	}
	actions := func(list []ActionMatch, sign string) {
		for _, a := range list {
			if a.alias {
				continue
			}
			s := sign + "action:" + a.Value
			if a.Prefix {
				s += "*"
			}
			parts = append(parts, s)
		}
	}
	actions(q.Actions, "")
	actions(q.NotActions, "-")
	for _, a := range q.Actors {
		parts = append(parts, "actor:"+a.written())
	}
	for _, a := range q.NotActors {
		parts = append(parts, "-actor:"+a.written())
	}
	if !q.After.IsZero() {
		parts = append(parts, "after:"+q.After.UTC().Format(time.RFC3339))
	}
	if !q.Before.IsZero() {
		parts = append(parts, "before:"+q.Before.UTC().Format(time.RFC3339))
	}
	for _, t := range q.Terms {
		s := t.Text
		if t.Phrase || strings.ContainsAny(s, " \t:\"") {
			s = `"` + s + `"`
		}
		if t.Negate {
			s = "-" + s
		}
		parts = append(parts, s)
	}
	for _, g := range q.AnyOf {
		var alts []string
		for _, t := range g {
			s := t.Text
			if t.Phrase || strings.ContainsAny(s, " \t:\"") {
				s = `"` + s + `"`
			}
			alts = append(alts, s)
		}
		parts = append(parts, strings.Join(alts, " OR "))
	}
	return strings.Join(parts, " ")
}

func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return `"` + s + `"`
	}
	return s
}

// written is the value as the query language writes it.
func (a ActorMatch) written() string {
	if a.Whole {
		return `"` + a.Value + `"`
	}
	return a.Value
}

// ParseQuery parses the search language. Dates in after:/before: without a
// time are read in loc (the workspace timezone). Errors say where they are,
// counting characters from 1.
func ParseQuery(s string, loc *time.Location) (Query, error) {
	var q Query
	if loc == nil {
		loc = time.UTC
	}
	if !utf8.ValidString(s) {
		return q, Errorf(EINVALID, "query is not valid UTF-8")
	}
	if len(s) > 1024 {
		return q, Errorf(EINVALID, "query is longer than 1024 characters")
	}
	if msg := checkText(s, true); msg != "" {
		return q, Errorf(EINVALID, "query %s", msg)
	}
	p := parser{src: []rune(s)}
	var b termBuilder
	for {
		p.skipSpace()
		if p.eof() {
			break
		}
		start := p.pos
		negate := false
		if p.peek() == '-' {
			negate = true
			p.pos++
			if p.eof() || unicode.IsSpace(p.peek()) {
				continue // a lone dash is punctuation, as in "orders - daily"
			}
		}
		if p.peek() == '"' {
			text, err := p.quoted()
			if err != nil {
				return q, err
			}
			text = strings.ToLower(strings.TrimSpace(text))
			if text == "" {
				continue
			}
			if err := b.add(&q, Term{Text: text, Phrase: true, Negate: negate}, false); err != nil {
				return q, p.errAt(start, err.Error())
			}
			continue
		}
		word := p.bare()
		if word == "OR" && !negate {
			if b.prevNeg && b.orAt == 0 {
				return q, p.errAt(start, "OR joins words and phrases, not excluded ones: leave out the '-' or the OR")
			}
			if !b.canJoin() && b.prevKey != "" && b.orAt == 0 {
				key, negated := strings.CutPrefix(b.prevKey, "-")
				return q, p.errAt(start, orQualifier(key, negated))
			}
			if !b.canJoin() {
				return q, p.errAt(start, "OR needs a word or phrase before it, as in Maya OR Lukas")
			}
			b.orAt = start + 1
			continue
		}
		if key, value, ok := strings.Cut(word, ":"); ok && looksLikeQualifier(key, value, !p.eof() && p.peek() == '"') {
			quoted := value == "" && !p.eof() && p.peek() == '"'
			if quoted {
				v, err := p.quoted()
				if err != nil {
					return q, err
				}
				value = v
			}
			if !isQualifier(key) {
				return q, p.errAt(start, fmt.Sprintf("unknown qualifier %q (one of %s); to search for the text, put it in quotes: \"%s:%s\"",
					key+":", qualifierList, key, strings.ReplaceAll(value, `"`, "")))
			}
			if b.orAt > 0 {
				return q, p.errAt(start, orQualifier(key, negate))
			}
			add := q.addQualifier
			if negate {
				add = q.excludeQualifier
			}
			if err := add(strings.ToLower(key), value, quoted, loc); err != nil {
				return q, p.errAt(start, err.Error())
			}
			b.prevOK, b.prevNeg, b.prevKey = false, false, strings.ToLower(key)
			if negate {
				b.prevKey = "-" + b.prevKey
			}
			continue
		}
		word = strings.ToLower(word)
		if strings.Trim(word, "-") == "" && !negate {
			continue // a lone dash is punctuation, not a word
		}
		if err := b.add(&q, Term{Text: word, Negate: negate}, !negate); err != nil {
			return q, p.errAt(start, err.Error())
		}
	}
	if b.orAt > 0 {
		return q, p.errAt(b.orAt-1, "OR needs a word or phrase after it, as in Maya OR Lukas")
	}
	// Search as you type: the word being typed is matched as a prefix, unless the
	// user has moved on (trailing space) or the word is the last of a finished query.
	if t := b.last(&q); t != nil && b.lastBare && !strings.HasSuffix(s, " ") {
		t.Prefix = true
	}
	if !q.After.IsZero() && !q.Before.IsZero() && !q.After.Before(q.Before) {
		return q, Errorf(EINVALID, "query: after: must be earlier than before:")
	}
	if q.anyAction {
		q.Actions = nil // one of several action: qualifiers matches everything
	}
	q.foldExcludedNamespaces()
	return q, nil
}

// excludeQualifier adds a qualifier written with a leading '-': what it
// matches is left out.
func (q *Query) excludeQualifier(key, value string, quoted bool, loc *time.Location) error {
	var only Query
	if err := only.addQualifier(key, value, quoted, loc); err != nil {
		return err
	}
	switch key {
	case "namespace", "ns":
		for _, n := range only.Namespaces {
			if !containsNS(q.notNamespaces, n) {
				q.notNamespaces = append(q.notNamespaces, n)
			}
		}
	case "action":
		if len(only.Actions) == 0 {
			return fmt.Errorf("-action:* would leave out every entry")
		}
		q.NotActions = append(q.NotActions, only.Actions...)
	case "actor", "user":
		q.NotActors = append(q.NotActors, only.Actors...)
	case "after", "before":
		return fmt.Errorf("-%s: cannot be excluded; use %s: instead", key, map[string]string{"after": "before", "before": "after"}[key])
	}
	return nil
}

// foldExcludedNamespaces turns excluded namespaces into the ones left:
// the store counts and walks namespaces, not their absence.
func (q *Query) foldExcludedNamespaces() {
	if len(q.notNamespaces) == 0 {
		return
	}
	from := q.Namespaces
	if len(from) == 0 {
		from = Namespaces
	}
	var left []Namespace
	for _, n := range from {
		if !containsNS(q.notNamespaces, n) {
			left = append(left, n)
		}
	}
	if len(left) == 0 {
		q.Empty = true
		left = from[:1] // kept non-empty, so nothing reads the query as unfiltered
	}
	q.Namespaces = left
	if len(from) != len(Namespaces) {
		q.notNamespaces = nil // both kinds were written: String shows what is left
	}
}

// termBuilder puts words into a Query's Terms, or into its AnyOf groups when
// OR joins them.
type termBuilder struct {
	inGroup  bool   // the last term went into the last AnyOf group
	hasLast  bool   // a term was added, and nothing but qualifiers since
	lastBare bool   // that term is a bare positive word (may be a prefix)
	orAt     int    // one past the position of an OR waiting for its right side
	prevOK   bool   // the item just before is a positive term an OR may follow
	prevNeg  bool   // the item just before is an excluded term
	prevKey  string // the key of the qualifier just before, if it is one ("-actor" when excluded)
}

func (b *termBuilder) canJoin() bool { return b.prevOK && b.orAt == 0 }

func (b *termBuilder) add(q *Query, t Term, bare bool) error {
	if !hasWord(t.Text) {
		// The index holds no term for it, so it could only match every
		// entry: an export of "€" would have been the whole log.
		return fmt.Errorf("%q has no letter, digit or emoji to search for (to list every entry, search for nothing)", t.Text)
	}
	if b.orAt > 0 {
		if t.Negate {
			return fmt.Errorf("OR joins words and phrases; leave out the '-' or the OR")
		}
		if !b.inGroup {
			prev := q.Terms[len(q.Terms)-1]
			if q.Terms = q.Terms[:len(q.Terms)-1]; len(q.Terms) == 0 {
				q.Terms = nil
			}
			q.AnyOf = append(q.AnyOf, []Term{prev})
		}
		g := len(q.AnyOf) - 1
		q.AnyOf[g] = append(q.AnyOf[g], t)
		b.inGroup, b.orAt = true, 0
	} else {
		q.Terms = append(q.Terms, t)
		b.inGroup = false
	}
	b.hasLast, b.lastBare, b.prevOK, b.prevNeg, b.prevKey = true, bare, !t.Negate, t.Negate, ""
	return nil
}

// last is the term added last, or nil.
func (b *termBuilder) last(q *Query) *Term {
	switch {
	case !b.hasLast:
		return nil
	case b.inGroup:
		g := q.AnyOf[len(q.AnyOf)-1]
		return &g[len(g)-1]
	default:
		return &q.Terms[len(q.Terms)-1]
	}
}

// qualifierList names the qualifiers for error messages.
const qualifierList = "namespace:, ns:, action:, actor:, user:, after:, before:"

// looksLikeQualifier tells a qualifier, known or not, from a word that merely
// holds a colon. A known name is always a qualifier. Another is one when its
// name is ASCII letters only and it has a simple value (or a quoted one
// follows): foo:bar is a mistyped qualifier and gets an error, while a time
// (10:30), a URL (https://x), a trailing colon (Error:), a name with digits
// (v1:beta) and an identifier with more colons (urn:space:42) stay words.
func looksLikeQualifier(key, value string, quotedNext bool) bool {
	if isQualifier(key) {
		return true
	}
	if key == "" || strings.HasPrefix(value, "/") || strings.Contains(value, ":") {
		return false
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return value != "" || quotedNext
}

// actionAliases keep a renamed action findable by either name, over entries
// recorded before and after the rename.
var actionAliases = map[string]string{
	FormerSettingsAction: SettingsAction,
	SettingsAction:       FormerSettingsAction,
}

func isQualifier(key string) bool {
	switch strings.ToLower(key) {
	case "namespace", "ns", "action", "actor", "user", "after", "before":
		return true
	}
	return false
}

func (q *Query) addQualifier(key, value string, quoted bool, loc *time.Location) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("%s: needs a value", key)
	}
	switch key {
	case "namespace", "ns":
		n, ok := ParseNamespace(value)
		if !ok {
			return fmt.Errorf("unknown namespace %q (one of %s)", value, namespaceList())
		}
		if !containsNS(q.Namespaces, n) {
			q.Namespaces = append(q.Namespaces, n)
		}
	case "action":
		v := strings.ToLower(value)
		m := ActionMatch{Value: strings.TrimSuffix(v, "*"), Prefix: strings.HasSuffix(v, "*")}
		if strings.Contains(m.Value, "*") || (m.Value == "" && !m.Prefix) {
			return fmt.Errorf("action: '*' is allowed only at the end, as in action:token_*")
		}
		if m.Value == "" {
			q.anyAction = true // matches every action, whatever other action: says
			return nil
		}
		q.Actions = append(q.Actions, m)
		if alias, ok := actionAliases[m.Value]; ok && !m.Prefix {
			q.Actions = append(q.Actions, ActionMatch{Value: alias, alias: true})
		}
	case "actor", "user": // user: as on GitHub
		if quoted {
			q.Actors = append(q.Actors, ActorMatch{Value: oneSpaced(Fold(strings.TrimSpace(value))), Whole: true})
			break
		}
		// Typed, a word is what it is: punctuation around it, as in
		// "actor:maya." or "actor:(maya)", is no part of it, and a '*' at
		// its end asks for what it already matches, the start of a word.
		v := strings.TrimFunc(value, func(r rune) bool { return !inWord(r) })
		if v == "" {
			return fmt.Errorf("%s: %q has no letter or digit; to find a name with punctuation, quote it whole, as in %s:\"%s\"", key, value, key, value)
		}
		q.Actors = append(q.Actors, ActorMatch{Value: Fold(v)})
	case "after", "before":
		t, err := ParseDate(value, loc)
		if err != nil {
			return fmt.Errorf("%s: %v", key, err)
		}
		if key == "after" {
			q.RestrictTime(t, time.Time{})
		} else {
			q.RestrictTime(time.Time{}, t)
		}
	}
	return nil
}

// orQualifier says why OR cannot join a qualifier, and what does what was
// meant: a qualifier of one kind given twice takes either value; excluded
// ones, and time bounds, all apply.
func orQualifier(key string, negated bool) string {
	const refused = "OR joins words and phrases, not qualifiers; "
	switch key = strings.ToLower(key); {
	case negated:
		return refused + "every excluded qualifier applies already"
	case key == "after" || key == "before":
		return refused + "for a range, write after: and before: once each"
	}
	return refused + "several " + key + ": qualifiers are already ORed"
}

// ParseDate reads a date (2006-01-02, the start of that day in loc) or an RFC 3339 time.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	for _, p := range []func() (time.Time, error){
		func() (time.Time, error) { return ParseDay(s, loc) },
		func() (time.Time, error) {
			if t, ok := ParseTimestamp(s); ok {
				return t, nil
			}
			return time.Time{}, errors.New("not RFC 3339")
		},
		// A time of day without a zone is the workspace's, as the page's
		// date and time fields send it, with seconds or without.
		func() (time.Time, error) { return time.ParseInLocation("2006-01-02T15:04", s, loc) },
		func() (time.Time, error) { return time.ParseInLocation("2006-01-02T15:04:05", s, loc) },
	} {
		if t, err := p(); err == nil {
			// Keys hold unix nanoseconds, which end in 2262; no audit entry is that far off.
			if t.Year() < 1970 || t.Year() > 2200 {
				return time.Time{}, fmt.Errorf("%q is outside the years 1970 to 2200", s)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date like 2026-11-20, a time like 2026-11-20T14:00 (the workspace's) or one with its zone like 2026-11-20T14:00:00Z", s)
}

type parser struct {
	src []rune
	pos int
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() rune { return p.src[p.pos] }

func (p *parser) skipSpace() {
	for !p.eof() && unicode.IsSpace(p.peek()) {
		p.pos++
	}
}

func (p *parser) bare() string {
	start := p.pos
	for !p.eof() && !unicode.IsSpace(p.peek()) {
		if p.peek() == '"' && p.pos > start && p.src[p.pos-1] == ':' {
			break // qualifier:"quoted value"
		}
		p.pos++
	}
	return string(p.src[start:p.pos])
}

func (p *parser) quoted() (string, error) {
	open := p.pos
	p.pos++ // opening quote
	start := p.pos
	for !p.eof() && p.peek() != '"' {
		p.pos++
	}
	if p.eof() {
		return "", p.errAt(open, "unterminated quote: add a closing \"")
	}
	text := string(p.src[start:p.pos])
	p.pos++ // closing quote
	return text, nil
}

func (p *parser) errAt(pos int, msg string) error {
	return Errorf(EINVALID, "query: at character %d: %s", pos+1, msg)
}

// hasWord tells whether s holds what the keyword index makes words of: a
// letter (Ⅻ and Ⓐ too), a digit or an emoji. Punctuation and other symbols
// (€, ™, ①) are in no word.
func hasWord(s string) bool { return strings.ContainsFunc(s, inWord) }

// inWord tells whether r is what words are made of (hasWord).
func inWord(r rune) bool {
	return unicode.In(r, unicode.L, unicode.Nd, unicode.Nl) || Emoji(r) ||
		unicode.Is(unicode.Other_Alphabetic, r) && unicode.Is(unicode.So, r) // Ⓐ, not a lone vowel sign
}
