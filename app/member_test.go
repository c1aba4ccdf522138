package app_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	_ "auditlog/app/names"
	"auditlog/app/password"
)

// cheapHasher is argon2id with small costs, so tests are quick.
func cheapHasher() *password.Hasher {
	return password.New(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32}, 2)
}

type teamFixture struct {
	log   *app.Log
	team  *app.Team
	clock *clock
	owner app.Member
}

func newTeam(t *testing.T) *teamFixture {
	t.Helper()
	c := &clock{now: time.Now()}
	dir := t.TempDir()
	cfg := logtest.Config(t, dir)
	cfg.Now = c.Now
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	team := app.NewTeam(log, cheapHasher())
	owner, err := team.SetUpOwner(context.Background(), "Alice Moreau", "Alice@Example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return &teamFixture{log: log, team: team, clock: c, owner: owner}
}

// lastEntry is the newest entry of the Users namespace with action.
func (f *teamFixture) lastEntry(t *testing.T, action string) app.Event {
	t.Helper()
	q, err := app.ParseQuery("namespace:users action:"+action, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.log.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := f.log.Search(context.Background(), q, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) == 0 {
		t.Fatalf("no %s entry", action)
	}
	return page.Events[0]
}

func (f *teamFixture) count(t *testing.T, action string) int {
	t.Helper()
	q, _ := app.ParseQuery("namespace:users", time.UTC)
	page, err := f.log.Search(context.Background(), q, "", 500)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range page.Events {
		if e.Action == action {
			n++
		}
	}
	return n
}

func (f *teamFixture) invite(t *testing.T, email string, role app.Role) string {
	t.Helper()
	secret, _, err := f.team.Invite(context.Background(), email, role, f.owner)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func (f *teamFixture) join(t *testing.T, email string, role app.Role, name string) app.Member {
	t.Helper()
	m, err := f.team.AcceptInvite(context.Background(), f.invite(t, email, role), name, "bob's long password")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOwnerIsSetUpOnceAndRecorded(t *testing.T) {
	f := newTeam(t)
	if f.owner.Role != app.RoleOwner || f.owner.Email != "alice@example.com" {
		t.Fatalf("owner = %+v", f.owner)
	}
	e := f.lastEntry(t, "user_created")
	if e.Actor != "Alice Moreau" || !strings.Contains(e.Detail, "Alice Moreau (alice@example.com)") {
		t.Fatalf("entry = %+v", e)
	}
	_, err := f.team.SetUpOwner(context.Background(), "Mallory", "m@example.com", "another long password")
	if app.ErrorCode(err) != app.ECONFLICT {
		t.Fatalf("second owner: err = %v, want conflict", err)
	}
}

func TestInviteAndAcceptMakeAMemberRecordedAsAnonymous(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	secret := f.invite(t, "bob@example.com", app.RoleViewer)
	if e := f.lastEntry(t, "user_invited"); e.Actor != "Alice Moreau" || e.Detail != "Alice Moreau invited bob@example.com as Viewer" {
		t.Fatalf("invited entry = %q by %q", e.Detail, e.Actor)
	}
	bob, err := f.team.AcceptInvite(ctx, secret, "Bob Okafor", "bob's long password")
	if err != nil {
		t.Fatal(err)
	}
	if bob.Role != app.RoleViewer || bob.Email != "bob@example.com" || bob.InvitedBy != "Alice Moreau" {
		t.Fatalf("bob = %+v", bob)
	}
	e := f.lastEntry(t, "user_invite_accepted")
	if e.Actor != app.Anonymous || !strings.Contains(e.Detail, "Bob Okafor (bob@example.com) accepted the invite from Alice Moreau") {
		t.Fatalf("accepted entry = %q by %q", e.Detail, e.Actor)
	}
	if _, err := f.team.AcceptInvite(ctx, secret, "Eve", "eve's long password"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("second use of an invite: err = %v", err)
	}
	if _, _, err := f.team.Invite(ctx, "BOB@example.com", app.RoleAdmin, f.owner); err == nil || !strings.Contains(err.Error(), "already a member") {
		t.Fatalf("inviting a member: err = %v", err)
	}
}

func TestInviteExpiresAfterSevenDays(t *testing.T) {
	f := newTeam(t)
	secret := f.invite(t, "bob@example.com", app.RoleViewer)
	f.clock.Advance(app.InviteLifetime)
	if _, err := f.team.AcceptInvite(context.Background(), secret, "Bob", "bob's long password"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("err = %v, want expired", err)
	}
	if n := len(mustMembers(t, f)); n != 1 {
		t.Fatalf("%d members after an expired invite", n)
	}
}

func TestReinvitingReplacesTheEarlierLink(t *testing.T) {
	f := newTeam(t)
	first := f.invite(t, "bob@example.com", app.RoleViewer)
	f.invite(t, "bob@example.com", app.RoleAdmin)
	if _, err := f.team.InviteBySecret(context.Background(), first); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("first link: err = %v", err)
	}
	inv, _ := f.team.Invites(context.Background())
	if len(inv) != 1 || inv[0].Role != app.RoleAdmin {
		t.Fatalf("invites = %+v", inv)
	}
	if e := f.lastEntry(t, "user_invite_revoked"); e.Detail != "Alice Moreau withdrew the invite of bob@example.com as Viewer from Alice Moreau, to send a new one" {
		t.Fatalf("the replaced link's entry = %q", e.Detail)
	}
}

// An invite grants access on its sender's authority: when the sender is
// removed, or may invite no more, the invites they sent are withdrawn with
// them, each recorded.
func TestInvitesDoNotOutliveTheirSendersAuthority(t *testing.T) {
	for _, tt := range []struct {
		name, why string
		end       func(f *teamFixture, adam app.Member) error
	}{
		{"removed", "Alice Moreau removed Adam Smith", func(f *teamFixture, adam app.Member) error {
			_, err := f.team.Remove(context.Background(), adam.ID, f.owner)
			return err
		}},
		{"made a Viewer", "Adam Smith is now a Viewer", func(f *teamFixture, adam app.Member) error {
			_, err := f.team.ChangeRole(context.Background(), adam.ID, app.RoleViewer, f.owner)
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newTeam(t)
			ctx := context.Background()
			adam := f.join(t, "adam@example.com", app.RoleAdmin, "Adam Smith")
			mallory, _, err := f.team.Invite(ctx, "mallory@example.com", app.RoleAdmin, adam)
			if err != nil {
				t.Fatal(err)
			}
			own := f.invite(t, "carol@example.com", app.RoleViewer) // the Owner's stays
			if err := tt.end(f, adam); err != nil {
				t.Fatal(err)
			}
			if _, err := f.team.AcceptInvite(ctx, mallory, "Mallory", "mallory's long password"); app.ErrorCode(err) != app.ENOTFOUND {
				t.Fatalf("the removed sender's invite: err = %v", err)
			}
			if _, err := f.team.InviteBySecret(ctx, own); err != nil {
				t.Fatalf("another's invite went too: %v", err)
			}
			want := "The invite Adam Smith sent to mallory@example.com as Admin was withdrawn: " + tt.why
			if e := f.lastEntry(t, "user_invite_revoked"); e.Detail != want || e.Actor != "Alice Moreau" {
				t.Fatalf("entry = %q by %q, want %q", e.Detail, e.Actor, want)
			}
		})
	}
}

// Entries name who acted by name, so two members may not share one, and no
// member may take a name entries give to someone else.
func TestMembersNamesTellThemApart(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	for _, name := range []string{"alice moreau", "ALICE MOREAU", "Alicé Moreau", "Alice\u00a0 Moreau", "Anonymous", "audit log", "Audit\u00a0Log", "token ci-deploy", "Token x", "token\u00a0x", "local user", "\u2800", "---",
		// Drawn alike: Cyrillic А, Greek ο, full-width letters, rn for m.
		"\u0410lice Moreau", "Alice M\u03bfreau", "Ａｌｉｃｅ Ｍｏｒｅａｕ", "Alice Rnoreau",
		// Reserved names however punctuated or spelt.
		"a.n.o.n.y.m.o.u.s", "A. Nonymous", "\u0410nonymous", "Audit-Log", "t\u043eken ci-deploy",
		"t.o.k.e.n ci-deploy", "Tok.en probe", "T o k e n probe",
		// Run together, circled, or with a symbol after.
		"AliceMoreau", "Ⓐlice Moreau", "Alice Moreau⁰", "Alice Moreau™",
		// A symbol drawn as a letter.
		"A|ice Moreau", "Loca| User", "Audit |og"} {
		_, err := f.team.AcceptInvite(ctx, f.invite(t, "eve@example.com", app.RoleAdmin), name, "eve's long password")
		var ae *app.Error
		if !asError(err, &ae) || len(ae.Details) != 1 || ae.Details[0].Field != "name" {
			t.Errorf("%q: err = %v, want invalid name", name, err)
		}
	}
	if n := len(mustMembers(t, f)); n != 1 {
		t.Fatalf("%d members", n)
	}
	f.join(t, "eve@example.com", app.RoleViewer, "Alice Moreau-Dupont")
	// The person at the computer acts under their account's name: no
	// invitee may take it, however written.
	f.team.LocalName = "root"
	for _, name := range []string{"root", "ROOT", "r.o.o.t", "гoot"} {
		if _, err := f.team.AcceptInvite(ctx, f.invite(t, "mallory@example.com", app.RoleAdmin), name, "mallory's long password"); app.ErrorCode(err) != app.EINVALID || !strings.Contains(err.Error(), "person at the computer") {
			t.Errorf("%q, the local person's name: err = %v, want it refused", name, err)
		}
	}
	// Names of other scripts that draw no one else's are anyone's.
	f.join(t, "vova@example.com", app.RoleViewer, "Вова Петров")
	f.join(t, "ram@example.com", app.RoleViewer, "राम")
	f.join(t, "tokenova@example.com", app.RoleViewer, "Tokenova Smith")
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	cases := []struct {
		name, field string
		do          func() error
	}{
		{"bad email", "email", func() error { _, _, err := f.team.Invite(ctx, "bob@", app.RoleViewer, f.owner); return err }},
		{"owner role", "role", func() error { _, _, err := f.team.Invite(ctx, "bob@example.com", app.RoleOwner, f.owner); return err }},
		{"short password", "password", func() error {
			_, err := f.team.AcceptInvite(ctx, f.invite(t, "c@example.com", app.RoleViewer), "Carol", "short")
			return err
		}},
		{"empty name", "name", func() error {
			_, err := f.team.AcceptInvite(ctx, f.invite(t, "d@example.com", app.RoleViewer), "  ", "long enough password")
			return err
		}},
	}
	for _, tc := range cases {
		err := tc.do()
		var ae *app.Error
		if !asError(err, &ae) || ae.Code != app.EINVALID || len(ae.Details) != 1 || ae.Details[0].Field != tc.field {
			t.Errorf("%s: err = %#v, want invalid %s", tc.name, err, tc.field)
		}
	}
	if n := len(mustMembers(t, f)); n != 1 {
		t.Fatalf("%d members after bad input", n)
	}
}

func TestRolesChangeOnlyWithinTheirLimits(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	bob := f.join(t, "bob@example.com", app.RoleViewer, "Bob Okafor")
	if _, err := f.team.ChangeRole(ctx, f.owner.ID, app.RoleAdmin, bob); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Fatalf("viewer changing a role: err = %v", err)
	}
	bob, err := f.team.ChangeRole(ctx, bob.ID, app.RoleAdmin, f.owner)
	if err != nil || bob.Role != app.RoleAdmin {
		t.Fatalf("bob = %+v, %v", bob, err)
	}
	if e := f.lastEntry(t, "user_role_changed"); e.Detail != "Alice Moreau changed the role of Bob Okafor from Viewer to Admin" {
		t.Fatalf("entry = %q", e.Detail)
	}
	if _, err := f.team.ChangeRole(ctx, f.owner.ID, app.RoleViewer, bob); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Fatalf("admin demoting the owner: err = %v", err)
	}
	if _, err := f.team.TransferOwnership(ctx, bob.ID, bob); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Fatalf("admin taking ownership: err = %v", err)
	}
	if _, err := f.team.Remove(ctx, f.owner.ID, bob); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Fatalf("admin removing the owner: err = %v", err)
	}
}

func TestOwnershipTransfersToOneMemberAtATime(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	bob := f.join(t, "bob@example.com", app.RoleAdmin, "Bob Okafor")
	if _, err := f.team.TransferOwnership(ctx, bob.ID, f.owner); err != nil {
		t.Fatal(err)
	}
	owners := 0
	for _, m := range mustMembers(t, f) {
		if m.Role == app.RoleOwner {
			owners++
			if m.ID != bob.ID {
				t.Fatalf("owner is %s", m.Name)
			}
		}
		if m.ID == f.owner.ID && m.Role != app.RoleAdmin {
			t.Fatalf("former owner is %s", m.Role)
		}
	}
	if owners != 1 {
		t.Fatalf("%d owners", owners)
	}
	if n := f.count(t, "user_role_changed"); n != 2 {
		t.Fatalf("%d user_role_changed entries, want 2", n)
	}
}

func TestSignInStartsASessionThatSignOutEnds(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	secret, m, err := f.team.SignIn(ctx, "ALICE@example.com", "correct horse battery", "192.0.2.7")
	if err != nil || m.ID != f.owner.ID {
		t.Fatalf("sign in: %+v, %v", m, err)
	}
	if e := f.lastEntry(t, "user_signed_in"); e.Actor != "Alice Moreau" || e.IP != "192.0.2.7" {
		t.Fatalf("entry = %+v", e)
	}
	s, who, ok, err := f.team.SignedIn(ctx, secret)
	if err != nil || !ok || who.ID != f.owner.ID || s.CSRF == "" {
		t.Fatalf("SignedIn = %+v %+v %v %v", s, who, ok, err)
	}
	if err := f.team.SignOut(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := f.team.SignedIn(ctx, secret); ok {
		t.Fatal("session lasts after signing out")
	}
	if e := f.lastEntry(t, "user_signed_out"); e.Detail != "Alice Moreau signed out" {
		t.Fatalf("entry = %q", e.Detail)
	}
}

func TestSessionsEndAfterInactivityButNotWhileUsed(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	secret, _, err := f.team.SignIn(ctx, "alice@example.com", "correct horse battery", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // used every 10 hours: kept
		f.clock.Advance(10 * time.Hour)
		if _, _, ok, _ := f.team.SignedIn(ctx, secret); !ok {
			t.Fatal("a session in use ended")
		}
		f.team.Settle() // its use is written beside the request
	}
	f.clock.Advance(app.SessionIdle)
	if _, _, ok, _ := f.team.SignedIn(ctx, secret); ok {
		t.Fatal("an idle session lasts")
	}
}

func TestSessionsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*app.Log, *app.Team) {
		log, err := app.Open(logtest.Config(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		return log, app.NewTeam(log, cheapHasher())
	}
	log, team := open()
	if _, err := team.SetUpOwner(ctx, "Alice", "alice@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	secret, _, err := team.SignIn(ctx, "alice@example.com", "correct horse battery", "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	log.Close()
	log, team = open()
	defer log.Close()
	if _, m, ok, err := team.SignedIn(ctx, secret); !ok || err != nil || m.Name != "Alice" {
		t.Fatalf("after restart: %+v %v %v", m, ok, err)
	}
}

func TestRemovingAMemberEndsTheirSessionsAtOnce(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	bob := f.join(t, "bob@example.com", app.RoleViewer, "Bob Okafor")
	secret, _, err := f.team.SignIn(ctx, "bob@example.com", "bob's long password", "192.0.2.8")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.team.Remove(ctx, bob.ID, f.owner); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := f.team.SignedIn(ctx, secret); ok {
		t.Fatal("a removed member's session lasts")
	}
	if e := f.lastEntry(t, "user_removed"); e.Detail != "Alice Moreau removed Bob Okafor (bob@example.com, Viewer)" {
		t.Fatalf("entry = %q", e.Detail)
	}
	if _, _, err := f.team.SignIn(ctx, "bob@example.com", "bob's long password", "192.0.2.8"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("removed member signs in: err = %v", err)
	}
}

func TestFiveWrongPasswordsSlowTheNextAttempt(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	for i := range 5 {
		_, _, err := f.team.SignIn(ctx, "alice@example.com", "wrong password "+string(rune('a'+i)), "192.0.2.9")
		if app.ErrorCode(err) != app.EINVALID {
			t.Fatalf("attempt %d: err = %v", i+1, err)
		}
	}
	if n := f.count(t, "user_sign_in_failed"); n != 5 {
		t.Fatalf("%d failures recorded, want 5", n)
	}
	// Even the right password now waits, from this address and for this account.
	_, _, err := f.team.SignIn(ctx, "alice@example.com", "correct horse battery", "192.0.2.9")
	if app.ErrorCode(err) != app.ETHROTTLED || !strings.Contains(err.Error(), "try again in 15 seconds") {
		t.Fatalf("sixth attempt: err = %v, want throttled", err)
	}
	_, _, err = f.team.SignIn(ctx, "alice@example.com", "correct horse battery", "198.51.100.1")
	if app.ErrorCode(err) != app.ETHROTTLED {
		t.Fatalf("the account from another address: err = %v, want throttled", err)
	}
	_, _, err = f.team.SignIn(ctx, "nobody@example.com", "x", "192.0.2.9")
	if app.ErrorCode(err) != app.ETHROTTLED {
		t.Fatalf("another account from the address: err = %v, want throttled", err)
	}
	f.clock.Advance(15 * time.Second)
	if _, _, err := f.team.SignIn(ctx, "alice@example.com", "correct horse battery", "192.0.2.9"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// People behind one router share an address: once its failures' wait has
// passed, one member signing in must not lock the next out, and the
// failures are forgotten an hour after the last of them, however many
// members signed in meanwhile.
func TestASuccessDoesNotRestartTheAddresssWait(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	f.join(t, "bob@example.com", app.RoleViewer, "Bob Okafor")
	const addr = "192.0.2.11"
	for range 5 {
		f.team.SignIn(ctx, "nobody@example.com", "wrong", addr)
	}
	f.clock.Advance(16 * time.Second)
	if _, _, err := f.team.SignIn(ctx, "alice@example.com", "correct horse battery", addr); err != nil {
		t.Fatalf("the owner after the wait: %v", err)
	}
	if _, _, err := f.team.SignIn(ctx, "bob@example.com", "bob's long password", addr); err != nil {
		t.Fatalf("another member right after the owner: %v", err)
	}
	// The failures still count: the next wrong password waits again, doubled.
	f.team.SignIn(ctx, "nobody@example.com", "wrong", addr)
	if _, _, err := f.team.SignIn(ctx, "bob@example.com", "bob's long password", addr); app.ErrorCode(err) != app.ETHROTTLED || !strings.Contains(err.Error(), "30 seconds") {
		t.Fatalf("after a sixth failure: err = %v, want a wait of 30 seconds", err)
	}
	// Members signing in every few minutes do not keep them alive.
	for range 13 {
		f.clock.Advance(5 * time.Minute)
		if _, _, err := f.team.SignIn(ctx, "bob@example.com", "bob's long password", addr); err != nil {
			t.Fatalf("a member signing in: %v", err)
		}
	}
	for i := range 5 {
		if _, _, err := f.team.SignIn(ctx, "nobody@example.com", "wrong", addr); app.ErrorCode(err) != app.EINVALID {
			t.Fatalf("failure %d an hour on: err = %v, want only a wrong password", i+1, err)
		}
	}
}

func TestEachFurtherWrongPasswordDoublesTheWait(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	for range 5 {
		f.team.SignIn(ctx, "nobody@example.com", "wrong", "192.0.2.10")
	}
	f.clock.Advance(15 * time.Second)
	f.team.SignIn(ctx, "nobody@example.com", "wrong", "192.0.2.10") // the sixth
	f.clock.Advance(15 * time.Second)
	_, _, err := f.team.SignIn(ctx, "nobody@example.com", "wrong", "192.0.2.10")
	if app.ErrorCode(err) != app.ETHROTTLED || !strings.Contains(err.Error(), "15 seconds") {
		t.Fatalf("err = %v, want another 15 s of the 30 s wait", err)
	}
}

func mustMembers(t *testing.T, f *teamFixture) []app.Member {
	t.Helper()
	ms, err := f.team.Members(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func asError(err error, target **app.Error) bool { return errors.As(err, target) }

func TestGuessesSentTogetherGetFiveChecksAndTwoInFlight(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			_, _, err := f.team.SignIn(ctx, "alice@example.com", fmt.Sprintf("guess number %d", i), "192.0.2.11")
			errs <- err
		}()
	}
	checked := 0
	for range 20 {
		switch err := <-errs; app.ErrorCode(err) {
		case app.EINVALID:
			checked++
		case app.ETHROTTLED:
		default:
			t.Fatalf("err = %v", err)
		}
	}
	// Five, and at most the two that may be checked at once without
	// counting, so that two members behind one router may sign in together
	// (fewer when guesses fail before others are sent).
	if checked < 5 || checked > 7 {
		t.Fatalf("%d of 20 simultaneous guesses were checked, want 5 to 7", checked)
	}
}

func TestASuccessForgetsTheAccountsFailures(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	for range 4 {
		f.team.SignIn(ctx, "alice@example.com", "a wrong password", "192.0.2.12")
	}
	if _, _, err := f.team.SignIn(ctx, "alice@example.com", "correct horse battery", "192.0.2.12"); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, _, err := f.team.SignIn(ctx, "alice@example.com", "a wrong password", "198.51.100.12"); app.ErrorCode(err) != app.EINVALID {
			t.Fatalf("after a success, a wrong password is %v; want it checked", err)
		}
	}
}

// A token is made only while its maker still may: a request that was let in
// a moment before its member was removed, or its token revoked, and reached
// the store after, makes nothing that would outlast them.
func TestATokenIsMadeOnlyWhileItsMakerMay(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	bob := f.join(t, "bob@example.com", app.RoleAdmin, "Bob Okafor")
	_, parent, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "bob-admin", Scopes: []app.Scope{app.ScopeAdmin}, ByMember: bob.ID}, bob.Name)
	if err != nil || parent.OnBehalfOf != bob.ID || parent.CreatedByID != bob.ID {
		t.Fatalf("Bob's token: %+v, %v", parent, err)
	}
	_, child, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "child", Scopes: []app.Scope{app.ScopeRead}, ByToken: parent.ID}, app.TokenActor(parent.Label))
	if err != nil || child.OnBehalfOf != bob.ID || child.CreatedByID != parent.ID {
		t.Fatalf("the token's token: %+v, %v", child, err)
	}
	if _, err := f.team.ChangeRole(ctx, bob.ID, app.RoleViewer, f.owner); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "late", Scopes: []app.Scope{app.ScopeRead}, ByMember: bob.ID}, bob.Name); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("made by a member now a Viewer: %v", err)
	}
	if _, _, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "late", Scopes: []app.Scope{app.ScopeRead}, ByToken: parent.ID}, "token bob-admin"); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("made by a revoked token: %v", err)
	}
	if toks, _ := f.log.Tokens(ctx); len(toks) != 0 {
		t.Errorf("tokens left: %+v", toks)
	}
}

// Names are told apart as they read: vowel signs are part of a word, not
// punctuation between words, and a joiner changes nothing.
func TestNamesThatDifferInTheirVowelSignsAreTwoNames(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	f.join(t, "ram@example.com", app.RoleViewer, "राम")
	f.join(t, "reem@example.com", app.RoleViewer, "रीम")
	f.join(t, "somsri@example.com", app.RoleViewer, "สมศรี")
	f.join(t, "somsorn@example.com", app.RoleViewer, "สมศร")
	if _, err := f.log.CreateServiceUser(ctx, "Дмитрий", "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.CreateServiceUser(ctx, "Дми\u200dтрий", "Alice Moreau"); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("a service user whose name reads as another's: %v", err)
	}
}

// What a service user's token makes is the service user's: disabling the
// service user stops it, deleting it revokes it, whoever made the first
// token and whether or not they are still a member.
func TestATokenMadeByAServiceUsersTokenIsTheServiceUsers(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	adam := f.join(t, "adam@example.com", app.RoleAdmin, "Adam Admin")
	bot, err := f.log.CreateServiceUser(ctx, "ci-bot", f.owner.Name)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.log.CreateServiceUser(ctx, "other-bot", f.owner.Name)
	if err != nil {
		t.Fatal(err)
	}
	_, parent, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "ci", Scopes: []app.Scope{app.ScopeAdmin}, Owner: "ci-bot", ByMember: adam.ID}, adam.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.team.Remove(ctx, adam.ID, f.owner); err != nil {
		t.Fatal(err)
	}
	secret, child, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "child", Scopes: []app.Scope{app.ScopeAdmin}, ByToken: parent.ID}, app.TokenActor(parent.Label))
	if err != nil || child.Owner != bot.ID {
		t.Fatalf("the token's token: owner %q, %v; want the service user's", child.Owner, err)
	}
	if _, _, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "elsewhere", Scopes: []app.Scope{app.ScopeRead}, Owner: other.Name, ByToken: parent.ID}, app.TokenActor(parent.Label)); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("a token for another service user, made by ci-bot's: %v", err)
	}
	_, others, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "other", Scopes: []app.Scope{app.ScopeAdmin}, Owner: other.Name}, f.owner.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.log.RegenerateTokenWith(ctx, parent.ID, app.TokenSpec{ByToken: others.ID}, app.TokenActor(others.Label)); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("ci-bot's token regenerated by other-bot's: %v", err)
	}
	if _, err := f.log.SetServiceUserDisabled(ctx, bot.ID, true, f.owner.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("the child of a disabled service user's token: %v", err)
	}
	if _, err := f.log.DeleteServiceUser(ctx, bot.ID, f.owner.Name); err != nil {
		t.Fatal(err)
	}
	if toks, _ := f.log.Tokens(ctx); len(toks) != 1 || toks[0].ID != others.ID {
		t.Errorf("tokens left after ci-bot was deleted: %+v, want other-bot's alone", toks)
	}
}

// Who regenerates a token holds its secret: it is theirs from then on, and
// goes when they do. Only while they may make tokens.
func TestARegeneratedTokenActsForWhoRegeneratedIt(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	bob := f.join(t, "bob@example.com", app.RoleAdmin, "Bob Okafor")
	vera := f.join(t, "vera@example.com", app.RoleAdmin, "Vera Viewer")
	_, owners, err := f.log.CreateTokenWith(ctx, app.TokenSpec{Label: "owner-admin", Scopes: []app.Scope{app.ScopeAdmin}, ByMember: f.owner.ID}, f.owner.Name)
	if err != nil {
		t.Fatal(err)
	}
	secret, regenerated, err := f.log.RegenerateTokenWith(ctx, owners.ID, app.TokenSpec{ByMember: bob.ID}, bob.Name)
	if err != nil || regenerated.OnBehalfOf != bob.ID || regenerated.RegeneratedBy != bob.Name {
		t.Fatalf("regenerated by Bob: %+v, %v", regenerated, err)
	}
	if _, err := f.team.ChangeRole(ctx, vera.ID, app.RoleViewer, f.owner); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.log.RegenerateTokenWith(ctx, owners.ID, app.TokenSpec{ByMember: vera.ID}, vera.Name); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("regenerated by a member now a Viewer: %v", err)
	}
	if _, err := f.team.Remove(ctx, bob.ID, f.owner); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("the secret Bob holds, after Bob was removed: %v", err)
	}
}

// A request let in while its member was an Admin, that reaches the team
// after they were made a Viewer, or removed, changes nothing.
func TestAMemberDemotedMeanwhileChangesNothing(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	bob := f.join(t, "bob@example.com", app.RoleAdmin, "Bob Okafor")
	cara := f.join(t, "cara@example.com", app.RoleViewer, "Cara Diaz")
	asAdmin := bob // what Bob's session said when his requests were let in
	if _, err := f.team.ChangeRole(ctx, bob.ID, app.RoleViewer, f.owner); err != nil {
		t.Fatal(err)
	}
	if _, err := f.team.ChangeRole(ctx, cara.ID, app.RoleAdmin, asAdmin); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("a role changed by a member made a Viewer meanwhile: %v", err)
	}
	if _, _, err := f.team.Invite(ctx, "dan@example.com", app.RoleAdmin, asAdmin); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("an invite by a member made a Viewer meanwhile: %v", err)
	}
	if _, err := f.team.Remove(ctx, cara.ID, asAdmin); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("a member removed by a member made a Viewer meanwhile: %v", err)
	}
	if m := mustMembers(t, f); len(m) != 3 {
		t.Errorf("%d members, want 3", len(m))
	}
	for _, m := range mustMembers(t, f) {
		if m.ID == cara.ID && m.Role != app.RoleViewer {
			t.Errorf("Cara is %s", m.Role)
		}
	}
}

// Service users are told apart as members are, and may not take a name
// entries give to others.
func TestServiceUsersNamesTellThemApart(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	if _, err := f.log.CreateServiceUser(ctx, "ci bot", "Alice Moreau"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CI-Bot", "cibot", "ⓒi bot", "Anonymous", "token ci-deploy", "Audit Log"} {
		if _, err := f.log.CreateServiceUser(ctx, name, "Alice Moreau"); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("a service user called %q: %v", name, err)
		}
	}
	if sus, _ := f.log.ServiceUsers(ctx); len(sus) != 1 {
		t.Errorf("%d service users, want 1", len(sus))
	}
}

// Attempts refused while a wait lasts are not each recorded (a flood of
// guesses would flood the log), but the first of each wait is: someone is
// being kept out of an account, perhaps the member themselves.
func TestTheFirstSignInRefusedInEachWaitIsRecorded(t *testing.T) {
	f := newTeam(t)
	ctx := context.Background()
	for range 12 {
		f.team.SignIn(ctx, "alice@example.com", "a wrong password", "192.0.2.30")
	}
	if n := f.count(t, "user_sign_in_throttled"); n != 1 {
		t.Fatalf("%d refusals recorded for one wait, want 1", n)
	}
	e := f.lastEntry(t, "user_sign_in_throttled")
	if e.Actor != app.Anonymous || e.IP != "192.0.2.30" || !strings.Contains(e.Detail, "alice@example.com") || !strings.Contains(e.Detail, "too many wrong passwords") {
		t.Fatalf("the refusal's entry: %+v", e)
	}
	// The wait ends; a wrong password starts a longer one, whose first
	// refusal is recorded too.
	f.clock.Advance(time.Minute)
	f.team.SignIn(ctx, "alice@example.com", "a wrong password", "192.0.2.30")
	for range 3 {
		f.team.SignIn(ctx, "alice@example.com", "a wrong password", "192.0.2.30")
	}
	if n := f.count(t, "user_sign_in_throttled"); n != 2 {
		t.Fatalf("%d refusals recorded for two waits, want 2", n)
	}
}

// Any change a member's request records is refused when, by the time it
// is applied, the member no longer holds the role the request was let in
// for: settings and service users too, not only the team's own changes.
func TestAChangeAskedAsAMemberDemotedMeanwhileIsRefused(t *testing.T) {
	f := newTeam(t)
	bob := f.join(t, "bob@example.com", app.RoleAdmin, "Bob Okafor")
	asAdmin := app.WithActingMember(context.Background(), bob.ID, app.RoleAdmin)
	name := "Bob's workspace"
	if _, err := f.log.ChangeSettings(asAdmin, app.SettingsChange{Workspace: &name}, bob.Name); err != nil {
		t.Fatalf("a change by an Admin: %v", err)
	}
	if _, err := f.team.ChangeRole(context.Background(), bob.ID, app.RoleViewer, f.owner); err != nil {
		t.Fatal(err)
	}
	later := "Renamed by a Viewer"
	if _, err := f.log.ChangeSettings(asAdmin, app.SettingsChange{Workspace: &later}, bob.Name); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("settings changed as an Admin made a Viewer meanwhile: %v", err)
	}
	if _, err := f.log.CreateServiceUser(asAdmin, "late-bot", bob.Name); app.ErrorCode(err) != app.EFORBIDDEN {
		t.Errorf("a service user made as an Admin made a Viewer meanwhile: %v", err)
	}
	if got := f.log.Settings().Workspace; got != name {
		t.Errorf("the workspace is called %q", got)
	}
	if _, err := f.team.Remove(context.Background(), bob.ID, f.owner); err != nil {
		t.Fatal(err)
	}
	asViewer := app.WithActingMember(context.Background(), bob.ID, app.RoleViewer)
	if _, err := f.log.ChangeSettings(asViewer, app.SettingsChange{Workspace: &later}, bob.Name); app.ErrorCode(err) != app.EFORBIDDEN || !strings.Contains(err.Error(), "removed") {
		t.Errorf("a change asked as a member removed meanwhile: %v", err)
	}
}
