package cli

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"auditlog/app"
)

// BenchmarkDecodeBatch decodes the body `auditlog bench` posts: 1000 of its
// realistic events as one JSON array, and the same as NDJSON. ns/event is
// the figure to compare; allocs/op divided by 1000 is allocs per event.
func BenchmarkDecodeBatch(b *testing.B) {
	wire := wireEvents(benchEvents(time.Now(), benchMonth, app.MaxBatch, 1, idsNumbered))
	array, err := json.Marshal(wire)
	if err != nil {
		b.Fatal(err)
	}
	var ndjson []byte
	for _, e := range wire {
		line, err := json.Marshal(e)
		if err != nil {
			b.Fatal(err)
		}
		ndjson = append(append(ndjson, line...), '\n')
	}
	for _, c := range []struct {
		name   string
		body   []byte
		ndjson bool
	}{{"array", array, false}, {"ndjson", ndjson, true}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				events, err := app.DecodeRequest(bytes.NewReader(c.body), c.ndjson)
				if err != nil || len(events) != app.MaxBatch {
					b.Fatalf("decoded %d events: %v", len(events), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*app.MaxBatch), "ns/event")
		})
	}
}
