package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/store"
)

// BenchmarkStartWithADamagedShard measures a start after one day shard's
// root.bolt was cut short: how long until Open returns (the app serves),
// and until that day is searchable again (repaired), with 3,000 entries a
// day over ten days.
func BenchmarkStartWithADamagedShard(b *testing.B) {
	f := &fixture{t: b, dir: b.TempDir(), clock: &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}}
	f.open()
	now := f.clock.Now()
	for d := 1; d <= 10; d++ {
		var events []app.Event
		for i := 0; i < 3000; i++ {
			events = append(events, ev(app.Spaces, "space_created", fmt.Sprintf("Created space %d", i), "bob", time.Duration(d)*24*time.Hour+time.Duration(i)*time.Second, now))
			if len(events) == app.MaxBatch {
				f.record(events...)
				events = nil
			}
		}
	}
	f.waitIndexed()
	f.close()
	day := now.Add(-5 * 24 * time.Hour).Format(time.DateOnly)
	root := filepath.Join(f.dir, "index", day, "store", "root.bolt")
	var open, repaired time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := os.Truncate(root, 3000); err != nil { // into the second meta page
			b.Fatal(err)
		}
		start := time.Now()
		f.open()
		open += time.Since(start)
		f.waitIndexed()
		repaired += time.Since(start)
		if r := f.log.IndexRepairs(); len(r) != 1 || !r[0].Done {
			b.Fatalf("repairs: %+v", r)
		}
		f.close()
	}
	b.ReportMetric(float64(open.Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(repaired.Milliseconds())/float64(b.N), "ms/repaired")
}

// BenchmarkConsistencyCheckAfterACrash measures the start of a store of
// 100,000 entries whose last run did not end cleanly: bbolt's full check
// runs before it opens.
func BenchmarkConsistencyCheckAfterACrash(b *testing.B) {
	dir := b.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for n := 0; n < 100; n++ {
		events := make([]app.Event, 1000)
		for i := range events {
			events[i] = app.Event{Namespace: app.Spaces, Action: "space_created", Detail: fmt.Sprintf("Created space %d", i), Actor: "bob", Timestamp: now.Add(-time.Duration(n*1000+i) * time.Second)}
		}
		if _, err := s.Commit(context.Background(), app.Commit{Events: events, ReceivedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		os.Remove(filepath.Join(dir, store.FileName+".clean"))
		s, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
