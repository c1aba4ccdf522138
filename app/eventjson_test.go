package app

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var jsonHostile = []string{
	"", "plain", `quote " backslash \ slash /`, "<script>&amp;</script>", "\x00\x01\x1f\x7f\b\f\n\r\t",
	"über ☃ 日本 🦊", "bad \xff\xfe utf-8 \xe2\x82", "\u2028\u2029", "+05:30", "'single'",
}

func randomJSONText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(jsonHostile[r.IntN(len(jsonHostile))])
	}
	return b.String()
}

func randomTime(r *rand.Rand) time.Time {
	zones := []*time.Location{time.UTC, time.FixedZone("", 5*3600+1800), time.FixedZone("X", -8*3600), time.Local}
	switch r.IntN(5) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(r.Int64N(1<<33), 0).In(zones[r.IntN(len(zones))])
	default:
		return time.Unix(r.Int64N(1<<33), r.Int64N(1e9)).In(zones[r.IntN(len(zones))])
	}
}

func TestPagesAreWrittenAsEncodingJSONWritesThem(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		p := Page{Next: []string{"", "AAAA-_", randomJSONText(r)}[r.IntN(3)]}
		if r.IntN(10) > 0 {
			p.Events = []Event{}
		}
		for range r.IntN(4) {
			e := Event{
				ID: randomJSONText(r), Timestamp: randomTime(r), Namespace: Namespace(randomJSONText(r)),
				Action: randomJSONText(r), Detail: randomJSONText(r), Actor: randomJSONText(r), IP: randomJSONText(r),
				ReceivedAt: randomTime(r), Seq: r.Uint64N(3) * r.Uint64(), PrevHash: randomJSONText(r), Hash: randomJSONText(r),
			}
			for range r.IntN(3) {
				e.Targets = append(e.Targets, Target{Type: randomJSONText(r), ID: randomJSONText(r), Name: randomJSONText(r)})
			}
			if r.IntN(3) == 0 {
				e.Metadata = map[string]string{}
				for range r.IntN(4) {
					e.Metadata[randomJSONText(r)] = randomJSONText(r)
				}
			}
			p.Events = append(p.Events, e)
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(p); err != nil {
			t.Fatal(err)
		}
		got, err := AppendPageJSON(nil, &p)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("case %d: wrote (%v)\n%s\nencoding/json wrote\n%s", i, err, got, want.Bytes())
		}
	}
}

func TestAPageWithATimeRFC3339CannotHoldFailsAsEncodingJSONDoes(t *testing.T) {
	for _, ts := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)),
	} {
		p := Page{Events: []Event{{ID: "x", Timestamp: ts}}}
		_, want := json.Marshal(p)
		if _, err := AppendPageJSON(nil, &p); (err == nil) != (want == nil) {
			t.Errorf("%v: error %v, encoding/json's %v", ts, err, want)
		}
	}
}

// The API's JSON is written by hand; a field added to Page, Event or Target
// must reach it too. Every field is set here by reflection, so a new one is
// compared with encoding/json without this test having to name it, and a
// field of a kind the filler does not know fails it.
func TestEveryFieldOfAPageReachesItsJSON(t *testing.T) {
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch {
		case v.Type() == reflect.TypeFor[time.Time]():
			v.Set(reflect.ValueOf(time.Date(2026, 11, 26, 9, 30, 0, 123, time.UTC)))
		case v.Kind() == reflect.String:
			v.SetString("a " + v.Type().Name() + " <&>")
		case v.Kind() == reflect.Uint64:
			v.SetUint(42)
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case v.Kind() == reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			fill(v.Index(0))
		case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String && v.Type().Elem().Kind() == reflect.String:
			v.Set(reflect.MakeMap(v.Type()))
			v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), reflect.ValueOf("v").Convert(v.Type().Elem()))
		default:
			t.Fatalf("a field of type %s: teach this test to fill it, and the JSON writer to write it", v.Type())
		}
	}
	var p Page
	fill(reflect.ValueOf(&p).Elem())
	want, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendPageJSON(nil, &p)
	if err != nil || !bytes.Equal(bytes.TrimSuffix(got, []byte("\n")), want) {
		t.Fatalf("wrote (%v)\n%s\nencoding/json wrote\n%s", err, got, want)
	}
}
