package cli

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"auditlog/ui"
)

var loadFor = flag.Duration("load.duration", 5*time.Second, "how long TestLoad runs (-long: 60s)")

// latencies collects one kind of request's durations.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "none"
	}
	slices.Sort(l.d)
	q := func(p float64) time.Duration {
		return l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Round(100 * time.Microsecond)
	}
	return fmt.Sprintf("%d requests, p50 %s, p99 %s, max %s", len(l.d), q(0.50), q(0.99), l.d[len(l.d)-1].Round(100*time.Microsecond))
}

// TestLoad runs the binary on loopback under concurrent ingest, keyword
// search and the page's results partial for a while (5 s; -long or
// -load.duration 60s for the full run), then checks that no request failed
// and no acknowledged entry is missing. It reports p99s and asserts none:
// speed is measured here, not judged.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	d := *loadFor
	if *long {
		d = 60 * time.Second
	}
	dir := t.TempDir()
	token := createToken(t, dir)
	p := spawn(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--no-browser")
	var launch string
	select {
	case launch = <-p.launch:
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not say where it runs within 60s")
	}
	url := launch[:strings.Index(launch, "/launch")]
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	if res, err := browser.Get(launch); err != nil || res.StatusCode != 200 {
		t.Fatalf("opening the launch URL: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	var ingest, search, page latencies
	var errs atomic.Int64
	var firstErr atomic.Value
	fail := func(what string, err error) {
		if errs.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf("%s: %v", what, err))
		}
	}
	l := &ledger{current: map[string]bool{}, old: map[string]bool{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	loop := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f(i)
			}
		}()
	}
	words := []string{"snowflake", "warehouse", "loadtest", "rotated", "kiwi"}
	for w := range 4 {
		loop(func(i int) {
			var sb strings.Builder
			for j := range 50 {
				fmt.Fprintf(&sb, `{"id":"load-%d-%d-%d","namespace":"connections","action":"connection_updated","detail":"Updated connection loadtest %s warehouse %d"}`+"\n", w, i, j, words[(i+j)%len(words)], j)
			}
			start := time.Now()
			if !l.send(url, token, batch{body: sb.String()}) {
				fail("ingest", fmt.Errorf("batch %d-%d not acknowledged", w, i))
				return
			}
			ingest.add(time.Since(start))
		})
	}
	get := func(client *http.Client, target string, header map[string]string) error {
		req, _ := http.NewRequest("GET", target, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}
	for range 2 {
		loop(func(i int) {
			start := time.Now()
			if err := get(http.DefaultClient, url+"/api/v1/events?limit=50&q="+words[i%len(words)], map[string]string{"Authorization": "Bearer " + token}); err != nil {
				fail("search", err)
				return
			}
			search.add(time.Since(start))
		})
	}
	loop(func(i int) {
		start := time.Now()
		if err := get(browser, url+ui.PagePath+"?q="+words[i%len(words)], map[string]string{"HX-Request": "true", "Accept": "text/html"}); err != nil {
			fail("page", err)
			return
		}
		page.add(time.Since(start))
	})
	time.Sleep(d)
	close(stop)
	wg.Wait()

	if n := errs.Load(); n > 0 {
		t.Errorf("%d requests failed; the first: %v", n, firstErr.Load())
	}
	all := walk(t, url, token, "")
	lost := 0
	for id := range l.current {
		if all[id] != 1 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged entries are missing or listed twice", lost, len(l.current))
	}
	t.Logf("%s of load: %d entries acknowledged, %d lost, %d errors", d, len(l.current), lost, errs.Load())
	t.Logf("ingest (50 events a request): %s", &ingest)
	t.Logf("keyword search (API, 50 a page): %s", &search)
	t.Logf("page results partial (htmx): %s", &page)
}
