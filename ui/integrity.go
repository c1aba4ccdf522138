package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"auditlog/app"
	"auditlog/ui/api"

	"github.com/labstack/echo/v4"
)

// integrity verifies the chain now and says what it found, with the key
// anyone can check the checkpoints (and exports) with.
func (s *Server) integrity(c echo.Context) error {
	ctx := c.Request().Context()
	v, err := s.Log.VerifyNow(ctx)
	if err != nil {
		return err
	}
	out := api.Integrity{Verification: v}
	if key := s.Log.PublicKey(); key != nil {
		out.PublicKey = app.EncodePublicKey(key)
	}
	if cp, ok, err := s.Log.LatestCheckpoint(ctx); err != nil {
		return err
	} else if ok {
		out.Checkpoint = &cp
	}
	return c.JSON(http.StatusOK, out)
}

// integrityView is the page's Integrity line: the newest verification of the
// chain, and the key to check it and exports with.
type integrityView struct {
	Checked   bool   // a verification has run since start
	Broken    bool   // and it found a break
	Message   string // what it found, in a sentence
	Ago       string // "3 minutes ago"
	At        string // when, in the workspace's zone
	Head      string // the chain head's hash, shortened
	PublicKey string
}

func (s *Server) integrityView(now time.Time, loc *time.Location) integrityView {
	var out integrityView
	if key := s.Log.PublicKey(); key != nil {
		out.PublicKey = app.EncodePublicKey(key)
	}
	v := s.Log.Integrity()
	if v == nil {
		return out
	}
	out.Checked = true
	out.Ago = ago(now.Sub(v.CheckedAt))
	out.At = v.CheckedAt.In(loc).Format("Jan 2, 15:04:05 MST")
	if len(v.Head) >= 12 && v.To > 0 { // an empty chain's head is all zeros: nothing to show
		out.Head = v.Head[:12] + "…"
	}
	if v.Break != nil {
		out.Broken = true
		out.Message = fmt.Sprintf("Integrity check failed (%s at sequence %d): %s", v.Break.Kind, v.Break.Seq, v.Break.Message)
		return out
	}
	entries := v.Entries
	out.Message = fmt.Sprintf("Integrity verified %s — %s entries", out.Ago, groupThousands(entries))
	if v.To == 0 && v.Purged == 0 {
		out.Message = fmt.Sprintf("Integrity verified %s — nothing recorded yet", out.Ago)
		// Entries recorded since (the first events sent, a demo loaded) are
		// on the page: the line must not deny them until the next check.
		if !s.Log.IsEmpty() {
			out.Message = fmt.Sprintf("Integrity verified %s, before anything was recorded; the next check covers what has been since", out.Ago)
		}
	}
	if v.Purged > 0 {
		out.Message += fmt.Sprintf(" (and %s purged ones by their digest)", groupThousands(v.Purged))
	}
	return out
}

// ago says how long ago, roughly, as people say it.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	default:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
}

// groupThousands writes 48210 as "48,210".
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
