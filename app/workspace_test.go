package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
)

func TestRegeneratedTokenStopsTheOldSecret(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	old, tok, err := f.log.CreateToken(ctx, "ci-deploy", []app.Scope{app.ScopeIngest}, "Bob Okafor")
	if err != nil {
		t.Fatal(err)
	}
	fresh, regen, err := f.log.RegenerateToken(ctx, tok.ID, "Alice Moreau")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, old); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("old secret after regenerate: %v, want unauthorized", err)
	}
	if got, err := f.log.Authenticate(ctx, fresh); err != nil || got.ID != tok.ID {
		t.Fatalf("new secret: %+v, %v", got, err)
	}
	if regen.Fingerprint == tok.Fingerprint || regen.Fingerprint != app.Fingerprint(fresh) || tok.Fingerprint != app.Fingerprint(old) {
		t.Fatalf("fingerprints: created %s, regenerated %s", tok.Fingerprint, regen.Fingerprint)
	}
	// The leaked old secret's fingerprint finds its whole history.
	f.waitIndexed()
	page := f.search(tok.Fingerprint, "", 10)
	if len(page.Events) != 2 || page.Events[0].Action != "token_regenerated" || page.Events[1].Action != "token_created" {
		t.Fatalf("history of %s = %+v", tok.Fingerprint, page.Events)
	}
	if e := page.Events[0]; e.Actor != "Alice Moreau" || e.Namespace != app.APITokens || !strings.Contains(e.Detail, `"ci-deploy"`) || !strings.Contains(e.Detail, "by Bob Okafor") {
		t.Fatalf("token_regenerated = %+v", e)
	}
}

// A token past its expiry is not regenerated, whether or not a request has
// noticed the expiry yet: the new secret would keep the expiry, and be
// refused like the old.
func TestATokenPastItsExpiryIsNotRegenerated(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	_, tok, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "nightly", Scopes: []app.Scope{app.ScopeRead}, ExpiresAt: &exp}, "Bob Okafor")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	if _, _, err := f.log.RegenerateToken(ctx, tok.ID, "Alice Moreau"); app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("regenerating a token past its expiry: %v, want a conflict", err)
	}
}

func TestExpiredTokenIsRefusedAndRecordedOnce(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	secret, tok, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "nightly", Scopes: []app.Scope{app.ScopeRead}, ExpiresAt: &exp}, "Bob Okafor")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	past := f.clock.Now().Add(-time.Minute)
	if _, _, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "late", Scopes: []app.Scope{app.ScopeRead}, ExpiresAt: &past}, "Bob"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("expiry in the past: %v, want invalid", err)
	}
	f.clock.Advance(2 * time.Hour)
	for range 3 {
		if _, err := f.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
			t.Fatalf("after expiry: %v, want unauthorized", err)
		}
	}
	f.waitIndexed()
	page := f.search("action:token_expired", "", 10)
	if len(page.Events) != 1 || !strings.Contains(page.Events[0].Detail, tok.Fingerprint) || !strings.Contains(page.Events[0].Detail, `"nightly"`) {
		t.Fatalf("token_expired entries = %+v", page.Events)
	}
}

// An expiry chosen as a day ends at the next midnight in the workspace's
// zone, and its entry names the day chosen, not the minute after it.
func TestATokenValidThroughADaySaysThatDay(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	zone := "Asia/Kolkata"
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Timezone: &zone}, "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation(zone)
	day := f.clock.Now().In(loc).AddDate(0, 2, 0)
	end := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	odd := end.Add(90 * time.Minute)
	for _, at := range []time.Time{end, odd} {
		if _, _, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "nightly", Scopes: []app.Scope{app.ScopeRead}, ExpiresAt: &at}, "Bob Okafor"); err != nil {
			t.Fatal(err)
		}
	}
	f.waitIndexed()
	page := f.search("action:token_created", "", 10)
	want := []string{", expiring " + odd.UTC().Format("2006-01-02 15:04 UTC"), ", valid through " + day.Format("2006-01-02") + " (Asia/Kolkata)"}
	if len(page.Events) != len(want) {
		t.Fatalf("%d token_created entries, want %d", len(page.Events), len(want))
	}
	for i, e := range page.Events {
		if !strings.HasSuffix(e.Detail, want[i]) {
			t.Errorf("token_created %d: %q", i, e.Detail)
		}
	}
}

func TestServiceUserDisabledStopsItsTokensAndDeletedRevokesThem(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	su, err := f.log.CreateServiceUser(ctx, "ci-bot", "Alice Moreau")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.CreateServiceUser(ctx, "CI-BOT", "Alice Moreau"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("duplicate name: %v, want invalid", err)
	}
	secret, tok, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "deploy", Scopes: []app.Scope{app.ScopeIngest}, Owner: su.ID}, "Alice Moreau")
	if err != nil || tok.OwnerName != "ci-bot" {
		t.Fatalf("token %+v, %v", tok, err)
	}
	// By name too, in any case, as the command line sends it.
	if _, byName, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "deploy-2", Scopes: []app.Scope{app.ScopeIngest}, Owner: "CI-Bot"}, "Alice Moreau"); err != nil || byName.Owner != su.ID {
		t.Fatalf("owner by name: %+v, %v", byName, err)
	}
	if err != nil {
		t.Fatalf("token %+v, %v", tok, err)
	}
	if _, err := f.log.SetServiceUserDisabled(ctx, su.ID, true, "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("token of a disabled service user: %v, want unauthorized", err)
	}
	if _, err := f.log.SetServiceUserDisabled(ctx, su.ID, false, "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	if _, err := f.log.RenameServiceUser(ctx, su.ID, "deploy-bot", "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.DeleteServiceUser(ctx, su.ID, "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("token of a deleted service user: %v, want unauthorized", err)
	}
	if toks, _ := f.log.Tokens(ctx); len(toks) != 0 {
		t.Fatalf("tokens left: %+v", toks)
	}
	f.waitIndexed()
	page := f.search("namespace:service_users", "", 10)
	var actions []string
	for _, e := range page.Events {
		actions = append(actions, e.Action)
		if e.Actor != "Alice Moreau" {
			t.Errorf("%s actor = %q", e.Action, e.Actor)
		}
	}
	want := "service_user_deleted service_user_updated service_user_updated service_user_disabled service_user_created"
	if strings.Join(actions, " ") != want {
		t.Fatalf("actions = %v, want %s", actions, want)
	}
	if d := page.Events[0].Detail; !strings.Contains(d, `"deploy-bot"`) || !strings.Contains(d, `"deploy"`) || !strings.Contains(d, `"deploy-2"`) {
		t.Fatalf("service_user_deleted detail = %q", d)
	}
	if rev := f.search("action:token_revoked", "", 10); len(rev.Events) != 2 {
		t.Fatalf("token_revoked entries = %+v", rev.Events)
	}
}

func TestLoweringRetentionSaysWhatGoesThenPurges(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	var events []app.Event
	for _, age := range []time.Duration{1, 5, 10, 20} {
		events = append(events, app.Event{Namespace: app.Connections, Action: "connection_created", Detail: "Created connection", Actor: "Maya", Timestamp: now.Add(-age * 24 * time.Hour)})
	}
	if _, err := f.log.Record(ctx, events); err != nil {
		t.Fatal(err)
	}
	if n, err := f.log.ExpiredBy(ctx, 7*24*time.Hour); err != nil || n != 2 {
		t.Fatalf("ExpiredBy(7 days) = %d, %v; want 2", n, err)
	}
	bad := 0 * time.Hour
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Retention: &bad}, "Maya"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("retention 0: %v, want invalid", err)
	}
	week := 7 * 24 * time.Hour
	// Confirmed against another retention than the one there is by now
	// (someone changed it meanwhile): nothing is saved, nothing purged.
	sixty := 60 * 24 * time.Hour
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Retention: &week, RetentionWas: &sixty}, "Maya"); app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(err.Error(), "30 days") {
		t.Fatalf("a lower retention confirmed from 60 days, at 30: %v, want a conflict naming 30 days", err)
	}
	if n, err := f.log.ExpiredBy(ctx, 7*24*time.Hour); err != nil || n != 2 || f.log.Retention() != app.DefaultRetention {
		t.Fatalf("after the refused change: retention %v, %d entries would go (%v)", f.log.Retention(), n, err)
	}
	thirty := app.DefaultRetention
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Retention: &week, RetentionWas: &thirty}, "Maya"); err != nil {
		t.Fatal(err)
	}
	if f.log.Retention() != week {
		t.Fatalf("retention = %v", f.log.Retention())
	}
	f.waitIndexed()
	if page := f.search("namespace:connections", "", 10); len(page.Events) != 2 {
		t.Fatalf("after lowering: %d connection entries, want 2", len(page.Events))
	}
	page := f.search("action:space_settings_updated", "", 10)
	if len(page.Events) != 1 || page.Events[0].Metadata["retention_from_days"] != "30" || page.Events[0].Metadata["retention_to_days"] != "7" {
		t.Fatalf("retention entry = %+v", page.Events)
	}
	// It survives a restart.
	f.close()
	f.open()
	if f.log.Retention() != week {
		t.Fatalf("retention after reopen = %v", f.log.Retention())
	}
}

func TestPlanChangeIsRecorded(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	if p := f.log.Settings().PlanOf(); p != app.PlanPro {
		t.Fatalf("a new workspace is on %q, want pro", p)
	}
	bogus := app.Plan("gold")
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Plan: &bogus}, "Maya"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("plan gold: %v, want invalid", err)
	}
	free := app.PlanFree
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Plan: &free}, "Maya"); err != nil {
		t.Fatal(err)
	}
	f.close()
	f.open()
	if p := f.log.Settings().PlanOf(); p != app.PlanFree {
		t.Fatalf("plan after reopen = %q", p)
	}
	f.waitIndexed()
	page := f.search("plan", "", 10)
	if len(page.Events) != 1 || page.Events[0].Metadata["plan_from"] != "Pro" || page.Events[0].Metadata["plan_to"] != "Free" || !strings.Contains(page.Events[0].Detail, "from Pro to Free") {
		t.Fatalf("plan entry = %+v", page.Events)
	}
}

// A token's last use is kept in memory, and survives a restart: Close
// writes it.
func TestLastUseOutlivesARestart(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	secret, tok, err := f.log.CreateToken(ctx, "etl", []app.Scope{app.ScopeIngest}, "Bob")
	if err != nil {
		t.Fatal(err)
	}
	if toks, _ := f.log.Tokens(ctx); toks[0].LastUsedAt != nil {
		t.Fatalf("a new token was used at %v", toks[0].LastUsedAt)
	}
	if _, err := f.log.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	used := f.clock.Now().UTC()
	if toks, _ := f.log.Tokens(ctx); toks[0].LastUsedAt == nil || !toks[0].LastUsedAt.Equal(used) {
		t.Fatalf("last used = %v, want %v", toks[0].LastUsedAt, used)
	}
	f.close()
	f.open()
	toks, _ := f.log.Tokens(ctx)
	if len(toks) != 1 || toks[0].ID != tok.ID || toks[0].LastUsedAt == nil || !toks[0].LastUsedAt.Equal(used) {
		t.Fatalf("after a restart: %+v", toks)
	}
}

// BenchmarkAuthenticate is the cost a token adds to each API request: one
// read of the store and a note in memory, no write.
func BenchmarkAuthenticate(b *testing.B) {
	log := logtest.Open(b, "")
	secret, _, err := log.CreateToken(context.Background(), "bench", []app.Scope{app.ScopeIngest}, "Bob")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := log.Authenticate(ctx, secret); err != nil {
			b.Fatal(err)
		}
	}
}

// A client may use all 50 metadata keys: the token stamp comes on top.
func TestTheTokenStampDoesNotCountAgainstTheMetadataLimit(t *testing.T) {
	f := openFixture(t)
	meta := map[string]string{}
	for i := range app.MaxMetadataKeys {
		meta[fmt.Sprintf("k%02d", i)] = "v"
	}
	events := []app.Event{{Namespace: app.Connections, Action: "connection_created", Detail: "Created connection", Actor: "etl", Metadata: meta}}
	app.StampToken(events, &app.Token{ID: "tok_x", Fingerprint: "fp_0123456789"})
	if _, err := f.log.Record(context.Background(), events); err != nil {
		t.Fatalf("50 keys and the stamp: %v", err)
	}
}
