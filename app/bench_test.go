package app_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/demo"
	"auditlog/app/store"
)

// Benchmarks run against a Log holding AUDITLOG_BENCH_EVENTS entries (100,000
// unless set) of demo activity over 30 days, built once per test binary.
var benchLog struct {
	once sync.Once
	dir  string
	log  *app.Log
	err  error
}

func benchEvents(n int, now time.Time) []app.Event {
	var all []app.Event
	for seed := int64(1); len(all) < n; seed++ {
		all = append(all, demo.Events(now, seed)...)
	}
	all = all[:n]
	slices.SortFunc(all, func(a, b app.Event) int { return a.Timestamp.Compare(b.Timestamp) })
	return all
}

func openBenchLog(b *testing.B) *app.Log {
	b.Helper()
	benchLog.once.Do(func() {
		n := 100_000
		if v, err := strconv.Atoi(os.Getenv("AUDITLOG_BENCH_EVENTS")); err == nil && v > 0 {
			n = v
		}
		benchLog.dir, benchLog.err = os.MkdirTemp("", "auditlog-bench-")
		if benchLog.err != nil {
			return
		}
		dir := benchLog.dir
		var st *store.Store
		if st, benchLog.err = store.Open(dir); benchLog.err != nil {
			return
		}
		benchLog.log, benchLog.err = app.Open(app.Config{Store: st, OpenIndex: indexIn(dir)})
		if benchLog.err != nil {
			return
		}
		events := benchEvents(n, time.Now())
		start := time.Now()
		for i := 0; i < len(events); i += app.MaxBatch {
			if _, benchLog.err = benchLog.log.Record(context.Background(), events[i:min(i+app.MaxBatch, len(events))]); benchLog.err != nil {
				return
			}
		}
		recorded := time.Since(start)
		benchLog.err = benchLog.log.WaitIndexed(context.Background())
		fmt.Fprintf(os.Stderr, "bench fixture: %d events recorded in %v, indexed after %v\n", n, recorded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	})
	if benchLog.err != nil {
		b.Fatal(benchLog.err)
	}
	return benchLog.log
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchLog.log != nil {
		benchLog.log.Close()
		os.RemoveAll(benchLog.dir)
	}
	os.Exit(code)
}

// BenchmarkRecord measures durable appends: 1000 events per request, each
// request one fsynced transaction.
func BenchmarkRecord(b *testing.B) {
	dir := b.TempDir()
	log, err := app.Open(configIn(b, dir))
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	events := benchEvents(app.MaxBatch, time.Now())
	// Real ingestion appends at the newest end of the keys: stamp each batch
	// just before now, later than the one before.
	start := time.Now().Add(-time.Minute)
	round := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range events {
			events[i].Timestamp = start.Add(time.Duration(round*len(events)+i) * time.Microsecond)
		}
		round++
		if _, err := log.Record(context.Background(), events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*app.MaxBatch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*app.MaxBatch), "ns/event")
}

func benchSearch(b *testing.B, q string, limit int) {
	log := openBenchLog(b)
	query, err := app.ParseQuery(q, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := log.Search(context.Background(), query, "", limit); err != nil {
			b.Fatal(err)
		}
	}
}

// The page's first view: the 50 newest entries, no filter (from the store).
func BenchmarkSearchNewest50(b *testing.B) { benchSearch(b, "", 50) }

// The namespace filter alone (from the store's namespace keys).
func BenchmarkSearchNamespace50(b *testing.B) { benchSearch(b, "namespace:api_tokens", 50) }

// Two namespaces at once (from the index).
func BenchmarkSearchTwoNamespaces50(b *testing.B) {
	benchSearch(b, "namespace:service_users namespace:api_tokens", 50)
}

// A keyword (from the index, then the store).
func BenchmarkSearchKeyword50(b *testing.B) { benchSearch(b, "snowflake", 50) }

// A rare keyword, which makes the index walk every day.
func BenchmarkSearchRareKeyword50(b *testing.B) { benchSearch(b, "ci-deploy", 50) }

// A word that matches nothing.
func BenchmarkSearchNoMatch(b *testing.B) { benchSearch(b, "zzzqqq", 50) }

// Namespace counts and the activity chart for the whole window, no keyword.
func BenchmarkTallyAll(b *testing.B) {
	log := openBenchLog(b)
	for b.Loop() {
		if _, err := log.Tally(context.Background(), app.Query{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Namespace counts and chart for a keyword.
func BenchmarkTallyKeyword(b *testing.B) {
	log := openBenchLog(b)
	q, _ := app.ParseQuery("snowflake", time.UTC)
	for b.Loop() {
		if _, err := log.Tally(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExport writes every entry of the fixture as NDJSON and reports the
// allocations and the peak heap: both must stay flat as the log grows, since
// an export streams page by page. Run with AUDITLOG_BENCH_EVENTS=200000.
func BenchmarkExport(b *testing.B) {
	log := openBenchLog(b)
	for _, format := range []app.ExportFormat{app.NDJSON, app.CSV} {
		b.Run(string(format), func(b *testing.B) {
			var peak uint64
			done := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					select {
					case <-done:
						return
					case <-time.After(10 * time.Millisecond):
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapInuse)
					}
				}
			}()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				var err error
				if n, err = log.Export(context.Background(), app.Query{}, io.Discard, app.ExportOptions{Format: format}); err != nil {
					b.Fatal(err)
				}
			}
			close(done)
			b.ReportMetric(float64(n), "entries")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkRecordOneAtATime measures many clients each sending single events
// at once, the way webhooks arrive: each must be durable before its answer.
func BenchmarkRecordOneAtATime(b *testing.B) {
	dir := b.TempDir()
	log, err := app.Open(configIn(b, dir))
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := app.Event{Namespace: app.Users, Action: "user_signed_in", Detail: "Signed in", Actor: "Maya Chen"}
			if _, err := log.Record(context.Background(), []app.Event{e}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// The page's form of the counts: per-slot rows, no keyword (the store's counters).
func BenchmarkSlotCountsAll(b *testing.B) {
	log := openBenchLog(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := log.SlotCounts(context.Background(), app.Query{}); err != nil {
			b.Fatal(err)
		}
	}
}

// The page's form of the counts for a keyword (the index's facets).
func BenchmarkSlotCountsKeyword(b *testing.B) {
	log := openBenchLog(b)
	q, _ := app.ParseQuery("snowflake", time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := log.SlotCounts(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}
