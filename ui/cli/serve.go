package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"auditlog/app"
	"auditlog/app/store"
	"auditlog/ui"
)

// validHostName tells whether h is a name a Host header can carry (its
// labels letters, digits, hyphens and underscores) or an IP address: the server compares
// it with the name a request was sent to, which a URL or a port never is.
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') { // '_': container names
				return false
			}
		}
	}
	return true
}

// settingFlags lists the flags given that would set up a server, which a
// server already running does not take.
func settingFlags(fs *flag.FlagSet) []string {
	var set []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "data" && f.Name != "no-browser" {
			set = append(set, "--"+f.Name)
		}
	})
	return set
}

// defaultAddr is where the Audit Log listens unless told otherwise; producers
// post to this address, so it only moves when the port is taken.
var defaultAddr = "127.0.0.1:7410"

func (m *Main) serve(ctx context.Context, args []string) error {
	fs, data := m.flagSet("serve", "[serve] [flags]", "Serve the Audit Log page and API until Ctrl-C, and open the page in the browser.")
	addr := fs.String("addr", defaultAddr, "address to listen on; if the default port is busy, another one is used and remembered")
	retention := fs.String("retention", "", "how long entries are kept, e.g. 30d (default: as last set, else 30d)")
	purge := fs.Bool("purge", false, "with a --retention shorter than the log's, purge the entries it leaves out at once, for good")
	noBrowser := fs.Bool("no-browser", false, "do not open the browser")
	demo := fs.Bool("demo", false, "load demo data first (when the log is empty)")
	team := fs.Bool("team", false, "members sign in with passwords even on loopback (behind a reverse proxy on this machine); on by itself beyond loopback")
	var hosts, proxies listFlag
	fs.Var(&hosts, "host", "beyond loopback, a name this Audit Log answers to, e.g. audit.example.lan (repeat it, or a comma list)")
	fs.Var(&proxies, "trusted-proxy", "the IP (or CIDR range) of a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed (repeatable)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate file (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "the PEM private key file of --tls-cert")
	cf := clusterFlags(fs)
	if err := m.parseNone(fs, args); err != nil {
		return err
	}
	if err := cf.check(fs); err != nil {
		return err
	}
	for _, h := range hosts {
		if !validHostName(h) {
			return usageError{fmt.Sprintf("--host %q: give the name alone, such as audit.example.lan, or an IP address (no http://, port or path)", h)}
		}
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError{"--tls-cert and --tls-key go together: give both files"}
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
	// A shorter retention purges for good: a typo of 3d for 30d must not
	// wipe a month. It goes ahead when it leaves nothing out, or --purge
	// says so.
	m.shorterRetention = func(from, to time.Duration, purging int) error {
		if purging == 0 || *purge {
			if purging > 0 {
				fmt.Fprintf(m.Stderr, "Retention %s, shorter than %s: purging %s older than %s, as --purge asks.\n", app.FormatRetention(to), app.FormatRetention(from), app.Plural(purging, "entry", "entries"), app.FormatRetention(to))
			}
			return nil
		}
		return usageError{fmt.Sprintf("--retention %s is shorter than the %s this log keeps: it would purge %s, older than %s, at once and for good. Export what you need first (auditlog export), then start again with --retention %s --purge", *retention, app.FormatRetention(from), app.Plural(purging, "entry", "entries"), app.FormatRetention(to), *retention)}
	}
	// Another Audit Log serves this directory: a second double-click should
	// lead to it, not to an error, and without waiting for the store's lock.
	in, running := reachableInstance(dir)
	// A new directory's first entry, the retention it is started with, is no
	// record the demo could mix with: the demo loads beside it.
	_, statErr := os.Stat(filepath.Join(dir, store.FileName))
	fresh := errors.Is(statErr, os.ErrNotExist)
	var log *app.Log
	var status func(context.Context) app.ClusterStatus
	if !running {
		if cf.on(fs) {
			log, status, err = m.openClusterLog(dir, keep, cf)
		} else {
			log, err = m.openLog(dir, keep, false)
		}
		in, running = inUse(dir, err)
	}
	if running {
		fmt.Fprintf(m.Stdout, "Audit Log is already running at %s\n", in.LaunchURL)
		if unapplied := settingFlags(fs); len(unapplied) > 0 {
			// A script that asked for them must not go on as if they held.
			return fmt.Errorf("%s not applied: the Audit Log already running on %s keeps its own; stop it first, or change the settings on its page", strings.Join(unapplied, ", "), dir)
		}
		m.openInBrowser(*noBrowser, in.LaunchURL)
		return nil
	}
	if err != nil {
		return err
	}
	if *demo {
		if err := m.loadDemo(ctx, log, fresh); err != nil {
			return err
		}
	}

	srv := ui.NewServer(log)
	srv.LocalUser = currentUser()
	srv.Logger = slog.New(slog.NewTextHandler(m.Stderr, nil))
	srv.TokenCommand = m.tokenCommand(dir)
	srv.Team, srv.Hosts, srv.TrustedProxies = *team, hosts, proxies
	srv.TLSCert, srv.TLSKey = *tlsCert, *tlsKey
	srv.Cluster = status
	note, err := m.listen(srv, dir, *addr, flagWasSet(fs, "addr"))
	if err != nil {
		return err
	}
	// Members reach a team-mode server by its configured name, if it has
	// one, or an address it listens on beyond this computer.
	teamURL := srv.SharedURL()
	m.onClose(func() error {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Close(shutdown)
	})
	launch := srv.LaunchURL(srv.URL())
	if err := writeInstance(dir, instance{URL: srv.URL(), LaunchURL: launch, PID: os.Getpid(), TLSCert: absPath(*tlsCert)}); err != nil {
		fmt.Fprintf(m.Stderr, "Could not record the running instance (%v); a second launch will not find it.\n", err)
	}
	m.onClose(func() error { removeInstance(dir); return nil })
	if note != "" {
		fmt.Fprintln(m.Stdout, note)
	}
	fmt.Fprintf(m.Stdout, "Audit Log is running at %s\n", launch)
	if srv.Team {
		fmt.Fprintf(m.Stdout, "Team mode: members sign in at %s%s (the link above works only on this computer)\n", teamURL, ui.SignInPath)
		if err := m.setUpOwner(ctx, srv, teamURL); errors.Is(err, context.Canceled) {
			fmt.Fprintln(m.Stderr, "Shutting down…") // Ctrl-C at a question: no owner yet
			return nil
		} else if err != nil {
			return err
		}
	}
	fmt.Fprintf(m.Stdout, "API: %s/api/v1/events   data: %s   press Ctrl-C to stop\n", srv.URL(), dir)
	if m.Ready != nil {
		m.Ready(srv.URL(), launch)
	}
	m.openInBrowser(*noBrowser, launch)
	select {
	case <-m.Signals:
	case <-ctx.Done():
	case <-srv.QuitRequested(): // Quit on the page
	}
	fmt.Fprintln(m.Stderr, "Shutting down…")
	return nil
}

// openInBrowser opens url in the browser unless told not to, and says in one line
// what to do when that fails.
func (m *Main) openInBrowser(noBrowser bool, url string) {
	if noBrowser || m.OpenBrowser == nil {
		return
	}
	if err := m.OpenBrowser(url); err != nil {
		fmt.Fprintln(m.Stderr, "Could not open a browser; open the address above in one.")
	}
}

// portFile remembers the port the server last listened on, so that a server
// that had to move off a busy default port comes back where producers now post.
const portFile = "port"

// listen opens srv on addr. Unless addr was given, it tries the port of the
// last start first, then the default, then any free port, and returns a line
// saying so when it had to move.
func (m *Main) listen(srv *ui.Server, dir, addr string, explicit bool) (note string, err error) {
	if explicit {
		srv.Addr = addr
		return "", srv.Open()
	}
	host, defPort, _ := net.SplitHostPort(addr)
	var tries []string
	if b, err := os.ReadFile(filepath.Join(dir, portFile)); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p < 65536 {
			tries = append(tries, strconv.Itoa(p))
		}
	}
	if len(tries) == 0 || tries[0] != defPort {
		tries = append(tries, defPort)
	}
	tries = append(tries, "0")
	busy := map[string]bool{}
	for _, port := range tries {
		srv.Addr = net.JoinHostPort(host, port)
		if err = srv.Open(); err == nil {
			break
		}
		busy[port] = true
	}
	if err != nil {
		return "", err
	}
	got := strings.TrimPrefix(srv.URL(), "http://")
	_, gotPort, _ := net.SplitHostPort(got)
	if err := os.WriteFile(filepath.Join(dir, portFile), []byte(gotPort+"\n"), 0o600); err != nil {
		fmt.Fprintf(m.Stderr, "Could not remember the port (%v); the next start tries %s again.\n", err, defPort)
	}
	switch {
	case gotPort == defPort:
		return "", nil
	case busy[defPort]:
		return fmt.Sprintf("port %s is busy; listening on %s instead (the next start tries it first)", defPort, got), nil
	default:
		return fmt.Sprintf("listening on %s, the port of the last start (port %s was busy then)", got, defPort), nil
	}
}

// tokenCommand is the token command of the page's setup card, written for
// the way this program was started, so that it works when pasted.
func (m *Main) tokenCommand(dir string) string {
	return m.command() + " token create --label my-system --scopes ingest --data " + shellQuote(dir)
}

// command is how to run this program again from the user's shell: "go run ."
// when it was built by go run (into a go-build work directory that is gone
// afterwards), else the path it was started by.
func (m *Main) command() string {
	p := m.Program
	switch {
	case p == "":
		return "auditlog"
	case isGoRun(p):
		return "go run ."
	}
	return shellQuote(p)
}

func isGoRun(program string) bool {
	p := filepath.ToSlash(program)
	return strings.Contains(p, "/go-build") && strings.Contains(p, "/exe/")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:=@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseRetention reads "30d", "2w" or a Go duration such as "720h".
func parseRetention(s string) (time.Duration, error) {
	bad := usageError{fmt.Sprintf("--retention %q: give days, weeks or hours from 1d to 3650d, such as 30d, 4w or 36h", s)}
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

// absPath makes a file given on the command line findable from any directory.
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
