package app

import (
	"errors"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendPageJSON appends p as encoding/json writes it (HTML-safe escaping, a
// final newline as json.Encoder adds), byte for byte, at a fraction of the
// cost: encoding/json reflects over every field of every entry and calls
// each time's MarshalJSON, which made it a quarter of answering a list. It
// fails where encoding/json fails: on a time it cannot write as RFC 3339.
func AppendPageJSON(b []byte, p *Page) ([]byte, error) {
	b = append(b, `{"events":`...)
	if p.Events == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Events {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = AppendEventJSON(b, &p.Events[i]); err != nil {
				return b, err
			}
		}
		b = append(b, ']')
	}
	if p.Next != "" {
		b = append(b, `,"next":`...)
		b = appendJSONString(b, p.Next)
	}
	return append(b, "}\n"...), nil
}

// AppendEventJSON appends e as encoding/json writes it.
func AppendEventJSON(b []byte, e *Event) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = appendJSONString(b, e.ID)
	b = append(b, `,"timestamp":`...)
	if b, err = appendJSONTime(b, e.Timestamp); err != nil {
		return b, err
	}
	b = append(b, `,"namespace":`...)
	b = appendJSONString(b, string(e.Namespace))
	b = append(b, `,"action":`...)
	b = appendJSONString(b, e.Action)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, e.Detail)
	b = append(b, `,"actor":`...)
	b = appendJSONString(b, e.Actor)
	if len(e.Targets) > 0 {
		b = append(b, `,"targets":[`...)
		for i, t := range e.Targets {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			sep := false
			for _, f := range [...]struct{ name, value string }{{`"type":`, t.Type}, {`"id":`, t.ID}, {`"name":`, t.Name}} {
				if f.value == "" {
					continue
				}
				if sep {
					b = append(b, ',')
				}
				b = append(b, f.name...)
				b = appendJSONString(b, f.value)
				sep = true
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(e.Metadata) > 0 {
		b = append(b, `,"metadata":{`...)
		keys := make([]string, 0, len(e.Metadata))
		for k := range e.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, e.Metadata[k])
		}
		b = append(b, '}')
	}
	if e.IP != "" {
		b = append(b, `,"ip":`...)
		b = appendJSONString(b, e.IP)
	}
	b = append(b, `,"received_at":`...)
	if b, err = appendJSONTime(b, e.ReceivedAt); err != nil {
		return b, err
	}
	if e.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
	}
	if e.PrevHash != "" {
		b = append(b, `,"prev_hash":`...)
		b = appendJSONString(b, e.PrevHash)
	}
	if e.Hash != "" {
		b = append(b, `,"hash":`...)
		b = appendJSONString(b, e.Hash)
	}
	return append(b, '}'), nil
}

// appendJSONTime is time.Time's MarshalJSON, with its checks.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	switch {
	case b[n0+len("9999")] != '-':
		return b, errors.New("json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]")
	case b[len(b)-1] != 'Z':
		c := b[len(b)-len("Z07:00")]
		if ('0' <= c && c <= '9') || 10*(b[len(b)-5]-'0')+(b[len(b)-4]-'0') >= 24 {
			return b, errors.New("json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: timezone hour outside of range [0,23]")
		}
	}
	return append(b, '"'), nil
}

const jsonHex = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping:
// quotes, backslashes, control characters, '<', '>', '&', U+2028 and U+2029
// escaped, invalid UTF-8 replaced with U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
