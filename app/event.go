package app

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Namespace is the kind of object an action applies to.
type Namespace string

// The seven namespaces the product tracks, in the order the page lists them.
const (
	Connections   Namespace = "connections"
	DataPipelines Namespace = "data_pipelines"
	DataProducts  Namespace = "data_products"
	Spaces        Namespace = "spaces"
	Users         Namespace = "users"
	ServiceUsers  Namespace = "service_users"
	APITokens     Namespace = "api_tokens"
)

// Namespaces lists every namespace in display order.
var Namespaces = []Namespace{Connections, DataPipelines, DataProducts, Spaces, Users, ServiceUsers, APITokens}

var displayNames = map[Namespace]string{
	Connections:   "Connections",
	DataPipelines: "Data Pipelines",
	DataProducts:  "Data Products",
	Spaces:        "Spaces",
	Users:         "Users",
	ServiceUsers:  "Service Users",
	APITokens:     "API Tokens",
}

// DisplayName is the name people read, e.g. "Data Pipelines".
func (n Namespace) DisplayName() string {
	if d, ok := displayNames[n]; ok {
		return d
	}
	return string(n)
}

// namespaceList names every namespace's wire name, for messages that say
// what is accepted.
func namespaceList() string {
	names := make([]string, len(Namespaces))
	for i, n := range Namespaces {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// ParseNamespace accepts the wire name ("data_pipelines") or the display name
// ("Data Pipelines", any case, with spaces, dashes or underscores).
func ParseNamespace(s string) (Namespace, bool) {
	for _, n := range Namespaces {
		if string(n) == s { // the wire name, as nearly every request sends it
			return n, true
		}
	}
	key := strings.ToLower(strings.TrimSpace(s))
	key = strings.NewReplacer(" ", "_", "-", "_").Replace(key)
	for _, n := range Namespaces {
		if string(n) == key {
			return n, true
		}
	}
	return "", false
}

// Anonymous is the actor shown for external parties.
const Anonymous = "Anonymous"

// OwnActor is the actor of what the app does by itself: a token expiring, a
// checkpoint signed.
const OwnActor = "Audit Log"

// TokenActor is how an entry names the API token that acted.
func TokenActor(label string) string { return tokenActorPrefix + label }

const tokenActorPrefix = "token "

// LocalActor is the actor of what is done through the launch link when the
// computer's user name is not known.
const LocalActor = "Local user"

// Target is one object an action touched.
type Target struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Event is one audit log entry.
type Event struct {
	ID         string            `json:"id"`
	Timestamp  time.Time         `json:"timestamp"`
	Namespace  Namespace         `json:"namespace"`
	Action     string            `json:"action"`
	Detail     string            `json:"detail"`
	Actor      string            `json:"actor"`
	Targets    []Target          `json:"targets,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	IP         string            `json:"ip,omitempty"`
	ReceivedAt time.Time         `json:"received_at"`
	// Where the entry stands in the tamper-evident chain, in recording order:
	// Hash = SHA-256(PrevHash ‖ SHA-256(canonical form)), hex. Set by the store.
	Seq      uint64 `json:"seq,omitempty"`
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// SameEvent tells whether a and b, which share an id, are one event sent
// twice, a retry, rather than two events given one id: they say the same
// (namespace, action, detail, actor, address, targets and metadata). The
// time is not compared, as an event sent without one is given the time it
// arrives, which a retry's is not; nor is which token sent it, which a
// regenerated token changes between attempts.
func SameEvent(a, b *Event) bool {
	sameMeta := func(a, b map[string]string) bool {
		for _, m := range [][2]map[string]string{{a, b}, {b, a}} {
			for k, v := range m[0] {
				if k != MetaTokenID && k != MetaTokenFingerprint && m[1][k] != v {
					return false
				}
			}
		}
		return true
	}
	return a.Namespace == b.Namespace && a.Action == b.Action && a.Detail == b.Detail && a.Actor == b.Actor &&
		a.IP == b.IP && slices.Equal(a.Targets, b.Targets) && sameMeta(a.Metadata, b.Metadata)
}

// IsAnonymous reports whether an external party acted.
func (e *Event) IsAnonymous() bool { return e.Actor == Anonymous }

// Limits on what one event may carry.
const (
	MaxDetailBytes  = 4 << 10
	MaxIDLen        = 128
	MaxMetadataKeys = 50
	maxShortField   = 256  // actor, target fields, metadata keys
	maxMetaValue    = 1024 // one metadata value
	maxTargets      = 50
	MaxFutureSkew   = 5 * time.Minute
)

// validAction reports whether s matches ^[a-z][a-z0-9_.]{1,63}$, the rule
// messages state; checked by hand since a regexp cost more than the rest of
// an event's checks.
func validAction(s string) bool {
	if len(s) < 2 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Normalize checks one event against the rules and puts it in canonical form:
// namespace in wire form, actor defaulted to Anonymous, timestamp defaulted to now
// and converted to UTC. It returns every broken rule, each naming its field.
func (e *Event) Normalize(index int, now time.Time, retention time.Duration) []FieldError {
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{Index: index, Field: field, Message: msg}) }

	if e.Namespace == "" {
		bad("namespace", "is required")
	} else if n, ok := ParseNamespace(string(e.Namespace)); ok {
		e.Namespace = n
	} else {
		bad("namespace", "must be one of "+namespaceList())
	}

	if e.Action == "" {
		bad("action", "is required")
	} else if !validAction(e.Action) {
		bad("action", "must match ^[a-z][a-z0-9_.]{1,63}$, e.g. token_created")
	}

	switch {
	case strings.TrimSpace(e.Detail) == "":
		bad("detail", "is required")
	case len(e.Detail) > MaxDetailBytes:
		bad("detail", "is longer than 4096 bytes")
	default:
		if msg := checkText(e.Detail, true); msg != "" {
			bad("detail", msg)
		}
	}

	e.Actor = strings.TrimSpace(e.Actor)
	if e.Actor == "" || strings.EqualFold(e.Actor, Anonymous) {
		e.Actor = Anonymous
	} else if msg := checkShort(e.Actor); msg != "" {
		bad("actor", msg)
	}

	if e.Timestamp.IsZero() {
		e.Timestamp = now
	}
	e.Timestamp = e.Timestamp.UTC()
	if e.Timestamp.After(now.Add(MaxFutureSkew)) {
		bad("timestamp", "is more than 5 minutes in the future")
	} else if retention > 0 && e.Timestamp.Before(now.Add(-retention)) {
		bad("timestamp", "is older than the retention window")
	}

	if len(e.ID) > MaxIDLen {
		bad("id", "is longer than 128 bytes")
	} else if msg := checkShort(e.ID); e.ID != "" && msg != "" {
		bad("id", msg)
	} else if strings.TrimSpace(e.ID) != e.ID {
		// "evt-1 " and "evt-1" would be two events to the store, and one
		// to anyone reading them.
		bad("id", "starts or ends with a space; send the id without it")
	}

	if len(e.Targets) > maxTargets {
		bad("targets", "has more than 50 entries")
	}
	for i := range e.Targets {
		t := &e.Targets[i]
		for _, f := range []struct{ name, v string }{{"type", t.Type}, {"id", t.ID}, {"name", t.Name}} {
			if msg := checkShort(f.v); msg != "" {
				bad("targets["+strconv.Itoa(i)+"]."+f.name, msg)
			}
		}
		if t.Type == "" && t.ID == "" && t.Name == "" {
			bad("targets["+strconv.Itoa(i)+"]", "needs a type, id or name")
		}
	}

	// The keys the server stamps (which token sent the event) do not count
	// against the client's 50.
	keys := len(e.Metadata)
	for _, k := range []string{MetaTokenID, MetaTokenFingerprint} {
		if _, ok := e.Metadata[k]; ok {
			keys--
		}
	}
	if keys > MaxMetadataKeys {
		bad("metadata", "has more than 50 keys")
	}
	for k, v := range e.Metadata {
		if k == "" {
			bad("metadata", "has an empty key")
		} else if msg := checkShort(k); msg != "" {
			bad("metadata", fmt.Sprintf("key %s %s", Quoted(k), msg)) // quoted: the key itself is what is wrong with it
		} else if len(v) > maxMetaValue {
			bad("metadata."+k, "is longer than 1024 bytes")
		} else if msg := checkText(v, true); msg != "" {
			bad("metadata."+k, msg)
		}
	}
	if len(e.Metadata) == 0 {
		e.Metadata = nil
	}
	if len(e.Targets) == 0 {
		e.Targets = nil
	}

	if e.IP != "" && !validIP(e.IP) {
		bad("ip", "is not an IPv4 or IPv6 address")
	}
	return errs
}

// printableOwn makes the text of an entry the app writes about itself keep
// the character rules, whatever it quotes. It quotes what others typed (an
// address tried at sign-in) and names kept under an earlier release, whose
// rules let through characters refused since (a soft hyphen in a token's
// label): refusing the entry would leave that token unrevokable, that member
// unable to sign in. A character the rules refuse is shown as U+FFFD, and a
// value too long after that is cut, with an ellipsis.
func (e *Event) printableOwn() {
	e.Detail = printable(e.Detail, MaxDetailBytes, true)
	e.Actor = printable(e.Actor, maxShortField, false)
	for i := range e.Targets {
		e.Targets[i].ID = printable(e.Targets[i].ID, maxShortField, false)
		e.Targets[i].Name = printable(e.Targets[i].Name, maxShortField, false)
	}
	for k, v := range e.Metadata {
		e.Metadata[k] = printable(v, maxMetaValue, true)
	}
}

// printable returns s with every character checkText refuses replaced by
// U+FFFD, cut to at most max bytes; s itself when it keeps the rules.
func printable(s string, max int, allowTab bool) string {
	if len(s) <= max && checkText(s, allowTab) == "" {
		return s
	}
	var b strings.Builder
	valid := strings.ToValidUTF8(s, "\uFFFD")
	for i, r := range valid {
		if refusedRune(r, allowTab) != "" && !(isJoiner(r) && joinerAt(valid, i)) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) <= max {
		return out
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut] + "…"
}

// validIP is what net.ParseIP accepts, without the copy it returns.
func validIP(s string) bool {
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Zone() == ""
}

func checkShort(s string) string {
	if len(s) > maxShortField {
		return "is longer than 256 bytes"
	}
	return checkText(s, false)
}

// checkText rejects invalid UTF-8, control characters and invisible
// characters; tab is allowed where free text is, since pasted details often
// carry it.
func checkText(s string, allowTab bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i, r := range s {
		why := refusedRune(r, allowTab)
		if why != "" && isJoiner(r) && joinerAt(s, i) {
			why = ""
		}
		switch why {
		case "control":
			return "contains a control character"
		case "invisible":
			return fmt.Sprintf("contains the invisible character U+%04X, which can make text read as something else", r)
		}
	}
	return ""
}

// refusedRune says why the text rules refuse r ("control", "invisible"),
// or "" when they take it.
func refusedRune(r rune, allowTab bool) string {
	switch {
	case r == '\t' && allowTab:
		return ""
	case unicode.IsControl(r):
		return "control"
	case Invisible(r):
		return "invisible"
	}
	return ""
}

// isJoiner tells the zero-width joiner and non-joiner apart from the other
// invisible characters: emoji sequences (👩‍💻, 🏳️‍🌈) and scripts such as
// Persian (می‌خواهم) and the Indic ones need them between the characters they
// join or keep apart, and text holding them is ordinary text there.
func isJoiner(r rune) bool { return r == 0x200C || r == 0x200D }

// joinerAt tells whether the joiner at s[i] sits where a joiner does its
// work: between two visible characters outside ASCII, the first of them
// perhaps with the variation selector that chooses how it looks (🏳️‍🌈).
// Anywhere else (next to a space, at either end, beside another invisible
// character or a selector standing alone, between Latin letters,
// "Fin\u200dance") it only hides, and is refused as the other invisible
// characters are. Search folds joiners away (Fold), so a word holding one
// is found by its letters alone.
func joinerAt(s string, i int) bool {
	before := s[:i]
	prev, n := utf8.DecodeLastRuneInString(before)
	if n > 0 && unicode.Is(unicode.Variation_Selector, prev) {
		prev, n = utf8.DecodeLastRuneInString(before[:len(before)-n])
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	next, m := utf8.DecodeRuneInString(s[i+size:])
	return n > 0 && m > 0 && joinable(prev) && joinable(next)
}

func joinable(r rune) bool {
	return r >= 0x80 && r != utf8.RuneError && !unicode.IsSpace(r) && !unicode.IsControl(r) && !Invisible(r) &&
		!unicode.Is(unicode.Variation_Selector, r)
}

// Invisible reports whether r changes how the text around it reads without
// showing itself: direction overrides and isolates turn "Mallory \u202enimdA"
// into "Mallory Admin" on screen, zero-width characters, word joiners and
// blank fillers make "Lukas\u2060 Brandt" look like a name that a search for
// it does not find, and line separators break words. They are refused
// everywhere, free text included: one rule, easy to state, and an audit
// entry must read as what it holds. The rule is Unicode's own: format
// characters and the other code points a renderer ignores, less the marks
// that print a sign of their own (U+0600, the Arabic number sign); variation
// selectors, which choose how a visible character looks (an emoji's colour),
// are kept.
func Invisible(r rune) bool {
	switch {
	case r < 0x80:
		return false
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case unicode.Is(unicode.Prepended_Concatenation_Mark, r):
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point)
}
