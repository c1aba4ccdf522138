package ui

import (
	"net/http"
	"net/url"

	"auditlog/app"
)

// SessionForTest opens a browser session with role for a server reached at
// base, as a sign-in would, and returns its cookie and CSRF token: tests of
// who may do what need sessions other than the launch link's Owner.
func (s *Server) SessionForTest(base string, role app.Role) (*http.Cookie, string) {
	id, sess := s.sessions.create(app.Member{})
	s.sessions.mu.Lock()
	sess.role = role
	s.sessions.m[id] = sess
	s.sessions.mu.Unlock()
	u, _ := url.Parse(base)
	return &http.Cookie{Name: cookieName(&http.Request{Host: u.Host}), Value: id}, sess.csrf
}
