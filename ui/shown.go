package ui

import (
	"crypto/rand"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// A shown is what a settings page shows once, after a change: a notice, a
// new token's secret, an invite link. The form's POST keeps it here and
// sends the browser to the page with its id (?shown=…); that GET shows it
// and forgets it. So a reload asks the page again, rather than sending the
// form again: a second token of one label, a regenerated secret that
// undoes the one just copied, a new invite that replaces the link already
// sent. And the page shows only what the server wrote, for the session it
// wrote it for: a link cannot put words of its own on the page.
type shown struct {
	session string // the CSRF token of the session it is for
	expires time.Time

	Notice string
	// A secret shown once: a token's ("created" or "regenerated"), or an
	// invite link, and what it is for.
	Secret, SecretLabel, SecretVerb string
	InviteURL, InvitedFor           string
}

// shownFor is how long a shown waits for its page: the redirect follows at
// once, unless the browser is interrupted.
const shownFor = 5 * time.Minute

// maxShown bounds what waits to be shown; beyond it the oldest go first.
const maxShown = 10_000

type shownOnce struct {
	mu sync.Mutex
	m  map[string]shown
}

// keep holds s for the session whose CSRF token is csrf, and returns its id.
func (o *shownOnce) keep(csrf string, s shown) string {
	s.session = csrf
	s.expires = time.Now().Add(shownFor)
	id := rand.Text()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]shown{}
	}
	// What expired is forgotten at each change, not left to fill the map:
	// it may hold a secret whose redirect was never followed.
	now := time.Now()
	var oldest string
	for k, v := range o.m {
		if now.After(v.expires) {
			delete(o.m, k)
		} else if oldest == "" || v.expires.Before(o.m[oldest].expires) {
			oldest = k
		}
	}
	if len(o.m) >= maxShown {
		delete(o.m, oldest)
	}
	o.m[id] = s
	return id
}

// take returns, once, what id names, if it was kept for the session whose
// CSRF token is csrf and has not expired.
func (o *shownOnce) take(csrf, id string) (shown, bool) {
	if id == "" || csrf == "" {
		return shown{}, false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.m[id]
	if !ok || s.session != csrf || time.Now().After(s.expires) {
		return shown{}, false
	}
	delete(o.m, id)
	return s, true
}

// showOnce keeps s for this request's session and sends the browser to
// page, where it is shown once.
func (s *Server) showOnce(c echo.Context, page string, sh shown) error {
	sess, _ := s.session(c)
	return c.Redirect(http.StatusSeeOther, page+"?shown="+s.shown.keep(sess.csrf, sh))
}

// takeShown returns what this request's ?shown= names, once.
func (s *Server) takeShown(c echo.Context) shown {
	sess, _ := s.session(c)
	sh, _ := s.shown.take(sess.csrf, c.QueryParam("shown"))
	return sh
}
