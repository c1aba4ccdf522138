// Command auditlog records and investigates every meaningful state change in a
// data workspace: one executable, a store and a keyword index in a data
// directory, an API for other systems and a page for people.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"auditlog/app"
	"auditlog/index"
	"auditlog/ui"

	"github.com/pkg/browser"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// the module's build information says what was built.
var version = ""

func main() {
	m := NewMain()
	if err := m.Run(context.Background(), os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(m.Stderr, "auditlog:", err)
		}
		if errors.Is(err, flag.ErrHelp) || isUsage(err) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// Main is the command line: each command opens what it needs from the data
// directory and closes it again. Tests set its fields directly.
type Main struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
	// OpenBrowser opens a URL in the user's browser.
	OpenBrowser func(url string) error
	// Signals ends serve; nil means SIGINT and SIGTERM.
	Signals <-chan os.Signal
	// Ready, if set, hears the server's URLs once it listens (for tests).
	Ready func(url, launchURL string)
	Now   func() time.Time
}

// NewMain returns a Main wired to the process.
func NewMain() *Main {
	return &Main{
		Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Getenv: os.Getenv,
		OpenBrowser: browser.OpenURL, Now: time.Now,
	}
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
  auditlog token create --label L --scopes ingest,read
                                   create an API token; the secret is printed once
  auditlog token list              list API tokens
  auditlog token revoke ID         revoke an API token
  auditlog ingest FILE|-           import NDJSON events
  auditlog search [QUERY]          search entries (--namespace, --limit)
  auditlog reindex                 rebuild the keyword index from the store
  auditlog export [QUERY]          export entries (--format csv|json|ndjson, --namespace, --after, --before, -o FILE)
  auditlog workspace [--name N] [--timezone TZ]
                                   show or change the workspace's name and timezone
  auditlog demo                    load 30 days of demo activity (auditlog --demo loads it, then serves)
  auditlog version                 print the version

Every command takes --data DIR (default: $AUDITLOG_DATA, else the user data directory).
Run "auditlog COMMAND -h" for a command's flags.
`

// Run runs one command line.
func (m *Main) Run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return m.serve(ctx, args)
	case "token":
		return m.token(ctx, args)
	case "ingest":
		return m.ingest(ctx, args)
	case "search":
		return m.search(ctx, args)
	case "reindex":
		return m.reindex(ctx, args)
	case "demo":
		return m.demo(ctx, args)
	case "export":
		return m.export(ctx, args)
	case "workspace":
		return m.workspace(ctx, args)
	case "version", "--version":
		fmt.Fprintln(m.Stdout, "auditlog", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		v := info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		return v + " " + runtime.Version()
	}
	return "devel"
}

// flagSet builds a command's flags with the --data flag every command shares.
func (m *Main) flagSet(name string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("auditlog "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	data := fs.String("data", "", "data directory (default: $AUDITLOG_DATA, else "+defaultDataDirHint()+")")
	return fs, data
}

// parse reads flags wherever they stand among the arguments, so that
// "auditlog ingest events.ndjson --data d" works as well as the other order.
// Everything after "--" is an argument, as in: auditlog search -- -revoked.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
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
	return "~/.local/share/auditlog"
}

// parseRetention reads "30d", "2w" or a Go duration such as "720h".
func parseRetention(s string) (time.Duration, error) {
	bad := usageError{fmt.Sprintf("--retention %q: use days from 1d to 3650d, such as 30d", s)}
	var d time.Duration
	if unit := s[max(len(s)-1, 0):]; unit == "d" || unit == "w" {
		n, err := strconv.Atoi(strings.TrimSuffix(s, unit))
		if err != nil || n < 1 || n > 3650 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
		if unit == "w" {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d < app.MinRetention || d > app.MaxRetention {
		return 0, bad
	}
	return d, nil
}

// openLog opens the store and the index in dir. When the index must be
// rebuilt, wait reports progress on stderr until it is done; the server instead
// rebuilds in the background while it answers.
func (m *Main) openLog(dir string, retention time.Duration, wait bool) (*app.Log, func() error, error) {
	logger := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := app.Config{
		Dir:       dir,
		OpenIndex: func() (app.SearchIndex, error) { return index.Open(filepath.Join(dir, "index")) },
		Retention: retention,
		Operator:  currentUser(),
		Now:       m.Now,
		Logger:    logger,
	}
	if wait {
		cfg.Progress = progressPrinter(m.Stderr, "Indexing")
	}
	log, err := app.Open(cfg)
	if err != nil {
		return nil, nil, err
	}
	if wait {
		log.WaitIndexed(context.Background())
	}
	return log, log.Close, nil
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

func currentUser() string {
	if u, err := user.Current(); err == nil {
		if u.Name != "" {
			return strings.Split(u.Name, ",")[0]
		}
		return u.Username
	}
	return "Local user"
}

func (m *Main) signals() (<-chan os.Signal, func()) {
	if m.Signals != nil {
		return m.Signals, func() {}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

func (m *Main) serve(ctx context.Context, args []string) error {
	fs, data := m.flagSet("serve")
	addr := fs.String("addr", "127.0.0.1:7410", "address to listen on; if the default port is busy, a free one is used")
	retention := fs.String("retention", "", "how long entries are kept, e.g. 30d (default: as last set, else 30d)")
	noBrowser := fs.Bool("no-browser", false, "do not open the browser")
	demo := fs.Bool("demo", false, "load demo data first (when the log is empty)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var keep time.Duration
	if *retention != "" {
		var err error
		if keep, err = parseRetention(*retention); err != nil {
			return err
		}
	}
	dir, err := m.dataDir(*data)
	if err != nil {
		return err
	}
	log, closeLog, err := m.openLog(dir, keep, false)
	if in, ok := inUse(dir, err); ok {
		// Another Audit Log serves this directory: a second double-click should
		// lead to it, not to an error.
		fmt.Fprintf(m.Stdout, "Audit Log is already running at %s\n", in.LaunchURL)
		if !*noBrowser && m.OpenBrowser != nil {
			if err := m.OpenBrowser(in.LaunchURL); err != nil {
				fmt.Fprintf(m.Stderr, "Could not open a browser (%v); open the address above.\n", err)
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer closeLog()
	if *demo {
		if err := m.loadDemo(ctx, log); err != nil {
			return err
		}
	}

	srv := ui.NewServer(log)
	srv.Addr = *addr
	srv.FallbackPort = !flagWasSet(fs, "addr")
	srv.LocalUser = currentUser()
	srv.Logger = slog.New(slog.NewTextHandler(m.Stderr, nil))
	if err := srv.Open(); err != nil {
		return err
	}
	launch := srv.LaunchURL(srv.URL())
	if err := writeInstance(dir, instance{URL: srv.URL(), LaunchURL: launch, PID: os.Getpid()}); err != nil {
		fmt.Fprintf(m.Stderr, "Could not record the running instance (%v); a second launch will not find it.\n", err)
	}
	defer removeInstance(dir)
	fmt.Fprintf(m.Stdout, "Audit Log is running at %s\n", launch)
	fmt.Fprintf(m.Stdout, "API: %s/api/v1/events   data: %s   press Ctrl-C to stop\n", srv.URL(), dir)
	if m.Ready != nil {
		m.Ready(srv.URL(), launch)
	}
	if !*noBrowser && m.OpenBrowser != nil {
		if err := m.OpenBrowser(launch); err != nil {
			fmt.Fprintf(m.Stderr, "Could not open a browser (%v); open the address above.\n", err)
		}
	}
	sig, stop := m.signals()
	defer stop()
	select {
	case <-sig:
	case <-ctx.Done():
	case <-srv.QuitRequested(): // Quit on the page
	}
	fmt.Fprintln(m.Stderr, "Shutting down…")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Close(shutdown)
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
