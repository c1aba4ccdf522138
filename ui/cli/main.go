// Package cli is the Audit Log's command line: serving the page and the API,
// and the commands that read and change a data directory (or the server that
// holds it). It is a user interface like the page, with one file per command.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"auditlog/app"
	_ "auditlog/app/names" // members' names are told apart as drawn (UTS #39)
	"auditlog/app/store"
	"auditlog/index"

	"github.com/pkg/browser"
)

// Main is the command line: each command opens what it needs from the data
// directory, and Close releases whatever the command left open. Tests set its
// fields directly and run commands in-process.
type Main struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
	// OpenBrowser opens a URL in the user's browser.
	OpenBrowser func(url string) error
	// Program is how the user started this program (os.Args[0]); the page's
	// setup card repeats it so its commands work as written.
	Program string
	// Signals ends serve, besides its context, which the process's own
	// signals end (see interruptible); tests set it.
	Signals <-chan os.Signal
	// Ready, if set, hears the server's URLs once it listens.
	Ready func(url, launchURL string)
	// Prompt asks a question on the terminal (without echo when secret);
	// nil when standard input is not a terminal.
	Prompt func(question string, secret bool) (string, error)

	closers []func() error
	// shorterRetention hears of a --retention that would purge entries at
	// once (see app.Config.ShorterRetention).
	shorterRetention func(from, to time.Duration, purging int) error
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	return &Main{
		Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv,
		OpenBrowser: openBrowser, Program: os.Args[0], Prompt: terminalPrompt(),
	}
}

// openBrowser opens url without letting the opener (xdg-open and the
// programs it tries) write to our terminal: on a machine without a desktop
// their complaints would bury the line that says what to do.
func openBrowser(url string) error {
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}

// Execute runs one command line and returns the process's exit code: 0 when
// it worked (or help was asked for), 2 for a command line that cannot be
// read, 1 for anything else.
func Execute(ctx context.Context, args []string) int {
	tuneGC(os.Getenv)
	ctx, stop := interruptible(ctx, os.Stderr)
	defer stop()
	m := NewMain()
	err := m.Run(ctx, args)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	return m.exitCode(err)
}

// interruptible returns ctx ended by Ctrl-C, SIGTERM or SIGHUP (the
// terminal window closed), so that every command stops as it would on an
// error: an export records that it was cut short and leaves no temporary
// file, and the store is closed cleanly rather than checked whole at the
// next start. A second signal ends the process at once, as usual, and so
// does the first after stopGrace: a step that cannot be interrupted (a
// reindex under way) does not hold it for longer. A
// signal the process was started to ignore (nohup, a background job of a
// script) stays ignored. Writing to a reader that went away (auditlog
// search | head -1) fails the write rather than killing the process, for
// the same reasons. stop ends it all.
func interruptible(ctx context.Context, stderr io.Writer) (context.Context, func()) {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	var sigs []os.Signal
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	stopNotify := func() {}
	if len(sigs) > 0 { // none would mean every signal
		ctx, stopNotify = signal.NotifyContext(ctx, sigs...)
	}
	finished := make(chan struct{})
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		stopNotify()
		select {
		case <-finished:
			return
		case <-time.After(time.Second):
			fmt.Fprintln(stderr, "Stopping… (press Ctrl-C again to stop at once)")
		}
		select {
		case <-finished:
		case <-time.After(stopGrace):
			fmt.Fprintln(stderr, "auditlog: stopped before it was done")
			os.Exit(130)
		}
	}()
	var once sync.Once
	return ctx, func() { once.Do(func() { close(finished); stopNotify() }) }
}

// stopGrace is how long a command may take to stop once asked: serve's
// shutdown waits up to 10 s for requests under way.
const stopGrace = 15 * time.Second

func (m *Main) exitCode(err error) int {
	switch {
	case brokenStdout(err):
		return 141 // as a shell reports a process a broken pipe ended, and as quietly
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(m.Stderr, "auditlog: stopped before it was done")
		return 130 // as a shell reports a process Ctrl-C ended
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case isUsage(err):
		fmt.Fprintln(m.Stderr, "auditlog:", err)
		return 2
	default:
		fmt.Fprintln(m.Stderr, "auditlog:", err)
		return 1
	}
}

// brokenStdout tells whether err is a write to standard output that failed
// because its reader went away; a connection to a server that broke is
// another matter, and said.
func brokenStdout(err error) bool {
	var pe *fs.PathError
	return errors.Is(err, syscall.EPIPE) && errors.As(err, &pe) && pe.Path == os.Stdout.Name()
}

// onClose has Close release something a command opened.
func (m *Main) onClose(f func() error) { m.closers = append(m.closers, f) }

// Close releases what the last command opened, last opened first.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	return errors.Join(errs...)
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

const usage = `Audit Log: a time-stamped record of every meaningful change in your workspace.

Usage:
  auditlog [serve flags]           serve and open the Audit Log in your browser
  auditlog serve [flags]           serve until Ctrl-C (--addr, --data, --retention, --no-browser)
                                   beyond loopback, members sign in (--host, --tls-cert, --tls-key,
                                   --trusted-proxy, --team); as a cluster node (--cluster-listen,
                                   --cluster, --nats-listen, or --nats for an existing NATS)
  auditlog token create --label L --scopes ingest,read
                                   create an API token; the secret is printed once
  auditlog token list              list API tokens
  auditlog token regenerate ID     give an API token a new secret; the old one stops working at once
  auditlog token revoke ID         revoke an API token
  auditlog ingest FILE|-           import NDJSON events (an export is checked against its proof first)
  auditlog search [QUERY]          search entries (--namespace, --limit, --cursor for the next page)
  auditlog reindex                 rebuild the keyword index from the store
  auditlog export [QUERY]          export entries (--format csv|json|ndjson, --namespace, --after, --before, -o FILE)
  auditlog workspace [--name N] [--timezone TZ]
                                   show or change the workspace's name and timezone
  auditlog demo                    load 30 days of demo activity (auditlog --demo loads it, then serves)
  auditlog verify                  prove nobody edited the log: walk its chain and signed checkpoints
  auditlog verify --file F.ndjson --public-key KEY
                                   verify an export offline (auditlog verify --public-key prints KEY)
  auditlog doctor                  check the store, the chain and the index; say how to restore
  auditlog bench [--events N]      measure ingest, search, start-up, purge and disk use (--clients, --ids, --rounds, --data)
  auditlog version                 print the version and commit

Every command takes --data DIR (default: $AUDITLOG_DATA, else the user data directory).
Run "auditlog COMMAND --help" for a command's flags.
`

// commands are the command line's verbs, in the order usage lists them.
var commands = []struct {
	name string
	run  func(*Main, context.Context, []string) error
}{
	{"serve", (*Main).serve},
	{"token", (*Main).token},
	{"ingest", (*Main).ingest},
	{"search", (*Main).search},
	{"reindex", (*Main).reindex},
	{"export", (*Main).export},
	{"workspace", (*Main).workspace},
	{"demo", (*Main).demo},
	{"verify", (*Main).verify},
	{"doctor", (*Main).doctor},
	{"bench", (*Main).bench},
	{"version", (*Main).version},
	{"help", (*Main).help},
}

// Run runs one command line. Without a command it serves, so that a
// double-click or "auditlog --demo" opens the page.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		switch {
		case len(args) > 0 && isHelp(args[0]):
			return m.help(ctx, nil)
		case len(args) > 0 && args[0] == "--version":
			return m.version(ctx, nil)
		}
		return m.serve(ctx, args)
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(m, ctx, args[1:])
		}
	}
	return usageError{unknownCommand(args[0])}
}

func isHelp(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

func (m *Main) help(context.Context, []string) error {
	fmt.Fprint(m.Stdout, usage)
	return nil
}

// unknownCommand says so first, and names the command that was probably meant.
func unknownCommand(name string) string {
	msg := fmt.Sprintf("unknown command '%s'", name)
	best, bestDist := "", 3 // suggest only what is within two edits
	for _, c := range commands {
		if d := editDistance(name, c.name); d < bestDist {
			best, bestDist = c.name, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf("; did you mean '%s'?", best)
	}
	return msg + ` (run "auditlog help" for the list of commands)`
}

// editDistance counts the insertions, deletions and substitutions between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// flagSet builds a command's flags with the --data flag every command shares.
// The usage line and about text are what "auditlog NAME --help" prints above the flags.
func (m *Main) flagSet(name, usageLine, about string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("auditlog "+name, flag.ContinueOnError)
	data := fs.String("data", "", "data directory (default: $AUDITLOG_DATA, else "+defaultDataDirHint()+")")
	fs.Usage = func() {
		// Asked for, help goes to standard output, so it can be paged.
		w := fs.Output()
		fmt.Fprintf(w, "Usage: auditlog %s\n\n", usageLine)
		if about != "" {
			fmt.Fprintf(w, "%s\n\n", about)
		}
		fmt.Fprintln(w, "Flags:")
		fs.PrintDefaults()
	}
	return fs, data
}

// parse reads flags wherever they stand among the arguments, so that
// "auditlog ingest events.ndjson --data d" works as well as the other order.
// Everything after "--" is an argument, as in: auditlog search -- -revoked.
// Help asked for with -h or --help is printed on standard output.
func (m *Main) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	for _, a := range args {
		if isHelp(a) {
			fs.SetOutput(m.Stdout)
			fs.Usage()
			return nil, flag.ErrHelp
		}
	}
	// A wrong flag is said in one line, first, not above a screen of flags.
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageError{fmt.Sprintf("%s: %v (%s --help lists its flags)", strings.TrimPrefix(fs.Name(), "auditlog "), err, fs.Name())}
		}
		args = fs.Args()
		if len(args) == 0 {
			if err := emptyFlags(fs); err != nil {
				return nil, err
			}
			return append(positional, rest...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func (m *Main) dataDir(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := m.Getenv("AUDITLOG_DATA"); env != "" {
		return env, nil
	}
	return defaultDataDir()
}

// defaultDataDir is the per-user data directory of the platform.
func defaultDataDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "auditlog"), nil
		}
	case "darwin":
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, "Library", "Application Support", "auditlog"), nil
		}
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" {
			return filepath.Join(d, "auditlog"), nil
		}
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, ".local", "share", "auditlog"), nil
		}
	}
	return "", errors.New("no data directory: set --data or AUDITLOG_DATA")
}

func defaultDataDirHint() string {
	switch runtime.GOOS {
	case "windows":
		return `%LocalAppData%\auditlog`
	case "darwin":
		return "~/Library/Application Support/auditlog"
	}
	return "$XDG_DATA_HOME/auditlog, else ~/.local/share/auditlog"
}

// openLog opens the store and the index in dir. When the index must be
// rebuilt, wait reports progress on stderr until it is done; the server instead
// rebuilds in the background while it answers. Close closes the Log.
func (m *Main) openLog(dir string, retention time.Duration, wait bool) (*app.Log, error) {
	st, err := m.openStore(dir)
	if err != nil {
		return nil, err
	}
	return m.openLogOn(dir, st, retention, wait)
}

// openStore opens the store in dir, saying so when it is first checked
// whole because the last run did not end cleanly: nothing else shows for
// those seconds, and the browser opens only after them.
func (m *Main) openStore(dir string) (*store.Store, error) {
	var began time.Time
	st, err := store.OpenReporting(dir, func(size int64) {
		began = time.Now()
		fmt.Fprintf(m.Stderr, "The last run did not end cleanly: checking every page of the store (%d MB) before starting…\n", size>>20)
	})
	if err == nil && !began.IsZero() {
		fmt.Fprintf(m.Stderr, "The store is sound (checked in %s).\n", time.Since(began).Round(10*time.Millisecond))
	}
	return st, err
}

// openLogOn opens the Log on st, a store in dir or a cluster node whose
// local store is there; the Log closes st.
func (m *Main) openLogOn(dir string, st app.Store, retention time.Duration, wait bool) (*app.Log, error) {
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	key, err := store.SigningKey(dir)
	if err != nil {
		st.Close()
		return nil, err
	}
	cfg := app.Config{
		Store:            st,
		Signer:           key,
		OpenIndex:        func() (app.SearchIndex, error) { return index.Open(filepath.Join(dir, "index")) },
		Retention:        retention,
		ShorterRetention: m.shorterRetention,
		Operator:         currentUser(),
		Logger:           logger,
	}
	if wait {
		cfg.Progress = progressPrinter(m.Stderr, "Indexing")
	} else {
		cfg.Progress = progressLogger(logger)
	}
	log, err := app.Open(cfg)
	if err != nil {
		return nil, err
	}
	m.onClose(log.Close)
	if wait {
		if err := log.WaitIndexed(context.Background()); err != nil {
			fmt.Fprintf(m.Stderr, "Warning: keyword results may be incomplete: %v\n", err)
		}
	}
	return log, nil
}

// progressPrinter reports long work on one terminal line, at most a few times a second.
func progressPrinter(w io.Writer, what string) func(done, total int) {
	var last time.Time
	return func(done, total int) {
		if done < total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		pct := 100
		if total > 0 {
			pct = done * 100 / total
		}
		fmt.Fprintf(w, "\r%s: %d/%d entries (%d%%)", what, done, total, pct)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}

// slowProgress is progressPrinter for work that is usually quick: it says
// nothing unless the work is still going a second after it began. end ends
// the line when the work stopped short of its total (a break found midway),
// before anything else is said.
func slowProgress(w io.Writer, what string) (report func(done, total int), end func()) {
	began := time.Now()
	printer := progressPrinter(w, what)
	shown, complete := false, false
	report = func(done, total int) {
		if !shown && time.Since(began) < time.Second {
			return
		}
		shown, complete = true, done >= total
		printer(done, total)
	}
	end = func() {
		if shown && !complete {
			fmt.Fprintln(w)
		}
	}
	return report, end
}

// progressLogger reports a rebuild of the index while the server runs: a
// line when it starts, one every few seconds and one when it ends, between
// the server's own log lines rather than over them. A million entries take
// minutes, during which searches with words may miss entries.
func progressLogger(logger *slog.Logger) func(done, total int) {
	var began, last time.Time
	return func(done, total int) {
		switch {
		case total == 0:
			// A new, empty log: nothing to rebuild, nothing to say.
		case began.IsZero():
			began, last = time.Now(), time.Now()
			logger.Info("rebuilding the keyword index from the store; until it is done, searches with words may miss entries", "entries", total)
		case done >= total:
			logger.Info("the keyword index is rebuilt", "entries", done, "took", time.Since(began).Round(time.Second))
		case time.Since(last) >= 5*time.Second:
			last = time.Now()
			logger.Info("rebuilding the keyword index", "done", done, "of", total, "percent", done*100/max(total, 1))
		}
	}
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		if u.Name != "" {
			return strings.Split(u.Name, ",")[0]
		}
		return u.Username
	}
	return app.LocalActor
}

// parseNone is parse for a command that takes flags only: a word left over
// (a scope after a space in "--scopes ingest, read", say) is refused rather
// than ignored.
func (m *Main) parseNone(fs *flag.FlagSet, args []string) error {
	pos, err := m.parse(fs, args)
	if err == nil && len(pos) > 0 {
		err = usageError{fmt.Sprintf("%s takes no arguments, but was given %q (%s --help lists its flags)", strings.TrimPrefix(fs.Name(), "auditlog "), strings.Join(pos, " "), fs.Name())}
	}
	return err
}

// mustNotBeEmpty are the flags whose empty value would not mean "none" but
// fall back silently to something else: --data "$UNSET" would write into
// the user's own log, --addr "" listen on every network interface.
var mustNotBeEmpty = []string{"data", "addr"}

// emptyFlags refuses those flags given with an empty value.
func emptyFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err == nil && slices.Contains(mustNotBeEmpty, f.Name) && strings.TrimSpace(f.Value.String()) == "" {
			err = usageError{fmt.Sprintf("%s: --%s is empty; give a value, or leave the flag out for the default", strings.TrimPrefix(fs.Name(), "auditlog "), f.Name)}
		}
	})
	return err
}

func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
