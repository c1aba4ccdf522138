package cli

import (
	"strings"
	"testing"
	"time"
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
