package app

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// decodeBoth reads body with the one-pass reader and with the general reader
// alone, and fails t unless both give the same events or the same error.
func decodeBoth(t *testing.T, body string, ndjson, imported bool) ([]Event, error) {
	t.Helper()
	fast, ferr := decodeEventsWith(strings.NewReader(body), ndjson, imported, true)
	slow, serr := decodeEventsWith(strings.NewReader(body), ndjson, imported, false)
	if !sameError(ferr, serr) {
		t.Fatalf("%q (ndjson %v, import %v):\n one pass: %v\n general:  %v", body, ndjson, imported, ferr, serr)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q (ndjson %v, import %v):\n one pass: %#v\n general:  %#v", body, ndjson, imported, fast, slow)
	}
	return fast, ferr
}

// sameError compares two errors by what a client sees; details come in map
// order from the general reader, so they are compared sorted.
func sameError(a, b error) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	ae, aok := a.(*Error)
	be, bok := b.(*Error)
	if !aok || !bok {
		return a.Error() == b.Error()
	}
	sorted := func(d []FieldError) []FieldError {
		d = slices.Clone(d)
		slices.SortFunc(d, func(x, y FieldError) int {
			if x.Index != y.Index {
				return x.Index - y.Index
			}
			return strings.Compare(x.Field+x.Message, y.Field+y.Message)
		})
		return d
	}
	return ae.Code == be.Code && ae.Message == be.Message && reflect.DeepEqual(sorted(ae.Details), sorted(be.Details))
}

// decodeEdges are bodies at every edge the one-pass reader hands back to
// the general reader, or must read exactly as it does.
var decodeEdges = []string{
	`[]`, `[ ]`, `{}`, `[{}]`, `[{},{}]`, `[{} , {} ]`,
	`[` + okEvent + `]`, okEvent, ` ` + okEvent + "\n",
	`[` + okEvent + `,` + okEvent + `]`,
	// Trailing garbage, missing or extra commas, truncation.
	`[` + okEvent + `]]`, `[` + okEvent + `]x`, `[` + okEvent + `,]`, `[,` + okEvent + `]`, `[` + okEvent + okEvent + `]`,
	`[` + okEvent, `[{"namespace":"users"`, `[{"namespace":}]`, `[{"namespace" "users"}]`, `[{namespace:"users"}]`,
	okEvent + `x`, okEvent + `}`, `[5]`, `[null]`, `["x"]`, `[[]]`, `[{}]` + "\u00a0",
	// Every field's wrong types name the field and the index.
	`[{},{"namespace":5}]`, `[{"action":true}]`, `[{"detail":{}}]`, `[{"actor":[]}]`, `[{"ip":1}]`, `[{"id":1.5}]`,
	`[{"timestamp":"yesterday"}]`, `[{"timestamp":"0001-01-01T00:00:00Z"}]`, `[{"timestamp":""}]`, `[{"timestamp":5}]`,
	`[{"timestamp":"2026-11-25T14:03:00.123456789+05:30"}]`,
	`[{"anonymous":true}]`, `[{"anonymous":false,"actor":"x"}]`, `[{"anonymous":true,"actor":"x"}]`, `[{"actor":"Anonymous","anonymous":true}]`,
	`[{"anonymous":null}]`, `[{"anonymous":"yes"}]`, `[{"anonymous":1}]`,
	// Nulls leave a field empty.
	`[{"id":null,"namespace":null,"action":null,"detail":null,"actor":null,"ip":null,"timestamp":null,"targets":null,"metadata":null}]`,
	// Duplicate names: the last wins in the general reader.
	`[{"detail":"a","detail":"b"}]`, `[{"metadata":{"k":"a","k":"b"}}]`, `[{"targets":[{"name":"a","name":"b"}]}]`,
	// Escaped and unusual names.
	`[{"\u0064etail":"x"}]`, `[{"Detail":"x"}]`, `[{"détail":"x"}]`, `[{"targets":[{"Name":"x","TYPE":"y"}]}]`,
	`[{"targets":[{"name":"x","extra":"y"}]}]`, `[{"targets":[{"type":"a","foo":"b"},{"name":"c","id":1}]}]`, `[{"targets":[5,"x",[]]}]`,
	// Unknown and server-set fields.
	`[{"colour":"red"}]`, `[{"received_at":"2026-11-25T10:00:00Z"}]`, `[{"seq":5,"hash":"ab","prev_hash":"cd"}]`,
	`[{"seq":-1.5e+3}]`, `[{"seq":01}]`, `[{"seq":-}]`, `[{"seq":1.}]`, `[{"received_at":{"a":[1,{"b":null}]}}]`,
	`[{"received_at":"\ud800"}]`,
	// Targets and metadata of every shape.
	`[{"targets":[]}]`, `[{"targets":[{}]}]`, `[{"targets":[null]}]`, `[{"targets":{}}]`, `[{"targets":"x"}]`,
	`[{"targets":[{"type":"t","id":"i","name":"n"},{"name":"m"}]}]`, `[{"targets":[{"name":5}]}]`, `[{"targets":[{"name":null}]}]`,
	`[{"metadata":{}}]`, `[{"metadata":[]}]`, `[{"metadata":{"a":null}}]`, `[{"metadata":{"a":5}}]`, `[{"metadata":{"a":{"b":"c"}}}]`,
	`[{"metadata":{"k\u00e9y":"v\n","":"e"}}]`, `[{"metadata":{"\ud800":"v"}}]`,
	// Strings: escapes, surrogates, control characters, invalid UTF-8.
	`[{"detail":"a\"b\\c\/d\b\f\n\r\t"}]`, `[{"detail":"\u00e9\u0000\uFFFD"}]`, `[{"detail":"a\ud83d\ude00b"}]`,
	`[{"detail":"a\ud800b"}]`, `[{"detail":"a\udc00b"}]`, `[{"detail":"\ud800\u0041"}]`, `[{"detail":"\ud83d"}]`, `[{"detail":"\ud83d\ude0"}]`,
	`[{"detail":"a\\ud800b"}]`, `[{"detail":"\x"}]`, `[{"detail":"\u12"}]`, `[{"detail":"\u12g4"}]`, "[{\"detail\":\"a\tb\"}]",
	"[{\"detail\":\"\xff\"}]", "[{\"detail\":\"\xed\xa0\x80\"}]", "[{\"detail\":\"\xe2\x82\"}]", "[{\"detail\":\"caf\xc3\xa9 \xe2\x80\xae\"}]",
	"[{\"detail\":\"\xef\xbf\xbd\"}]", `[{"detail":"x\`, `[{"detail":"x`,
	"[{\"targets\":[{\"name\":\"\xff\"}]}]", "[{\"metadata\":{\"\xff\":\"v\",\"k\":\"\xc0\xaf\"}}]", "[{\"d\xffetail\":\"\xff\"}]",
	"[{\"namespace\":\"users\"}\n,\r\n\t{}]",
}

func TestOnePassReadingMatchesTheGeneralReader(t *testing.T) {
	for _, body := range decodeEdges {
		for _, imported := range []bool{false, true} {
			decodeBoth(t, body, false, imported)
			// Each element as an NDJSON line too.
			if strings.HasPrefix(body, "[{") && strings.HasSuffix(body, "}]") {
				decodeBoth(t, strings.TrimSuffix(strings.TrimPrefix(body, "["), "]")+"\n", true, imported)
			}
		}
	}
}

func TestOnePassReadingStopsAtTheBatchLimit(t *testing.T) {
	for _, n := range []int{MaxBatch, MaxBatch + 1} {
		body := "[" + strings.Repeat(okEvent+",", n-1) + okEvent + "]"
		events, err := decodeBoth(t, body, false, false)
		if n == MaxBatch && (err != nil || len(events) != n) {
			t.Fatalf("%d events: %d, %v", n, len(events), err)
		}
		if n > MaxBatch && ErrorCode(err) != ETOOLARGE {
			t.Fatalf("%d events: %v, want a too-large error", n, err)
		}
	}
}

func TestOnePassReadingKeepsWhatWasSent(t *testing.T) {
	body := `[{"id":"e1","namespace":"users","action":"user_invited","detail":"Invited \"Ann\" \u00e9\ud83d\ude00","actor":"Maya",` +
		`"ip":"10.0.0.1","timestamp":"2026-11-25T14:03:00.5Z","targets":[{"type":"user","id":"u1","name":"Ann"}],"metadata":{"role":"admin"}}]`
	events, err := decodeBoth(t, body, false, false)
	if err != nil || len(events) != 1 {
		t.Fatal(events, err)
	}
	e := events[0]
	if e.ID != "e1" || e.Namespace != Users || e.Action != "user_invited" || e.Detail != "Invited \"Ann\" é😀" || e.Actor != "Maya" ||
		e.IP != "10.0.0.1" || e.Timestamp.Format("15:04:05.0") != "14:03:00.5" ||
		!reflect.DeepEqual(e.Targets, []Target{{Type: "user", ID: "u1", Name: "Ann"}}) || e.Metadata["role"] != "admin" {
		t.Fatalf("%+v", e)
	}
}

func FuzzOnePassReadingMatchesTheGeneralReader(f *testing.F) {
	for _, body := range decodeEdges {
		f.Add(body, false, false)
	}
	f.Add("{\"namespace\":\"users\"}\n{\"detail\":5}\n", true, false)
	f.Add("{\"namespace\":\"users\",\"seq\":3}\n{\"proof\":1}\n", true, true)
	f.Fuzz(func(t *testing.T, body string, ndjson, imported bool) {
		if bytes.Count([]byte(body), []byte("{")) > 2000 {
			return
		}
		decodeBoth(t, body, ndjson, imported)
	})
}
