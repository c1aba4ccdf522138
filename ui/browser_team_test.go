package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/ui"

	"github.com/chromedp/chromedp"
)

// signInSteps fills the sign-in form in the browser.
func signInSteps(base, email, pw string) []step {
	return []step{
		chromedp.Navigate(base + ui.SignInPath),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), pw),
		clickAndNavigate(`.account-form button[type=submit]`),
	}
}

func TestInTheBrowserAnInvitedViewerSeesTheLogButNoAdminButtonsAndIsRefusedAdminRoutes(t *testing.T) {
	f := newBrowserFixture(t, browserOptions{team: true})
	f.stories()
	// The owner signs in and invites Bob as a Viewer.
	f.run("the owner signs in", append(signInSteps(f.base, "alice@example.com", ownerPassword),
		chromedp.WaitVisible(chromedp.CSS(`#entries tr.entry`)))...)
	f.run("open Members", clickAndNavigate(`a.nav-item[href="/settings/members"]`), chromedp.WaitVisible(chromedp.CSS(`.invite-form`)))
	f.run("invite Bob",
		chromedp.SendKeys(chromedp.CSS(`.invite-form #email`), "bob@example.com"),
		chromedp.SetValue(chromedp.CSS(`.invite-form #role`), "viewer"),
		clickAndNavigate(`.invite-form button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`#invite-url`)))
	link := evalAs[string](f, `document.getElementById("invite-url").value`)
	if !strings.Contains(link, "/invite/") {
		t.Fatalf("invite link %q", link)
	}

	// Bob, in a browser context of his own, accepts and is signed in.
	bobCtx, cancel := chromedp.NewContext(f.ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	bob := &browserFixture{t: t, log: f.log, server: f.server, base: f.base, ctx: bobCtx}
	bob.run("accept the invite",
		chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Bob Okafor"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "bob's long password"),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), "bob's long password"),
		clickAndNavigate(`.account-form button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`#entries tr.entry`)))
	bob.run("sign out and in again", clickAndNavigate(`.nav-signout button`), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	bob.run("sign in", append(signInSteps(f.base, "bob@example.com", "bob's long password"), chromedp.WaitVisible(chromedp.CSS(`#entries tr.entry`)))...)
	// The five stories and the team's own entries (sign-ins, the invite).
	if text := evalAs[string](bob, `document.getElementById("entries").textContent`); !strings.Contains(text, "Snowflake Warehouse") || !strings.Contains(text, "Alice Moreau invited bob@example.com as Viewer") {
		t.Fatalf("Bob's Audit Log lacks the recorded entries: %.500s", text)
	}
	if who := evalAs[string](bob, `document.querySelector(".nav-signout").textContent`); !strings.Contains(who, "Bob Okafor") {
		t.Fatalf("signed in as %q", who)
	}
	if n := evalAs[int](bob, `document.querySelectorAll('a[href="/settings/members"], .demo-form, form[action*="/settings/members"]').length`); n != 0 {
		t.Fatalf("a Viewer sees %d admin links or buttons", n)
	}
	status := func(js string) int {
		t.Helper()
		v, err := chromedp.Run(bob.ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	csrf := `document.querySelector("input[name=csrf]").value`
	if got := status(`fetch("/settings/members/invites", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": ` + csrf + `}, body: "email=eve%40example.com&role=admin"}).then(r => r.status)`); got != 403 {
		t.Fatalf("a Viewer inviting: %d, want 403", got)
	}
	if got := status(`fetch("/api/v1/tokens", {headers: {"X-CSRF-Token": ` + csrf + `}}).then(r => r.status)`); got != 403 {
		t.Fatalf("a Viewer listing tokens: %d, want 403", got)
	}
	if got := status(`fetch("/settings/members").then(r => r.status)`); got != 403 {
		t.Fatalf("a Viewer opening Members: %d, want 403", got)
	}
	if inv, _ := f.server.Members().Invites(context.Background()); len(inv) != 0 {
		t.Fatalf("the Viewer's invite was made: %+v", inv)
	}
	// The owner sees Bob among the members.
	f.run("reload Members", chromedp.Navigate(f.base+ui.MembersPath), chromedp.WaitVisible(chromedp.CSS(`table.members`)))
	if rows := evalAs[string](f, `document.querySelector("table.members tbody").textContent`); !strings.Contains(rows, "Bob Okafor") || !strings.Contains(rows, "Viewer") {
		t.Fatalf("members: %s", rows)
	}
}

func TestInTheBrowserFiveWrongPasswordsSlowTheNextAttempt(t *testing.T) {
	f := newBrowserFixture(t, browserOptions{team: true})
	for i := range 5 {
		f.run("a wrong password", append(signInSteps(f.base, "alice@example.com", "wrong password "+string(rune('a'+i))),
			chromedp.WaitVisible(chromedp.CSS(`#password-error`)))...)
	}
	f.run("the right password, sixth", append(signInSteps(f.base, "alice@example.com", ownerPassword),
		chromedp.WaitVisible(chromedp.CSS(`.form-message`)))...)
	msg := evalAs[string](f, `document.querySelector(".form-message").textContent`)
	if !strings.Contains(msg, "too many wrong passwords; try again in") {
		t.Fatalf("after five wrong passwords the form says %q", msg)
	}
	if loc := f.location(); !strings.HasSuffix(loc, ui.SignInPath) {
		t.Fatalf("signed in despite the wait: at %s", loc)
	}
}

// TestTeamScreenshots saves the sign-in, Members and invite pages, when
// AUDITLOG_SCREENSHOTS names a directory.
func TestTeamScreenshots(t *testing.T) {
	dir := os.Getenv("AUDITLOG_SCREENSHOTS")
	if dir == "" {
		t.Skip("set AUDITLOG_SCREENSHOTS to a directory to take screenshots")
	}
	f := newBrowserFixture(t, browserOptions{team: true, width: 1280, height: 900})
	shot := func(name string) {
		t.Helper()
		f.run("settle", chromedp.Sleep(300*time.Millisecond))
		png, err := chromedp.Run(f.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.run("sign-in page", chromedp.Navigate(f.base+ui.SignInPath), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	shot("team-signin.png")
	f.run("a wrong password", append(signInSteps(f.base, "alice@example.com", "not the password"), chromedp.WaitVisible(chromedp.CSS(`#password-error`)))...)
	shot("team-signin-wrong.png")
	f.run("sign in", append(signInSteps(f.base, "alice@example.com", ownerPassword), chromedp.WaitVisible(chromedp.CSS(`.nav-signout`)))...)
	for _, m := range []struct {
		email, name string
		role        app.Role
	}{{"bob@example.com", "Bob Okafor", app.RoleAdmin}, {"chen@example.com", "Maya Chen", app.RoleViewer}} {
		secret, _, err := f.server.Members().Invite(context.Background(), m.email, m.role, app.Member{Name: "Alice Moreau", Role: app.RoleOwner})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.server.Members().AcceptInvite(context.Background(), secret, m.name, "a long password"); err != nil {
			t.Fatal(err)
		}
	}
	f.run("members", chromedp.Navigate(f.base+ui.MembersPath), chromedp.WaitVisible(chromedp.CSS(`.invite-form`)),
		chromedp.SendKeys(chromedp.CSS(`.invite-form #email`), "jordan@acme-partners.com"),
		clickAndNavigate(`.invite-form button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`#invite-url`)))
	shot("team-members-invited.png")
	link := evalAs[string](f, `document.getElementById("invite-url").value`)
	f.run("a bad invite", chromedp.Navigate(f.base+ui.MembersPath), chromedp.WaitVisible(chromedp.CSS(`.invite-form`)),
		chromedp.SendKeys(chromedp.CSS(`.invite-form #email`), "not an address"),
		clickAndNavigate(`.invite-form button[type=submit]`), chromedp.WaitVisible(chromedp.CSS(`#email-error`)))
	shot("team-members-bad-invite.png")
	other, cancel := chromedp.NewContext(f.ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	f.ctx = other
	f.run("invite page", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`#name`)))
	shot("team-invite.png")
	f.run("setup page", chromedp.Navigate(f.base+ui.SetupPath+"?token=wrong"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	shot("team-setup-invalid.png")
}
