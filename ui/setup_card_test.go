package ui_test

import (
	"testing"

	"auditlog/ui"
)

// The first-run card shows the token command the command line hands the
// server, written for how the program was started, so it works when pasted.
func TestTheSetupCardShowsTheCommandTheServerWasGiven(t *testing.T) {
	f := newFirstRunFixture(t)
	f.server.TokenCommand = "go run . token create --label my-system --scopes ingest --data /srv/audit"
	r := f.get(ui.PagePath, nil)
	mustContain(t, r.body, "go run . token create --label my-system --scopes ingest --data /srv/audit")
}
