package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"auditlog/app/store"
)

// buildBinary compiles the real executable once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "auditlog-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "auditlog")
		cmd := exec.Command("go", "build", "-o", buildOnce.path, "auditlog")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

// run runs a command of the binary to completion.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := binary(t) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// server is the binary serving a data directory.
type server struct {
	cmd   *exec.Cmd
	url   string
	found chan string // hears the address once the server prints it
}

func startServer(t *testing.T, dir string) *server {
	t.Helper()
	srv := launchServer(t, nil, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--no-browser")
	srv.waitListening(t, "the server")
	return srv
}

// launchServer starts the binary with args (and env added to this
// process's) without waiting for it: several cluster nodes must start
// together before any of them answers. It is killed when the test ends.
func launchServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	return launch(t, cmd)
}

// launch starts cmd, a server, and hears where it runs.
func launch(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	srv := &server{cmd: cmd, found: make(chan string, 1)}
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), "Audit Log is running at "); ok {
				srv.found <- rest[:strings.Index(rest, "/launch")]
			}
		}
	}()
	return srv
}

// waitListening waits for the server to say where it runs.
func (srv *server) waitListening(t *testing.T, what string) {
	t.Helper()
	select {
	case srv.url = <-srv.found:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not say where it runs within 30s", what)
	}
}

func createToken(t *testing.T, dir string) string {
	t.Helper()
	out, stderr, err := run(t, "token", "create", "--data", dir, "--label", "e2e", "--scopes", "ingest,read")
	if err != nil {
		t.Fatalf("token create: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func post(url, token, body string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", url+"/api/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	return http.DefaultClient.Do(req)
}

func getJSON(t *testing.T, url, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil {
		json.NewDecoder(res.Body).Decode(v)
	}
	return res.StatusCode
}

// TestAcknowledgedEventsSurviveKill9 ingests over HTTP while the server is
// killed with SIGKILL, restarts it and finds every acknowledged event, by id
// and by keyword.
func TestAcknowledgedEventsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	token := createToken(t, dir)
	srv := startServer(t, dir)

	writers := startWriters([]string{srv.url, srv.url, srv.url, srv.url}, token, 50)
	time.Sleep(1500 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	acked := writers.stop()
	if len(acked) < 100 {
		t.Fatalf("only %d events acknowledged before the kill; the test proves little", len(acked))
	}

	srv = startServer(t, dir)
	for _, id := range acked {
		if status := getJSON(t, srv.url+"/api/v1/events/"+id, token, nil); status != 200 {
			t.Fatalf("acknowledged event %s is lost after kill -9 (status %d)", id, status)
		}
	}
	// By keyword too: the outbox is drained into the index after the restart.
	deadline := time.Now().Add(30 * time.Second)
	for {
		found := map[string]bool{}
		cursor := ""
		for {
			var page struct {
				Events []struct{ ID string }
				Next   string
			}
			getJSON(t, srv.url+"/api/v1/events?limit=500&q=kiwiconn&cursor="+cursor, token, &page)
			for _, e := range page.Events {
				found[e.ID] = true
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		missing := 0
		for _, id := range acked {
			if !found[id] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events cannot be found by keyword after restart", missing, len(acked))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// No link of the tamper-evident chain was lost between recording and
	// the next checkpoint: the chain verifies, every entry in it.
	out, stderr, err := run(t, "verify", "--data", dir)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "intact") {
		t.Fatalf("verify after kill -9: %v\n%s%s", err, out, stderr)
	}
	t.Logf("%d acknowledged events survived kill -9; %s", len(acked), strings.SplitN(out, "\n", 2)[0])
}

func TestCommandsWorkThroughTheServerThatHoldsTheData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	srv := startServer(t, dir)

	// A token is made through the running server, and works against it.
	token := createToken(t, dir)
	res, err := post(srv.url, token, `{"namespace":"connections","action":"connection_created","detail":"Added connection \"Snowflake Warehouse\"","actor":"Tomás Ortega"}`)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("posting with a token made while serving: %v %v", res, err)
	}
	res.Body.Close()
	file := filepath.Join(t.TempDir(), "more.ndjson")
	os.WriteFile(file, []byte(`{"id":"x1","namespace":"users","action":"user_invited","detail":"Invited ana@example.com","actor":"Maya Chen"}`+"\n"), 0o600)
	if _, stderr, err := run(t, "ingest", "--data", dir, file); err != nil || !strings.Contains(stderr, "Ingested 1 event ") {
		t.Fatalf("ingest while serving: %v %s", err, stderr)
	}
	if _, stderr, err := run(t, "ingest", "--data", dir, file); err != nil || !strings.Contains(stderr, "Ingested 0 events") || !strings.Contains(stderr, "1 event was stored already") {
		t.Fatalf("ingest again while serving: %v %s", err, stderr)
	}
	// Two events of a file under one id, through the server: only the one
	// not recorded is named.
	os.WriteFile(file, []byte(`{"id":"x2","namespace":"spaces","action":"space_created","detail":"Created space Finance"}
{"namespace":"spaces","action":"space_created","detail":"Created space Growth"}
{"id":"x2","namespace":"spaces","action":"space_deleted","detail":"Deleted space Sales"}
`), 0o600)
	if _, stderr, err := run(t, "ingest", "--data", dir, file); err == nil || !strings.Contains(err.Error()+stderr, "line 3 (id x2)") || strings.Contains(err.Error()+stderr, "line 1 (id x2)") || !strings.Contains(stderr, "Ingested 2 events") {
		t.Fatalf("two events under one id while serving: %v %s", err, stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, stderr, err := run(t, "search", "--data", dir, "snowflake")
		if err == nil && strings.Contains(out, "connection_created") && strings.Contains(stderr, "Using the Audit Log running at "+srv.url+" (data directory "+dir+")") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search while serving: %v\n%s%s", err, out, stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, stderr, err := run(t, "export", "--data", dir, "--format", "ndjson", "--namespace", "users")
	if err != nil || !strings.Contains(out, `"id":"x1"`) {
		t.Fatalf("export while serving: %v %q", err, out)
	}
	// Into a file, its progress shows as a local export's does.
	_, stderr, err = run(t, "export", "--data", dir, "--format", "ndjson", "--namespace", "users", "-o", filepath.Join(t.TempDir(), "users.ndjson"))
	if err != nil || !strings.Contains(stderr, "Exporting: 1/1 entries (100%)") {
		t.Fatalf("export to a file while serving: %v %q", err, stderr)
	}
	out, _, _ = run(t, "token", "list", "--data", dir)
	if !strings.Contains(out, "e2e") {
		t.Fatalf("token list while serving: %q", out)
	}
	out, stderr, err = run(t, "workspace", "--data", dir, "--name", "Acme Data", "--timezone", "Europe/Berlin")
	if err != nil || !strings.Contains(out, "Workspace: Acme Data") || !strings.Contains(out, "Europe/Berlin") {
		t.Fatalf("workspace while serving: %v %q %s", err, out, stderr)
	}

	// Rebuilding the index needs the directory to itself: it says so at once.
	start := time.Now()
	_, stderr, err = run(t, "reindex", "--data", dir)
	if err == nil || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, srv.url) {
		t.Fatalf("reindex while serving: err=%v stderr=%q; want an 'in use' error naming %s", err, stderr, srv.url)
	}
	if d := time.Since(start); d > 2*time.Second+500*time.Millisecond {
		t.Fatalf("took %s to fail", d)
	}
	// A second launch does not fail: it points at the running one.
	out, _, err = run(t, "serve", "--data", dir, "--no-browser")
	if err != nil || !strings.Contains(out, "already running at "+srv.url) {
		t.Fatalf("second launch: err=%v out=%q", err, out)
	}
	// With settings it cannot apply, it says so and fails.
	out, stderr, err = run(t, "serve", "--data", dir, "--no-browser", "--retention", "90d")
	if err == nil || !strings.Contains(out, "already running at "+srv.url) || !strings.Contains(stderr, "--retention not applied") {
		t.Fatalf("second launch with --retention: err=%v out=%q stderr=%q", err, out, stderr)
	}
}

func TestCLIRecordsSearchesAndReindexes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "events.ndjson")
	var b strings.Builder
	for i := range 2500 {
		fmt.Fprintf(&b, `{"id":"imp-%d","namespace":"Data Pipelines","action":"pipeline_modified","detail":"Changed schedule of pipeline nightly_%d","actor":"Maya Chen"}`+"\n", i, i)
	}
	os.WriteFile(file, []byte(b.String()), 0o600)
	if _, stderr, err := run(t, "ingest", "--data", dir, file); err != nil || !strings.Contains(stderr, "Ingested 2500 events") {
		t.Fatalf("ingest: %v %s", err, stderr)
	}
	// Importing again records nothing new: ids make it safe to retry, and
	// the import says so.
	if _, stderr, err := run(t, "ingest", file, "--data", dir); err != nil || !strings.Contains(stderr, "Ingested 0 events") || !strings.Contains(stderr, "2500 events were stored already") {
		t.Fatalf("ingest again: %v %s", err, stderr)
	}
	// A quoted word matches whole; a bare last word would also match nightly_420 and on.
	out, stderr, err := run(t, "search", "--data", dir, "--limit", "5", `"nightly_42"`)
	if err != nil || !strings.Contains(out, "nightly_42") || strings.Count(out, "\n") != 2 {
		t.Fatalf("search: %v\n%s%s", err, out, stderr)
	}
	// Past one page, the search says how to get the next, and that page
	// goes on where the first stopped.
	first, stderr, err := run(t, "search", "--data", dir, "--limit", "3", "schedule")
	cursor := regexp.MustCompile(`--cursor (\S+)`).FindStringSubmatch(stderr)
	if err != nil || cursor == nil {
		t.Fatalf("search: %v\n%s%s", err, first, stderr)
	}
	second, stderr, err := run(t, "search", "--data", dir, "--limit", "3", "--cursor", cursor[1], "schedule")
	if err != nil || strings.Count(second, "nightly_") != 3 || !strings.Contains(first, "nightly_2499\n") || !strings.Contains(second, "nightly_2496\n") {
		t.Fatalf("the next page: %v\nfirst:\n%s\nsecond:\n%s%s", err, first, second, stderr)
	}
	if _, stderr, err := run(t, "search", "--data", dir, "--cursor", "not-a-cursor", "schedule"); err == nil || !strings.Contains(stderr, "--cursor") {
		t.Fatalf("a cursor that no page ended with: %v %q; want an error naming --cursor", err, stderr)
	}
	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := run(t, "reindex", "--data", dir); err != nil || !strings.Contains(stderr, "2500/2500") {
		t.Fatalf("reindex: %v %s", err, stderr)
	}
	out, _, _ = run(t, "search", "--data", dir, "--limit", "500", "--namespace", "data_pipelines", "schedule")
	if n := strings.Count(out, "pipeline_modified"); n != 500 {
		t.Fatalf("search after reindex listed %d entries, want 500", n)
	}
	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(bad, []byte(`{"namespace":"users","action":"user_invited","detail":"ok"}`+"\n\n\n"+`{"namespace":"nope","action":"x","detail":"d"}`+"\n"), 0o600)
	_, stderr, err = run(t, "ingest", "--data", dir, bad)
	if err == nil || !strings.Contains(stderr, "line 4: namespace") {
		t.Fatalf("bad ingest: err=%v stderr=%q; want it to name line 4's namespace", err, stderr)
	}
	if _, stderr, err := run(t, "search", "--data", dir, `"unterminated`); err == nil || !strings.Contains(stderr, "unterminated quote") {
		t.Fatalf("bad query: %v %q", err, stderr)
	}
}

// After a run that did not end cleanly the store is checked whole before
// anything starts, which takes seconds on a large one: the command says so.
func TestACheckAfterAnUncleanStopIsAnnounced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	if _, stderr, err := run(t, "demo", "--data", dir); err != nil {
		t.Fatalf("demo: %v %s", err, stderr)
	}
	_, stderr, err := run(t, "search", "--data", dir, "revoked")
	if err != nil || strings.Contains(stderr, "did not end cleanly") {
		t.Fatalf("after a clean stop: %v %q", err, stderr)
	}
	// What a crash leaves: the store without the note a clean close writes.
	if err := os.Remove(filepath.Join(dir, store.FileName+".clean")); err != nil {
		t.Fatal(err)
	}
	// While another process holds the store, which looks the same, there is
	// no check to announce: the command says the directory is in use.
	held, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, err = run(t, "search", "--data", dir, "revoked")
	held.Close()
	if err == nil || strings.Contains(stderr, "did not end cleanly") || !strings.Contains(stderr, "in use") {
		t.Fatalf("beside another process: %v %q", err, stderr)
	}
	if err := os.Remove(filepath.Join(dir, store.FileName+".clean")); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = run(t, "search", "--data", dir, "revoked")
	if err != nil || !strings.Contains(stderr, "did not end cleanly: checking every page of the store") || !strings.Contains(stderr, "The store is sound") {
		t.Fatalf("after an unclean stop: %v %q", err, stderr)
	}
}

// TestExportedNDJSONRestoresIntoAnotherDataDirectory is how a workspace moves:
// export NDJSON with the CLI, ingest it elsewhere, find the same entries.
func TestExportedNDJSONRestoresIntoAnotherDataDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	src, dst := t.TempDir(), t.TempDir()
	if _, stderr, err := run(t, "demo", "--data", src); err != nil {
		t.Fatalf("demo: %v %s", err, stderr)
	}
	file := filepath.Join(t.TempDir(), "export.ndjson")
	_, stderr, err := run(t, "export", "--data", src, "--format", "ndjson", "-o", file)
	if err != nil || !strings.Contains(stderr, "Exported ") {
		t.Fatalf("export: %v %s", err, stderr)
	}
	if _, stderr, err := run(t, "ingest", "--data", dst, file); err != nil {
		t.Fatalf("ingest: %v %s", err, stderr)
	}
	a, _, _ := run(t, "export", "--data", src, "--format", "csv", "namespace:api_tokens")
	b, _, _ := run(t, "export", "--data", dst, "--format", "csv", "namespace:api_tokens")
	if a == "" || a != b {
		t.Fatalf("the restored API Tokens entries differ:\n%s\n---\n%s", a, b)
	}
	for _, dir := range []string{src, dst} {
		out, _, _ := run(t, "export", "--data", dir, "--format", "ndjson", "ci-deploy")
		if strings.Count(out, "\n") != 3+1 { // and the proof line
			t.Fatalf("ci-deploy history in %s: %q", dir, out)
		}
	}
}

func TestParseRetentionAcceptsDaysWeeksAndHoursWithinBounds(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "4w": 672 * time.Hour, "36h": 36 * time.Hour, "3650d": 3650 * 24 * time.Hour} {
		if got, err := parseRetention(in); err != nil || got != want {
			t.Errorf("parseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "12h", "213505d", "3651d", "-1d", "30x", "d"} {
		if _, err := parseRetention(in); err == nil {
			t.Errorf("parseRetention(%q) accepted", in)
		}
	}
}

func TestFlagsMayStandAnywhereAndDoubleDashEndsThem(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	data := fs.String("data", "", "")
	m := &Main{Stdout: io.Discard}
	got, err := m.parse(fs, []string{"token", "--data", "d", "-revoked", "--", "-x", "--data"})
	if err == nil {
		t.Fatalf("an unknown flag before -- was accepted: %v", got)
	}
	got, err = m.parse(fs, []string{"token", "--data", "d", "--", "-revoked", "--data"})
	if err != nil || *data != "d" || strings.Join(got, " ") != "token -revoked --data" {
		t.Fatalf("parse = %q, %v (data %q)", got, err, *data)
	}
}

// writers post batches of events to their servers, one writer a server
// (name one several times for several writers), until stopped or their
// server is gone, and keep the ids each acknowledged answer gave.
type writers struct {
	mu    sync.Mutex
	acked []string
	done  chan struct{}
	wg    sync.WaitGroup
}

func startWriters(urls []string, token string, perRequest int) *writers {
	ws := &writers{done: make(chan struct{})}
	for w, url := range urls {
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-ws.done:
					return
				default:
				}
				var b strings.Builder
				for j := range perRequest {
					fmt.Fprintf(&b, `{"namespace":"connections","action":"connection_updated","detail":"Updated connection kiwiconn w%d-%d-%d"}`+"\n", w, i, j)
				}
				res, err := post(url, token, b.String())
				if err != nil {
					return // the server is gone
				}
				var body struct{ IDs []string }
				json.NewDecoder(res.Body).Decode(&body)
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					ws.mu.Lock()
					ws.acked = append(ws.acked, body.IDs...)
					ws.mu.Unlock()
				}
			}
		}()
	}
	return ws
}

// stop ends the writers and returns every id acknowledged to them.
func (ws *writers) stop() []string {
	close(ws.done)
	ws.wg.Wait()
	return ws.acked
}

// A new directory started with the demo and a retention of its own gets the
// demo: the retention's entry, recorded as the log is made, is no record the
// demo would mix with.
func TestTheDemoLoadsIntoANewDirectoryStartedWithARetention(t *testing.T) {
	dir := t.TempDir()
	srv := launchServer(t, nil, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--no-browser", "--demo", "--retention", "60d")
	srv.waitListening(t, "the server")
	token := createToken(t, dir)
	var page struct {
		Events []struct{ Action string } `json:"events"`
	}
	if code := getJSON(t, srv.url+"/api/v1/events?namespace=connections&limit=20", token, &page); code != http.StatusOK || len(page.Events) < 20 {
		t.Fatalf("the demo's connections: %d, %d entries; want a page of 20", code, len(page.Events))
	}
}

// With the workspace's timezone left at "system", a command working through
// the running server shows times in the server computer's zone, as the page
// does, though it runs with another TZ; and says which zone that is.
func TestACommandShowsTimesInTheServersSystemZone(t *testing.T) {
	dir := t.TempDir()
	srv := launchServer(t, []string{"TZ=Asia/Kolkata"}, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--no-browser")
	srv.waitListening(t, "the server")
	token := createToken(t, dir)
	at := time.Now().UTC().Truncate(24 * time.Hour).Add(-24*time.Hour + 18*time.Hour + 30*time.Minute)
	res, err := post(srv.url, token, fmt.Sprintf(`{"namespace":"users","action":"user_invited","detail":"Invited zonecheck@example.com","timestamp":%q}`, at.Format(time.RFC3339)))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("post: %v %v", res, err)
	}
	res.Body.Close()
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary(t), args...)
		cmd.Env = append(os.Environ(), "TZ=America/New_York")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(out)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skip("no timezone database here:", err)
	}
	if out, want := cli("search", "--data", dir, "--namespace", "users"), at.In(kolkata).Format("2006-01-02 15:04:05"); !strings.Contains(out, want) {
		t.Errorf("search through the server shows\n%s\nwant the time %s (the server's zone)", out, want)
	}
	if out := cli("workspace", "--data", dir); !strings.Contains(out, "system (Asia/Kolkata)") {
		t.Errorf("workspace says\n%s\nwant the server's zone named", out)
	}
}

// A reader that goes away (auditlog search | head -1) fails the command's
// writes rather than killing it: it ends quietly, with the status a shell
// gives a broken pipe, and closes the store cleanly, so the next command
// does not check every page first.
func TestABrokenPipeEndsACommandQuietlyAndCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	if _, stderr, err := run(t, "demo", "--data", dir); err != nil {
		t.Fatalf("demo: %v %s", err, stderr)
	}
	cmd := exec.Command(binary(t), "search", "--data", dir, "--limit", "500")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.Close() // the reader is gone before the first line
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 141 || strings.Contains(stderr.String(), "broken pipe") {
		t.Fatalf("search into a closed pipe: %v, stderr %q; want exit status 141 and no complaint", err, stderr.String())
	}
	if unclean, _ := store.UncleanStop(dir); unclean {
		t.Fatal("the store was left as if the command had crashed")
	}
}

// Started to ignore SIGHUP (nohup), serve stays up when the terminal
// closes; without that, SIGHUP shuts it down cleanly, as Ctrl-C does.
func TestServeHonoursAnIgnoredHangUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, ignored := range []bool{true, false} {
		if !ignored && signal.Ignored(syscall.SIGHUP) {
			continue // the tests themselves run under nohup: so would the server
		}
		dir := t.TempDir()
		trap := ""
		if ignored {
			trap = `trap "" HUP; `
		}
		srv := launch(t, exec.Command("sh", "-c", trap+`exec "$0" serve --data "$1" --addr 127.0.0.1:0 --no-browser`, binary(t), dir))
		srv.waitListening(t, "the server")
		srv.cmd.Process.Signal(syscall.SIGHUP)
		exited := make(chan error, 1)
		go func() { _, err := srv.cmd.Process.Wait(); exited <- err }()
		select {
		case <-exited:
			if ignored {
				t.Fatal("a server started with SIGHUP ignored stopped on it")
			}
			if unclean, _ := store.UncleanStop(dir); unclean {
				t.Fatal("SIGHUP did not shut the server down cleanly")
			}
		case <-time.After(3 * time.Second):
			if !ignored {
				t.Fatal("SIGHUP did not stop the server")
			}
			if res, err := http.Get(srv.url + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("after an ignored SIGHUP the server does not answer: %v", err)
			}
		}
	}
}
