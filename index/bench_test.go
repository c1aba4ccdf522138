package index

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"auditlog/app"
)

// Benchmarks search a fixture of AUDITLOG_BENCH_EVENTS realistic entries over
// 30 days (100,000 unless set), built once per test binary run so that every
// benchmark and every -count repetition shares it.
const benchDays = 30

var bench struct {
	once sync.Once
	dir  string
	x    *Index
	err  error
}

var benchNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.x != nil {
		bench.x.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("AUDITLOG_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func benchIndex(b *testing.B) *Index {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "auditlog-index-bench-")
		if bench.err != nil {
			return
		}
		bench.x, bench.err = Open(bench.dir)
		if bench.err != nil {
			return
		}
		n := benchEvents()
		docs := realisticDocs(n, benchNow.Add(-benchDays*24*time.Hour), benchNow, rand.New(rand.NewPCG(7, 8)))
		start := time.Now()
		for i := 0; i < len(docs) && bench.err == nil; i += 1000 {
			bench.err = bench.x.Index(docs[i:min(i+1000, len(docs))], false)
		}
		took := time.Since(start)
		settle(bench.x)
		fmt.Fprintf(os.Stderr, "bench fixture: %d events over %d days indexed in %v (%.0f events/s), merges done after %v\n",
			n, benchDays, took.Round(time.Millisecond), float64(n)/took.Seconds(), time.Since(start).Round(time.Millisecond))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.x
}

// settle waits for Bleve's background merges to finish, so that they do not
// compete with the first benchmarks for the CPU.
func settle(x *Index) {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		busy := false
		x.mu.RLock()
		for _, shard := range x.shards {
			stats, _ := shard.StatsMap()["index"].(map[string]interface{})
			if active, _ := stats["index_bgthreads_active"].(bool); active {
				busy = true
			}
		}
		x.mu.RUnlock()
		if !busy {
			return
		}
	}
}

// realisticDocs makes n entries between from and to, in key order as the
// store hands them over, with the vocabulary of a data platform's audit log.
func realisticDocs(n int, from, to time.Time, r *rand.Rand) []app.IndexDoc {
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	people := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin"}
	robots := []string{"ci-deploy", "airflow-sync", "dbt-runner", "terraform"}
	subjects := []string{"orders", "customers", "invoices", "events", "sessions", "inventory", "payments", "marketing", "finance", "churn"}
	cadences := []string{"daily", "hourly", "sync", "backfill", "export", "load", "rollup"}
	systems := []string{"Snowflake", "Postgres", "BigQuery", "Salesforce", "S3", "Kafka", "MySQL", "Redshift"}
	envs := []string{"Prod", "Staging", "EU", "US", "Analytics"}
	spaces := []string{"Marketing Analytics", "Finance", "Data Platform", "Growth", "Customer Success", "Operations"}
	reasons := []string{"timeout after 30m", "connection refused", "schema mismatch in column amount", "quota exceeded", "permission denied"}
	roles := []string{"Viewer", "Editor", "Admin", "Owner"}

	type kind struct {
		ns      app.Namespace
		action  string
		weight  int
		typ     string
		name    func() string
		details string // fmt with the object name, then an extra word
		extra   func() string
	}
	pipeline := func() string { return pick(subjects) + "_" + pick(cadences) }
	connection := func() string { return pick(systems) + " " + pick(envs) }
	product := func() string { return pick(subjects) + " " + pick([]string{"Dashboard", "Report", "Dataset", "Model"}) }
	space := func() string { return pick(spaces) }
	person := func() string { return pick(people) + "@acme.io" }
	token := func() string { return pick(robots) + "-" + strconv.Itoa(r.IntN(20)) }
	none := func() string { return "" }
	kinds := []kind{
		{app.DataPipelines, "pipeline_run_started", 30, "pipeline", pipeline, "Pipeline %s started%s", none},
		{app.DataPipelines, "pipeline_run_succeeded", 25, "pipeline", pipeline, "Pipeline %s succeeded in %s", func() string { return strconv.Itoa(1+r.IntN(90)) + " minutes" }},
		{app.DataPipelines, "pipeline_run_failed", 4, "pipeline", pipeline, "Pipeline %s failed: %s", func() string { return pick(reasons) }},
		{app.DataPipelines, "pipeline_updated", 3, "pipeline", pipeline, "Updated schedule of pipeline %s%s", none},
		{app.Connections, "connection_tested", 8, "connection", connection, "Tested connection %s%s", none},
		{app.Connections, "connection_updated", 2, "connection", connection, "Updated credentials of connection %s%s", none},
		{app.Connections, "connection_created", 1, "connection", connection, "Created connection %s%s", none},
		{app.DataProducts, "product_published", 4, "data_product", product, "Published data product %s version %s", func() string { return strconv.Itoa(1 + r.IntN(40)) }},
		{app.DataProducts, "product_updated", 3, "data_product", product, "Updated description of %s%s", none},
		{app.Spaces, "space_member_added", 2, "space", space, "Added a member to space %s as %s", func() string { return pick(roles) }},
		{app.Spaces, "space_updated", 1, "space", space, "Renamed space %s%s", none},
		{app.Users, "user_login", 10, "user", person, "Signed in %s from a new device%s", none},
		{app.Users, "user_invited", 1, "user", person, "Invited %s as %s", func() string { return pick(roles) }},
		{app.ServiceUsers, "service_user_created", 1, "service_user", func() string { return pick(robots) }, "Created service user %s%s", none},
		{app.APITokens, "token_used", 5, "api_token", token, "Token %s used by %s", func() string { return pick(robots) }},
		{app.APITokens, "token_created", 1, "api_token", token, "Created token %s for %s", func() string { return pick(robots) }},
		{app.APITokens, "token_revoked", 1, "api_token", token, "Revoked token %s%s", none},
	}
	total := 0
	for _, k := range kinds {
		total += k.weight
	}

	span := to.Sub(from)
	docs := make([]app.IndexDoc, n)
	for i := range docs {
		w := r.IntN(total)
		k := kinds[0]
		for _, c := range kinds {
			if w < c.weight {
				k = c
				break
			}
			w -= c.weight
		}
		name := k.name()
		actor := pick(people) + "@acme.io"
		if r.IntN(3) == 0 {
			actor = pick(robots)
		}
		ts := from.Add(time.Duration(r.Int64N(int64(span))))
		docs[i] = app.IndexDoc{
			Key: app.MakeKey(ts, uint64(i+1)),
			Event: &app.Event{
				Timestamp: ts,
				Namespace: k.ns,
				Action:    k.action,
				Actor:     actor,
				Detail:    fmt.Sprintf(k.details, name, k.extra()),
				Targets:   []app.Target{{Type: k.typ, ID: fmt.Sprintf("%s_%06d", k.typ[:3], r.IntN(5000)), Name: name}},
			},
		}
	}
	slices.SortFunc(docs, func(a, b app.IndexDoc) int { return cmp.Compare(a.Key.String(), b.Key.String()) })
	return docs
}

// BenchmarkIndexing measures live ingest: batches of 1000 entries of the
// current day into a fresh index. One op is one entry.
func BenchmarkIndexing(b *testing.B) {
	x, _ := openTemp(b)
	docs := realisticDocs(max(b.N, 1000)+1, benchNow.Add(-12*time.Hour), benchNow, rand.New(rand.NewPCG(9, 10)))
	// The day's shard exists already, as it does for all but the first batch of a day.
	if err := x.Index(docs[len(docs)-1:], false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += 1000 {
		if err := x.Index(docs[i:min(i+1000, b.N)], false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// benchSearch reports the median and the 90th percentile besides the mean,
// which a few slow outliers (a busy machine, a page fault) can dominate.
func benchSearch(b *testing.B, query string, pages int) {
	x := benchIndex(b)
	q, err := app.ParseQuery(query, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	// Later pages start from the cursor a reader would have reached.
	var cursor app.Key
	for range pages - 1 {
		keys, err := x.Search(&q, cursor, 50)
		if err != nil || len(keys) < 50 {
			b.Fatalf("page setup: %d keys, %v", len(keys), err)
		}
		cursor = keys[len(keys)-1]
	}
	took := make([]time.Duration, 0, b.N)
	hits := 0
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		start := time.Now()
		keys, err := x.Search(&q, cursor, 50)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		hits = len(keys)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(took[len(took)*9/10].Microseconds())/1000, "ms-p90")
	b.ReportMetric(float64(hits), "hits")
}

func BenchmarkSearchKeyword(b *testing.B)     { benchSearch(b, "failed ", 1) }
func BenchmarkSearchRareKeyword(b *testing.B) { benchSearch(b, "quota ", 1) }
func BenchmarkSearchTwoWords(b *testing.B)    { benchSearch(b, "orders daily ", 1) }
func BenchmarkSearchNoMatch(b *testing.B)     { benchSearch(b, "kubernetes ", 1) }
func BenchmarkSearchNamespaceKeyword(b *testing.B) {
	benchSearch(b, "namespace:api_tokens terraform ", 1)
}
func BenchmarkSearchTypedPrefix(b *testing.B)         { benchSearch(b, "snowf", 1) }
func BenchmarkSearchOneLetterPrefix(b *testing.B)     { benchSearch(b, "s", 1) }
func BenchmarkSearchHyphenatedWord(b *testing.B)      { benchSearch(b, "ci-deploy ", 1) }
func BenchmarkSearchPhrase(b *testing.B)              { benchSearch(b, `"schema mismatch"`, 1) }
func BenchmarkSearchActionPrefix(b *testing.B)        { benchSearch(b, "action:token_*", 1) }
func BenchmarkSearchExclusionOnly(b *testing.B)       { benchSearch(b, "-pipeline", 1) }
func BenchmarkSearchKeywordTenthPage(b *testing.B)    { benchSearch(b, "failed ", 10) }
func BenchmarkSearchPrefixTwentiethPage(b *testing.B) { benchSearch(b, "s", 20) }
func BenchmarkSearchKeywordLastWeek(b *testing.B) {
	benchSearch(b, "failed after:2026-11-18T15:30:00Z", 1)
}
func BenchmarkSearchKeywordOlderThanAWeek(b *testing.B) {
	benchSearch(b, "failed before:2026-11-18T15:30:00Z", 1)
}

func benchTally(b *testing.B, query string) {
	x := benchIndex(b)
	q, err := app.ParseQuery(query, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := x.Tally(&q, func(app.TallyCell, int) {}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTallyKeyword(b *testing.B)    { benchTally(b, "failed ") }
func BenchmarkTallyEverything(b *testing.B) { benchTally(b, "") }
