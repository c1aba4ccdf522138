package cli

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
)

func TestTokenRegenerateAndExpiryOnTheCommandLine(t *testing.T) {
	dir := t.TempDir()
	secret, _, err := runIn(t, dir, "token", "create", "--label", "ci-deploy", "--scopes", "read", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.TrimSpace(secret)
	list, _, err := runIn(t, dir, "token", "list")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1])
	id := fields[0]
	if !strings.Contains(list, "FINGERPRINT") || !strings.Contains(list, "fp_") || strings.Contains(list, secret) {
		t.Fatalf("token list = %q", list)
	}
	fresh, stderr, err := runIn(t, dir, "token", "regenerate", id)
	if err != nil || !strings.HasPrefix(fresh, "alt_") || strings.TrimSpace(fresh) == secret || !strings.Contains(stderr, "old secret no longer works") {
		t.Fatalf("regenerate: %v %q %q", err, fresh, stderr)
	}
	if _, _, err := runIn(t, dir, "token", "create", "--label", "x", "--expires", "soon"); err == nil || !strings.Contains(err.Error(), "--expires") {
		t.Fatalf("--expires soon: %v", err)
	}
	if _, _, err := runIn(t, dir, "token", "regenerate"); err == nil {
		t.Fatal("regenerate without an id succeeded")
	}
	// A day given is listed as that day, which the token is valid through.
	day := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
	if _, _, err := runIn(t, dir, "token", "create", "--label", "yearly", "--expires", day); err != nil {
		t.Fatal(err)
	}
	if list, _, err := runIn(t, dir, "token", "list"); err != nil || !strings.Contains(list, "through "+day) {
		t.Fatalf("token list = %q, %v", list, err)
	}
}

// A day given to --expires is the workspace's day, as on the page, wherever
// the computer running the command thinks it is.
func TestTokenExpiryIsADayOfTheWorkspacesZone(t *testing.T) {
	dir := t.TempDir()
	zone := "Pacific/Kiritimati" // UTC+14: its day starts before anyone else's
	if time.Local.String() == zone {
		zone = "Pacific/Pago_Pago"
	}
	for _, args := range [][]string{
		{"token", "create", "--label", "first"}, // makes the log
		{"workspace", "--timezone", zone},
	} {
		if _, _, err := runIn(t, dir, args...); err != nil {
			t.Fatal(err)
		}
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(loc).AddDate(0, 2, 0).Format("2006-01-02")
	if _, _, err := runIn(t, dir, "token", "create", "--label", "partner", "--expires", day); err != nil {
		t.Fatal(err)
	}
	list, _, err := runIn(t, dir, "token", "list")
	if err != nil || !strings.Contains(list, "through "+day) {
		t.Fatalf("token list = %q, %v", list, err)
	}
	log := logtest.Open(t, dir)
	toks, err := log.Tokens(context.Background())
	if err != nil || len(toks) != 2 {
		t.Fatalf("tokens %+v, %v", toks, err)
	}
	i := slices.IndexFunc(toks, func(tok app.Token) bool { return tok.Label == "partner" })
	if i < 0 || toks[i].ExpiresAt == nil {
		t.Fatalf("tokens %+v", toks)
	}
	start, _ := time.ParseInLocation("2006-01-02", day, loc)
	if want := start.AddDate(0, 0, 1); !toks[i].ExpiresAt.Equal(want) {
		t.Fatalf("the token expires at %s, want the end of %s in %s (%s)", toks[i].ExpiresAt.UTC(), day, zone, want.UTC())
	}
}
