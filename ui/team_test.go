package ui_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/app/password"
	"auditlog/ui"
	"auditlog/ui/tlstest"
)

// cheapPasswords is argon2id with small costs, so that tests sign in quickly.
func cheapPasswords() app.PasswordHasher {
	return password.New(password.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32}, 2)
}

const ownerPassword = "correct horse battery"

// teamFixture is a server in team mode over a real store and index, with
// its owner, Alice, set up.
type teamFixture struct {
	t      *testing.T
	log    *app.Log
	server *ui.Server
	ts     *httptest.Server
	owner  app.Member
}

func newTeamFixture(t *testing.T, configure ...func(*ui.Server)) *teamFixture {
	t.Helper()
	log := logtest.Open(t, "")
	s := ui.NewServer(log)
	s.Team = true
	s.Passwords = cheapPasswords()
	for _, c := range configure {
		c(s)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	owner, err := s.Members().SetUpOwner(context.Background(), "Alice Moreau", "alice@example.com", ownerPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &teamFixture{t: t, log: log, server: s, ts: ts, owner: owner}
}

// browser is one browser's cookies, not following redirects so tests see them.
type browser struct {
	f      *teamFixture
	client *http.Client
	csrf   string
}

func (f *teamFixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, target string, form url.Values, header map[string]string) resp {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	if strings.HasPrefix(target, "/") {
		target = b.f.ts.URL + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(out)}
}

var acceptHTML = map[string]string{"Accept": "text/html"}

// signIn signs in and reads the session's CSRF token from the page.
func (b *browser) signIn(email, pw string) *browser {
	b.f.t.Helper()
	r := b.do("POST", "/signin", url.Values{"email": {email}, "password": {pw}}, acceptHTML)
	if r.status != http.StatusSeeOther {
		b.f.t.Fatalf("sign in as %s: %d %.300s", email, r.status, r.body)
	}
	page := b.do("GET", ui.PagePath, nil, acceptHTML)
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		b.f.t.Fatalf("no CSRF token on the page after signing in: %d %.300s", page.status, page.body)
	}
	b.csrf = m[1]
	return b
}

// post sends a form with the session's CSRF token.
func (b *browser) post(path string, form url.Values) resp {
	b.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.do("POST", path, form, acceptHTML)
}

var inviteLink = regexp.MustCompile(`value="(https?://[^"]+/invite/[^"]+)"`)

// join invites email with role as the owner and accepts as name; it
// returns the new member's signed-in browser.
func (f *teamFixture) join(owner *browser, email, role, name string) *browser {
	f.t.Helper()
	link := owner.invite(email, role)
	b := f.browser()
	r := b.do("POST", link, url.Values{"name": {name}, "password": {"their long password"}, "confirm": {"their long password"}}, acceptHTML)
	if r.status != http.StatusSeeOther {
		f.t.Fatalf("accept: %d %.500s", r.status, r.body)
	}
	return b.signIn(email, "their long password")
}

// invite sends the Members page's invite form as this browser's member and
// returns the link the page then shows, once.
func (b *browser) invite(email, role string) string {
	b.f.t.Helper()
	r := b.post(ui.MembersPath+"/invites", url.Values{"email": {email}, "role": {role}})
	if r.status != http.StatusSeeOther {
		b.f.t.Fatalf("invite: %d %.500s", r.status, r.body)
	}
	r = b.do("GET", r.header.Get("Location"), nil, acceptHTML)
	m := inviteLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		b.f.t.Fatalf("the invite's page: %d %.500s", r.status, r.body)
	}
	return m[1]
}

func (f *teamFixture) entries(q string) []app.Event {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(ctx); err != nil {
		f.t.Fatal(err)
	}
	query, err := app.ParseQuery(q, time.UTC)
	if err != nil {
		f.t.Fatal(err)
	}
	page, err := f.log.Search(ctx, query, "", 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Events
}

func TestTeamModeSendsABrowserWithoutASessionToSignIn(t *testing.T) {
	f := newTeamFixture(t)
	r := f.browser().do("GET", ui.PagePath+"?q=token", nil, acceptHTML)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin?next="+url.QueryEscape(ui.PagePath+"?q=token") {
		t.Fatalf("%d to %q", r.status, r.header.Get("Location"))
	}
	if r := f.browser().do("GET", "/api/v1/events", nil, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("API without credentials: %d", r.status)
	}
}

func TestSigningInOpensThePageAndSigningOutEndsTheSession(t *testing.T) {
	f := newTeamFixture(t)
	b := f.browser().signIn("alice@example.com", ownerPassword)
	page := b.do("GET", ui.PagePath, nil, acceptHTML)
	mustContain(t, page.body, "Signed in as Alice Moreau", `href="/settings/members"`)
	if r := b.post("/signout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.status)
	}
	if r := b.do("GET", ui.PagePath, nil, acceptHTML); r.status != http.StatusSeeOther {
		t.Fatalf("after signing out the page answers %d", r.status)
	}
	var in, out bool
	for _, e := range f.entries("namespace:users") {
		in = in || e.Action == "user_signed_in" && e.Actor == "Alice Moreau"
		out = out || e.Action == "user_signed_out" && e.Detail == "Alice Moreau signed out"
	}
	if !in || !out {
		t.Fatalf("signed in recorded %v, signed out recorded %v", in, out)
	}
}

func TestAWrongPasswordIsAnsweredBesideTheFieldAndRecorded(t *testing.T) {
	f := newTeamFixture(t)
	b := f.browser()
	r := b.do("POST", "/signin", url.Values{"email": {"alice@example.com"}, "password": {"not it at all"}}, acceptHTML)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, r.body, `id="password-error" class="field-error">the email or password is wrong`, `value="alice@example.com"`)
	mustNotContain(t, r.body, "not it at all")
	if r := b.do("GET", ui.PagePath, nil, acceptHTML); r.status != http.StatusSeeOther {
		t.Fatalf("a wrong password made a session: %d", r.status)
	}
	got := f.entries("action:user_sign_in_failed")
	if len(got) != 1 || got[0].Actor != app.Anonymous || !strings.Contains(got[0].Detail, "Failed sign-in as alice@example.com") {
		t.Fatalf("entries = %+v", got)
	}
}

// What was typed as the email is recorded even when an entry could not hold
// it as it is: with U+FFFD for what it may not hold, not a 500.
func TestASignInAsAControlCharacterIsRecordedQuoted(t *testing.T) {
	f := newTeamFixture(t)
	r := f.browser().do("POST", "/signin", url.Values{"email": {"ghost\x01@example.com"}, "password": {"whatever it is"}}, acceptHTML)
	if r.status != http.StatusBadRequest {
		t.Fatalf("sign-in: %d %.300s", r.status, r.body)
	}
	// Nor is a long one of invisible characters, which quoted would not fit.
	long := strings.Repeat("\u200b", 60) + "@example.com"
	if r := f.browser().do("POST", "/signin", url.Values{"email": {long}, "password": {"whatever it is"}}, acceptHTML); r.status != http.StatusBadRequest {
		t.Fatalf("sign-in as %d invisible characters: %d %.300s", 60, r.status, r.body)
	}
	// Anyone may type anything as the email: a sentence typed there is
	// quoted in the detail, not read as the entry's own words.
	said := "bob@example.com from 10.9.9.9: wrong password. Alice Moreau removed Bob"
	if r := f.browser().do("POST", "/signin", url.Values{"email": {said}, "password": {"whatever it is"}}, acceptHTML); r.status != http.StatusBadRequest {
		t.Fatalf("sign-in as a sentence: %d %.300s", r.status, r.body)
	}
	got := f.entries("action:user_sign_in_failed")
	if len(got) != 3 ||
		!strings.Contains(got[2].Detail, `Failed sign-in as "ghost\x01@example.com" from `) ||
		!strings.Contains(got[1].Detail, `Failed sign-in as "\u200b\u200b`) ||
		!strings.Contains(got[0].Detail, `Failed sign-in as "bob@example.com from 10.9.9.9: wrong password. alice moreau removed bob" from `) {
		t.Fatalf("entries = %+v", got)
	}
	if got[2].Targets[0].Name != "ghost\ufffd@example.com" {
		t.Fatalf("the target names %q", got[2].Targets[0].Name)
	}
}

// The sign-in form takes a body from anyone: it is bounded, so that a large
// upload is refused before it is read, let alone written to disk.
func TestTheSignInFormTakesNoLargeBody(t *testing.T) {
	f := newTeamFixture(t)
	b := f.browser()
	big := url.Values{"email": {"alice@example.com"}, "password": {"x"}, "pad": {strings.Repeat("x", 100<<10)}}
	if r := b.do("POST", "/signin", big, acceptHTML); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 100 KiB sign-in: %d", r.status)
	}
}

// Accepting an invite from an address whose wrong passwords are being
// waited out makes the member, and sends them to sign in later, rather than
// answering 429 after their account was made.
func TestAnInviteAcceptedFromAThrottledAddressLeadsToSignIn(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	link := owner.invite("bob@example.com", "viewer")
	bob := f.browser()
	for i := range 5 {
		bob.do("POST", "/signin", url.Values{"email": {"nobody@example.com"}, "password": {"wrong " + strings.Repeat("x", i+5)}}, acceptHTML)
	}
	r := bob.do("POST", link, url.Values{"name": {"Bob Okafor"}, "password": {"bob's long password"}, "confirm": {"bob's long password"}}, acceptHTML)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), ui.SignInPath+"?next=") {
		t.Fatalf("accepting from a throttled address: %d to %q", r.status, r.header.Get("Location"))
	}
	members, _ := f.server.Members().Members(context.Background())
	if len(members) != 2 {
		t.Fatalf("%d members, want Bob made", len(members))
	}
}

func TestFiveWrongPasswordsMakeTheNextAttemptWait(t *testing.T) {
	f := newTeamFixture(t)
	b := f.browser()
	for i := range 5 {
		r := b.do("POST", "/signin", url.Values{"email": {"alice@example.com"}, "password": {"wrong " + strings.Repeat("x", i+5)}}, acceptHTML)
		if r.status != http.StatusBadRequest {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	r := b.do("POST", "/signin", url.Values{"email": {"alice@example.com"}, "password": {ownerPassword}}, acceptHTML)
	// Retry-After says the wait the page says: the first is 15 seconds.
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "15" {
		t.Fatalf("sixth attempt: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	mustContain(t, r.body, "too many wrong passwords; try again in")
	if r := b.do("GET", ui.PagePath, nil, acceptHTML); r.status != http.StatusSeeOther {
		t.Fatalf("the throttled attempt made a session: %d", r.status)
	}
}

func TestTheOwnerInvitesAViewerWhoJoinsAsAnonymous(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	r := owner.post(ui.MembersPath+"/invites", url.Values{"email": {"bob@example.com"}, "role": {"viewer"}})
	shownAt := r.header.Get("Location")
	if r.status != http.StatusSeeOther || shownAt == "" {
		t.Fatalf("invite: %d %.300s", r.status, r.body)
	}
	// Only the session that sent the form is shown the link, had another
	// the address.
	if other := f.browser().signIn("alice@example.com", ownerPassword).do("GET", shownAt, nil, acceptHTML); strings.Contains(other.body, "Invite link for") {
		t.Fatal("another session was shown the invite")
	}
	r = owner.do("GET", shownAt, nil, acceptHTML)
	m := inviteLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("the invite's page: %d %.300s", r.status, r.body)
	}
	mustContain(t, r.body, "Invite link for bob@example.com as Viewer", "Pending invites")
	// Shown once: a reload neither shows the link again nor makes another.
	if again := owner.do("GET", shownAt, nil, acceptHTML); strings.Contains(again.body, m[1]) {
		t.Fatal("reloaded, the page shows the invite link again")
	}
	bob := f.browser()
	form := bob.do("GET", m[1], nil, acceptHTML)
	mustContain(t, form.body, "Alice Moreau invited <strong>bob@example.com</strong> to the Audit Log as <strong>Viewer</strong>")
	bad := bob.do("POST", m[1], url.Values{"name": {"Bob Okafor"}, "password": {"short"}, "confirm": {"short"}}, acceptHTML)
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="password-error"`) {
		t.Fatalf("short password: %d", bad.status)
	}
	for _, name := range []string{"token x", "alice moreau"} { // reserved; a member's
		bad = bob.do("POST", m[1], url.Values{"name": {name}, "password": {"short"}, "confirm": {"other"}}, acceptHTML)
		for _, field := range []string{"name", "password", "confirm"} {
			if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="`+field+`-error"`) {
				t.Errorf("a form wrong three ways, named %q: %d, no message for %s", name, bad.status, field)
			}
		}
	}
	ok := bob.do("POST", m[1], url.Values{"name": {"Bob Okafor"}, "password": {"bob's long password"}, "confirm": {"bob's long password"}}, acceptHTML)
	if ok.status != http.StatusSeeOther {
		t.Fatalf("accept: %d %.300s", ok.status, ok.body)
	}
	if r := bob.do("GET", ui.PagePath, nil, acceptHTML); r.status != http.StatusOK {
		t.Fatalf("bob after joining: %d", r.status)
	}
	if again := f.browser().do("GET", m[1], nil, acceptHTML); again.status != http.StatusNotFound {
		t.Fatalf("a used invite link answers %d", again.status)
	}
	var invited, accepted *app.Event
	for _, e := range f.entries("namespace:users") {
		switch e.Action {
		case "user_invited":
			invited = &e
		case "user_invite_accepted":
			accepted = &e
		}
	}
	if invited == nil || invited.Actor != "Alice Moreau" || invited.Detail != "Alice Moreau invited bob@example.com as Viewer" {
		t.Fatalf("invited = %+v", invited)
	}
	if accepted == nil || accepted.Actor != app.Anonymous || !strings.Contains(accepted.Detail, "Bob Okafor (bob@example.com)") {
		t.Fatalf("accepted = %+v", accepted)
	}
	members := owner.do("GET", ui.MembersPath, nil, acceptHTML)
	mustContain(t, members.body, "Bob Okafor", "bob@example.com", "2 members")
}

func TestABadInviteIsAnsweredBesideTheFieldAndChangesNothing(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	for _, tc := range []struct{ email, role, field string }{
		{"not an address", "viewer", "email"},
		{"bob@example.com", "owner", "role"},
		{"bob@example.com", "emperor", "role"},
		{"alice@example.com", "admin", "email"},
	} {
		r := owner.post(ui.MembersPath+"/invites", url.Values{"email": {tc.email}, "role": {tc.role}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="`+tc.field+`-error"`) {
			t.Errorf("%q as %q: %d, no message beside %s", tc.email, tc.role, r.status, tc.field)
		}
	}
	if inv, _ := f.server.Members().Invites(context.Background()); len(inv) != 0 {
		t.Fatalf("bad input made invites: %+v", inv)
	}
}

func TestChangingStateWithoutTheCSRFTokenIsRefused(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	r := owner.do("POST", ui.MembersPath+"/invites", url.Values{"email": {"bob@example.com"}, "role": {"viewer"}}, acceptHTML)
	if r.status != http.StatusForbidden {
		t.Fatalf("invite without CSRF: %d", r.status)
	}
	if inv, _ := f.server.Members().Invites(context.Background()); len(inv) != 0 {
		t.Fatalf("an invite without CSRF was made: %+v", inv)
	}
}

func TestRolesChangeAndARemovedMembersSessionEndsAtOnce(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	bob := f.join(owner, "bob@example.com", "viewer", "Bob Okafor")
	if r := bob.do("GET", ui.MembersPath, nil, acceptHTML); r.status != http.StatusForbidden {
		t.Fatalf("a Viewer opens Members: %d", r.status)
	}
	members, _ := f.server.Members().Members(context.Background())
	id := members[1].ID
	// What a change of role does beyond the role is said before it is made.
	if r := owner.do("GET", ui.MembersPath, nil, acceptHTML); !strings.Contains(r.body, "revokes the API tokens they made") {
		t.Fatalf("the Members page does not say what making a Viewer does: %.300s", r.body)
	}
	if r := owner.post(ui.MembersPath+"/"+id+"/role", url.Values{"role": {"admin"}}); r.status != http.StatusSeeOther {
		t.Fatalf("change role: %d %.300s", r.status, r.body)
	}
	if r := bob.do("GET", ui.MembersPath, nil, acceptHTML); r.status != http.StatusOK {
		t.Fatalf("the new Admin opens Members: %d", r.status)
	}
	if r := owner.post(ui.MembersPath+"/"+id+"/remove", nil); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if r := bob.do("GET", ui.PagePath, nil, acceptHTML); r.status != http.StatusSeeOther {
		t.Fatalf("a removed member still opens the page: %d", r.status)
	}
	var changed, removed bool
	for _, e := range f.entries("namespace:users") {
		changed = changed || e.Action == "user_role_changed" && e.Detail == "Alice Moreau changed the role of Bob Okafor from Viewer to Admin"
		removed = removed || e.Action == "user_removed" && e.Detail == "Alice Moreau removed Bob Okafor (bob@example.com, Admin)"
	}
	if !changed || !removed {
		t.Fatalf("role change recorded %v, removal recorded %v", changed, removed)
	}
}

func TestOnlyTheOwnerTransfersOwnership(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	bob := f.join(owner, "bob@example.com", "admin", "Bob Okafor")
	members, _ := f.server.Members().Members(context.Background())
	if r := bob.post(ui.MembersPath+"/"+members[0].ID+"/transfer", nil); r.status != http.StatusForbidden {
		t.Fatalf("an Admin takes ownership: %d", r.status)
	}
	if r := owner.post(ui.MembersPath+"/"+members[1].ID+"/transfer", nil); r.status != http.StatusSeeOther {
		t.Fatalf("transfer: %d %.300s", r.status, r.body)
	}
	after, _ := f.server.Members().Members(context.Background())
	if after[0].Name != "Bob Okafor" || after[0].Role != app.RoleOwner || after[1].Role != app.RoleAdmin {
		t.Fatalf("after the transfer: %+v", after)
	}
}

func TestTheSetupLinkMakesTheOwnerOnce(t *testing.T) {
	log := logtest.Open(t, "")
	s := ui.NewServer(log)
	s.Team = true
	s.Passwords = cheapPasswords()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	f := &teamFixture{t: t, log: log, server: s, ts: ts}
	link := s.SetupURL(ts.URL)
	if link == "" {
		t.Fatal("no setup link while there is no owner")
	}
	b := f.browser()
	if r := b.do("GET", link, nil, acceptHTML); r.status != http.StatusOK || !strings.Contains(r.body, "Set up the owner") {
		t.Fatalf("setup page: %d", r.status)
	}
	token := strings.SplitN(link, "token=", 2)[1]
	r := b.do("POST", "/setup", url.Values{"token": {token}, "name": {"Alice Moreau"}, "email": {"alice@example.com"}, "password": {ownerPassword}, "confirm": {"something else"}}, acceptHTML)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="confirm-error"`) {
		t.Fatalf("mismatched passwords: %d", r.status)
	}
	// Every problem of the form at once, not one per attempt.
	r = b.do("POST", "/setup", url.Values{"token": {token}, "name": {"Anonymous"}, "email": {"not an address"}, "password": {"short"}, "confirm": {"shorter"}}, acceptHTML)
	for _, field := range []string{"name", "email", "password", "confirm"} {
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `id="`+field+`-error"`) {
			t.Errorf("a form wrong four ways: %d, no message for %s", r.status, field)
		}
	}
	r = b.do("POST", "/setup", url.Values{"token": {"forged"}, "name": {"Mallory"}, "email": {"m@example.com"}, "password": {ownerPassword}, "confirm": {ownerPassword}}, acceptHTML)
	if r.status != http.StatusNotFound {
		t.Fatalf("a forged setup token: %d", r.status)
	}
	r = b.do("POST", "/setup", url.Values{"token": {token}, "name": {"Alice Moreau"}, "email": {"alice@example.com"}, "password": {ownerPassword}, "confirm": {ownerPassword}}, acceptHTML)
	if r.status != http.StatusSeeOther {
		t.Fatalf("setup: %d %.300s", r.status, r.body)
	}
	if r := b.do("GET", ui.MembersPath, nil, acceptHTML); r.status != http.StatusOK {
		t.Fatalf("the new owner opens Members: %d", r.status)
	}
	if s.SetupURL(ts.URL) != "" {
		t.Fatal("the setup link is offered after the owner is set up")
	}
	if r := f.browser().do("GET", link, nil, acceptHTML); r.status != http.StatusNotFound {
		t.Fatalf("the setup link works twice: %d", r.status)
	}
}

// serveOn listens for real on addr (beyond loopback when it is 0.0.0.0).
func serveOn(t *testing.T, addr string, configure func(*ui.Server)) *ui.Server {
	t.Helper()
	s := ui.NewServer(logtest.Open(t, ""))
	s.Addr = addr
	s.Passwords = cheapPasswords()
	if configure != nil {
		configure(s)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func getWithHost(t *testing.T, s *ui.Server, host, path string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Host = host
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestBeyondLoopbackOnlyConfiguredNamesAndOurAddressesAreAnswered(t *testing.T) {
	s := serveOn(t, "0.0.0.0:0", func(s *ui.Server) { s.Hosts = []string{"audit.example.lan"} })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL(), "http://"))
	for host, want := range map[string]int{
		"evil.example:" + port:       http.StatusForbidden,
		"audit.example.lan.evil.com": http.StatusForbidden,
		"audit.example.lan:" + port:  http.StatusOK,
		"AUDIT.example.lan":          http.StatusOK,
		"localhost:" + port:          http.StatusOK,
		"127.0.0.1:" + port:          http.StatusOK,
		"203.0.113.9:" + port:        http.StatusForbidden, // not one of ours
	} {
		if got := getWithHost(t, s, host, "/healthz"); got != want {
			t.Errorf("Host %s: %d, want %d", host, got, want)
		}
	}
}

func TestOnLoopbackOnlyLoopbackNamesAreAnswered(t *testing.T) {
	s := serveOn(t, "127.0.0.1:0", func(s *ui.Server) { s.Hosts = []string{"audit.example.lan"} })
	if got := getWithHost(t, s, "audit.example.lan", "/healthz"); got != http.StatusForbidden {
		t.Fatalf("a --host name on loopback: %d", got)
	}
}

// fromNetwork is a request as it arrives from another machine.
func fromNetwork(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "192.0.2.44:51234"
	r.Host = "127.0.0.1:7410"
	return r
}

func TestTheLaunchSecretWorksOnlyFromThisComputer(t *testing.T) {
	for _, team := range []bool{false, true} {
		log := logtest.Open(t, "")
		s := ui.NewServer(log)
		s.Team = team
		s.Passwords = cheapPasswords()
		h := s.Handler()
		secret := strings.SplitN(s.LaunchURL(""), "secret=", 2)[1]

		w := httptest.NewRecorder()
		h.ServeHTTP(w, fromNetwork("GET", "/launch?secret="+secret))
		if w.Header().Get("Set-Cookie") != "" {
			t.Errorf("team %v: the launch link from the network made a session", team)
		}
		req := fromNetwork("GET", "/api/v1/tokens")
		req.Header.Set("Authorization", "Bearer "+secret)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("team %v: the launch secret as a token from the network: %d", team, w.Code)
		}
		// Relayed through a proxy on this computer, it is still from elsewhere.
		req = httptest.NewRequest("GET", "/api/v1/tokens", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:7410"
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("X-Forwarded-For", "192.0.2.44")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("team %v: the launch secret relayed by a proxy: %d", team, w.Code)
		}
		// From this computer it still works, for the command line.
		req = httptest.NewRequest("GET", "/api/v1/tokens", nil)
		req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:7410"
		req.Header.Set("Authorization", "Bearer "+secret)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Errorf("team %v: the launch secret from this computer: %d", team, w.Code)
		}
	}
}

func TestPagesAndTheAPIAreNotCached(t *testing.T) {
	f := newTeamFixture(t)
	b := f.browser().signIn("alice@example.com", ownerPassword)
	for _, path := range []string{ui.PagePath, ui.MembersPath, "/api/v1/events", "/signin", "/healthz"} {
		if got := b.do("GET", path, nil, nil).header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
	}
	if got := b.do("GET", "/assets/app.css?v=x", nil, nil).header.Get("Cache-Control"); got == "no-store" {
		t.Errorf("assets: Cache-Control %q", got)
	}
}

func sessionCookie(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if strings.HasPrefix(c.Name, "auditlog_session") {
			return c
		}
	}
	return nil
}

func TestSessionCookiesAreSecureOverTLSOrBehindATrustedProxy(t *testing.T) {
	signIn := func(h http.Handler, remote string, header map[string]string, tlsOn bool) *http.Cookie {
		r := httptest.NewRequest("POST", "/signin", strings.NewReader("email=alice%40example.com&password="+url.QueryEscape(ownerPassword)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr, r.Host = remote, "127.0.0.1:7410"
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		for k, v := range header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		c := sessionCookie(w.Header())
		if c == nil {
			t.Fatalf("no session cookie: %d %.200s", w.Code, w.Body.String())
		}
		return c
	}
	f := newTeamFixture(t, func(s *ui.Server) { s.TrustedProxies = []string{"10.0.0.2"} })
	h := f.server.Handler()
	if c := signIn(h, "192.0.2.1:1000", nil, false); c.Secure {
		t.Error("Secure over plain HTTP")
	}
	if c := signIn(h, "192.0.2.1:1000", nil, true); !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("over TLS: %+v", c)
	}
	if c := signIn(h, "10.0.0.2:1000", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}, false); !c.Secure {
		t.Error("not Secure behind the trusted proxy that says https")
	}
	if c := signIn(h, "192.0.2.1:1000", map[string]string{"X-Forwarded-Proto": "https"}, false); c.Secure {
		t.Error("an untrusted X-Forwarded-Proto was believed")
	}
	var from []string
	for _, e := range f.entries("action:user_signed_in") {
		from = append(from, e.IP)
	}
	if !strings.Contains(strings.Join(from, " "), "192.0.2.1") || strings.Contains(strings.Join(from, " "), "10.0.0.2") {
		t.Errorf("sign-ins recorded from %v; want the client behind the proxy, never the proxy", from)
	}
}

func TestTheServerSpeaksTLSWithACertificateAndKey(t *testing.T) {
	cert, key := tlstest.WriteCert(t, "audit.example.lan", "127.0.0.1")
	s := serveOn(t, "127.0.0.1:0", func(s *ui.Server) { s.TLSCert, s.TLSKey = cert, key })
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	if got := getWithHost(t, s, "127.0.0.1", "/healthz"); got != http.StatusOK {
		t.Fatalf("healthz over TLS: %d", got)
	}
}

func TestTeamModeOnLoopbackBehindAProxyAnswersItsConfiguredNames(t *testing.T) {
	s := serveOn(t, "127.0.0.1:0", func(s *ui.Server) { s.Team, s.Hosts = true, []string{"audit.example.lan"} })
	if got := getWithHost(t, s, "audit.example.lan", "/healthz"); got != http.StatusOK {
		t.Fatalf("the --host name: %d", got)
	}
	if got := getWithHost(t, s, "evil.example", "/healthz"); got != http.StatusForbidden {
		t.Fatalf("another name: %d", got)
	}
}

func TestAnotherSiteCannotPostTheSignInForm(t *testing.T) {
	f := newTeamFixture(t)
	b := f.browser()
	r := b.do("POST", "/signin", url.Values{"email": {"alice@example.com"}, "password": {ownerPassword}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
	if r.status != http.StatusForbidden || sessionCookie(r.header) != nil {
		t.Fatalf("a cross-site sign-in: %d, cookie %v", r.status, sessionCookie(r.header))
	}
}

func TestInDesktopModeTheLaunchSessionIsTheOwnerOfMembers(t *testing.T) {
	f := newPageFixture(t)
	f.server.LocalUser = "Maya Chen"
	r := f.get(ui.MembersPath, nil)
	if r.status != http.StatusOK {
		t.Fatalf("Members in desktop mode: %d", r.status)
	}
	mustContain(t, r.body, "listens on this computer only", "Invite a member")
	if r := f.get(ui.SignInPath, nil); r.status != http.StatusOK || !strings.Contains(r.body, "<h1>Audit Log</h1>") {
		t.Fatalf("sign-in in desktop mode should lead to the page: %d", r.status)
	}
}

func TestAWithdrawnInviteLinkStopsWorking(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	link := owner.invite("bob@example.com", "admin")
	invites, _ := f.server.Members().Invites(context.Background())
	if r := owner.post(ui.MembersPath+"/invites/"+invites[0].ID+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.status)
	}
	if r := f.browser().do("GET", link, nil, acceptHTML); r.status != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
		t.Fatalf("a withdrawn link answers %d", r.status)
	}
	got := f.entries("action:user_invite_revoked")
	if len(got) != 1 || got[0].Detail != "Alice Moreau withdrew the invite of bob@example.com as Admin" {
		t.Fatalf("entries = %+v", got)
	}
}

func TestAnUnknownRoleChangesNothing(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	f.join(owner, "bob@example.com", "viewer", "Bob Okafor")
	members, _ := f.server.Members().Members(context.Background())
	for _, role := range []string{"", "emperor", "owner"} {
		r := owner.post(ui.MembersPath+"/"+members[1].ID+"/role", url.Values{"role": {role}})
		if r.status != http.StatusBadRequest || !strings.Contains(strings.ToLower(r.body), "role:") {
			t.Errorf("role %q: %d", role, r.status)
		}
	}
	after, _ := f.server.Members().Members(context.Background())
	if after[1].Role != app.RoleViewer {
		t.Fatalf("role is now %s", after[1].Role)
	}
}

// sendJSON sends body to the API as this browser's page would: with its
// session and CSRF token, or with bearer, an API token, instead.
func (b *browser) sendJSON(method, path, bearer, body string) resp {
	b.f.t.Helper()
	header := map[string]string{"Content-Type": "application/json", "X-CSRF-Token": b.csrf}
	if bearer != "" {
		header = map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + bearer}
	}
	req, err := http.NewRequest(method, b.f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		b.f.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := b.client
	if bearer != "" {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: string(out)}
}

// newToken makes a token through the API and returns its secret and id.
func (b *browser) newToken(bearer, body string) (secret, id string) {
	b.f.t.Helper()
	r := b.sendJSON("POST", "/api/v1/tokens", bearer, body)
	var made struct {
		Secret string `json:"secret"`
		Token  struct {
			ID string `json:"id"`
		} `json:"token"`
	}
	if r.status != http.StatusCreated || json.Unmarshal([]byte(r.body), &made) != nil || made.Secret == "" {
		b.f.t.Fatalf("create token %s: %d %.300s", body, r.status, r.body)
	}
	return made.Secret, made.Token.ID
}

// A token acts on its maker's authority, as an invite does: once the member
// may make tokens no more, removed or made a Viewer, the tokens they made
// stop, and so do the tokens those made. A service user's tokens are the
// workspace's and stay.
func TestAMembersTokensEndWithTheirAuthority(t *testing.T) {
	for _, how := range []string{"removed", "made a Viewer"} {
		t.Run(how, func(t *testing.T) {
			f := newTeamFixture(t)
			ctx := context.Background()
			owner := f.browser().signIn("alice@example.com", ownerPassword)
			bob := f.join(owner, "bob@example.com", "admin", "Bob Okafor")
			carol := f.join(owner, "carol@example.com", "admin", "Carol Diaz")
			su, err := f.log.CreateServiceUser(ctx, "ci-deploy", "Bob Okafor")
			if err != nil {
				t.Fatal(err)
			}
			bobs, _ := bob.newToken("", `{"label":"bob-admin","scopes":["admin"]}`)
			made, _ := bob.newToken(bobs, `{"label":"made-by-bob-admin","scopes":["admin"]}`)
			madeMade, _ := bob.newToken(made, `{"label":"two-steps-on","scopes":["ingest"]}`)
			service, _ := bob.newToken(bobs, `{"label":"ci","scopes":["ingest"],"owner":"`+su.ID+`"}`)
			carols, _ := carol.newToken("", `{"label":"carol-read","scopes":["read"]}`)
			// A token whose maker, a token, was revoked first still goes.
			step, stepID := bob.newToken(bobs, `{"label":"stepping-stone","scopes":["admin"]}`)
			orphan, _ := bob.newToken(step, `{"label":"orphan","scopes":["read"]}`)
			if r := bob.sendJSON("DELETE", "/api/v1/tokens/"+stepID, "", ""); r.status != http.StatusOK {
				t.Fatalf("revoke the stepping stone: %d %s", r.status, r.body)
			}
			// A token of the person at this computer, who may bear Bob's
			// name, is no token of Bob's.
			local, _, err := f.log.CreateToken(ctx, "at-the-laptop", []app.Scope{app.ScopeRead}, "Bob Okafor")
			if err != nil {
				t.Fatal(err)
			}

			members, _ := f.server.Members().Members(ctx)
			var bobID string
			for _, m := range members {
				if m.Name == "Bob Okafor" {
					bobID = m.ID
				}
			}
			if how == "removed" {
				if r := owner.post(ui.MembersPath+"/"+bobID+"/remove", nil); r.status != http.StatusSeeOther {
					t.Fatalf("remove: %d %.300s", r.status, r.body)
				}
			} else if r := owner.post(ui.MembersPath+"/"+bobID+"/role", url.Values{"role": {"viewer"}}); r.status != http.StatusSeeOther {
				t.Fatalf("make a Viewer: %d %.300s", r.status, r.body)
			}

			for _, tok := range []struct {
				name, secret string
				works        bool
			}{{"Bob's", bobs, false}, {"made by Bob's", made, false}, {"made by that one", madeMade, false},
				{"made by a revoked one of Bob's", orphan, false}, {"the person at the computer's", local, true},
				{"the service user's", service, true}, {"Carol's", carols, true}} {
				r := owner.sendJSON("GET", "/api/v1/workspace", tok.secret, "")
				if works := r.status != http.StatusUnauthorized; works != tok.works {
					t.Errorf("%s token after Bob was %s: %d", tok.name, how, r.status)
				}
			}
			// Nothing Bob kept lets him make another.
			if r := owner.sendJSON("POST", "/api/v1/tokens", bobs, `{"label":"backdoor","scopes":["admin"]}`); r.status != http.StatusUnauthorized {
				t.Errorf("Bob's token makes a token: %d", r.status)
			}

			var revoked []string
			for _, e := range f.entries(`action:token_revoked actor:"alice moreau"`) {
				if e.Actor != "Alice Moreau" || !strings.Contains(e.Detail, "Bob Okafor") {
					t.Errorf("revocation entry: %+v", e)
				}
				revoked = append(revoked, e.Targets[0].Name)
			}
			slices.Sort(revoked)
			if want := []string{"bob-admin", "made-by-bob-admin", "orphan", "two-steps-on"}; !slices.Equal(revoked, want) {
				t.Fatalf("revoked %q, want %q", revoked, want)
			}
		})
	}
}

// The launch link's session, in team mode, is the Owner's who was when it
// was opened, and follows that member as a signed-in session does; its
// cookie, like the link, is nothing from another computer.
func TestALaunchSessionFollowsItsMemberAndWorksOnlyHere(t *testing.T) {
	f := newTeamFixture(t)
	ctx := context.Background()
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	bob := f.join(owner, "bob@example.com", "admin", "Bob Okafor")
	launched := f.browser()
	if r := launched.do("GET", f.server.LaunchURL(f.ts.URL), nil, acceptHTML); r.status != http.StatusSeeOther {
		t.Fatalf("launch: %d %.300s", r.status, r.body)
	}
	page := launched.do("GET", ui.PagePath, nil, acceptHTML)
	m := csrfField.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("the page after launch: %d %.300s", page.status, page.body)
	}
	launched.csrf = m[1]
	if !strings.Contains(page.body, "On this computer, as Alice Moreau") {
		t.Error("the page does not say whose name the launch session acts under")
	}
	if r := launched.do("GET", ui.PagePath, nil, map[string]string{"Accept": "text/html", "X-Forwarded-For": "192.0.2.7"}); r.status == http.StatusOK {
		t.Fatalf("the launch session relayed from another computer: %d", r.status)
	}

	members, _ := f.server.Members().Members(ctx)
	alice, bobM := members[0], members[1]
	if r := launched.post(ui.MembersPath+"/"+bobM.ID+"/transfer", nil); r.status != http.StatusSeeOther {
		t.Fatalf("transfer from the launch session: %d %.300s", r.status, r.body)
	}
	// Alice is an Admin now, and so is the session opened as her; made a
	// Viewer, she and it may no longer open the tokens page.
	if r := launched.do("GET", ui.TokensPath, nil, acceptHTML); r.status != http.StatusOK {
		t.Fatalf("the launch session of an Admin opens the tokens page: %d", r.status)
	}
	bob.csrf = csrfField.FindStringSubmatch(bob.do("GET", ui.MembersPath, nil, acceptHTML).body)[1]
	if r := bob.post(ui.MembersPath+"/"+alice.ID+"/role", url.Values{"role": {"viewer"}}); r.status != http.StatusSeeOther {
		t.Fatalf("make Alice a Viewer: %d %.300s", r.status, r.body)
	}
	if r := launched.do("GET", ui.TokensPath, nil, acceptHTML); r.status != http.StatusForbidden {
		t.Fatalf("the launch session of a Viewer opens the tokens page: %d", r.status)
	}
	if r := bob.post(ui.MembersPath+"/"+alice.ID+"/remove", nil); r.status != http.StatusSeeOther {
		t.Fatalf("remove Alice: %d %.300s", r.status, r.body)
	}
	if r := launched.do("GET", ui.PagePath, nil, acceptHTML); r.status == http.StatusOK {
		t.Fatalf("the launch session of a removed member still opens the page")
	}
	// Handing ownership to oneself is no change, and says so.
	if r := bob.post(ui.MembersPath+"/"+bobM.ID+"/transfer", nil); r.status != http.StatusConflict {
		t.Fatalf("a transfer to oneself: %d %.300s", r.status, r.body)
	}
}

// Names that read alike in the Actor column are one name: punctuation and
// spacing do not tell "Anonymous." from Anonymous, or one member from another.
func TestANameThatReadsAsAnotherIsRefused(t *testing.T) {
	f := newTeamFixture(t)
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	for _, name := range []string{"Anonymous.", "ANONYMOUS!", "Audit-Log", "local_user", "Token.ci-deploy", "Alice  Moreau.", "alice-moreau"} {
		link := owner.invite(strings.ToLower(strings.NewReplacer(" ", "", ".", "", "!", "", "-", "", "_", "").Replace(name))+"@example.com", "viewer")
		r := f.browser().do("POST", link, url.Values{"name": {name}, "password": {"their long password"}, "confirm": {"their long password"}}, acceptHTML)
		if r.status != http.StatusBadRequest {
			t.Errorf("the name %q: %d", name, r.status)
		}
	}
	f.join(owner, "tokenova@example.com", "viewer", "Tokenova")
}

// An invite made at the computer running the Audit Log, through its
// loopback address, names the server as the others reach it: 127.0.0.1 is
// every computer's own.
func TestAnInviteMadeAtThisComputerNamesTheServerAsOthersReachIt(t *testing.T) {
	f := newTeamFixture(t, func(s *ui.Server) { s.Hosts = []string{"audit.example.lan"} })
	owner := f.browser().signIn("alice@example.com", ownerPassword)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(f.ts.URL, "http://"))
	link := owner.invite("bob@example.com", "viewer")
	if want := "http://audit.example.lan:" + port + ui.InvitePath; !strings.HasPrefix(link, want) {
		t.Fatalf("the invite link is %s, want it to start %s", link, want)
	}
	// X-Forwarded-Proto is believed only from a trusted proxy.
	r := owner.do("POST", ui.MembersPath+"/invites", url.Values{"email": {"cara@example.com"}, "role": {"viewer"}, "csrf": {owner.csrf}},
		map[string]string{"X-Forwarded-Proto": "https", "Accept": "text/html"})
	if r.status != http.StatusSeeOther {
		t.Fatalf("invite: %d %.300s", r.status, r.body)
	}
	page := owner.do("GET", r.header.Get("Location"), nil, acceptHTML)
	if m := inviteLink.FindStringSubmatch(page.body); m == nil || !strings.HasPrefix(m[1], "http://") {
		t.Fatalf("an invite sent with X-Forwarded-Proto from no proxy: %v", m)
	}
}
