package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"auditlog/app"
	"auditlog/app/store"
	"auditlog/index"
	"auditlog/ui"
)

// bench measures the figures the README's Benchmarks table promises, end to
// end: the real server on a loopback port, the real HTTP API, a real data
// directory. The numbers belong to the machine it ran on, so it says which.
// maxBenchEvents bounds --events by what a laptop's memory holds.
const maxBenchEvents = 10_000_000

func (m *Main) bench(ctx context.Context, args []string) error {
	fs, data := m.flagSet("bench", "bench [--events N] [--clients C] [--ids numbered|ordered|random|none] [--data DIR]",
		"Ingest a generated month of events over HTTP, search, restart and purge, and print one table of the figures beside their targets.\nWithout --data it works in a temporary directory and removes it.")
	events := fs.Int("events", 1_000_000, "how many events the month holds")
	clients := fs.Int("clients", 4, "HTTP clients sending batches of 1000 at once")
	rounds := fs.Int("rounds", 30, "how many times each query is timed")
	ids := fs.String("ids", idsNumbered, "the ids the events carry: numbered (bench-1-42: growing within each request), ordered (UUIDv7), random (UUIDv4) or none (the server makes them)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server included) to this file, for go tool pprof")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the whole run to this file")
	if err := m.parseNone(fs, args); err != nil {
		return err
	}
	// The month is generated, and its requests encoded, in memory before
	// the clock starts: ten million events take several GB.
	if *events < 1000 || *events > maxBenchEvents || *clients < 1 || *clients > 256 || *rounds < 1 || *rounds > 100_000 {
		return usageError{fmt.Sprintf("bench: --events must be from 1000 to %d, --clients from 1 to 256 and --rounds from 1 to 100000", maxBenchEvents)}
	}
	if !slices.Contains(idShapes, *ids) {
		return usageError{fmt.Sprintf("bench: --ids must be one of %s, not %q", strings.Join(idShapes, ", "), *ids)}
	}
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "auditlog-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return usageError{fmt.Sprintf("bench: --data %s is not empty; the bench needs a directory of its own", dir)}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			if f, err := os.Create(*memProfile); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	b := &benchRun{m: m, dir: dir, events: *events, clients: *clients, rounds: *rounds, ids: *ids}
	defer b.stop()
	if err := b.run(ctx); err != nil {
		return err
	}
	b.print(m.Stdout)
	return nil
}

type benchRun struct {
	m                       *Main
	dir                     string
	events, clients, rounds int
	ids                     string       // the shape of the events' ids: one of idShapes
	shift                   atomic.Int64 // how far the Log's clock is ahead of the wall clock
	start                   time.Time    // the wall clock when the month was generated
	log                     *app.Log
	srv                     *ui.Server
	token                   string
	page                    *http.Client // holds the launch session's cookie
	api                     *http.Client
	rows                    []benchRow
	ingested                int
}

type benchRow struct{ figure, got, target string }

func (b *benchRun) add(figure, got, target string) {
	b.rows = append(b.rows, benchRow{figure, got, target})
}

func (b *benchRun) say(format string, a ...any) {
	fmt.Fprintf(b.m.Stderr, "bench: "+format+"\n", a...)
}

// open starts the Log and the server on a free loopback port, and signs the
// page's client in through the launch URL as a person at the page would.
func (b *benchRun) open() error {
	st, err := store.Open(b.dir)
	if err != nil {
		return err
	}
	key, err := store.SigningKey(b.dir)
	if err != nil {
		st.Close()
		return err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.log, err = app.Open(app.Config{
		Store:     st,
		Signer:    key,
		OpenIndex: func() (app.SearchIndex, error) { return index.Open(filepath.Join(b.dir, "index")) },
		Operator:  "bench",
		Now:       func() time.Time { return time.Now().Add(time.Duration(b.shift.Load())) },
		Logger:    quiet,
	})
	if err != nil {
		return err
	}
	b.srv = ui.NewServer(b.log)
	b.srv.Logger = quiet
	b.srv.LocalUser = "bench"
	if err := b.srv.Open(); err != nil {
		b.log.Close()
		b.log = nil
		return err
	}
	jar, _ := cookiejar.New(nil)
	b.page = &http.Client{Jar: jar, Timeout: time.Minute}
	resp, err := b.page.Get(b.srv.LaunchURL(b.srv.URL()))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: the launch URL answered %s", resp.Status)
	}
	return nil
}

func (b *benchRun) stop() {
	if b.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b.srv.Close(ctx)
		cancel()
		b.srv = nil
	}
	if b.log != nil {
		b.log.Close()
		b.log = nil
	}
}

func (b *benchRun) run(ctx context.Context) error {
	b.say("%d events, %d clients, %s ids, data in %s", b.events, b.clients, b.ids, b.dir)
	if err := b.open(); err != nil {
		return err
	}
	secret, _, err := b.log.CreateToken(ctx, "bench", []app.Scope{app.ScopeIngest, app.ScopeRead}, "bench")
	if err != nil {
		return err
	}
	b.token = secret
	b.api = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: b.clients + 4}}

	// An import: a month of events, spread over 29 days, then searchable.
	b.start = time.Now()
	month, err := encodeBatches(benchEvents(b.start, benchMonth, b.events, 1, b.ids))
	if err != nil {
		return err
	}
	began := time.Now()
	cpuBegan, cpuKnown := cpuTime()
	if err := b.ingest(ctx, month, "import"); err != nil {
		return err
	}
	acked := time.Since(began)
	b.ingested += month.events
	if err := b.waitIndexed(ctx); err != nil {
		return err
	}
	searchable := time.Since(began)
	cpuEnded, _ := cpuTime()
	b.add("acknowledged ingest, batches of 1000", rate(month.events, acked), "≥ 100,000 events/s")
	b.add("ingest → searchable, a month (import)", rate(month.events, searchable), "≥ 40,000 events/s")
	if cpu := cpuEnded - cpuBegan; cpuKnown && cpu > 0 {
		// On a shared machine the rates above say how much of it the run
		// got; the CPU time per entry says what the work costs.
		perEntry := cpu / time.Duration(month.events)
		b.add("CPU per entry, the import (clients, server, index)",
			fmt.Sprintf("%.0f µs with %.2f cores busy on average; %s events/s if it had all %d", float64(perEntry)/float64(time.Microsecond),
				cpu.Seconds()/searchable.Seconds(), groupThousands(runtime.NumCPU()*int(time.Second/perEntry)), runtime.NumCPU()), "–")
	}

	if err := b.queries(ctx); err != nil {
		return err
	}
	if err := b.live(ctx); err != nil {
		return err
	}
	if err := b.footprint(); err != nil {
		return err
	}
	if err := b.restart(); err != nil {
		return err
	}
	if err := b.purge(ctx); err != nil {
		return err
	}
	b.add("anonymous memory while serving", anonMemory(), "–")
	return nil
}

// waitIndexed waits until every entry is searchable, saying meanwhile how
// long it has waited and how large the index has grown.
func (b *benchRun) waitIndexed(ctx context.Context) error {
	b.say("waiting until every entry is searchable")
	done := make(chan error, 1)
	go func() { done <- b.log.WaitIndexed(ctx) }()
	began := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			_, idx, _ := diskUse(b.dir)
			b.say("still indexing after %.0f s; the index holds %d MB", time.Since(began).Seconds(), idx>>20)
		}
	}
}

// batches are events encoded as the requests that send them, 1000 a request.
type batches struct {
	bodies [][]byte
	events int
}

// encodeBatches encodes events for ingest. It runs before the clock starts:
// the figures are the server's, and a producer encodes its events on a
// machine of its own. Encoding a million took about 1.7 s of one core,
// during which nothing was sent.
func encodeBatches(events []app.Event) (batches, error) {
	out := batches{events: len(events)}
	for start := 0; start < len(events); start += app.MaxBatch {
		body, err := json.Marshal(wireEvents(events[start:min(start+app.MaxBatch, len(events))]))
		if err != nil {
			return batches{}, err
		}
		out.bodies = append(out.bodies, body)
	}
	return out, nil
}

// ingest posts the batches from b.clients clients at once.
func (b *benchRun) ingest(ctx context.Context, sent batches, what string) error {
	bodies := sent.bodies
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, b.clients)
	for range b.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				if err := b.post(ctx, bodies[i]); err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			b.say("%s: %d/%d batches acknowledged", what, done.Load(), len(bodies))
			select {
			case err := <-errs:
				return err
			default:
				return ctx.Err()
			}
		case <-tick.C:
			b.say("%s: %d/%d batches acknowledged", what, done.Load(), len(bodies))
		}
	}
}

// wireEvent is an event as a producer sends it: what the server stamps is left out.
type wireEvent struct {
	ID        string       `json:"id,omitempty"`
	Timestamp time.Time    `json:"timestamp"`
	Namespace string       `json:"namespace"`
	Action    string       `json:"action"`
	Detail    string       `json:"detail"`
	Actor     string       `json:"actor"`
	Targets   []app.Target `json:"targets,omitempty"`
	IP        string       `json:"ip,omitempty"`
}

func wireEvents(events []app.Event) []wireEvent {
	out := make([]wireEvent, len(events))
	for i, e := range events {
		out[i] = wireEvent{e.ID, e.Timestamp, string(e.Namespace), e.Action, e.Detail, e.Actor, e.Targets, e.IP}
	}
	return out
}

func (b *benchRun) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.URL()+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("bench: POST /api/v1/events answered %s: %.300s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// get fetches path with the API token, or with the page's session as htmx
// does when partial is set, and returns the body.
func (b *benchRun) get(ctx context.Context, path string, partial bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL()+path, nil)
	if err != nil {
		return nil, err
	}
	c := b.api
	if partial {
		c = b.page
		req.Header.Set("HX-Request", "true")
	} else {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("bench: GET %s answered %s: %.200s", path, resp.Status, body)
	}
	return body, err
}

// benchQuery is one query of the mix; q goes in the q parameter.
type benchQuery struct{ name, q, namespace string }

var benchMix = []benchQuery{
	{name: "newest 50, no filter"},
	{name: "one namespace, 50", namespace: string(app.Connections)},
	{name: "one word", q: "pipeline"},
	{name: "two words", q: "schedule changed"},
	{name: "a person (actor:)", q: "actor:" + strconv.Quote(benchPeople[3])},
	{name: "a rare word", q: benchRare},
	{name: "a word that matches nothing", q: "xylophonist"},
}

func (q benchQuery) params() url.Values {
	v := url.Values{}
	if q.q != "" {
		v.Set("q", q.q)
	}
	if q.namespace != "" {
		v.Set("namespace", q.namespace)
	}
	return v
}

// time runs fetch rounds times after one warm-up and returns the durations, sorted.
func (b *benchRun) time(rounds int, fetch func() error) ([]time.Duration, error) {
	if err := fetch(); err != nil {
		return nil, err
	}
	ds := make([]time.Duration, 0, rounds)
	for range rounds {
		t := time.Now()
		if err := fetch(); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t))
	}
	slices.Sort(ds)
	return ds, nil
}

func (b *benchRun) queries(ctx context.Context) error {
	b.say("timing the query mix over the API and the page's partial")
	var apiAll, partAll []time.Duration
	for _, q := range benchMix {
		v := q.params()
		v.Set("limit", "50")
		ds, err := b.time(b.rounds, func() error { _, err := b.get(ctx, "/api/v1/events?"+v.Encode(), false); return err })
		if err != nil {
			return err
		}
		apiAll = append(apiAll, ds...)
		target := "≤ 1 ms / ≤ 3 ms"
		if q.q == "xylophonist" {
			target = "≤ 0.5 ms p50"
		}
		b.add("API: "+q.name+", p50 / p95", pair(ds, 50, 95), target)
		pv := q.params()
		ps, err := b.time(b.rounds, func() error { _, err := b.get(ctx, ui.PagePath+"?"+pv.Encode(), true); return err })
		if err != nil {
			return err
		}
		partAll = append(partAll, ps...)
	}
	// Page 20 of a keyword query: follow the cursor nineteen times, then time
	// the twentieth (or the last, in a month too small to have twenty).
	v := url.Values{"q": {"pipeline"}, "limit": {"50"}}
	page := 1
	for ; page < 20; page++ {
		body, err := b.get(ctx, "/api/v1/events?"+v.Encode(), false)
		if err != nil {
			return err
		}
		var p app.Page
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if p.Next == "" {
			break
		}
		v.Set("cursor", p.Next)
	}
	ds, err := b.time(b.rounds, func() error { _, err := b.get(ctx, "/api/v1/events?"+v.Encode(), false); return err })
	if err != nil {
		return err
	}
	apiAll = append(apiAll, ds...)
	b.add(fmt.Sprintf("API: deep paging, page %d of a keyword query, p50", page), ms(pct(ds, 50)), "≤ 5 ms (page 20)")
	slices.Sort(apiAll)
	b.add("API: the whole mix, p50 / p95", pair(apiAll, 50, 95), "≤ 1 ms / ≤ 3 ms")
	slices.Sort(partAll)
	b.add("page partial, counts and chart, idle, p50 / p99", pair(partAll, 50, 99), "≤ 10 ms / ≤ 50 ms")
	return nil
}

// live ingests events stamped now, as live traffic does, while the page's
// partial is searched: the figure for traffic and the partial under load.
func (b *benchRun) live(ctx context.Context) error {
	n := max(b.events/10, app.MaxBatch)
	// Within the last minute, in order: live traffic.
	events, err := encodeBatches(benchEvents(time.Now(), time.Minute, n, 2, b.ids))
	if err != nil {
		return err
	}
	b.say("live traffic: %d events stamped now, with the page searched meanwhile", n)
	loadCtx, stopLoad := context.WithCancel(ctx)
	var under []time.Duration
	var loadErr error
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		for i := 0; loadCtx.Err() == nil; i++ {
			pv := benchMix[i%len(benchMix)].params()
			t := time.Now()
			if _, err := b.get(loadCtx, ui.PagePath+"?"+pv.Encode(), true); err != nil {
				if loadCtx.Err() == nil {
					loadErr = err
				}
				return
			}
			under = append(under, time.Since(t))
		}
	}()
	began := time.Now()
	err = b.ingest(ctx, events, "live")
	if err == nil {
		err = b.waitIndexed(ctx)
	}
	took := time.Since(began)
	b.ingested += n
	stopLoad()
	<-loaded
	if err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	b.add("ingest → searchable, live traffic", rate(n, took), "≥ 60,000 events/s")
	slices.Sort(under)
	if len(under) > 0 {
		b.add(fmt.Sprintf("page partial under ingest, p50 / p99 (%d requests)", len(under)), pair(under, 50, 99), "≤ 10 ms / ≤ 50 ms")
	}
	return nil
}

// footprint measures the store's file and the index's directory per entry.
func (b *benchRun) footprint() error {
	total := b.ingested
	st, idx, err := diskUse(b.dir)
	if err != nil {
		return err
	}
	if total == 0 {
		return errors.New("bench: the log is empty after the ingest")
	}
	b.add("bytes on disk per entry (store + index)",
		fmt.Sprintf("%d (%d + %d)", (st+idx)/int64(total), st/int64(total), idx/int64(total)), "≤ 400")
	return nil
}

// diskUse adds up the files of the store and of the index under dir.
func diskUse(dir string) (st, idx int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a segment merged away while indexing goes on
		} else if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(rel, "index"+string(filepath.Separator)) {
			idx += info.Size()
		} else {
			st += info.Size()
		}
		return nil
	})
	return st, idx, err
}

// restart closes everything and times a start until the page answers.
func (b *benchRun) restart() error {
	b.say("restarting")
	b.stop()
	began := time.Now()
	if err := b.open(); err != nil {
		return err
	}
	if _, err := b.pageGet(ui.PagePath); err != nil {
		return err
	}
	b.add("start-up until the page answers", ms(time.Since(began)), "≤ 300 ms")
	return nil
}

func (b *benchRun) pageGet(path string) ([]byte, error) {
	resp, err := b.page.Get(b.srv.URL() + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("bench: GET %s answered %s", path, resp.Status)
	}
	return body, err
}

// purge moves the Log's clock a day on, so the oldest day expires, and times
// its purge while a client keeps searching.
func (b *benchRun) purge(ctx context.Context) error {
	// The month reaches 29 days back and the retention is 30 days: two days
	// on, the oldest day has expired.
	b.shift.Store(int64(48 * time.Hour))
	b.say("purging the oldest day")
	stopQ := make(chan struct{})
	var answered, failed atomic.Int64
	var worst atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopQ:
				return
			default:
			}
			v := benchMix[i%len(benchMix)].params()
			v.Set("limit", "50")
			t := time.Now()
			if _, err := b.get(ctx, "/api/v1/events?"+v.Encode(), false); err != nil {
				failed.Add(1)
			} else {
				answered.Add(1)
			}
			if d := int64(time.Since(t)); d > worst.Load() {
				worst.Store(d)
			}
		}
	}()
	began := time.Now()
	n, err := b.log.Purge()
	took := time.Since(began)
	close(stopQ)
	wg.Wait()
	if err != nil {
		return err
	}
	b.add(fmt.Sprintf("purge of one expired day (%d entries)", n),
		fmt.Sprintf("%s; %d queries answered meanwhile (slowest %s), %d failed", ms(took), answered.Load(), ms(time.Duration(worst.Load())), failed.Load()),
		"≤ 1 s, queries answer")
	return nil
}

func (b *benchRun) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d events over 29 days, %s ids, %d clients; %s/%s, %d cores (GOMAXPROCS %d), %s%s\n\n",
		b.events, b.ids, b.clients, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadAverage())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tmeasured\ttarget")
	for _, r := range b.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.figure, r.got, r.target)
	}
	tw.Flush()
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, (len(sorted)*p+99)/100-1)]
}

func pair(sorted []time.Duration, a, b int) string {
	return ms(pct(sorted, a)) + " / " + ms(pct(sorted, b))
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return strconv.FormatFloat(f, 'f', 2, 64) + " ms"
	case f < 100:
		return strconv.FormatFloat(f, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + " ms"
}

func rate(n int, d time.Duration) string {
	r := int(float64(n) / d.Seconds())
	return groupThousands(r) + " events/s (" + strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s)"
}

func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// anonMemory is the process's anonymous resident memory, where the system says it.
func anonMemory() string {
	// The generated month and its request bodies are garbage by now; hand
	// their pages back first, so the figure is what the server keeps.
	debug.FreeOSMemory()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return fmt.Sprintf("%d MB heap in use", ms.HeapInuse>>20)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "RssAnon:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%d MB (RssAnon)", kb>>10)
		}
	}
	return "–"
}

// The month's vocabulary: people, what they touch and what happens to it,
// with a Zipf-like skew so some words are common and some rare.
var (
	benchPeople = func() []string {
		first := []string{"Maya", "Daniel", "Lukas", "Chloé", "Tomás", "Sofia", "Aisha", "Kenji", "Priya", "Olu", "Ingrid", "Mateo", "Hana", "Noah", "Zara", "Ravi", "Elena", "Jonas", "Amara", "Felix"}
		last := []string{"Chen", "Okafor", "Brandt", "Martin", "Ortega", "Lindqvist", "Khan", "Sato", "Nair", "Adeyemi", "Berg", "Silva", "Kim", "Weber", "Haddad"}
		var p []string
		for i := range 120 {
			p = append(p, first[i%len(first)]+" "+last[(i*7)%len(last)])
		}
		return p
	}()
	benchObjects = map[app.Namespace][]string{
		app.Connections:   {"Snowflake Warehouse", "HubSpot Marketing", "Kafka clickstream", "Postgres orders", "S3 landing bucket", "Salesforce CRM", "BigQuery analytics", "Stripe payments"},
		app.DataPipelines: {"daily_revenue_rollup", "kafka_clickstream_ingest", "hubspot_contacts_sync", "partner_orders_export", "snowflake_cost_monitor", "inventory_snapshot", "churn_features", "ledger_reconcile", "web_sessions_sessionize", "ads_spend_import"},
		app.DataProducts:  {"Customer 360", "Revenue Daily", "Churn Signals", "Marketing Funnel", "Inventory Health", "Partner Orders"},
		app.Spaces:        {"Finance", "Growth", "Operations", "Data Platform", "Sales"},
		app.Users:         {"member", "invite", "role", "password", "session"},
		app.ServiceUsers:  {"ci-bot", "airflow", "dbt-runner", "reverse-etl"},
		app.APITokens:     {"ci-deploy", "metrics-export", "backfill", "partner-feed"},
	}
	benchActions = map[app.Namespace][]string{
		app.Connections:   {"connection_modified", "connection_tested", "connection_created", "connection_credentials_rotated", "connection_deleted"},
		app.DataPipelines: {"pipeline_run_succeeded", "pipeline_run_failed", "pipeline_modified", "pipeline_schedule_changed", "pipeline_created", "pipeline_paused"},
		app.DataProducts:  {"data_product_published", "data_product_modified", "data_product_invite_sent", "data_product_invite_accepted"},
		app.Spaces:        {"space_member_added", "space_modified", "space_member_removed"},
		app.Users:         {"user_signed_in", "user_role_changed", "user_invited", "user_password_reset"},
		app.ServiceUsers:  {"service_user_key_rotated", "service_user_created"},
		app.APITokens:     {"token_used", "token_created", "token_regenerated", "token_revoked"},
	}
	// benchWeights is how often each namespace occurs: pipeline runs dominate.
	benchWeights = []struct {
		ns app.Namespace
		w  int
	}{{app.DataPipelines, 55}, {app.Users, 15}, {app.Connections, 10}, {app.DataProducts, 10}, {app.Spaces, 4}, {app.APITokens, 4}, {app.ServiceUsers, 2}}
	benchDetails = []string{
		"%s ran %s: %d rows in %d s",
		"%s changed the schedule of %s to every %d minutes (was %d)",
		"%s edited %s: %d fields changed, %d checks added",
		"%s opened %s from a new device, %d sessions today, %d this week",
	}
)

// benchRare is a word a handful of the month's events hold.
const benchRare = "quarantined"

// Shapes of the ids the bench's events carry. They cost the store very
// differently: an id is filed in a B-tree by id, where growing ids go into
// the pages the request before filled, and random ones each into a page of
// their own anywhere in it, to be written again at the commit.
const (
	idsNumbered = "numbered" // "bench-1-42": growing within each request, not in text order across them
	idsOrdered  = "ordered"  // UUIDv7: sorting as text by the millisecond the event happened
	idsRandom   = "random"   // UUIDv4
	idsNone     = "none"     // sent without: the store makes one that spells the entry's key
)

var idShapes = []string{idsNumbered, idsOrdered, idsRandom, idsNone}

// benchMonth is how far back the month of events reaches: inside the
// retention window, with a day to spare.
const benchMonth = 29 * 24 * time.Hour

// benchEvents returns n events over the span before end, oldest first, the
// same for the same n, seed and shape of ids. The ids come from a generator
// of their own, so every shape has the same events otherwise.
func benchEvents(end time.Time, span time.Duration, n int, seed uint64, ids string) []app.Event {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	idRng := rand.New(rand.NewPCG(seed, 0x1d5))
	first := end.Add(-span)
	out := make([]app.Event, n)
	for i := range out {
		w := rng.IntN(100)
		ns := benchWeights[0].ns
		for _, c := range benchWeights {
			if w < c.w {
				ns = c.ns
				break
			}
			w -= c.w
		}
		// Skewed picks: a few people and objects account for most events.
		person := benchPeople[int(float64(len(benchPeople))*rng.Float64()*rng.Float64())]
		objs := benchObjects[ns]
		obj := objs[int(float64(len(objs))*rng.Float64()*rng.Float64())]
		acts := benchActions[ns]
		act := acts[int(float64(len(acts))*rng.Float64()*rng.Float64())]
		detail := fmt.Sprintf(benchDetails[rng.IntN(len(benchDetails))], person, obj, rng.IntN(100000), rng.IntN(600))
		if rng.IntN(200_000) == 0 || i == n/2 {
			detail += "; the run was " + benchRare
		}
		at := first.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		out[i] = app.Event{
			ID:        benchID(ids, seed, i, at, idRng),
			Timestamp: at,
			Namespace: ns,
			Action:    act,
			Actor:     person,
			Detail:    detail,
			Targets:   []app.Target{{Type: strings.TrimSuffix(string(ns), "s"), Name: obj}},
			IP:        fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), 1+rng.IntN(254)),
		}
	}
	return out
}

func benchID(shape string, seed uint64, i int, at time.Time, rng *rand.Rand) string {
	switch shape {
	case idsRandom, idsOrdered:
		hi, lo := rng.Uint64(), rng.Uint64()
		hi = hi&^0xf000 | 0x4000 // version 4
		if shape == idsOrdered {
			// The first 48 bits are the Unix milliseconds, then version 7.
			hi = uint64(at.UnixMilli())<<16 | hi&0x0fff | 0x7000
		}
		lo = lo&^(0xc<<60) | 0x8<<60 // RFC 9562 variant
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
	case idsNone:
		return ""
	}
	return fmt.Sprintf("bench-%d-%d", seed, i)
}

// loadAverage says how busy the machine was with other work, where the
// system tells: figures from a busy machine are slower than the code is.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return fmt.Sprintf("; load average at the end %s %s %s", f[0], f[1], f[2])
}
