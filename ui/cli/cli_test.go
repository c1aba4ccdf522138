package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/app/store"
	"auditlog/ui"
	"auditlog/ui/client"
)

// exitCode runs the binary and returns its exit code and output.
func exitCode(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := run(t, args...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout, stderr
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout, stderr
	}
	t.Fatal(err)
	return 0, "", ""
}

func TestHelpListsTheCommandsAndSucceeds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, arg := range []string{"--help", "-h", "help"} {
		code, out, stderr := exitCode(t, arg)
		if code != 0 || !strings.Contains(out, "auditlog token create") || !strings.Contains(out, "auditlog search") {
			t.Errorf("auditlog %s: exit %d, stdout %q, stderr %q; want the commands on stdout and exit 0", arg, code, out, stderr)
		}
	}
}

func TestCommandHelpHasAUsageLineAndPointsToTheQuerySyntax(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	code, out, stderr := exitCode(t, "search", "--help")
	if code != 0 || !strings.HasPrefix(out, "Usage: auditlog search [flags] [QUERY]") ||
		!strings.Contains(out, "Search section of the README") || !strings.Contains(out, "-namespace") {
		t.Fatalf("search --help: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}

func TestAMistypedCommandSaysWhatWasMeantFirstAndBriefly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	code, out, stderr := exitCode(t, "serch", "revoked")
	first, _, _ := strings.Cut(stderr, "\n")
	if code != 2 || out != "" || !strings.HasPrefix(first, "auditlog: unknown command 'serch'; did you mean 'search'?") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n") + 1; n > 2 {
		t.Fatalf("a typo costs %d lines of output:\n%s", n, stderr)
	}
	if _, _, stderr := exitCode(t, "frobnicate"); strings.Contains(stderr, "did you mean") {
		t.Fatalf("a guess for a word like no command: %q", stderr)
	}
	// A wrong flag, likewise: the error first, in one line, and exit 2.
	code, _, stderr = exitCode(t, "search", "--bogus", "x")
	if code != 2 || strings.TrimSpace(stderr) != "auditlog: search: flag provided but not defined: -bogus (auditlog search --help lists its flags)" {
		t.Fatalf("a wrong flag: exit %d, stderr %q", code, stderr)
	}
	if code, out, _ := exitCode(t, "token", "--help"); code != 0 || !strings.HasPrefix(out, "Usage: auditlog token create") {
		t.Fatalf("token --help: exit %d, %q", code, out)
	}
}

// newTestMain is a Main whose output the test reads, on the data directory
// dir. Its output is written from more than one goroutine, as os.Stderr is
// safe to: a rebuild of the index, begun when the log opens, logs beside
// the command's own lines.
func newTestMain(dir string) (*Main, *syncBuffer, *syncBuffer) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	return &Main{
		Stdout: out, Stderr: errOut, Stdin: strings.NewReader(""),
		Getenv: func(k string) string {
			if k == "AUDITLOG_DATA" {
				return dir
			}
			return ""
		},
	}, out, errOut
}

// runIn runs one command in-process and closes what it opened.
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	m, out, errOut := newTestMain(dir)
	err = m.Run(context.Background(), args)
	if cerr := m.Close(); cerr != nil {
		t.Fatalf("%v: Close: %v", args, cerr)
	}
	return out.String(), errOut.String(), err
}

func TestIngestReadsStandardInput(t *testing.T) {
	dir := t.TempDir()
	m, _, errOut := newTestMain(dir)
	m.Stdin = strings.NewReader(`{"id":"in-1","namespace":"users","action":"user_invited","detail":"Invited kim@example.com"}` + "\n")
	err := m.Run(context.Background(), []string{"ingest", "-"})
	m.Close()
	if err != nil || !strings.Contains(errOut.String(), "Ingested 1 event ") {
		t.Fatalf("ingest -: %v %s", err, errOut)
	}
	out, _, err := runIn(t, dir, "search", "kim")
	if err != nil || !strings.Contains(out, "user_invited") {
		t.Fatalf("search after ingesting standard input: %v %q", err, out)
	}
	// in-1 again, in-2 twice and one without an id: two entries are added,
	// and two events were stored already (in-1 before, in-2 a line earlier).
	m, _, errOut = newTestMain(dir)
	m.Stdin = strings.NewReader(`{"id":"in-1","namespace":"users","action":"user_invited","detail":"Invited kim@example.com"}
{"id":"in-2","namespace":"users","action":"user_removed","detail":"Removed kim@example.com"}
{"id":"in-2","namespace":"users","action":"user_removed","detail":"Removed kim@example.com"}
{"namespace":"users","action":"user_invited","detail":"Invited lee@example.com"}
`)
	err = m.Run(context.Background(), []string{"ingest", "-"})
	m.Close()
	if err != nil || !strings.Contains(errOut.String(), "Ingested 2 events") || !strings.Contains(errOut.String(), "2 events were stored already") {
		t.Fatalf("ingest - again: %v %s", err, errOut)
	}
	// Another event under in-1 (a merged log's, say) is no retry: the
	// import says which line was not recorded, and fails.
	m, _, errOut = newTestMain(dir)
	m.Stdin = strings.NewReader(`{"namespace":"users","action":"user_invited","detail":"Invited max@example.com"}

{"id":"in-1","namespace":"users","action":"user_removed","detail":"Removed zed@example.com"}
`)
	err = m.Run(context.Background(), []string{"ingest", "-"})
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "1 event was not recorded") || !strings.Contains(err.Error(), "line 3 (id in-1)") || !strings.Contains(errOut.String(), "Ingested 1 event") || strings.Contains(errOut.String(), "stored already") {
		t.Fatalf("another event under an id in use: %v %s", err, errOut)
	}
	// Two events of the file under one new id: the first is recorded, and
	// only the second is named.
	m, _, errOut = newTestMain(dir)
	m.Stdin = strings.NewReader(`{"id":"in-3","namespace":"users","action":"user_invited","detail":"Invited ann@example.com"}
{"namespace":"users","action":"user_invited","detail":"Invited bo@example.com"}
{"id":"in-3","namespace":"users","action":"user_removed","detail":"Removed cy@example.com"}
`)
	err = m.Run(context.Background(), []string{"ingest", "-"})
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "1 event was not recorded") || !strings.Contains(err.Error(), "line 3 (id in-3)") || strings.Contains(err.Error(), "line 1") {
		t.Fatalf("two events of a file under one id: %v %s", err, errOut)
	}
}

// The copy of standard input that ingest reads twice is never seen in the
// data directory, so that no end of the command (kill -9 included) leaves
// audit text there, past the retention that purges it from the log.
func TestIngestOfStandardInputLeavesNoFileBehind(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("an open file cannot be unlinked here; it is removed as the command ends")
	}
	dir := t.TempDir()
	if _, _, err := runIn(t, dir, "token", "create", "--label", "ci"); err != nil {
		t.Fatal(err)
	}
	in, feed := io.Pipe()
	m, _, errOut := newTestMain(dir)
	m.Stdin = in
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background(), []string{"ingest", "-"}) }()
	if _, err := io.WriteString(feed, `{"id":"in-1","namespace":"users","action":"user_invited","detail":"Invited kim@example.com"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	// The line is in the copy by now: the pipe hands it over only as it is read.
	spools, _ := filepath.Glob(filepath.Join(dir, ".ingest-*"))
	feed.Close()
	err := <-done
	m.Close()
	if err != nil || !strings.Contains(errOut.String(), "Ingested 1 event ") {
		t.Fatalf("ingest -: %v %s", err, errOut)
	}
	if len(spools) != 0 {
		t.Fatalf("while ingest read standard input, the data directory held %v", spools)
	}
}

func TestEveryCommandThatTouchesDataSaysWhichDirectoryItUsed(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(t.TempDir(), "e.ndjson")
	os.WriteFile(events, []byte(`{"namespace":"users","action":"user_invited","detail":"Invited ana@example.com"}`+"\n"), 0o600)
	for _, args := range [][]string{
		{"demo"}, // first: it loads only into an empty log
		{"token", "create", "--label", "ci"},
		{"token", "list"},
		{"ingest", events},
		{"search", "ana"},
		{"export", "--format", "ndjson"},
		{"workspace"},
		{"reindex"},
	} {
		_, stderr, err := runIn(t, dir, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		if !strings.Contains(stderr, "Using the data directory "+dir+"\n") {
			t.Errorf("%v does not say which data directory it used: %q", args, stderr)
		}
	}
}

func TestDemoRefusesALogThatHasEntries(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := runIn(t, dir, "token", "create", "--label", "ci"); err != nil {
		t.Fatalf("token create: %v\n%s", err, stderr)
	}
	_, _, err := runIn(t, dir, "demo")
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(err.Error(), "only into an empty log") {
		t.Fatalf("demo on a log with an entry: %v", err)
	}
}

// A mistyped --data must not answer "nothing found" from a log made for it,
// nor say "intact" of one, nor change one nobody uses.
func TestReadingCommandsRefuseADataDirectoryWithoutALog(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"search", "ana"}, {"export", "--format", "ndjson"}, {"verify"}, {"token", "list"}, {"token", "revoke", "tok_x"},
		{"workspace"}, {"workspace", "--name", "Acme"}, {"reindex"}, {"doctor"},
	} {
		_, _, err := runIn(t, typo, args...)
		if err == nil || !strings.Contains(err.Error(), "no Audit Log in "+typo) {
			t.Errorf("%v in a directory without a log: %v", args, err)
		}
		if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v made the directory it was pointed at: %v", args, err)
		}
	}
	// A folder that exists but holds something else is left as it was.
	other := t.TempDir()
	for _, args := range [][]string{{"verify"}, {"token", "list"}, {"reindex"}, {"doctor"}} {
		if _, _, err := runIn(t, other, args...); err == nil || !strings.Contains(err.Error(), "no Audit Log in "+other) {
			t.Errorf("%v in a folder without a log: %v", args, err)
		}
	}
	if left, _ := os.ReadDir(other); len(left) != 0 {
		t.Fatalf("commands wrote into a folder without a log: %v", left)
	}
}

// A word the flags did not take is refused, not dropped: "--scopes ingest,
// read" must not make an ingest-only token, nor --data "$UNSET" write into
// the user's own log.
func TestLeftoverWordsAndEmptyValuesAreRefused(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"token", "create", "--label", "ci", "--scopes", "ingest,", "read"},
		{"token", "create", "--label", "ci", "--scopes", "read", "admin"},
		{"token", "list", "extra"},
		{"workspace", "extra"}, {"reindex", "extra"}, {"verify", "extra"}, {"doctor", "extra"}, {"demo", "extra"},
		{"serve", "--no-browser", "extra"},
		{"search", "--data", "", "ana"},
		{"token", "create", "--label", "ci", "--data", " "},
		{"serve", "--no-browser", "--addr", ""},
		{"serve", "--no-browser", "--team", "--host", "http://audit.example.lan"},
		{"serve", "--no-browser", "--team", "--host", "audit.example.lan:8443"},
		{"serve", "--no-browser", "--team", "--trusted-proxy", ""},
		{"verify", "--file", os.TempDir(), "--public-key", "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
	} {
		_, _, err := runIn(t, dir, args...)
		if !isUsage(err) {
			t.Errorf("%q: want a usage error, got %v", args, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("refused commands wrote into the data directory: %v", left)
	}
	_, stderr, err := runIn(t, dir, "token", "create", "--label", "ci", "--scopes", "INGEST,,read")
	if err != nil || !strings.Contains(stderr, "with scopes ingest,read.") {
		t.Fatalf("token create says the scopes it stored: %v %q", err, stderr)
	}
}

// TestACommandAsksTheRunningServerBeforeTouchingTheStore: the instance file
// of a live server is read first, so the store is not even opened (and its
// lock not waited for) when a server holds the directory.
func TestACommandAsksTheRunningServerBeforeTouchingTheStore(t *testing.T) {
	served := t.TempDir()
	log := logtest.Open(t, served)
	name := "Served Elsewhere"
	if _, err := log.ChangeSettings(context.Background(), app.SettingsChange{Workspace: &name}, "test"); err != nil {
		t.Fatal(err)
	}
	srv := ui.NewServer(log)
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())

	// dir has no store of its own, only the instance file a server leaves.
	dir := t.TempDir()
	if err := writeInstance(dir, instance{URL: srv.URL(), LaunchURL: srv.LaunchURL(srv.URL()), PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runIn(t, dir, "workspace")
	if err != nil || !strings.Contains(out, "Workspace: Served Elsewhere") ||
		!strings.Contains(stderr, "Using the Audit Log running at "+srv.URL()+" (data directory "+dir+")") {
		t.Fatalf("workspace: %v\nstdout %q\nstderr %q", err, out, stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != instanceFile {
			t.Errorf("the command opened a store of its own: %s appeared in the data directory", e.Name())
		}
	}
	// Commands that need the directory to themselves name the server at once.
	if _, _, err := runIn(t, dir, "reindex"); err == nil || !strings.Contains(err.Error(), "in use by the Audit Log running at "+srv.URL()) {
		t.Fatalf("reindex: %v", err)
	}
}

// serveIn runs serve in-process until stop is called, and returns its output
// once it listens.
func serveIn(t *testing.T, dir string, openBrowser func(string) error, args ...string) (url string, stdout, stderr *syncBuffer, stop func()) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	sig := make(chan os.Signal, 1)
	ready := make(chan string, 1)
	m := &Main{
		Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" },
		OpenBrowser: openBrowser, Signals: sig,
		Ready: func(url, _ string) { ready <- url },
	}
	done := make(chan error, 1)
	go func() {
		err := m.Run(context.Background(), append([]string{"serve", "--data", dir}, args...))
		if cerr := m.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("serve ended before it listened: %v\n%s", err, stderr)
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		sig <- os.Interrupt
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return url, stdout, stderr, stop
}

func TestABusyDefaultPortIsAnnouncedAndTheChosenPortRemembered(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	old := defaultAddr
	defaultAddr = busy.Addr().String()
	defer func() { defaultAddr = old }()
	_, busyPort, _ := net.SplitHostPort(defaultAddr)

	dir := t.TempDir()
	url, stdout, _, stop := serveIn(t, dir, nil, "--no-browser")
	chosen := strings.TrimPrefix(url, "http://")
	_, chosenPort, _ := net.SplitHostPort(chosen)
	if want := "port " + busyPort + " is busy; listening on " + chosen + " instead"; !strings.Contains(stdout.String(), want) {
		t.Fatalf("the startup lines do not say the port moved (want %q):\n%s", want, stdout)
	}
	stop()
	if b, err := os.ReadFile(filepath.Join(dir, portFile)); err != nil || strings.TrimSpace(string(b)) != chosenPort {
		t.Fatalf("remembered port: %q, %v; want %s", b, err, chosenPort)
	}

	// The next start comes back to the remembered port, although it is not the default.
	url, _, _, _ = serveIn(t, dir, nil, "--no-browser")
	if url != "http://"+chosen {
		t.Fatalf("the second start listens at %s, want the remembered %s", url, chosen)
	}
}

func TestAFailedBrowserOpenSaysSoInOneLine(t *testing.T) {
	_, stdout, stderr, stop := serveIn(t, t.TempDir(), func(string) error { return errors.New("exit status 3") })
	stop()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var said []string
	for _, l := range lines {
		if strings.Contains(l, "browser") {
			said = append(said, l)
		}
	}
	if len(said) != 1 || said[0] != "Could not open a browser; open the address above in one." {
		t.Fatalf("stderr about the browser: %q\nstdout: %s", said, stdout)
	}
}

// TestTheOpenersOwnOutputIsSilenced runs the binary where the only opener on
// PATH is one that, like xdg-open on a machine without a desktop, complains
// at length and fails.
func TestTheOpenersOwnOutputIsSilenced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := binary(t)
	stub := t.TempDir()
	script := "#!/bin/sh\necho 'xdg-open: no method available for opening' >&2\necho 'noise on stdout'\nexit 3\n"
	for _, name := range []string{"xdg-open", "x-www-browser", "www-browser"} {
		if err := os.WriteFile(filepath.Join(stub, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh to run the stand-in opener")
	}
	cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PATH="+stub)
	var stdout syncBuffer
	cmd.Stdout = &stdout
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var stderr strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Could not open a browser") {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	all := stdout.String() + stderr.String()
	if strings.Contains(all, "no method available") || strings.Contains(all, "noise on stdout") {
		t.Fatalf("the opener's output reached the terminal:\n%s", all)
	}
	if !strings.Contains(stderr.String(), "Could not open a browser; open the address above in one.") {
		t.Fatalf("no line saying the browser could not be opened:\n%s", all)
	}
}

func TestTheSetupCardCommandWorksForHowTheProgramWasStarted(t *testing.T) {
	for program, want := range map[string]string{
		"/tmp/go-build2961/b001/exe/auditlog":       "go run . token create --label my-system --scopes ingest --data /srv/audit",
		"/opt/Audit Log/auditlog":                   "'/opt/Audit Log/auditlog' token create --label my-system --scopes ingest --data /srv/audit",
		"./auditlog":                                "./auditlog token create --label my-system --scopes ingest --data /srv/audit",
		`C:\Users\ana\AppData\Local\go-build\x.exe`: `'C:\Users\ana\AppData\Local\go-build\x.exe' token create --label my-system --scopes ingest --data /srv/audit`,
	} {
		m := &Main{Program: program}
		if got := m.tokenCommand("/srv/audit"); got != want {
			t.Errorf("started as %s: %q, want %q", program, got, want)
		}
	}
}

func TestVersionPrintsTheStampedVersionAndCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "auditlog")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X auditlog/ui/cli.version=v1.2.3 -X auditlog/ui/cli.commit=abc123", "auditlog")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "auditlog v1.2.3 (commit abc123, go") {
		t.Fatalf("version: %q, %v", out, err)
	}
	// Unstamped, it still names a version and a commit, never an empty one.
	plain, _, _ := run(t, "version")
	if !strings.HasPrefix(plain, "auditlog ") || strings.Contains(plain, "auditlog  ") || !strings.Contains(plain, "(commit ") || strings.Contains(plain, "commit ,") {
		t.Fatalf("unstamped version: %q", plain)
	}
}

// syncBuffer is a bytes.Buffer that a server goroutine writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestARunningServersRetentionIsReadInHours: ingest through a running server
// skips only what that server would purge; a retention of 36 hours used to
// come across as 1 day, and entries 24 to 36 hours old were dropped.
func TestARunningServersRetentionIsReadInHours(t *testing.T) {
	cfg := logtest.Config(t, t.TempDir())
	cfg.Retention = 36 * time.Hour
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ts := httptest.NewServer(ui.NewServer(log).Handler())
	defer ts.Close()
	secret, _, err := log.CreateToken(context.Background(), "cli", []app.Scope{app.ScopeAdmin}, "test")
	if err != nil {
		t.Fatal(err)
	}
	r := &remote{client.New(ts.URL, secret)}
	cutoff, err := r.Cutoff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(cutoff); d < 35*time.Hour || d > 37*time.Hour {
		t.Fatalf("cutoff %s ago, want 36 hours", d.Round(time.Minute))
	}
}

// An export's proof line grows with the log (the digests of the entries the
// export leaves out): ingest passes over it whatever its length, and refuses
// an event's line longer than any request could be, naming the line.
func TestIngestPassesOverAProofLineOfAnySize(t *testing.T) {
	dir := t.TempDir()
	events := `{"id":"p-1","namespace":"users","action":"user_invited","detail":"Invited kim@example.com"}
{"id":"p-2","namespace":"users","action":"user_removed","detail":"Removed kim@example.com"}
`
	proof := `{"proof":{"links":"` + strings.Repeat("0123456789abcdef", 20<<20/16) + `"}}`
	m, _, errOut := newTestMain(dir)
	m.Stdin = strings.NewReader(events + proof) // the last line, without a newline
	// The proof proves nothing (it names no key): --unverified takes it.
	err := m.Run(context.Background(), []string{"ingest", "--unverified", "-"})
	m.Close()
	if err != nil || !strings.Contains(errOut.String(), "Ingested 2 events") {
		t.Fatalf("ingest of events and a 20 MiB proof line: %v %s", err, errOut)
	}

	long := `{"namespace":"users","action":"user_invited","detail":"` + strings.Repeat("x", 9<<20) + `"}`
	m, _, errOut = newTestMain(dir)
	m.Stdin = strings.NewReader(events + long + "\n")
	err = m.Run(context.Background(), []string{"ingest", "-"})
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "longer than 8 MiB") {
		t.Fatalf("ingest of a 9 MiB event line: %v %s", err, errOut)
	}
}

// Restoring from an export checks it against its proof first: an export
// whose entries were edited is refused before any is imported (imported, it
// would get a new, unbroken chain), unless --unverified asks; an intact one
// is imported, and the key that signed it named.
func TestIngestOfAnExportChecksItsProofFirst(t *testing.T) {
	src := t.TempDir()
	var events strings.Builder
	for i := range 50 {
		fmt.Fprintf(&events, `{"id":"r-%d","namespace":"users","action":"user_invited","detail":"Invited kim%d@example.com","actor":"Lukas Brandt"}`+"\n", i, i)
	}
	m, _, errOut := newTestMain(src)
	m.Stdin = strings.NewReader(events.String())
	if err := m.Run(context.Background(), []string{"ingest", "-"}); err != nil {
		t.Fatalf("ingest: %v %s", err, errOut)
	}
	m.Close()
	file := filepath.Join(t.TempDir(), "export.ndjson")
	if _, stderr, err := runIn(t, src, "export", "--format", "ndjson", "-o", file); err != nil {
		t.Fatalf("export: %v %s", err, stderr)
	}
	key, _, err := runIn(t, src, "verify", "--public-key")
	if err != nil {
		t.Fatal(err)
	}

	whole := t.TempDir()
	_, stderr, err := runIn(t, whole, "ingest", file)
	if err != nil || !strings.Contains(stderr, "Ingested 50 events") || !strings.Contains(stderr, "signed by "+strings.TrimSpace(key)) {
		t.Fatalf("ingest of an intact export: %v\n%s", err, stderr)
	}

	b, _ := os.ReadFile(file)
	edited := filepath.Join(t.TempDir(), "edited.ndjson")
	os.WriteFile(edited, []byte(strings.Replace(string(b), `"actor":"Lukas Brandt"`, `"actor":"Maya Chen"`, 1)), 0o600)
	refused := t.TempDir()
	_, stderr, err = runIn(t, refused, "ingest", edited)
	if err == nil || !strings.Contains(err.Error(), "does not verify against its proof") || !strings.Contains(stderr, "BROKEN") {
		t.Fatalf("ingest of an edited export: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(refused, store.FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused import made a log: %v", err)
	}
	// Through standard input, and with an event added after the proof.
	m, _, errOut = newTestMain(refused)
	m.Stdin = strings.NewReader(strings.Replace(string(b), `"actor":"Lukas Brandt"`, `"actor":"Maya Chen"`, 1))
	err = m.Run(context.Background(), []string{"ingest", "-"})
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "does not verify against its proof") {
		t.Fatalf("ingest - of an edited export: %v\n%s", err, errOut)
	}
	appended := filepath.Join(t.TempDir(), "appended.ndjson")
	os.WriteFile(appended, append(b, `{"id":"r-extra","namespace":"users","action":"user_removed","detail":"Removed kim0@example.com"}`+"\n"...), 0o600)
	if _, stderr, err = runIn(t, refused, "ingest", appended); err == nil || !strings.Contains(err.Error(), "does not verify against its proof") {
		t.Fatalf("ingest of an export with an event after its proof: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(refused, store.FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused import made a log: %v", err)
	}

	_, stderr, err = runIn(t, refused, "ingest", "--unverified", edited)
	if err != nil || !strings.Contains(stderr, "Ingested 50 events") {
		t.Fatalf("ingest --unverified of an edited export: %v\n%s", err, stderr)
	}
}

// A JSON export, or an array of events, given to ingest is told apart from
// NDJSON at its first line, with what to do, rather than refused line by line.
func TestIngestOfJSONSaysToUseNDJSON(t *testing.T) {
	file := filepath.Join(t.TempDir(), "export.json")
	for _, text := range []string{
		`{"events":[{"namespace":"users","action":"user_invited","detail":"Invited kim"}],"proof":null}`,
		"{\n  \"events\": [\n    {\"namespace\": \"users\"}\n  ]\n}\n",
		`[{"namespace":"users","action":"user_invited","detail":"Invited kim"}]`,
	} {
		os.WriteFile(file, []byte(text), 0o600)
		_, _, err := runIn(t, t.TempDir(), "ingest", file)
		if err == nil || !strings.Contains(err.Error(), "holds JSON, not NDJSON") || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("ingest of %.30q: %v", text, err)
		}
	}
}

// -o replaces a regular file only when the export is whole; what is not a
// regular file is written through, since a rename would put a file in its
// place: a link stays a link, a named pipe a pipe (and /dev/null a device).
func TestExportToAFileALinkAPipeAndADirectory(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := runIn(t, dir, "token", "create", "--label", "ci-export"); err != nil {
		t.Fatalf("token create: %v %s", err, stderr)
	}
	out := t.TempDir()
	real := filepath.Join(out, "real.ndjson")
	os.WriteFile(real, []byte("keep\n"), 0o600)
	link := filepath.Join(out, "link.ndjson")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if _, stderr, err := runIn(t, dir, "export", "--format", "ndjson", "-o", link); err != nil {
		t.Fatalf("export -o link: %v %s", err, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(real); !strings.Contains(string(b), "ci-export") {
		t.Fatalf("the file the link names did not get the export: %q", b)
	}

	// A file replaced keeps its permissions; a new one is the owner's alone.
	shared := filepath.Join(out, "shared.ndjson")
	os.WriteFile(shared, []byte("last week's\n"), 0o600)
	if err := os.Chmod(shared, 0o640); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(out, "fresh.ndjson")
	for _, path := range []string{shared, fresh} {
		if _, stderr, err := runIn(t, dir, "export", "--format", "ndjson", "-o", path); err != nil {
			t.Fatalf("export -o %s: %v %s", path, err, stderr)
		}
	}
	if fi, err := os.Stat(shared); runtime.GOOS != "windows" && (err != nil || fi.Mode().Perm() != 0o640) {
		t.Fatalf("the export replaced a file of mode 0640 with %v (%v)", fi.Mode(), err)
	}
	if fi, err := os.Stat(fresh); runtime.GOOS != "windows" && (err != nil || fi.Mode().Perm() != 0o600) {
		t.Fatalf("a new export file has mode %v (%v), want 0600", fi.Mode(), err)
	}

	if _, _, err := runIn(t, dir, "export", "-o", out); !isUsage(err) || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("export -o a directory: %v", err)
	}
	stdout, _, err := runIn(t, dir, "export", "--format", "ndjson", "-o", "-")
	if err != nil || !strings.Contains(stdout, "ci-export") {
		t.Fatalf("export -o - writes to standard output: %v %q", err, stdout)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal("export -o - made a file named -")
	}

	pipe := filepath.Join(out, "pipe")
	if err := mkfifo(pipe); err != nil {
		t.Skip("no named pipes here:", err)
	}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(pipe)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	if _, stderr, err := runIn(t, dir, "export", "--format", "ndjson", "-o", pipe); err != nil {
		t.Fatalf("export -o a named pipe: %v %s", err, stderr)
	}
	if b := <-got; !strings.Contains(string(b), "ci-export") {
		t.Fatalf("the pipe's reader got %q", b)
	}
	if fi, err := os.Lstat(pipe); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the named pipe was replaced: %v %v", fi, err)
	}
}

// A file with a bad line anywhere is refused whole, every bad line named:
// a half-imported file, re-run once fixed, would record its events without
// ids twice.
func TestIngestRecordsNothingOfAFileWithABadLine(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runIn(t, dir, "token", "create", "--label", "ci"); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range 2500 {
		switch i {
		case 1499:
			b.WriteString(`{"namespace":"users","action":"user_invited","detail":"x","ip":"not-an-ip"}` + "\n")
		case 2200:
			b.WriteString(`{"namespace":"nowhere","action":"user_invited","detail":"x"}` + "\n")
		case 2300: // a line that does not read as an event hides none of the others
			b.WriteString(`{"namespace":"users","action":"user_invited","detail":"x","timestamp":"yesterday"}` + "\n")
		case 2301:
			b.WriteString(`{"namespace":"users","action":"Bad Action","detail":"x"}` + "\n")
		default:
			fmt.Fprintf(&b, `{"namespace":"users","action":"user_invited","detail":"Invited user %d"}`+"\n", i)
		}
	}
	file := filepath.Join(t.TempDir(), "events.ndjson")
	os.WriteFile(file, []byte(b.String()), 0o600)
	_, _, err := runIn(t, dir, "ingest", file)
	if err == nil || !strings.Contains(err.Error(), "4 of the 2500 events") || !strings.Contains(err.Error(), "line 1500: ip") ||
		!strings.Contains(err.Error(), "line 2201: namespace") || !strings.Contains(err.Error(), "line 2301: timestamp") ||
		!strings.Contains(err.Error(), "line 2302: action") || !strings.Contains(err.Error(), "nothing was recorded") {
		t.Fatalf("ingest of a file with two bad lines: %v", err)
	}
	if out, _, err := runIn(t, dir, "search", "invited"); err != nil || strings.Contains(out, "user_invited") {
		t.Fatalf("a refused file left entries: %v %q", err, out)
	}
	// Into a directory with no log yet, a refused file makes none.
	typo := filepath.Join(t.TempDir(), "typo")
	if _, _, err := runIn(t, typo, "ingest", file); err == nil {
		t.Fatal("a file with bad lines was taken into a new log")
	}
	if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused file made a log: %v", err)
	}
}

// An export without its proof line (cut short, or cut off) is refused
// unless --unverified asks: its events could have been edited.
func TestIngestRefusesAnExportWithoutItsProof(t *testing.T) {
	src := t.TempDir()
	if _, _, err := runIn(t, src, "token", "create", "--label", "ci-proofless"); err != nil {
		t.Fatal(err)
	}
	exported, _, err := runIn(t, src, "export", "--format", "ndjson")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(exported), "\n")
	file := filepath.Join(t.TempDir(), "proofless.ndjson")
	os.WriteFile(file, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o600)
	dst := t.TempDir()
	if _, _, err := runIn(t, dst, "ingest", file); err == nil || !strings.Contains(err.Error(), "without the proof line") {
		t.Fatalf("ingest of an export without its proof: %v", err)
	}
	if _, stderr, err := runIn(t, dst, "ingest", "--unverified", file); err != nil || !strings.Contains(stderr, "Ingested 1 event ") {
		t.Fatalf("ingest --unverified of an export without its proof: %v %s", err, stderr)
	}
}

// A server takes at most 5 MiB a request: large events go in fewer than
// 1000 to a batch.
func TestIngestBatchesStayUnderARequestsSize(t *testing.T) {
	line := `{"namespace":"users","action":"user_invited","detail":"` + strings.Repeat("x", 4000) + `","metadata":{"k":"` + strings.Repeat("y", 2000) + `"}}` + "\n"
	f, err := os.Create(filepath.Join(t.TempDir(), "fat.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(strings.Repeat(line, 1200))
	total := 0
	err = eachBatch(f, func(lines []string, lineNos []int, read int64) error {
		size := 0
		for _, l := range lines {
			size += len(l) + 1
		}
		if size > batchBytes || len(lines) > app.MaxBatch {
			t.Errorf("a batch of %d lines, %d bytes", len(lines), size)
		}
		if lineNos[0] != total+1 {
			t.Errorf("a batch starts at line %d, want %d", lineNos[0], total+1)
		}
		total += len(lines)
		return nil
	})
	if err != nil || total != 1200 {
		t.Fatalf("%d lines in batches: %v", total, err)
	}
}

// A --retention shorter than the log's purges for good: it is refused,
// naming how many entries it would purge, unless --purge confirms it.
func TestAShorterRetentionThatWouldPurgeWantsConfirming(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "old.ndjson")
	var b strings.Builder
	for i := range 3 {
		fmt.Fprintf(&b, `{"id":"old-%d","timestamp":%q,"namespace":"users","action":"user_invited","detail":"Invited old %d"}`+"\n", i, time.Now().Add(-10*24*time.Hour).Format(time.RFC3339), i)
	}
	os.WriteFile(file, []byte(b.String()), 0o600)
	if _, stderr, err := runIn(t, dir, "ingest", file); err != nil {
		t.Fatalf("ingest: %v %s", err, stderr)
	}
	_, _, err := runIn(t, dir, "serve", "--no-browser", "--addr", "127.0.0.1:0", "--retention", "2d")
	if !isUsage(err) || !strings.Contains(err.Error(), "would purge 3 entries") || !strings.Contains(err.Error(), "--purge") {
		t.Fatalf("serve --retention 2d over entries 10 days old: %v", err)
	}
	if out, _, err := runIn(t, dir, "search", "old"); err != nil || strings.Count(out, "user_invited") != 3 {
		t.Fatalf("the refused retention purged: %v %q", err, out)
	}
	// Confirmed, it purges; a longer one needs nothing.
	for _, args := range [][]string{{"--retention", "2d", "--purge"}, {"--retention", "60d"}} {
		m, _, errOut := newTestMain(dir)
		sig := make(chan os.Signal, 1)
		sig <- os.Interrupt // stop as soon as it serves
		m.Signals = sig
		err = m.Run(context.Background(), append([]string{"serve", "--no-browser", "--addr", "127.0.0.1:0"}, args...))
		m.Close()
		if err != nil {
			t.Fatalf("serve %v: %v %s", args, err, errOut)
		}
	}
	if out, _, err := runIn(t, dir, "search", "old"); err != nil || strings.Contains(out, "user_invited") {
		t.Fatalf("serve --retention 2d --purge left the old entries: %v %q", err, out)
	}
}

func TestHostNamesAreNamesOrAddresses(t *testing.T) {
	for h, want := range map[string]bool{
		"audit.example.lan": true, "audit_log": true, "localhost": true, "192.0.2.7": true, "[2001:db8::1]": true, "2001:db8::1": true,
		"http://audit.example.lan": false, "audit.example.lan:8443": false, "audit example": false, "-audit": false, "": false, "a..b": false,
	} {
		if got := validHostName(h); got != want {
			t.Errorf("validHostName(%q) = %v, want %v", h, got, want)
		}
	}
}

// An export killed before it was whole (kill -9, a power cut) leaves its
// partial file: the next export to that file removes it, for it holds audit
// entries nothing else would ever delete. One being written by a live
// process is left alone.
func TestAnExportRemovesThePartialFileAKilledOneLeft(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, err := runIn(t, dir, "token", "create", "--label", "ci-export"); err != nil {
		t.Fatalf("token create: %v %s", err, stderr)
	}
	out := t.TempDir()
	target := filepath.Join(out, "audit.ndjson")
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	abandoned := filepath.Join(out, ".audit.ndjson.partial-"+strconv.Itoa(dead.Process.Pid)+"-123")
	live := filepath.Join(out, ".audit.ndjson.partial-"+strconv.Itoa(os.Getppid())+"-456")
	other := filepath.Join(out, ".other.ndjson.partial-"+strconv.Itoa(dead.Process.Pid)+"-789")
	for _, p := range []string{abandoned, live, other} {
		if err := os.WriteFile(p, []byte(`{"detail":"an entry"}`+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, stderr, err := runIn(t, dir, "export", "--format", "ndjson", "-o", target); err != nil {
		t.Fatalf("export -o: %v %s", err, stderr)
	}
	if _, err := os.Stat(abandoned); !os.IsNotExist(err) {
		t.Errorf("the killed export's partial file is still there (%v)", err)
	}
	for _, p := range []string{live, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
}
