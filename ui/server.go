// Package ui is the HTTP face of the Audit Log: the JSON API other systems
// send events to, and the Audit Log page people investigate with.
package ui

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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

	echo     *echo.Echo
	http     *http.Server
	ln       net.Listener
	logger   *slog.Logger
	launch   string // the secret of the launch URL, valid while this process runs
	sessions sessions
	loopback bool
	quitting chan struct{} // closed when the person at the page quits
	quitOnce sync.Once
}

// NewServer builds the routes. Call Open to listen.
func NewServer(log *app.Log) *Server {
	s := &Server{Log: log, Addr: "127.0.0.1:0", launch: rand.Text(), quitting: make(chan struct{})}
	s.sessions.m = map[string]session{}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	s.echo = e
	s.routes()
	e.GET(OpenAPIPath, serveOpenAPI)
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
	s.http = &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
	s.loopback = true
	return s.echo
}

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
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
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
}

// sessions live in memory: a browser session lasts as long as this process,
// like the launch secret that starts it.
type sessions struct {
	mu sync.Mutex
	m  map[string]session
}

func (ss *sessions) create() (id string, sess session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	id = rand.Text() + rand.Text()
	sess = session{csrf: rand.Text(), created: time.Now(), role: app.RoleOwner}
	ss.m[id] = sess
	return id, sess
}

func (ss *sessions) get(id string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	sess, ok := ss.m[id]
	return sess, ok
}
