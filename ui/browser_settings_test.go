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

// shoot saves the page as it looks at 1440×900 into AUDITLOG_SCREENSHOTS,
// when that names a directory, for people to look at.
func (f *browserFixture) shoot(name string) {
	f.t.Helper()
	dir := os.Getenv("AUDITLOG_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(f.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// settle waits, across the navigation a form's submission starts, until
// expr is true in the page that loads.
func (f *browserFixture) settle(name, expr string) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		// The whole page: a page still being parsed may hold what expr
		// looks for (a notice at its top) and not yet the fields below it,
		// which the next step sets (TestInTheBrowserLoweringTheRetention-
		// SaysWhatGoesFirst failed so once, on a busy machine).
		ok, err := chromedp.Run(f.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !!(`+expr+")"))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("%s: %s never became true", name, expr)
}

func settingsBrowser(t *testing.T) *browserFixture {
	return newBrowserFixture(t, browserOptions{width: 1440, height: 900})
}

func TestInTheBrowserATokenSecretIsShownOnceAndItsRevocationIsInTheLog(t *testing.T) {
	f := settingsBrowser(t)
	f.open()
	if _, err := f.log.CreateServiceUser(context.Background(), "ci-bot", "Test Admin"); err != nil {
		t.Fatal(err)
	}
	f.run("open API Tokens",
		chromedp.Navigate(f.base+ui.TokensPath),
		chromedp.WaitVisible(chromedp.CSS(`#label`)),
	)
	f.shoot("api-tokens-empty")
	f.run("create a token",
		chromedp.SendKeys(chromedp.CSS(`#label`), "ci-deploy"),
		chromedp.Click(chromedp.CSS(`input[name=scopes][value=ingest]`)),
		chromedp.SetValue(chromedp.CSS(`#owner`), optionValue(f, "ci-bot")),
		chromedp.Click(chromedp.CSS(`.token-form button[type=submit]`)),
	)
	f.settle("the secret is shown", `document.getElementById("new-secret")`)
	f.shoot("api-tokens-secret")
	secret := evalAs[string](f, `document.getElementById("new-secret").textContent.trim()`)
	tok, err := f.log.Authenticate(context.Background(), secret)
	if err != nil || tok.Label != "ci-deploy" || tok.OwnerName != "ci-bot" {
		t.Fatalf("the secret shown authenticates as %+v, %v", tok, err)
	}
	if n := evalAs[int](f, `document.querySelectorAll("[data-copy='#new-secret']").length`); n != 1 {
		t.Fatalf("%d copy buttons beside the secret", n)
	}
	f.run("reload the list", chromedp.Navigate(f.base+ui.TokensPath), chromedp.WaitVisible(chromedp.CSS(`.settings-table`)))
	if html := evalAs[string](f, `document.documentElement.outerHTML`); strings.Contains(html, secret) {
		t.Fatal("the secret is shown a second time")
	}
	f.shoot("api-tokens-list")
	f.run("revoke it",
		chromedp.Click(chromedp.CSS(`details.confirm summary.btn-danger-outline`)),
		chromedp.Click(chromedp.CSS(`details.confirm[open] button.btn-danger`)),
	)
	f.settle("revoked", `document.querySelector(".notice-info") && document.querySelector(".notice-info").textContent.includes("Revoked")`)
	if _, err := f.log.Authenticate(context.Background(), secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("the revoked secret: %v, want unauthorized", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	f.run("find the revocation in the Audit Log",
		chromedp.Navigate(f.base+ui.PagePath+"?q="+tok.Fingerprint),
	)
	f.settle("the log lists it", `Array.from(document.querySelectorAll("#entries tr.entry")).some(r => r.textContent.includes("token_revoked"))`)
	rows := evalAs[[]string](f, `Array.from(document.querySelectorAll("#entries tr.entry")).map(r => r.textContent.replace(/\s+/g, " "))`)
	if len(rows) != 2 || !strings.Contains(rows[0], "token_revoked") || !strings.Contains(rows[0], `"ci-deploy"`) || !strings.Contains(rows[1], "token_created") {
		t.Fatalf("the token's history = %q", rows)
	}
}

// optionValue is the value of the owner option that says name.
func optionValue(f *browserFixture, name string) string {
	f.t.Helper()
	return evalAs[string](f, `Array.from(document.querySelectorAll("#owner option")).find(o => o.textContent === "`+name+`").value`)
}

func TestInTheBrowserChangingTheTimezoneMovesTheTimestamps(t *testing.T) {
	f := settingsBrowser(t)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	f.record(app.Event{Namespace: app.Connections, Action: "connection_created", Detail: `Created connection "Snowflake"`, Actor: "Maya Chen", Timestamp: at})
	inZone := func(name string) string {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return at.In(loc).Format("Jan 2, 15:04:05 MST")
	}
	f.open()
	first := `Array.from(document.querySelectorAll("#entries tr.entry")).find(r => r.textContent.includes("Snowflake")).querySelector(".c-time time").textContent.trim()`
	f.settle("see the entry", `Array.from(document.querySelectorAll("#entries tr.entry")).some(r => r.textContent.includes("Snowflake"))`)
	berlin := evalAs[string](f, first)
	f.run("open General", chromedp.Navigate(f.base+ui.GeneralPath), chromedp.WaitVisible(chromedp.CSS(`#timezone`)))
	f.shoot("general")
	f.run("pick New York",
		js(`document.getElementById("timezone").value = ""`),
		chromedp.SendKeys(chromedp.CSS(`#timezone`), "America/New_York"),
		chromedp.Click(chromedp.CSS(`.settings-form > .form-actions button[type=submit]`)),
	)
	f.settle("saved", `location.search.includes("saved")`)
	if tz := f.log.Settings().ZoneName(); tz != "America/New_York" {
		t.Fatalf("timezone = %q", tz)
	}
	f.run("back to the log", chromedp.Navigate(f.base+ui.PagePath))
	f.settle("see the entry again", `Array.from(document.querySelectorAll("#entries tr.entry")).some(r => r.textContent.includes("Snowflake"))`)
	ny := evalAs[string](f, first)
	if berlin != inZone("Europe/Berlin") || ny != inZone("America/New_York") {
		t.Fatalf("the entry at %s shows %q in Berlin and %q in New York", at.UTC(), berlin, ny)
	}
}

func TestInTheBrowserOnFreeTheAuditLogSaysItNeedsPro(t *testing.T) {
	f := settingsBrowser(t)
	f.open()
	f.run("choose Free",
		chromedp.Navigate(f.base+ui.GeneralPath),
		chromedp.WaitVisible(chromedp.CSS(`input[name=plan][value=free]`)),
		chromedp.Click(chromedp.CSS(`input[name=plan][value=free]`)),
		chromedp.Click(chromedp.CSS(`.settings-form > .form-actions button[type=submit]`)),
	)
	f.settle("saved", `location.search.includes("saved")`)
	f.run("open the Audit Log", chromedp.Navigate(f.base+ui.PagePath))
	f.settle("the notice", `document.querySelector(".pro-notice")`)
	f.shoot("audit-log-free")
	text := evalAs[string](f, `document.querySelector(".pro-notice").textContent`)
	if !strings.Contains(text, "needs the Pro plan") || !strings.Contains(text, "Entries are still recorded") {
		t.Fatalf("the notice says %q", text)
	}
	if n := evalAs[int](f, `document.querySelectorAll(".pro-notice a[href^='/settings/general']").length`); n != 1 {
		t.Fatal("no way to change the plan for the owner")
	}
}

func TestInTheBrowserServiceUsersPage(t *testing.T) {
	f := settingsBrowser(t)
	f.open()
	f.run("create a service user",
		chromedp.Navigate(f.base+ui.ServiceUsersPath),
		chromedp.WaitVisible(chromedp.CSS(`#su-name`)),
		chromedp.SendKeys(chromedp.CSS(`#su-name`), "ingest-pipeline"),
		chromedp.Click(chromedp.CSS(`.inline-form button[type=submit]`)),
	)
	f.settle("listed", `document.querySelector(".settings-table") && document.querySelector(".settings-table").textContent.includes("ingest-pipeline")`)
	f.shoot("service-users")
}

func TestInTheBrowserLoweringTheRetentionSaysWhatGoesFirst(t *testing.T) {
	f := settingsBrowser(t)
	f.record(ev(app.Connections, "connection_created", `Created connection "Old"`, "Maya Chen", 20*24*time.Hour))
	f.open()
	f.run("ask for 7 days",
		chromedp.Navigate(f.base+ui.GeneralPath),
		chromedp.WaitVisible(chromedp.CSS(`#retention_days`)),
		js(`document.getElementById("retention_days").value = "7"`),
		chromedp.Click(chromedp.CSS(`.settings-form > .form-actions button[type=submit]`)),
	)
	f.settle("the confirmation", `document.querySelector(".confirm-box")`)
	f.shoot("general-confirm-retention")
	if msg := evalAs[string](f, `document.querySelector(".confirm-box").textContent`); !strings.Contains(msg, "deletes 1 entry for good") {
		t.Fatalf("the confirmation says %q", msg)
	}
	if f.log.Retention() != app.DefaultRetention {
		t.Fatal("the retention changed before it was confirmed")
	}
	// Enter in a field saves as the Save button does, which asks again: it
	// never presses the Delete button, the form's first in the page.
	f.run("press Enter in the name",
		js(`window.beforeEnter = true`),
		chromedp.Click(chromedp.CSS(`#name`)),
		pressEnter(),
	)
	f.settle("the confirmation again", `!window.beforeEnter && document.querySelector(".confirm-box")`)
	if f.log.Retention() != app.DefaultRetention {
		t.Fatalf("Enter in a field confirmed the purge: retention = %v", f.log.Retention())
	}
	// A confirmation is for the days it was asked for.
	f.run("change the days, then press Delete",
		js(`window.beforeDelete = true; document.getElementById("retention_days").value = "6"`),
		chromedp.Click(chromedp.CSS(`.confirm-box button[name=confirm]`)),
	)
	f.settle("the confirmation for 6 days", `!window.beforeDelete && (document.querySelector(".confirm-box") || {}).textContent.includes("to 6 days")`)
	if f.log.Retention() != app.DefaultRetention {
		t.Fatalf("a confirmation for 7 days saved 6: retention = %v", f.log.Retention())
	}
	f.run("back to 7 days",
		js(`document.getElementById("retention_days").value = "7"`),
		chromedp.Click(chromedp.CSS(`.settings-form > .form-actions button[type=submit]`)),
	)
	f.settle("the confirmation for 7 days", `(document.querySelector(".confirm-box") || {}).textContent.includes("to 7 days")`)
	f.run("confirm", chromedp.Click(chromedp.CSS(`.confirm-box button[name=confirm]`)))
	f.settle("saved", `location.search.includes("saved")`)
	if f.log.Retention() != 7*24*time.Hour {
		t.Fatalf("retention = %v", f.log.Retention())
	}
}
