package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkVerify measures verifying a chain of AUDITLOG_BENCH_EVENTS entries
// (100,000 unless set): entries a second is the figure that matters.
func BenchmarkVerify(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("AUDITLOG_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	s := openTemp(b)
	ctx := context.Background()
	now := time.Now()
	batch := make([]app.Event, 0, app.MaxBatch)
	for i := range n {
		batch = append(batch, app.Event{
			Namespace: app.Namespaces[i%len(app.Namespaces)], Action: "pipeline_run_finished", Actor: "Maya Chen",
			Detail:    fmt.Sprintf("Pipeline \"daily_revenue_rollup\" finished run %d: 120,000 rows in 42s", i),
			Targets:   []app.Target{{Type: "pipeline", ID: "pl_1", Name: "daily_revenue_rollup"}},
			Metadata:  map[string]string{"rows": "120000", "trigger": "schedule"},
			Timestamp: now.Add(-time.Duration(n-i) * time.Second),
		})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.Commit(ctx, app.Commit{Events: batch, ReceivedAt: now}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		v, err := app.VerifyChain(ctx, s, nil, now)
		if err != nil || !v.Intact() || v.Entries != n {
			b.Fatalf("verification = %+v, %v", v, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkCommit measures what one acknowledged request of 1000 events
// costs the store alone (no keyword index beside it): one fsynced
// transaction writing each entry, its chain link and its other keys.
func BenchmarkCommit(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	events := make([]app.Event, app.MaxBatch)
	start := time.Now().Add(-time.Hour)
	round := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer() // building the events is the client's work
		for i := range events {
			n := round*len(events) + i
			events[i] = app.Event{
				ID:        fmt.Sprintf("bench-%d", n),
				Namespace: app.Namespaces[n%len(app.Namespaces)], Action: "pipeline_run_finished", Actor: "Maya Chen",
				Detail:    fmt.Sprintf("Pipeline \"daily_revenue_rollup\" finished run %d: 120,000 rows in 42s", n),
				Targets:   []app.Target{{Type: "pipeline", Name: "daily_revenue_rollup"}},
				IP:        "10.1.2.3",
				Timestamp: start.Add(time.Duration(n) * time.Microsecond),
			}
		}
		round++
		b.StartTimer()
		if _, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*app.MaxBatch), "ns/event")
}

// BenchmarkCommitConcurrent is BenchmarkCommit from 4 clients at once, as
// `auditlog bench` sends: each request of 1000 entries must be durable
// before its answer. ns/event is wall time per entry over all clients.
// The ids the events carry change what a commit writes: numbered ones grow
// within a request, ordered ones (zero-padded) also sort as text in the
// order sent, so both fill the id bucket's pages in order; random ones
// (UUIDv4) each land in a page of their own, which the commit writes
// again, more pages the larger the store (-benchtime 1000x: a million
// entries); and entries sent without one file no id at all.
func BenchmarkCommitConcurrent(b *testing.B) {
	shapes := []struct {
		name string
		id   func(n int) string
	}{
		{"numbered", func(n int) string { return "bench-" + strconv.Itoa(n) }},
		{"ordered", func(n int) string { return fmt.Sprintf("bench-%012d", n) }},
		{"random", func(n int) string { // UUIDv4 text
			h := sha256.Sum256(strconv.AppendInt(nil, int64(n), 10))
			h[6], h[8] = h[6]&0x0f|0x40, h[8]&0x3f|0x80
			return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
		}},
		{"none", func(int) string { return "" }},
	}
	for _, shape := range shapes {
		b.Run(shape.name, func(b *testing.B) { commitConcurrent(b, shape.id) })
	}
}

func commitConcurrent(b *testing.B, id func(n int) string) {
	s := openTemp(b)
	ctx := context.Background()
	start := time.Now().Add(-time.Hour)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(2) // 4 clients on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		events := make([]app.Event, app.MaxBatch)
		for pb.Next() {
			first := int(next.Add(app.MaxBatch)) - app.MaxBatch
			for i := range events {
				n := first + i
				events[i] = app.Event{
					ID:        id(n),
					Namespace: app.Namespaces[n%len(app.Namespaces)], Action: "pipeline_run_finished", Actor: "Maya Chen",
					Detail:    "Pipeline \"daily_revenue_rollup\" finished run " + strconv.Itoa(n) + ": 120,000 rows in 42s",
					Targets:   []app.Target{{Type: "pipeline", Name: "daily_revenue_rollup"}},
					IP:        "10.1.2.3",
					Timestamp: start.Add(time.Duration(n) * time.Microsecond),
				}
			}
			if _, err := s.Commit(ctx, app.Commit{Events: events, ReceivedAt: time.Now()}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*app.MaxBatch), "ns/event")
	b.ReportMetric(float64(b.N*app.MaxBatch)/b.Elapsed().Seconds(), "events/s")
	var used int64
	if err := s.db.View(func(tx *bolt.Tx) error {
		used = int64(tx.Size()) - int64(s.db.Stats().FreePageN+s.db.Stats().PendingPageN)*int64(s.db.Info().PageSize)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used)/float64(b.N*app.MaxBatch), "store-bytes/event")
}

// BenchmarkPending measures reading a drain of 10,000 recorded entries for
// the keyword index, as the indexer does after every batch of requests.
func BenchmarkPending(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	now := time.Now()
	const n = 10_000
	batch := make([]app.Event, 0, app.MaxBatch)
	for i := range n {
		batch = append(batch, app.Event{
			ID:        fmt.Sprintf("0f8e2a54-%04d-4c2e-9d7b-61c3e1a2b%03d", i/1000, i%1000),
			Namespace: app.Namespaces[i%len(app.Namespaces)], Action: "pipeline_run_finished", Actor: "Maya Chen",
			Detail:    fmt.Sprintf("Pipeline \"daily_revenue_rollup\" finished run %d: 120,000 rows in 42s", i),
			Targets:   []app.Target{{Type: "pipeline", ID: "pl_1", Name: "daily_revenue_rollup"}},
			Metadata:  map[string]string{app.MetaTokenFingerprint: "fp_66f9387569", app.MetaTokenID: "tok_j3rh3mrlmqi5"},
			IP:        "10.1.2.3",
			Timestamp: now.Add(-time.Duration(n-i) * time.Second),
		})
		if len(batch) == cap(batch) {
			if _, err := s.Commit(ctx, app.Commit{Events: batch, ReceivedAt: now}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		docs, err := s.Pending(ctx, n)
		if err != nil || len(docs) != n || docs[n-1].Event == nil {
			b.Fatalf("Pending = %d, %v", len(docs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
}
