package app

import (
	"unicode/utf8"
)

// The fast reader below takes the shape nearly every request has (an array
// of objects with known fields, string values, no duplicate names) in one
// pass over the body, cutting the events' strings out of one copy of it. It
// accepts only what the general reader accepts, with the same result; on
// anything else (an error, an unknown field, a duplicate name, an escaped
// field name, a value of a surprising type) it gives up and the general
// reader, which names every problem by index and field, reads the body
// again. So what is accepted or refused, and every message, stays that of
// the general reader; only the common case is cheaper.

// fastReader walks s, the body as one string.
type fastReader struct {
	s   string
	i   int
	buf []byte // unescaping scratch
}

// fastArray reads a trimmed body that starts with [.
func fastArray(body []byte, imported bool) ([]Event, bool) {
	d := fastReader{s: string(body), i: 1}
	events := make([]Event, 0, min(MaxBatch, len(body)/64+1))
	ok := d.elements(']', func() bool {
		if len(events) == MaxBatch || d.peek() != '{' {
			return false
		}
		events = append(events, Event{})
		return d.event(&events[len(events)-1], imported)
	})
	if !ok || d.i != len(d.s) {
		return nil, false
	}
	return events, true
}

// fastObject reads raw, which must be one object and nothing else, into e.
func fastObject(raw []byte, e *Event, imported bool) bool {
	d := fastReader{s: string(raw)}
	d.ws()
	if d.peek() != '{' || !d.event(e, imported) {
		return false
	}
	d.ws()
	return d.i == len(d.s)
}

func (d *fastReader) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *fastReader) next() byte {
	c := d.peek()
	d.i++
	return c
}

func (d *fastReader) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastReader) literal(word string) bool {
	if len(d.s)-d.i >= len(word) && d.s[d.i:d.i+len(word)] == word {
		d.i += len(word)
		return true
	}
	return false
}

// name reads an object's member name and the colon after it. Names with
// escapes or outside printable ASCII are left to the general reader.
func (d *fastReader) name() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	start := d.i + 1
	for j := start; j < len(d.s); j++ {
		switch c := d.s[j]; {
		case c == '"':
			d.i = j + 1
			d.ws()
			if d.next() != ':' {
				return "", false
			}
			d.ws()
			return d.s[start:j], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// str reads a JSON string. Invalid UTF-8, control characters and half
// surrogate pairs fail it: the general reader refuses them by name.
func (d *fastReader) str() (string, bool) {
	if d.peek() != '"' {
		return "", false
	}
	start := d.i + 1
	for j := start; j < len(d.s); {
		c := d.s[j]
		switch {
		case c == '"':
			d.i = j + 1
			return d.s[start:j], true
		case c == '\\':
			return d.escaped(start, j)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRuneInString(d.s[j:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			j += size
		}
	}
	return "", false
}

// escaped finishes a string from its first backslash at j.
func (d *fastReader) escaped(start, j int) (string, bool) {
	b := append(d.buf[:0], d.s[start:j]...)
	for j < len(d.s) {
		c := d.s[j]
		switch {
		case c == '"':
			d.i = j + 1
			d.buf = b
			return string(b), true
		case c < 0x20:
			return "", false
		case c != '\\':
			if c < utf8.RuneSelf {
				b = append(b, c)
				j++
				continue
			}
			r, size := utf8.DecodeRuneInString(d.s[j:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			b = append(b, d.s[j:j+size]...)
			j += size
			continue
		}
		if j+1 >= len(d.s) {
			return "", false
		}
		switch e := d.s[j+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hexRune(d.s[j+2:])
			if !ok {
				return "", false
			}
			switch {
			case 0xD800 <= r && r <= 0xDBFF:
				if len(d.s) < j+12 || d.s[j+6] != '\\' || d.s[j+7] != 'u' {
					return "", false
				}
				lo, ok := hexRune(d.s[j+8:])
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return "", false
				}
				r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
				j += 6
			case 0xDC00 <= r && r <= 0xDFFF:
				return "", false
			}
			b = utf8.AppendRune(b, r)
			j += 4
		default:
			return "", false
		}
		j += 2
	}
	return "", false
}

// hexRune reads the four hex digits s starts with, as a \u escape holds them.
func hexRune(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[:4]) {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// strOrNull reads a string into dst; null leaves dst as it is.
func (d *fastReader) strOrNull(dst *string) bool {
	if d.literal("null") {
		return true
	}
	s, ok := d.str()
	*dst = s
	return ok
}

// Bits of the members an event has had, to leave duplicates (where the last
// one wins) to the general reader.
const (
	seenID = 1 << iota
	seenNamespace
	seenAction
	seenDetail
	seenActor
	seenIP
	seenTimestamp
	seenAnonymous
	seenTargets
	seenMetadata
	seenReceivedAt
	seenSeq
	seenPrevHash
	seenHash
)

// event reads one object, d at its {, as decodeEvent would.
func (d *fastReader) event(e *Event, imported bool) bool {
	d.i++
	var ns, ts string
	anonymous := false
	ok := d.members(func(name string) (uint32, bool) {
		switch name {
		case "id":
			return seenID, d.strOrNull(&e.ID)
		case "namespace":
			return seenNamespace, d.strOrNull(&ns)
		case "action":
			return seenAction, d.strOrNull(&e.Action)
		case "detail":
			return seenDetail, d.strOrNull(&e.Detail)
		case "actor":
			return seenActor, d.strOrNull(&e.Actor)
		case "ip":
			return seenIP, d.strOrNull(&e.IP)
		case "timestamp":
			// An empty string is refused, by the general reader.
			if d.literal("null") {
				return seenTimestamp, true
			}
			s, ok := d.str()
			ts = s
			return seenTimestamp, ok && s != ""
		case "anonymous":
			switch {
			case d.literal("true"):
				anonymous = true
			case d.literal("false"), d.literal("null"):
			default:
				return seenAnonymous, false
			}
			return seenAnonymous, true
		case "targets":
			return seenTargets, d.targets(e)
		case "metadata":
			return seenMetadata, d.metadata(e)
		// In an export, ignored; in a request, refused by the general reader.
		case "received_at":
			return seenReceivedAt, imported && d.skip(0)
		case "seq":
			return seenSeq, imported && d.skip(0)
		case "prev_hash":
			return seenPrevHash, imported && d.skip(0)
		case "hash":
			return seenHash, imported && d.skip(0)
		}
		return 0, false
	})
	if !ok {
		return false
	}
	e.Namespace = Namespace(ns)
	if ts != "" {
		t, ok := ParseTimestamp(ts)
		if !ok {
			return false
		}
		e.Timestamp = t
	}
	if anonymous {
		if e.Actor != "" && e.Actor != Anonymous {
			return false
		}
		e.Actor = Anonymous
	}
	return true
}

// targets reads a list of {"type", "id", "name"} objects with string values.
func (d *fastReader) targets(e *Event) bool {
	if d.literal("null") {
		return true
	}
	if d.next() != '[' {
		return false
	}
	e.Targets = []Target{}
	return d.elements(']', func() bool {
		if d.next() != '{' {
			return false
		}
		var t Target
		ok := d.members(func(name string) (uint32, bool) {
			var ok bool
			switch name {
			case "type":
				t.Type, ok = d.str()
				return 1, ok
			case "id":
				t.ID, ok = d.str()
				return 2, ok
			case "name":
				t.Name, ok = d.str()
				return 4, ok
			}
			return 0, false // unknown: the general reader names it
		})
		if !ok {
			return false
		}
		e.Targets = append(e.Targets, t)
		return true
	})
}

// metadata reads a flat object of string values.
func (d *fastReader) metadata(e *Event) bool {
	if d.literal("null") {
		return true
	}
	if d.next() != '{' {
		return false
	}
	e.Metadata = map[string]string{}
	return d.elements('}', func() bool {
		k, ok := d.str()
		if !ok {
			return false
		}
		d.ws()
		if d.next() != ':' {
			return false
		}
		d.ws()
		v, ok := d.str()
		if !ok {
			return false
		}
		if _, dup := e.Metadata[k]; dup {
			return false
		}
		e.Metadata[k] = v
		return true
	})
}

// members reads an object's members, d just past its {: read reads the value
// of the member named name and says which bit of the object's members it
// is. An unknown member (bit 0) or one met twice fails it: the general reader
// refuses the first by name, and lets the last of two win.
func (d *fastReader) members(read func(name string) (bit uint32, ok bool)) bool {
	var seen uint32
	return d.elements('}', func() bool {
		name, ok := d.name()
		if !ok {
			return false
		}
		bit, ok := read(name)
		if !ok || bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
}

// elements reads the comma-separated elements (or members) of an array (or
// object) up to its closing bracket end, d just past the opening one: each
// reads one, and the whitespace around it and the commas are read here.
func (d *fastReader) elements(end byte, each func() bool) bool {
	d.ws()
	if d.peek() == end {
		d.i++
		return true
	}
	for {
		if !each() {
			return false
		}
		d.ws()
		switch d.next() {
		case ',':
			d.ws()
		case end:
			return true
		default:
			return false
		}
	}
}

// skip passes over any JSON value, checking it as strictly as str does.
func (d *fastReader) skip(depth int) bool {
	if depth > 32 {
		return false
	}
	switch c := d.peek(); {
	case c == '"':
		_, ok := d.str()
		return ok
	case c == 'n':
		return d.literal("null")
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case c == '[' || c == '{':
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		d.i++
		d.ws()
		if d.peek() == end {
			d.i++
			return true
		}
		for {
			if c == '{' {
				if _, ok := d.str(); !ok {
					return false
				}
				d.ws()
				if d.next() != ':' {
					return false
				}
				d.ws()
			}
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			switch d.next() {
			case ',':
				d.ws()
			case end:
				return true
			default:
				return false
			}
		}
	}
	return false
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastReader) number() bool {
	d.literal("-")
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		return false
	}
	if d.peek() == '.' {
		d.i++
		if !d.digits() {
			return false
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			return false
		}
	}
	return true
}

func (d *fastReader) digits() bool {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}
