package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// The kinds of state the team keeps, beside the Log's own.
const (
	StateMembers  StateKind = "members"  // member id → storedMember JSON
	StateInvites  StateKind = "invites"  // sha256(invite secret) hex → Invite JSON
	StateSessions StateKind = "sessions" // sha256(session secret) hex → Session JSON
)

// Limits of the team's accounts.
const (
	InviteLifetime  = 7 * 24 * time.Hour
	SessionIdle     = 12 * time.Hour      // a session unused this long ends
	SessionLifetime = 30 * 24 * time.Hour // and any session ends this long after sign-in
	MinPassword     = 10
	MaxPassword     = 256
	// sessionTouch: how stale a session's last use may be before it is
	// written again; writing on every request would fsync on every click.
	sessionTouch = time.Minute
)

// Member is a person who may sign in to the workspace.
type Member struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Role       Role      `json:"role"`
	JoinedAt   time.Time `json:"joined_at"`
	LastSignIn time.Time `json:"last_sign_in,omitzero"`
	InvitedBy  string    `json:"invited_by,omitempty"`
}

// storedMember is a member as the store keeps it, with the password's hash.
type storedMember struct {
	Member
	PasswordHash string `json:"password_hash"`
}

// Invite lets the person with its link join with a role; only a hash of
// the link's secret is kept.
type Invite struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Role      Role   `json:"role"`
	InvitedBy string `json:"invited_by"`
	// InvitedByID is the inviting member's id (none for invites made before
	// it was kept, or by the launch link before an owner was set up).
	InvitedByID string    `json:"invited_by_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Expired reports whether the invite can no longer be accepted at now.
func (i Invite) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// Session is a member's signed-in browser; only a hash of its secret is kept.
type Session struct {
	MemberID string    `json:"member_id"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
	Addr     string    `json:"addr,omitempty"`
	key      string
}

// PasswordHasher hashes passwords and checks them against a hash; app/password
// implements it with argon2id.
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
}

// Team manages the workspace's members: the owner's setup, invites, roles,
// sign-in and sessions. Every change is recorded in the Users namespace in
// the same commit as the state it changes.
type Team struct {
	// LocalName is the name entries give the person at the computer the
	// app runs on, whose launch link and command line act under their
	// account's name ("root", "Alice Moreau"): no invited member may take
	// it, or read as them. The owner may: it is usually that person.
	LocalName string

	log      *Log
	pw       PasswordHasher
	throttle throttle
	touching sync.Map       // session keys whose last use is being written
	touches  sync.WaitGroup // those writes under way
	// dummy is verified against when no member has the email, so that an
	// unknown address takes as long as a wrong password.
	dummy string
}

// NewTeam returns the team of the Log's workspace.
func NewTeam(l *Log, pw PasswordHasher) *Team {
	t := &Team{log: l, pw: pw}
	t.throttle.m = map[string]*strikes{}
	t.dummy, _ = pw.Hash(rand.Text())
	return t
}

func secretKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// FieldErrorf is an invalid-input error about one field of a form, which
// the page shows beside that field.
func FieldErrorf(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: field + ": " + msg, Details: []FieldError{{Field: field, Message: msg}}}
}

func cleanName(name string) (string, error) {
	// Single spaces wherever the name had spaces of any kind. (Other
	// spellings of one name, an é composed or not, are told apart from the
	// other members' names as searches compare them: nameTaken.)
	name = strings.Join(strings.FieldsFunc(name, unicode.IsSpace), " ")
	if name == "" || utf8.RuneCountInString(name) > 80 || checkText(name, false) != "" || !strings.ContainsFunc(name, isLetterOrDigit) {
		return "", FieldErrorf("name", "1 to 80 printable characters are required, with a letter or a digit")
	}
	// Entries name their actor by name: a member called "token ci-deploy"
	// would read as an API token, one called Anonymous as an outside party.
	if reserved := reservedFor(name); reserved != "" {
		return "", FieldErrorf("name", "%q is how entries name %s; choose another name", name, reserved)
	}
	return name, nil
}

// CheckNewAccount says every way a new member's name, email (nil: not
// asked, as an invite has it) and password break the rules, a detail per
// field, or nil: a form shows them all at once, not one per attempt.
func CheckNewAccount(name string, email *string, password string) error {
	var details []FieldError
	add := func(err error) {
		if e := (*Error)(nil); errors.As(err, &e) {
			details = append(details, e.Details...)
		}
	}
	_, err := cleanName(name)
	add(err)
	if email != nil {
		_, err = cleanEmail(*email)
		add(err)
	}
	add(checkPassword(password))
	if len(details) == 0 {
		return nil
	}
	d := details[0]
	return &Error{Code: EINVALID, Message: d.Field + ": " + d.Message, Details: details}
}

// CheckInvitee is CheckNewAccount for someone joining by invite, with what
// the team says of the name too: taken by a member, or the name the person
// at the computer acts under (LocalName). The join checks again, under the
// team's lock.
func (t *Team) CheckInvitee(ctx context.Context, name, password string) error {
	err := CheckNewAccount(name, nil, password)
	var e *Error
	if errors.As(err, &e) && slices.ContainsFunc(e.Details, func(d FieldError) bool { return d.Field == "name" }) {
		return err // the name is wrong already
	}
	var named error
	if clean, _ := cleanName(name); t.LocalName != "" && readAlike(clean, t.LocalName, true) {
		named = FieldErrorf("name", "%q is how entries name the person at the computer the Audit Log runs on; choose another name", clean)
	} else if members, serr := t.stored(ctx); serr != nil {
		return serr
	} else {
		named = nameTaken(members, clean)
	}
	var n *Error
	switch {
	case !errors.As(named, &n):
		return err
	case e == nil:
		return named
	}
	return &Error{Code: EINVALID, Message: n.Message, Details: append(n.Details, e.Details...)}
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// nameSkeletons is how a name reads, for telling names apart: folded as
// searches fold names (no case, no accents), its words alone. "Anonymous."
// and "anonymous" read alike in an entry's Actor column, as do "Bob  Okafor"
// and "Bob-Okafor". So do letters of other scripts or forms drawn alike:
// "Аdam" with a Cyrillic А is "Adam", "Ｂｏｂ" is "Bob", "Amie" is "Arnie",
// so that no one can pass for another in the entries. Those are the
// confusables of Unicode's security mechanisms (UTS #39), whose skeletons
// app/names registers (drawnAs), once the compatibility forms (full-width
// letters, ligatures) are made plain. Their
// table tells letters apart by case (a capital В is drawn as B, a small в
// is not b; a small m is rn, a capital M is not), so a name has two
// skeletons: in small letters, and as written. And each of those twice: a
// symbol may be drawn as a letter ("O|ivia" is Olivia), or be a mark after
// the name that the skeleton would make one ("Olivia Owner⁰" is Olivia
// Owner, not "Olivia Ownero"), so the skeletons are drawn with the symbols
// and without them. Names read alike when any of their skeletons of a kind
// do. The marks Fold keeps are part of the words: the vowel signs tell राम
// from रीम.
func nameSkeletons(name string) [4]string {
	plain := strings.Map(uncircled, PlainLetters(name))
	only := func(s string) string { // its letters, digits and marks, in words
		return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !isLetterOrDigit(r) && !unicode.IsMark(r) }), " ")
	}
	words := func(s string) string { return only(Fold(s)) }
	skeleton := func(s string) string { return s }
	if f := drawnAs.Load(); f != nil {
		skeleton = *f
	}
	bare := only(plain)
	return [4]string{words(skeleton(Fold(plain))), words(skeleton(plain)), words(skeleton(Fold(bare))), words(skeleton(bare))}
}

// uncircled writes a circled Latin letter (Ⓞ, ⓞ), a symbol that reads as
// the letter, as the letter.
func uncircled(r rune) rune {
	switch {
	case 0x24B6 <= r && r <= 0x24CF:
		return 'A' + r - 0x24B6
	case 0x24D0 <= r && r <= 0x24E9:
		return 'a' + r - 0x24D0
	}
	return r
}

// drawnAs is the UTS #39 skeleton of a name, which app/names registers:
// the domain keeps to the standard library, and holds no table of letters
// drawn alike. Unregistered, names are told apart as Fold makes them.
var drawnAs atomic.Pointer[func(string) string]

// RegisterNameSkeleton installs how names are drawn (see nameSkeletons).
func RegisterNameSkeleton(skeleton func(string) string) { drawnAs.Store(&skeleton) }

// readAlike tells whether two names read alike (nameSkeletons); with
// joined, also when their words are run together or cut apart otherwise.
func readAlike(a, b string, joined bool) bool {
	sa, sb := nameSkeletons(a), nameSkeletons(b)
	for i := range sa {
		if joined {
			sa[i], sb[i] = strings.ReplaceAll(sa[i], " ", ""), strings.ReplaceAll(sb[i], " ", "")
		}
		if sa[i] == sb[i] {
			return true
		}
	}
	return false
}

// reservedFor says whom entries call name, or "" when it is free. A
// reserved name is refused however it is spelt or punctuated (readAlike,
// joined): "A.nonymous" and "a.n.o.n.y.m.o.u.s" read as Anonymous.
func reservedFor(name string) string {
	switch {
	case readAlike(name, Anonymous, true):
		return "outside parties"
	case readAlike(name, OwnActor, true):
		return "the app itself"
	case readAlike(name, LocalActor, true):
		return "the person at the computer the app runs on"
	}
	// "token" followed by more words, however its letters are spaced or
	// punctuated ("t.o.k.e.n ci-deploy"), but not a word that only starts
	// with it ("Tokenova Smith").
	token := nameSkeletons(tokenActorPrefix)
	for i, s := range nameSkeletons(name) {
		words := strings.Fields(s)
		for k := 1; k < len(words); k++ {
			if strings.Join(words[:k], "") == token[i] {
				return "API tokens"
			}
		}
	}
	return ""
}

// triedAs is the email a sign-in tried, for an entry's detail: as typed,
// quoted, escapes and all, when it is no address. Anyone may type anything
// there, and a sentence typed as the email must not read as the entry's own
// words.
func triedAs(email string) string {
	if _, err := cleanEmail(email); err != nil || checkText(email, false) != "" {
		return strconv.Quote(email)
	}
	return email
}

// nameTaken refuses a name that reads as another member's (readAlike):
// in any letter case, with or without accents or punctuation. Two members
// of one name would be one actor in every entry, and actor:chloe would
// find both.
func nameTaken(members []storedMember, name string) error {
	for _, m := range members {
		if readAlike(m.Name, name, true) { // "OliviaOwner" reads as Olivia Owner
			return FieldErrorf("name", "%s is already the name of a member; entries name who acted by name, so choose one that tells you apart (a surname, an initial)", m.Name)
		}
	}
	return nil
}

func cleanEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "", FieldErrorf("email", "an address such as bob@example.com is required")
	}
	return strings.ToLower(email), nil
}

func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPassword || n > MaxPassword {
		return FieldErrorf("password", "%d to %d characters are required", MinPassword, MaxPassword)
	}
	return nil
}

// Members lists the members, the owner first, then by when they joined.
func (t *Team) Members(ctx context.Context) ([]Member, error) {
	all, err := t.stored(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(all))
	for i, m := range all {
		out[i] = m.Member
	}
	slices.SortFunc(out, func(a, b Member) int {
		if (a.Role == RoleOwner) != (b.Role == RoleOwner) {
			if a.Role == RoleOwner {
				return -1
			}
			return 1
		}
		return a.JoinedAt.Compare(b.JoinedAt)
	})
	return out, nil
}

func (t *Team) stored(ctx context.Context) ([]storedMember, error) {
	out, _, err := readStates[storedMember](ctx, t.log.store, StateMembers, "a member")
	return out, err
}

// Member returns the member with id.
func (t *Team) Member(ctx context.Context, id string) (Member, error) {
	m, err := t.member(ctx, id)
	return m.Member, err
}

// actingMember is the context key of the member a request acts as, and
// the role it was let in for (WithActingMember).
type actingMember struct{}

type acting struct {
	id    string
	least Role
}

// WithActingMember says that a request acts as member id, let in for
// holding role least: a change it records is refused if, by the time it is
// applied, the member is gone or holds a lesser role (see stillActing). A
// request waits for the state lock behind others; the member may have been
// made a Viewer, or removed, meanwhile.
func WithActingMember(ctx context.Context, id string, least Role) context.Context {
	return context.WithValue(ctx, actingMember{}, acting{id, least})
}

// stillActing checks, for commitOwn, that the member a request acts as
// (WithActingMember) still holds the role it was let in for. Changes hold
// the state lock around their commit, as role changes and removals do, so
// the two cannot cross.
func (l *Log) stillActing(ctx context.Context) error {
	a, _ := ctx.Value(actingMember{}).(acting)
	return l.stillHolds(ctx, a.id, a.least, "this")
}

// stillAdmin is stillHolds for the team's changes, which take who asks.
func (t *Team) stillAdmin(ctx context.Context, by Member, what string) error {
	return t.log.stillHolds(ctx, by.ID, RoleAdmin, what)
}

// stillHolds checks, under stateMu, that member id still holds role least,
// for what they asked: a request let in a moment before its member was made
// a Viewer, or removed, and waiting for the lock meanwhile, must not act on
// the role they had then. No id (the person at this computer) always does.
func (l *Log) stillHolds(ctx context.Context, id string, least Role, what string) error {
	if id == "" {
		return nil
	}
	m, err := l.member(ctx, id)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return Errorf(EFORBIDDEN, "%s needs the %s role, and the member it was asked as was removed meanwhile", what, least.DisplayName())
	case err != nil:
		return err
	case !m.Role.AtLeast(least):
		return Errorf(EFORBIDDEN, "%s needs the %s role, which %s no longer has", what, least.DisplayName(), m.Name)
	}
	return nil
}

func (t *Team) member(ctx context.Context, id string) (storedMember, error) {
	return t.log.member(ctx, id)
}

// member reads the member with id from the store, for the Team and for
// what the Log checks of a member itself (madeOnBehalfOf).
func (l *Log) member(ctx context.Context, id string) (storedMember, error) {
	v, ok, err := l.store.State(ctx, StateMembers, id)
	if err != nil {
		return storedMember{}, err
	}
	if !ok {
		return storedMember{}, Errorf(ENOTFOUND, "no member with id %s", Quoted(id))
	}
	var m storedMember
	if err := json.Unmarshal(v, &m); err != nil {
		return storedMember{}, fmt.Errorf("store: member is unreadable: %w", err)
	}
	return m, nil
}

func (t *Team) byEmail(ctx context.Context, email string) (storedMember, bool, error) {
	all, err := t.stored(ctx)
	if err != nil {
		return storedMember{}, false, err
	}
	for _, m := range all {
		if m.Email == email {
			return m, true, nil
		}
	}
	return storedMember{}, false, nil
}

// Owner returns the workspace's owner; ok is false before one is set up.
func (t *Team) Owner(ctx context.Context) (m Member, ok bool, err error) {
	all, err := t.stored(ctx)
	if err != nil {
		return Member{}, false, err
	}
	for _, s := range all {
		if s.Role == RoleOwner {
			return s.Member, true, nil
		}
	}
	return Member{}, false, nil
}

func memberState(m storedMember) (StateValue, error) {
	v, err := json.Marshal(m)
	return StateValue{Kind: StateMembers, Key: m.ID, Value: v}, err
}

func userTarget(m Member) []Target {
	return []Target{{Type: "user", ID: m.ID, Name: m.Name}}
}

// SetUpOwner makes the first member, the owner, when there is none yet.
func (t *Team) SetUpOwner(ctx context.Context, name, email, password string) (Member, error) {
	if err := CheckNewAccount(name, &email, password); err != nil {
		return Member{}, err
	}
	name, _ = cleanName(name)
	email, _ = cleanEmail(email)
	hash, err := t.pw.Hash(password)
	if err != nil {
		return Member{}, err
	}
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if _, ok, err := t.Owner(ctx); err != nil || ok {
		if err == nil {
			err = Errorf(ECONFLICT, "the workspace already has an owner; sign in instead")
		}
		return Member{}, err
	}
	m := storedMember{Member: Member{ID: newID("usr_"), Name: name, Email: email, Role: RoleOwner, JoinedAt: l.now().UTC()}, PasswordHash: hash}
	sv, err := memberState(m)
	if err != nil {
		return Member{}, err
	}
	err = l.commitOwn(ctx, []StateValue{sv}, Event{
		Namespace: Users, Action: "user_created", Actor: name,
		Detail:   fmt.Sprintf("%s (%s) set up the workspace as its Owner", name, email),
		Targets:  userTarget(m.Member),
		Metadata: map[string]string{"email": email, "role": string(RoleOwner)},
	})
	if err != nil {
		return Member{}, fmt.Errorf("store: unable to set up the owner: %w", err)
	}
	return m.Member, nil
}

func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()[:12]) }

// Invite makes a one-time invite for email with role, valid for
// InviteLifetime, and returns its secret, which is not stored. A pending
// invite for the same address is replaced.
func (t *Team) Invite(ctx context.Context, email string, role Role, by Member) (string, Invite, error) {
	email, err := cleanEmail(email)
	if err != nil {
		return "", Invite{}, err
	}
	if role != RoleAdmin && role != RoleViewer {
		return "", Invite{}, FieldErrorf("role", "invite as Admin or Viewer; ownership is transferred, not invited")
	}
	if !by.Role.AtLeast(RoleAdmin) {
		return "", Invite{}, Errorf(EFORBIDDEN, "inviting members needs the Admin role")
	}
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if err := t.stillAdmin(ctx, by, "inviting members"); err != nil {
		return "", Invite{}, err
	}
	if _, ok, err := t.byEmail(ctx, email); err != nil || ok {
		if err == nil {
			err = FieldErrorf("email", "%s is already a member", email)
		}
		return "", Invite{}, err
	}
	var state []StateValue
	var replaced []Event
	pending, err := t.invites(ctx)
	if err != nil {
		return "", Invite{}, err
	}
	for _, key := range slices.Sorted(maps.Keys(pending)) {
		if inv := pending[key]; inv.Email == email {
			state = append(state, StateValue{Kind: StateInvites, Key: key})
			replaced = append(replaced, inviteRevoked(by, inv,
				fmt.Sprintf("%s withdrew the invite of %s as %s from %s, to send a new one", by.Name, inv.Email, inv.Role.DisplayName(), inv.InvitedBy)))
		}
	}
	now := l.now().UTC()
	secret := rand.Text() + rand.Text()
	inv := Invite{ID: newID("inv_"), Email: email, Role: role, InvitedBy: by.Name, InvitedByID: by.ID, CreatedAt: now, ExpiresAt: now.Add(InviteLifetime)}
	v, err := json.Marshal(inv)
	if err != nil {
		return "", Invite{}, err
	}
	state = append(state, StateValue{Kind: StateInvites, Key: secretKey(secret), Value: v})
	err = l.commitOwn(ctx, state, append(replaced, Event{
		Namespace: Users, Action: "user_invited", Actor: by.Name,
		Detail:   fmt.Sprintf("%s invited %s as %s", by.Name, email, role.DisplayName()),
		Targets:  []Target{{Type: "invite", ID: inv.ID, Name: email}},
		Metadata: map[string]string{"email": email, "role": string(role), "expires_at": inv.ExpiresAt.Format(time.RFC3339)},
	})...)
	if err != nil {
		return "", Invite{}, fmt.Errorf("store: unable to invite: %w", err)
	}
	return secret, inv, nil
}

func (t *Team) invites(ctx context.Context) (map[string]Invite, error) {
	all, keys, err := readStates[Invite](ctx, t.log.store, StateInvites, "an invite")
	if err != nil {
		return nil, err
	}
	out := make(map[string]Invite, len(all))
	for i, inv := range all {
		out[keys[i]] = inv
	}
	return out, nil
}

// Invites lists the invites not yet accepted, newest first, expired ones too.
func (t *Team) Invites(ctx context.Context) ([]Invite, error) {
	m, err := t.invites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Invite, 0, len(m))
	for _, inv := range m {
		out = append(out, inv)
	}
	slices.SortFunc(out, func(a, b Invite) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// InviteBySecret returns the invite whose link carries secret, while it can
// be accepted.
func (t *Team) InviteBySecret(ctx context.Context, secret string) (Invite, error) {
	v, ok, err := t.log.store.State(ctx, StateInvites, secretKey(secret))
	if err != nil {
		return Invite{}, err
	}
	if !ok {
		return Invite{}, Errorf(ENOTFOUND, "this invite link is not valid: it was used, replaced or withdrawn; ask for a new one")
	}
	var inv Invite
	if err := json.Unmarshal(v, &inv); err != nil {
		return Invite{}, fmt.Errorf("store: invite is unreadable: %w", err)
	}
	if inv.Expired(t.log.now()) {
		return Invite{}, Errorf(ENOTFOUND, "this invite expired on %s; ask %s for a new one", inv.ExpiresAt.Format("2 January 2006"), inv.InvitedBy)
	}
	return inv, nil
}

// AcceptInvite makes the invitee a member with the name and password they
// chose. They are not a member until then, so the entry's actor is Anonymous.
func (t *Team) AcceptInvite(ctx context.Context, secret, name, password string) (Member, error) {
	if _, err := t.InviteBySecret(ctx, secret); err != nil {
		return Member{}, err
	}
	if err := t.CheckInvitee(ctx, name, password); err != nil {
		return Member{}, err
	}
	name, _ = cleanName(name)
	hash, err := t.pw.Hash(password)
	if err != nil {
		return Member{}, err
	}
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	inv, err := t.InviteBySecret(ctx, secret) // again, now that no one else can use it
	if err != nil {
		return Member{}, err
	}
	if _, ok, err := t.byEmail(ctx, inv.Email); err != nil || ok {
		if err == nil {
			err = Errorf(ECONFLICT, "%s is already a member; sign in instead", inv.Email)
		}
		return Member{}, err
	}
	members, err := t.stored(ctx)
	if err != nil {
		return Member{}, err
	}
	if err := nameTaken(members, name); err != nil {
		return Member{}, err
	}
	m := storedMember{Member: Member{ID: newID("usr_"), Name: name, Email: inv.Email, Role: inv.Role, JoinedAt: l.now().UTC(), InvitedBy: inv.InvitedBy}, PasswordHash: hash}
	sv, err := memberState(m)
	if err != nil {
		return Member{}, err
	}
	err = l.commitOwn(ctx, []StateValue{sv, {Kind: StateInvites, Key: secretKey(secret)}}, Event{
		Namespace: Users, Action: "user_invite_accepted", Actor: Anonymous,
		Detail:   fmt.Sprintf("%s (%s) accepted the invite from %s and joined as %s", name, inv.Email, inv.InvitedBy, inv.Role.DisplayName()),
		Targets:  append(userTarget(m.Member), Target{Type: "invite", ID: inv.ID, Name: inv.Email}),
		Metadata: map[string]string{"email": inv.Email, "role": string(inv.Role)},
	})
	if err != nil {
		return Member{}, fmt.Errorf("store: unable to accept the invite: %w", err)
	}
	return m.Member, nil
}

// RevokeInvite withdraws a pending invite: its link stops working.
func (t *Team) RevokeInvite(ctx context.Context, id string, by Member) (Invite, error) {
	if !by.Role.AtLeast(RoleAdmin) {
		return Invite{}, Errorf(EFORBIDDEN, "withdrawing invites needs the Admin role")
	}
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if err := t.stillAdmin(ctx, by, "withdrawing invites"); err != nil {
		return Invite{}, err
	}
	all, err := t.invites(ctx)
	if err != nil {
		return Invite{}, err
	}
	for key, inv := range all {
		if inv.ID != id {
			continue
		}
		err := l.commitOwn(ctx, []StateValue{{Kind: StateInvites, Key: key}},
			inviteRevoked(by, inv, fmt.Sprintf("%s withdrew the invite of %s as %s", by.Name, inv.Email, inv.Role.DisplayName())))
		if err != nil {
			return Invite{}, fmt.Errorf("store: unable to withdraw the invite: %w", err)
		}
		return inv, nil
	}
	return Invite{}, Errorf(ENOTFOUND, "no pending invite with id %s", Quoted(id))
}

// ChangeRole gives a member another role, Admin or Viewer. The owner's role
// changes only by transferring ownership.
func (t *Team) ChangeRole(ctx context.Context, id string, role Role, by Member) (Member, error) {
	if role != RoleAdmin && role != RoleViewer {
		return Member{}, FieldErrorf("role", "choose Admin or Viewer; the Owner transfers ownership instead")
	}
	if !by.Role.AtLeast(RoleAdmin) {
		return Member{}, Errorf(EFORBIDDEN, "changing roles needs the Admin role")
	}
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if err := t.stillAdmin(ctx, by, "changing roles"); err != nil {
		return Member{}, err
	}
	m, err := t.member(ctx, id)
	if err != nil {
		return Member{}, err
	}
	if m.Role == RoleOwner {
		return Member{}, Errorf(EFORBIDDEN, "%s is the Owner; only a transfer of ownership changes that", m.Name)
	}
	if m.Role == role {
		return m.Member, nil
	}
	prev := m.Role
	m.Role = role
	sv, err := memberState(m)
	if err != nil {
		return Member{}, err
	}
	state, events := []StateValue{sv}, []Event{roleEvent(by, m.Member, prev)}
	var revoked []Token
	if !role.AtLeast(RoleAdmin) {
		why := fmt.Sprintf("%s is now a %s", m.Name, role.DisplayName())
		ws, we, err := t.withdrawInvitesOf(ctx, m.Member, by, why)
		if err != nil {
			return Member{}, err
		}
		state, events = append(state, ws...), append(events, we...)
		var rs []StateValue
		var re []Event
		if revoked, rs, re, err = t.revokeTokensOf(ctx, m.Member, by, why); err != nil {
			return Member{}, err
		}
		state, events = append(state, rs...), append(events, re...)
	}
	if err := l.commitOwn(ctx, state, events...); err != nil {
		return Member{}, fmt.Errorf("store: unable to change the role: %w", err)
	}
	l.forgetUse(revoked)
	return m.Member, nil
}

func roleEvent(by, m Member, prev Role) Event {
	return Event{
		Namespace: Users, Action: "user_role_changed", Actor: by.Name,
		Detail:   fmt.Sprintf("%s changed the role of %s from %s to %s", by.Name, m.Name, prev.DisplayName(), m.Role.DisplayName()),
		Targets:  userTarget(m),
		Metadata: map[string]string{"email": m.Email, "from": string(prev), "to": string(m.Role)},
	}
}

// TransferOwnership makes another member the owner; the owner becomes an Admin.
func (t *Team) TransferOwnership(ctx context.Context, id string, by Member) (Member, error) {
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	owner, err := t.member(ctx, by.ID)
	if err != nil || owner.Role != RoleOwner {
		return Member{}, Errorf(EFORBIDDEN, "only the Owner may transfer ownership")
	}
	m, err := t.member(ctx, id)
	if err != nil {
		return Member{}, err
	}
	if m.ID == owner.ID {
		return Member{}, Errorf(ECONFLICT, "%s is the Owner already; choose another member to hand ownership to", m.Name)
	}
	prevTo := m.Role
	m.Role, owner.Role = RoleOwner, RoleAdmin
	a, err := memberState(m)
	if err != nil {
		return Member{}, err
	}
	b, err := memberState(owner)
	if err != nil {
		return Member{}, err
	}
	err = l.commitOwn(ctx, []StateValue{a, b}, roleEvent(owner.Member, m.Member, prevTo), roleEvent(owner.Member, owner.Member, RoleOwner))
	if err != nil {
		return Member{}, fmt.Errorf("store: unable to transfer ownership: %w", err)
	}
	return m.Member, nil
}

// Remove takes a member out of the workspace; their sessions end in the
// same commit. The owner cannot be removed.
func (t *Team) Remove(ctx context.Context, id string, by Member) (Member, error) {
	if !by.Role.AtLeast(RoleAdmin) {
		return Member{}, Errorf(EFORBIDDEN, "removing members needs the Admin role")
	}
	l := t.log
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if err := t.stillAdmin(ctx, by, "removing members"); err != nil {
		return Member{}, err
	}
	m, err := t.member(ctx, id)
	if err != nil {
		return Member{}, err
	}
	if m.Role == RoleOwner {
		return Member{}, Errorf(EFORBIDDEN, "%s is the Owner and cannot be removed; transfer ownership first", m.Name)
	}
	state := []StateValue{{Kind: StateMembers, Key: m.ID}}
	sessions, err := t.sessions(ctx)
	if err != nil {
		return Member{}, err
	}
	for _, s := range sessions {
		if s.MemberID == m.ID {
			state = append(state, StateValue{Kind: StateSessions, Key: s.key})
		}
	}
	why := fmt.Sprintf("%s removed %s", by.Name, m.Name)
	ws, withdrawn, err := t.withdrawInvitesOf(ctx, m.Member, by, why)
	if err != nil {
		return Member{}, err
	}
	revoked, rs, re, err := t.revokeTokensOf(ctx, m.Member, by, why)
	if err != nil {
		return Member{}, err
	}
	state = append(append(state, ws...), rs...)
	events := append(append([]Event{{
		Namespace: Users, Action: "user_removed", Actor: by.Name,
		Detail:   fmt.Sprintf("%s removed %s (%s, %s)", by.Name, m.Name, m.Email, m.Role.DisplayName()),
		Targets:  userTarget(m.Member),
		Metadata: map[string]string{"email": m.Email, "role": string(m.Role)},
	}}, withdrawn...), re...)
	if err := l.commitOwn(ctx, state, events...); err != nil {
		return Member{}, fmt.Errorf("store: unable to remove the member: %w", err)
	}
	l.forgetUse(revoked)
	return m.Member, nil
}

// withdrawInvitesOf returns what withdraws the invites m sent that are
// still pending, for when m may invite no more (removed, or made a Viewer):
// an invite grants access on its sender's authority, and must not outlast
// it. why ends each entry's detail. The caller holds stateMu.
func (t *Team) withdrawInvitesOf(ctx context.Context, m, by Member, why string) ([]StateValue, []Event, error) {
	pending, err := t.invites(ctx)
	if err != nil {
		return nil, nil, err
	}
	var state []StateValue
	var events []Event
	now := t.log.now()
	for _, key := range slices.Sorted(maps.Keys(pending)) {
		inv := pending[key]
		if sent := inv.InvitedByID == m.ID || (inv.InvitedByID == "" && inv.InvitedBy == m.Name); !sent || inv.Expired(now) {
			continue // an expired invite grants nothing already
		}
		state = append(state, StateValue{Kind: StateInvites, Key: key})
		events = append(events, inviteRevoked(by, inv,
			fmt.Sprintf("The invite %s sent to %s as %s was withdrawn: %s", m.Name, inv.Email, inv.Role.DisplayName(), why)))
	}
	return state, events, nil
}

// revokeTokensOf returns what revokes the API tokens made on m's authority
// (Token.OnBehalfOf), for when m may make tokens no more (removed, or made
// a Viewer): like an invite, a token acts on its maker's authority and must
// not outlast it, and so must the tokens it made. A service user's tokens
// are the workspace's and stay: deleting or disabling the service user
// stops them. Tokens made before makers were kept name theirs only by name,
// which the person at this computer may share: they are left alone. why
// ends each entry's detail. The caller holds stateMu.
func (t *Team) revokeTokensOf(ctx context.Context, m, by Member, why string) ([]Token, []StateValue, []Event, error) {
	all, keys, err := readStates[Token](ctx, t.log.store, StateTokens, "a token")
	if err != nil {
		return nil, nil, nil, err
	}
	var revoked []Token
	var state []StateValue
	var events []Event
	for i, tok := range all {
		if tok.Owner != "" || tok.OnBehalfOf != m.ID {
			continue
		}
		if tok.Fingerprint == "" { // made before fingerprints
			tok.Fingerprint = fingerprintOf([]byte(keys[i]))
		}
		revoked = append(revoked, tok)
		state = append(state, StateValue{Kind: StateTokens, Key: keys[i]})
		events = append(events, revokedEvent(tok, by.Name, ": "+why))
	}
	return revoked, state, events, nil
}

// inviteRevoked is the entry of an invite withdrawn by by, for whatever
// reason detail gives.
func inviteRevoked(by Member, inv Invite, detail string) Event {
	return Event{
		Namespace: Users, Action: "user_invite_revoked", Actor: by.Name,
		Detail: detail, Targets: []Target{{Type: "invite", ID: inv.ID, Name: inv.Email}},
	}
}

func (t *Team) sessions(ctx context.Context) ([]Session, error) {
	all, err := t.log.store.States(ctx, StateSessions)
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(all))
	for _, sv := range all {
		var s Session
		if json.Unmarshal(sv.Value, &s) != nil {
			s = Session{} // unreadable: treated as expired, and swept
		}
		s.key = sv.Key
		out = append(out, s)
	}
	return out, nil
}

func (t *Team) live(s Session, now time.Time) bool {
	return s.MemberID != "" && now.Sub(s.LastSeen) < SessionIdle && now.Sub(s.Created) < SessionLifetime
}

// SignIn checks a member's password and, when it is right, starts a session
// and returns its secret, which is not stored. Wrong passwords are counted
// per account and per address (addr, the client's IP); past five, attempts
// are refused without checking until a delay that doubles with each further
// failure has passed. Successes and checked failures are recorded.
func (t *Team) SignIn(ctx context.Context, email, password, addr string) (string, Member, error) {
	l := t.log
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", Member{}, FieldErrorf("email", "your email address is required")
	}
	if password == "" {
		return "", Member{}, FieldErrorf("password", "your password is required")
	}
	if len(email) > 254 || len(password) > 4*MaxPassword {
		return "", Member{}, FieldErrorf("password", "the email or password is wrong")
	}
	wait, try, first := t.throttle.take("account "+email, "address "+addrBlock(addr), l.now())
	if wait > 0 {
		refused := &Error{Code: ETHROTTLED, Message: fmt.Sprintf("too many wrong passwords; try again in %s", roundUp(wait)), RetryAfter: wait}
		if first {
			// Someone is kept out, perhaps the member: said once a wait.
			m, _, err := t.byEmail(ctx, email)
			if err == nil {
				err = l.commitOwn(ctx, nil, Event{
					Namespace: Users, Action: "user_sign_in_throttled", Actor: Anonymous, IP: addr,
					Detail:   fmt.Sprintf("Refused sign-in as %s from %s: too many wrong passwords; attempts for the next %s are refused, and not each recorded", triedAs(email), addr, roundUp(wait)),
					Targets:  []Target{{Type: "user", ID: m.ID, Name: email}},
					Metadata: map[string]string{"email": email, "wait_seconds": strconv.Itoa(int(wait.Round(time.Second) / time.Second))},
				})
			}
			if err != nil {
				return "", Member{}, err
			}
		}
		return "", Member{}, refused
	}
	passed := false // else, however it ends, the attempt is a failure
	defer func() {
		if !passed {
			t.throttle.fail(try)
		}
	}()
	m, found, err := t.byEmail(ctx, email)
	if err != nil {
		return "", Member{}, err
	}
	hash := t.dummy
	if found {
		hash = m.PasswordHash
	}
	ok, err := t.pw.Verify(hash, password)
	if err != nil {
		return "", Member{}, fmt.Errorf("app: unable to check the password: %w", err)
	}
	if !ok || !found {
		why := "wrong password"
		if !found {
			why = "no such member"
		}
		// What was typed is recorded as typed, less what an entry may not
		// hold (printableOwn; triedAs).
		err := l.commitOwn(ctx, nil, Event{
			Namespace: Users, Action: "user_sign_in_failed", Actor: Anonymous, IP: addr,
			Detail:   fmt.Sprintf("Failed sign-in as %s from %s: %s", triedAs(email), addr, why),
			Targets:  []Target{{Type: "user", ID: m.ID, Name: email}},
			Metadata: map[string]string{"email": email, "reason": why},
		})
		if err != nil {
			return "", Member{}, err
		}
		return "", Member{}, FieldErrorf("password", "the email or password is wrong")
	}
	t.throttle.succeed(try)
	passed = true
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if m, err = t.member(ctx, m.ID); err != nil { // removed meanwhile
		return "", Member{}, FieldErrorf("password", "the email or password is wrong")
	}
	now := l.now().UTC()
	m.LastSignIn = now
	secret := rand.Text() + rand.Text()
	sess := Session{MemberID: m.ID, CSRF: rand.Text(), Created: now, LastSeen: now, Addr: addr}
	v, err := json.Marshal(sess)
	if err != nil {
		return "", Member{}, err
	}
	ms, err := memberState(m)
	if err != nil {
		return "", Member{}, err
	}
	state := []StateValue{ms, {Kind: StateSessions, Key: secretKey(secret), Value: v}}
	// Sweep ended sessions while writing anyway.
	all, err := t.sessions(ctx)
	if err != nil {
		return "", Member{}, err
	}
	for _, s := range all {
		if !t.live(s, now) {
			state = append(state, StateValue{Kind: StateSessions, Key: s.key})
		}
	}
	err = l.commitOwn(ctx, state, Event{
		Namespace: Users, Action: "user_signed_in", Actor: m.Name, IP: addr,
		Detail:   fmt.Sprintf("%s signed in from %s", m.Name, addr),
		Targets:  userTarget(m.Member),
		Metadata: map[string]string{"email": m.Email},
	})
	if err != nil {
		return "", Member{}, fmt.Errorf("store: unable to start a session: %w", err)
	}
	return secret, m.Member, nil
}

// SignedIn returns the session whose secret this is and its member, while
// the session lasts and the member remains.
func (t *Team) SignedIn(ctx context.Context, secret string) (Session, Member, bool, error) {
	key := secretKey(secret)
	v, ok, err := t.log.store.State(ctx, StateSessions, key)
	if err != nil || !ok {
		return Session{}, Member{}, false, err
	}
	var s Session
	if json.Unmarshal(v, &s) != nil {
		return Session{}, Member{}, false, nil
	}
	s.key = key
	now := t.log.now()
	if !t.live(s, now) {
		return Session{}, Member{}, false, nil
	}
	m, err := t.member(ctx, s.MemberID)
	if ErrorCode(err) == ENOTFOUND {
		return Session{}, Member{}, false, nil
	}
	if err != nil {
		return Session{}, Member{}, false, err
	}
	if now.Sub(s.LastSeen) > sessionTouch {
		t.touch(s, v, now)
	}
	return s, m.Member, true, nil
}

// Settle waits for the writes of sessions' last use under way (touch).
func (t *Team) Settle() { t.touches.Wait() }

// touch writes that session s, held as was, was used at now, beside the
// request rather than in its way: on a cluster node without a quorum the
// write waits seconds to fail, and every page the member opened waited
// with it. Best effort: a failed write only shortens the session. It is
// written only while the session is still as read, so that a sign-out
// meanwhile is not undone.
func (t *Team) touch(s Session, was []byte, now time.Time) {
	if _, busy := t.touching.LoadOrStore(s.key, true); busy {
		return
	}
	s.LastSeen = now.UTC()
	v, err := json.Marshal(s)
	if err != nil {
		t.touching.Delete(s.key)
		return
	}
	t.touches.Add(1)
	go func() {
		defer t.touches.Done()
		defer t.touching.Delete(s.key)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		l := t.log
		l.stateMu.Lock()
		defer l.stateMu.Unlock()
		if held, ok, err := l.store.State(ctx, StateSessions, s.key); err != nil || !ok || !bytes.Equal(held, was) {
			return
		}
		_, _ = l.store.Commit(ctx, Commit{State: []StateValue{{Kind: StateSessions, Key: s.key, Value: v}}})
	}()
}

// SignOut ends the session whose secret this is.
func (t *Team) SignOut(ctx context.Context, secret string) error {
	s, m, ok, err := t.SignedIn(ctx, secret)
	if err != nil || !ok {
		return err
	}
	t.log.stateMu.Lock() // not while its last use is written (touch)
	defer t.log.stateMu.Unlock()
	return t.log.commitOwn(ctx, []StateValue{{Kind: StateSessions, Key: s.key}}, Event{
		Namespace: Users, Action: "user_signed_out", Actor: m.Name,
		Detail:  fmt.Sprintf("%s signed out", m.Name),
		Targets: userTarget(m),
	})
}

func roundUp(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int((d+time.Second-1)/time.Second))
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}
