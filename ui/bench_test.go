package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/demo"
	"auditlog/app/logtest"
	"auditlog/ui"
)

// The benchmarks run the real handler over a Log holding
// AUDITLOG_BENCH_EVENTS entries (100,000 unless set) of demo activity over
// 30 days, in a workspace in Europe/Berlin, built once per test binary. With
// AUDITLOG_BENCH_DIR set, the Log is kept there and reused by the next run.
var benchPage struct {
	once    sync.Once
	dir     string
	log     *app.Log
	handler http.Handler
	remove  bool   // the directory is the benchmarks' own
	cookie  string // the launch session's cookie
	token   string // a read token for the API
	err     error
}

func openBenchPage(b *testing.B) {
	b.Helper()
	benchPage.once.Do(func() {
		n := 100_000
		if v, err := strconv.Atoi(os.Getenv("AUDITLOG_BENCH_EVENTS")); err == nil && v > 0 {
			n = v
		}
		keep := os.Getenv("AUDITLOG_BENCH_DIR")
		if benchPage.dir = keep; keep == "" {
			if benchPage.dir, benchPage.err = os.MkdirTemp("", "auditlog-ui-bench-"); benchPage.err != nil {
				return
			}
			benchPage.remove = true
		}
		log, err := app.Open(logtest.Config(b, benchPage.dir))
		if benchPage.err = err; err != nil {
			return
		}
		benchPage.log = log
		if !log.IsEmpty() {
			n = 0 // kept from an earlier run
		}
		ctx := context.Background()
		if _, benchPage.err = log.ChangeSettings(ctx, acmeBerlin(), "Bench"); benchPage.err != nil {
			return
		}
		var events []app.Event
		for seed := int64(1); len(events) < n; seed++ {
			events = append(events, demo.Events(log.Now(), seed)...)
		}
		events = events[:min(n, len(events))]
		slices.SortFunc(events, func(a, b app.Event) int { return a.Timestamp.Compare(b.Timestamp) })
		start := time.Now()
		for i := 0; i < len(events); i += app.MaxBatch {
			if _, benchPage.err = log.Record(ctx, events[i:min(i+app.MaxBatch, len(events))]); benchPage.err != nil {
				return
			}
		}
		if benchPage.err = log.WaitIndexed(ctx); benchPage.err != nil {
			return
		}
		// The check of the chain that opening starts would run beside the
		// first benchmark: wait for it (one check waits for the other).
		if _, benchPage.err = log.VerifyNow(ctx); benchPage.err != nil {
			return
		}
		fmt.Fprintf(os.Stderr, "bench fixture: %d events recorded and indexed in %v\n", n, time.Since(start).Round(time.Millisecond))
		if benchPage.token, _, benchPage.err = log.CreateToken(ctx, "bench", []app.Scope{app.ScopeRead}, "Bench"); benchPage.err != nil {
			return
		}
		s := ui.NewServer(log)
		benchPage.handler = s.Handler()
		rec := serveLocal(benchPage.handler, s.LaunchURL("http://127.0.0.1:7410"), nil)
		for _, c := range rec.Result().Cookies() {
			benchPage.cookie = c.Name + "=" + c.Value
		}
		if benchPage.cookie == "" {
			benchPage.err = fmt.Errorf("the launch URL set no cookie: %d %s", rec.Code, rec.Body)
		}
	})
	if benchPage.err != nil {
		b.Fatal(benchPage.err)
	}
}

// serveLocal runs one request through h as if from this computer.
func serveLocal(h http.Handler, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = "127.0.0.1:7410"
	req.RemoteAddr = "127.0.0.1:50000"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchPage.log != nil {
		benchPage.log.Close()
	}
	if benchPage.remove {
		os.RemoveAll(benchPage.dir)
	}
	os.Exit(code)
}

// benchQueries is the query mix of the benchmarks, as the page's parameters.
var benchQueries = []struct{ name, params string }{
	{"Newest", ""},
	{"Namespace", "namespace=connections"},
	{"Word", "q=pipeline"},
	{"TwoWords", "q=" + url.QueryEscape("snowflake connection")},
	{"Actor", "q=" + url.QueryEscape("actor:maya")},
	{"RareWord", "q=ci-deploy"},
	{"NoMatch", "q=zzzqqq"},
	{"Last24Hours", "q=pipeline&after=" + url.QueryEscape(time.Now().Add(-24*time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339))},
}

func benchGet(b *testing.B, target string, header map[string]string) {
	b.ReportAllocs()
	for b.Loop() {
		rec := serveLocal(benchPage.handler, target, header)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %.300s", target, rec.Code, rec.Body)
		}
	}
}

// BenchmarkPagePartial is the search partial htmx asks for on every
// keystroke: the rows, the namespace counts and the chart.
func BenchmarkPagePartial(b *testing.B) {
	openBenchPage(b)
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			benchGet(b, ui.PagePath+"?"+q.params, map[string]string{"Cookie": benchPage.cookie, "HX-Request": "true"})
		})
	}
}

// BenchmarkPageScroll is the infinite scroll's next rows, twenty pages into
// a keyword search.
func BenchmarkPageScroll(b *testing.B) {
	openBenchPage(b)
	header := map[string]string{"Cookie": benchPage.cookie, "HX-Request": "true"}
	target := ui.PagePath + "?q=pipeline"
	for range 19 {
		rec := serveLocal(benchPage.handler, target, header)
		i := strings.Index(rec.Body.String(), `hx-get="`+ui.PagePath+"?q=pipeline&amp;cursor=")
		if i < 0 {
			b.Fatalf("no next page in %.300s", rec.Body)
		}
		rest := rec.Body.String()[i+len(`hx-get="`):]
		target = strings.ReplaceAll(rest[:strings.IndexByte(rest, '"')], "&amp;", "&")
	}
	benchGet(b, target, header)
}

// BenchmarkAPIList is GET /api/v1/events with 50 entries a page.
func BenchmarkAPIList(b *testing.B) {
	openBenchPage(b)
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			params := "limit=50"
			if q.params != "" {
				params += "&" + q.params
			}
			benchGet(b, "/api/v1/events?"+params, map[string]string{"Authorization": "Bearer " + benchPage.token})
		})
	}
}
