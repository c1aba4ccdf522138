// Package ui is the HTTP face of the Audit Log: the JSON API other systems
// send events to, and the Audit Log page people investigate with.
package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"auditlog/app"

	"github.com/labstack/echo/v4"
)

// MaxBodyBytes bounds one ingest request.
const MaxBodyBytes = 5 << 20

// Server serves the API and the page on one listener.
type Server struct {
	Log    *app.Log
	Addr   string // host:port; port 0 picks a free one
	Logger *slog.Logger
	// FallbackPort: when Addr's port is taken, listen on a free port instead of failing.
	FallbackPort bool
	// LocalUser names the person at this computer, the actor of what they do on the page.
	LocalUser string
	// TokenCommand is the command the first-run card shows for creating a
	// token, written for how this program was started so that it works as pasted.
	TokenCommand string
	// Team: members sign in with a password, and the launch link works only
	// on this computer. Open turns it on when listening beyond loopback.
	Team bool
	// Hosts are the names (besides loopback and the listening address) that
	// requests may be addressed to in team mode, e.g. audit.example.lan.
	Hosts []string
	// TrustedProxies are the addresses (IPs or CIDR ranges) of reverse
	// proxies whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []string
	// TLSCert and TLSKey are PEM files: when set, the server speaks HTTPS itself.
	TLSCert, TLSKey string
	// Passwords hashes members' passwords; nil means argon2id with the
	// default costs.
	Passwords app.PasswordHasher
	// Cluster, when the Log's store is a node of a cluster, reports what
	// this node knows of it, for /healthz and the page.
	Cluster func(context.Context) app.ClusterStatus

	echo     *echo.Echo
	http     *http.Server
	ln       net.Listener
	logger   *slog.Logger
	launch   string // the secret of the launch URL, valid while this process runs
	sessions sessions
	shown    shownOnce // what settings pages show once, after a change
	loopback bool
	quitting chan struct{} // closed when the person at the page quits
	quitOnce sync.Once

	teamOnce  sync.Once
	members   *app.Team
	setup     string   // the one-time owner setup secret, while there is no owner
	listenIPs []net.IP // the addresses requests may name in team mode
	trusted   []*net.IPNet
}

// NewServer builds the routes. Call Open to listen.
func NewServer(log *app.Log) *Server {
	s := &Server{Log: log, Addr: "127.0.0.1:0", launch: rand.Text(), setup: rand.Text(), quitting: make(chan struct{})}
	s.sessions.m = map[string]session{}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	s.echo = e
	s.routes()
	e.GET(OpenAPIPath, serveOpenAPI)
	e.HEAD(OpenAPIPath, serveOpenAPI)
	e.POST(QuitPath, s.quit, s.requireSession, s.requireRole(app.RoleOwner))
	return s
}

// Open listens on Addr, so that a busy port fails (or falls back) at once,
// before anything claims to be running.
func (s *Server) Open() error {
	s.logger = s.Logger
	if s.logger == nil {
		s.logger = slog.Default()
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil && s.FallbackPort {
		host, _, _ := net.SplitHostPort(s.Addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return fmt.Errorf("ui: unable to listen on %s: %w", s.Addr, err)
	}
	s.ln = ln
	s.loopback = isLoopbackAddr(ln.Addr())
	if !s.loopback {
		s.Team = true
	}
	if err := s.prepare(); err != nil {
		ln.Close()
		return err
	}
	s.listenIPs = listenIPs(ln.Addr())
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	go func() {
		var err error
		if s.TLSCert != "" {
			err = s.http.ServeTLS(ln, s.TLSCert, s.TLSKey)
		} else {
			err = s.http.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("server stopped", "err", err)
		}
	}()
	return nil
}

// Handler is the whole app as an http.Handler, for tests.
func (s *Server) Handler() http.Handler {
	if s.logger == nil {
		s.logger = s.Logger
		if s.logger == nil {
			s.logger = slog.Default()
		}
	}
	s.loopback = !s.Team
	if err := s.prepare(); err != nil {
		panic(err) // a test's own configuration
	}
	return s.echo
}

// prepare checks the configuration Open and Handler rely on.
func (s *Server) prepare() error {
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return fmt.Errorf("ui: TLS needs both a certificate and a key file")
	}
	if s.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey); err != nil {
			return fmt.Errorf("ui: unable to load the TLS certificate: %w", err)
		}
	}
	s.trusted = s.trusted[:0]
	for _, p := range s.TrustedProxies {
		n, err := parseNet(p)
		if err != nil {
			return err
		}
		s.trusted = append(s.trusted, n)
	}
	return nil
}

func parseNet(p string) (*net.IPNet, error) {
	p = strings.TrimSpace(p)
	if _, n, err := net.ParseCIDR(p); err == nil {
		return n, nil
	}
	ip := net.ParseIP(p)
	if ip == nil {
		return nil, fmt.Errorf("ui: trusted proxy %q is not an IP address or CIDR range", p)
	}
	bits := 128
	if ip.To4() != nil {
		ip, bits = ip.To4(), 32
	}
	return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
}

// listenIPs are the addresses a request may be addressed to: the one the
// server listens on, or every address of this machine when it listens on all.
func listenIPs(a net.Addr) []net.IP {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return nil
	}
	if !tcp.IP.IsUnspecified() {
		return []net.IP{tcp.IP}
	}
	var out []net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, ad := range addrs {
		if n, ok := ad.(*net.IPNet); ok {
			out = append(out, n.IP)
		}
	}
	return out
}

// Routes lists every route the server answers, for tests that go through all.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// URL is where the server listens, e.g. http://127.0.0.1:7410.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	addr := s.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http://"
	if s.TLSCert != "" {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// sharedName is the host name others reach this server by, in team mode:
// the first --host name, or else an address it listens on outside
// loopback (IPv4 first); "" when it listens on loopback only.
func (s *Server) sharedName() string {
	if len(s.Hosts) > 0 {
		return s.Hosts[0]
	}
	var v6 string
	for _, ip := range s.listenIPs {
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			continue
		}
		if ip.To4() != nil {
			return ip.String()
		}
		if v6 == "" {
			v6 = ip.String()
		}
	}
	return v6
}

// SharedURL is the address to give the other members in team mode (to
// sign in, in an invite link): URL, named as others reach it
// (sharedName), since 127.0.0.1 is every computer's own.
func (s *Server) SharedURL() string {
	scheme, hostport, ok := strings.Cut(s.URL(), "://")
	if !ok {
		return ""
	}
	return scheme + "://" + s.shared(hostport)
}

// shared is hostport (a request's Host, a listening address) with its host
// named as others reach it (sharedName), its port kept; hostport itself
// when there is no such name.
func (s *Server) shared(hostport string) string {
	name := s.sharedName()
	if name == "" {
		return hostport
	}
	if _, port, err := net.SplitHostPort(hostport); err == nil {
		return net.JoinHostPort(name, port)
	}
	return name
}

// LaunchURL opens a browser session: visiting it sets the session cookie.
func (s *Server) LaunchURL(base string) string {
	return strings.TrimSuffix(base, "/") + "/launch?secret=" + url.QueryEscape(s.launch)
}

// Close stops accepting requests and lets in-flight ones finish until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	return s.http.Shutdown(ctx)
}

func isLoopbackAddr(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

type session struct {
	csrf    string
	created time.Time
	// Who signed in, and what they may do. A session made by the launch link
	// is the local Owner's: whoever launched the app on this computer.
	role app.Role
	// member is who signed in with a password (team mode); empty for a
	// launch-link session.
	member app.Member
	secret string // the cookie's value, to sign out with
}

// sessions live in memory: a browser session lasts as long as this process,
// like the launch secret that starts it.
type sessions struct {
	mu sync.Mutex
	m  map[string]session
}

func (ss *sessions) create(owner app.Member) (id string, sess session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	id = rand.Text() + rand.Text()
	sess = session{csrf: rand.Text(), created: time.Now(), role: app.RoleOwner, member: owner}
	ss.m[id] = sess
	return id, sess
}

func (ss *sessions) get(id string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess, ok := ss.m[id]
	return sess, ok
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

func subtleEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// maxFormBody bounds every body but a batch of events: a form, a sign-in,
// a token's settings. Unbounded, Go's form parser writes a file part of any
// size to disk, and the sign-in and invite forms take one from anyone.
const maxFormBody = 64 << 10

// limitBodies holds every request's body to maxFormBody, but the events
// route's, which has its own limit (5 MiB, sent and unpacked).
func limitBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody || c.Path() == "/api/v1/events" {
			return next(c)
		}
		if r.ContentLength > maxFormBody {
			return app.Errorf(app.ETOOLARGE, "the body is %d bytes; at most 64 KiB here", r.ContentLength)
		}
		// A body of unannounced length is cut as the events route cuts its
		// own: a reader past the bound gets a 413, not a read error.
		r.Body = struct {
			io.Reader
			io.Closer
		}{&limitedBody{r: r.Body, left: maxFormBody, what: "the body", limit: "64 KiB"}, r.Body}
		return next(c)
	}
}
