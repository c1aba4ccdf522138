package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scope is what an API token may do.
type Scope string

// Token scopes. Admin may do everything.
const (
	ScopeIngest Scope = "ingest"
	ScopeRead   Scope = "read"
	ScopeAdmin  Scope = "admin"
)

// Token is an API credential. Only a hash of its secret is stored: the secret
// is shown once, when it is created (or regenerated).
type Token struct {
	ID        string    `json:"id"`
	Label     string    `json:"label"`
	Scopes    []Scope   `json:"scopes"`
	Hint      string    `json:"hint"` // the secret's first characters, to tell tokens apart
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// CreatedByID is the member, or the token, that made it.
	CreatedByID string `json:"created_by_id,omitempty"`
	// OnBehalfOf is the member on whose authority it was made, directly or
	// through tokens they made, however many steps back: the token is
	// revoked when that member may make tokens no more (see
	// Team.revokeTokensOf), even if a token between them is gone.
	OnBehalfOf string `json:"on_behalf_of,omitempty"`
	// Fingerprint is short for the hash of the current secret: every entry
	// about the token, and every event it sent, carries it, so a leaked
	// secret's whole history is one search.
	Fingerprint string     `json:"fingerprint,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Expired     bool       `json:"expired,omitempty"` // its expiry was noticed and recorded
	// Owner is the service user the token acts for, if any: disabling it
	// stops the token, deleting it revokes the token.
	Owner       string     `json:"owner,omitempty"`
	OwnerName   string     `json:"owner_name,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	Regenerated *time.Time `json:"regenerated_at,omitempty"`
	// RegeneratedBy is who gave it its current secret, and so holds it: the
	// token acts on their authority since (see RegenerateTokenWith).
	RegeneratedBy string `json:"regenerated_by,omitempty"`
}

// Allows reports whether the token carries scope s.
func (t *Token) Allows(s Scope) bool {
	return slices.Contains(t.Scopes, s) || slices.Contains(t.Scopes, ScopeAdmin)
}

const tokenPrefix = "alt_"

// ParseScopes reads a comma-separated scope list such as "ingest,read".
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.ToLower(strings.TrimSpace(part)))
		switch sc {
		case "":
			continue
		case ScopeIngest, ScopeRead, ScopeAdmin:
			if !slices.Contains(out, sc) {
				out = append(out, sc)
			}
		default:
			return nil, Errorf(EINVALID, "scopes: unknown scope %q (use ingest, read or admin)", sc)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "scopes: at least one of ingest, read, admin is required")
	}
	return out, nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Fingerprint is the short, public name of a secret: "fp_" and the first
// ten hex digits of its hash. It names the secret without revealing it.
func Fingerprint(secret string) string { return fingerprintOf(hashSecret(secret)) }

func fingerprintOf(hash []byte) string { return "fp_" + hex.EncodeToString(hash)[:10] }

// TokenSpec is what a new token is made with.
type TokenSpec struct {
	Label     string
	Scopes    []Scope
	ExpiresAt *time.Time // nil: never
	Owner     string     // a service user's id or name, or empty
	// Who is making it: a signed-in member, or a token (an API request), by
	// id; neither for the person at this computer.
	ByMember, ByToken string
}

// CreateToken makes a new API token and records a token_created entry in the
// same transaction. It returns the secret, which is not stored anywhere.
func (l *Log) CreateToken(ctx context.Context, label string, scopes []Scope, actor string) (string, Token, error) {
	return l.CreateTokenWith(ctx, TokenSpec{Label: label, Scopes: scopes}, actor)
}

func newSecret() string { return tokenPrefix + rand.Text() }

func scopeNames(scopes []Scope) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// tokenTargets name the token, and its owner when it has one.
func tokenTargets(tok Token) []Target {
	t := []Target{{Type: "api_token", ID: tok.ID, Name: tok.Label}}
	if tok.Owner != "" {
		t = append(t, Target{Type: "service_user", ID: tok.Owner, Name: tok.OwnerName})
	}
	return t
}

func tokenMeta(tok Token) map[string]string {
	m := map[string]string{"fingerprint": tok.Fingerprint, "scopes": strings.ReplaceAll(scopeNames(tok.Scopes), " ", "")}
	if tok.ExpiresAt != nil {
		m["expires_at"] = tok.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return m
}

// CreateTokenWith makes a new API token as spec says and records a
// token_created entry in the same transaction. It returns the secret, which
// is not stored anywhere.
func (l *Log) CreateTokenWith(ctx context.Context, spec TokenSpec, actor string) (string, Token, error) {
	label := strings.TrimSpace(spec.Label)
	if label == "" || len(label) > 64 || checkText(label, false) != "" {
		return "", Token{}, Errorf(EINVALID, "label: 1 to 64 printable characters are required")
	}
	if len(spec.Scopes) == 0 {
		return "", Token{}, Errorf(EINVALID, "scopes: at least one of ingest, read, admin is required")
	}
	now := l.now().UTC()
	if spec.ExpiresAt != nil && !spec.ExpiresAt.After(now) {
		return "", Token{}, Errorf(EINVALID, "expires: must be in the future")
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	secret := newSecret()
	hash := hashSecret(secret)
	tok := Token{
		ID:          "tok_" + strings.ToLower(rand.Text()[:12]),
		Label:       label,
		Scopes:      spec.Scopes,
		Hint:        secret[:len(tokenPrefix)+4],
		CreatedAt:   now,
		CreatedBy:   actor,
		Fingerprint: fingerprintOf(hash),
		ExpiresAt:   spec.ExpiresAt,
	}
	if tok.ExpiresAt != nil { // in UTC, as every time the API answers with
		utc := tok.ExpiresAt.UTC()
		tok.ExpiresAt = &utc
	}
	inherited, err := l.madeOnBehalfOf(ctx, spec, &tok)
	if err != nil {
		return "", Token{}, err
	}
	detail := fmt.Sprintf("Created API token %q (%s) with scopes %s", label, tok.Fingerprint, scopeNames(spec.Scopes))
	if owner := cmp.Or(spec.Owner, inherited); owner != "" {
		su, err := l.serviceUserByIDOrName(ctx, owner)
		if ErrorCode(err) == ENOTFOUND {
			return "", Token{}, Errorf(EINVALID, "owner: no service user is called or has the id %q", owner)
		} else if err != nil {
			return "", Token{}, err
		}
		if su.Disabled {
			return "", Token{}, Errorf(EINVALID, "owner: service user %q is disabled", su.Name)
		}
		if inherited != "" && su.ID != inherited {
			return "", Token{}, Errorf(EFORBIDDEN, "owner: a token of a service user makes tokens for that service user only")
		}
		tok.Owner, tok.OwnerName = su.ID, su.Name
		detail += fmt.Sprintf(" for service user %q", su.Name)
	}
	if tok.ExpiresAt != nil {
		detail += ", " + expiryPhrase(*tok.ExpiresAt, l.Settings().Location())
	}
	v, err := json.Marshal(tok)
	if err != nil {
		return "", Token{}, err
	}
	err = l.commitOwn(ctx, []StateValue{{Kind: StateTokens, Key: string(hash), Value: v}}, Event{
		Namespace: APITokens,
		Action:    "token_created",
		Detail:    detail,
		Actor:     actor,
		Targets:   tokenTargets(tok),
		Metadata:  tokenMeta(tok),
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("store: unable to create token: %w", err)
	}
	return secret, tok, nil
}

// madeOnBehalfOf notes who makes tok and on whose authority, checking, under
// stateMu, that the maker still has it: a request authenticated a moment
// before its member was removed, or its token revoked, and waiting for the
// lock meanwhile, must not leave a token that nothing revokes. A token made
// by a service user's token is that service user's too (owner, by id):
// disabling or deleting the service user must stop what its tokens made,
// as removing a member stops theirs.
func (l *Log) madeOnBehalfOf(ctx context.Context, spec TokenSpec, tok *Token) (owner string, err error) {
	switch {
	case spec.ByToken != "":
		parent, _, err := l.findToken(ctx, spec.ByToken)
		if ErrorCode(err) == ENOTFOUND {
			return "", Errorf(EUNAUTHORIZED, "the bearer token was revoked while this request waited")
		} else if err != nil {
			return "", err
		}
		tok.CreatedByID, tok.OnBehalfOf = parent.ID, parent.OnBehalfOf
		return parent.Owner, nil
	case spec.ByMember != "":
		if err := l.stillHolds(ctx, spec.ByMember, RoleAdmin, "making tokens"); err != nil {
			return "", err
		}
		tok.CreatedByID, tok.OnBehalfOf = spec.ByMember, spec.ByMember
	}
	return "", nil
}

// ValidThrough is the day, in loc, that an expiry chosen as a day was
// chosen as: such an expiry ends at the next midnight, which read as it is
// names the day after. ok is false for an expiry at any other time.
func ValidThrough(expires time.Time, loc *time.Location) (day string, ok bool) {
	if !expires.Equal(StartOfDay(expires, loc)) {
		return "", false
	}
	return AddDays(expires, -1, loc).In(loc).Format(time.DateOnly), true
}

// expiryPhrase says when a token stops working: "valid through 2027-01-31
// (Europe/Berlin)" for a day chosen on the page, in the workspace's zone.
// (The command line takes days in its computer's zone; where that is
// another, the time is given in UTC.)
func expiryPhrase(at time.Time, loc *time.Location) string {
	if day, ok := ValidThrough(at, loc); ok {
		return fmt.Sprintf("valid through %s (%s)", day, loc)
	}
	return "expiring " + at.UTC().Format("2006-01-02 15:04 UTC")
}

// findToken returns the token with id and the key it is stored under.
func (l *Log) findToken(ctx context.Context, id string) (Token, string, error) {
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return Token{}, "", err
	}
	for _, sv := range all {
		var tok Token
		if json.Unmarshal(sv.Value, &tok) == nil && tok.ID == id {
			if tok.Fingerprint == "" { // made before fingerprints
				tok.Fingerprint = fingerprintOf([]byte(sv.Key))
			}
			return tok, sv.Key, nil
		}
	}
	return Token{}, "", Errorf(ENOTFOUND, "no token with id %s", Quoted(id))
}

// createdPhrase says when and by whom a token was made: "created 2026-11-02 by Bob Okafor".
func createdPhrase(tok Token) string {
	s := "created " + tok.CreatedAt.UTC().Format("2006-01-02")
	if tok.CreatedBy != "" {
		s += " by " + tok.CreatedBy
	}
	return s
}

// RevokeToken deletes a token by id and records a token_revoked entry.
func (l *Log) RevokeToken(ctx context.Context, id, actor string) (Token, error) {
	l.stateMu.Lock() // find and delete as one
	defer l.stateMu.Unlock()
	tok, key, err := l.findToken(ctx, id)
	if err != nil {
		return Token{}, err
	}
	err = l.commitOwn(ctx, []StateValue{{Kind: StateTokens, Key: key}}, revokedEvent(tok, actor, ""))
	if err != nil {
		return Token{}, fmt.Errorf("store: unable to revoke token: %w", err)
	}
	l.lastUsed.Delete(tok.ID)
	return tok, nil
}

// forgetUse drops what is kept of when revoked tokens were last used.
func (l *Log) forgetUse(revoked []Token) {
	for _, tok := range revoked {
		l.lastUsed.Delete(tok.ID)
	}
}

func revokedEvent(tok Token, actor, why string) Event {
	return Event{
		Namespace: APITokens,
		Action:    "token_revoked",
		Detail:    fmt.Sprintf("Revoked API token %q (%s, %s)%s", tok.Label, tok.Fingerprint, createdPhrase(tok), why),
		Actor:     actor,
		Targets:   tokenTargets(tok),
		Metadata:  tokenMeta(tok),
	}
}

// RegenerateToken gives a token a new secret: the old one stops working at
// once. The token keeps its id, label, scopes, owner and expiry; the
// token_regenerated entry names the old fingerprint and the new.
func (l *Log) RegenerateToken(ctx context.Context, id, actor string) (string, Token, error) {
	return l.RegenerateTokenWith(ctx, id, TokenSpec{}, actor)
}

// RegenerateTokenWith is RegenerateToken by the member or token by names
// (its ByMember or ByToken; neither for the person at this computer). Who
// regenerates a token holds its new secret, so the token acts on their
// authority from then on, as if they had made it: removing the Admin who
// regenerated another member's token revokes it, as it revokes the tokens
// they made. A service user's token stays the service user's.
func (l *Log) RegenerateTokenWith(ctx context.Context, id string, by TokenSpec, actor string) (string, Token, error) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	tok, key, err := l.findToken(ctx, id)
	if err != nil {
		return "", Token{}, err
	}
	now := l.now().UTC()
	// Expired by its time, though no request has noticed yet (Expired): a
	// new secret would keep the expiry, and work no more than the old.
	if tok.Expired || (tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)) {
		return "", Token{}, Errorf(ECONFLICT, "token %q has expired; create a new one", tok.Label)
	}
	var holder Token
	owner, err := l.madeOnBehalfOf(ctx, by, &holder)
	if err != nil {
		return "", Token{}, err
	}
	if owner != "" && tok.Owner != "" && tok.Owner != owner {
		// Its new secret would be another service user's to hold, which
		// deleting this one would not stop.
		return "", Token{}, Errorf(EFORBIDDEN, "a token of a service user regenerates tokens of that service user only")
	}
	if tok.Owner == "" {
		if owner != "" {
			su, err := l.serviceUserByIDOrName(ctx, owner)
			if err != nil {
				return "", Token{}, err
			}
			tok.Owner, tok.OwnerName = su.ID, su.Name
		}
		tok.OnBehalfOf = holder.OnBehalfOf
	}
	tok.RegeneratedBy = actor
	old := tok.Fingerprint
	secret := newSecret()
	hash := hashSecret(secret)
	tok.Fingerprint, tok.Hint, tok.Regenerated = fingerprintOf(hash), secret[:len(tokenPrefix)+4], &now
	v, err := json.Marshal(tok)
	if err != nil {
		return "", Token{}, err
	}
	meta := tokenMeta(tok)
	meta["previous_fingerprint"] = old
	err = l.commitOwn(ctx, []StateValue{{Kind: StateTokens, Key: key}, {Kind: StateTokens, Key: string(hash), Value: v}}, Event{
		Namespace: APITokens,
		Action:    "token_regenerated",
		Detail:    fmt.Sprintf("Regenerated API token %q (%s, %s): its secret %s no longer works, the new one is %s", tok.Label, tok.Fingerprint, createdPhrase(tok), old, tok.Fingerprint),
		Actor:     actor,
		Targets:   tokenTargets(tok),
		Metadata:  meta,
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("store: unable to regenerate token: %w", err)
	}
	return secret, tok, nil
}

// Tokens lists the API tokens, oldest first, with when each was last used.
func (l *Log) Tokens(ctx context.Context) ([]Token, error) {
	out, keys, err := readStates[Token](ctx, l.store, StateTokens, "a token")
	if err != nil {
		return nil, err
	}
	for i := range out {
		t := &out[i]
		if t.Fingerprint == "" { // made before fingerprints
			t.Fingerprint = fingerprintOf([]byte(keys[i]))
		}
		if v, ok := l.lastUsed.Load(t.ID); ok {
			at := v.(time.Time)
			t.LastUsedAt = &at
		}
	}
	slices.SortFunc(out, func(a, b Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Authenticate finds the token whose secret this is. A token that has
// expired, or whose service user is disabled, is refused; an expiry is
// recorded (token_expired) the first time it is noticed. A use is noted in
// memory only, and written with the token now and then (flushLastUsed).
func (l *Log) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return Token{}, Errorf(EUNAUTHORIZED, "the bearer token is not valid")
	}
	key := string(hashSecret(secret))
	v, found, err := l.store.State(ctx, StateTokens, key)
	if err != nil {
		return Token{}, err
	}
	if !found {
		return Token{}, Errorf(EUNAUTHORIZED, "the bearer token is not valid, or was revoked or regenerated")
	}
	var tok Token
	if err := json.Unmarshal(v, &tok); err != nil {
		return Token{}, fmt.Errorf("store: token is unreadable: %w", err)
	}
	if tok.Fingerprint == "" {
		tok.Fingerprint = fingerprintOf([]byte(key))
	}
	now := l.now()
	if tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt) {
		if !tok.Expired {
			l.noticeExpired(ctx, tok.ID)
		}
		return Token{}, Errorf(EUNAUTHORIZED, "the bearer token %q expired on %s", tok.Label, tok.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if tok.Owner != "" {
		su, err := l.serviceUser(ctx, tok.Owner)
		if err != nil || su.Disabled {
			return Token{}, Errorf(EUNAUTHORIZED, "the bearer token belongs to service user %q, which is disabled", tok.OwnerName)
		}
	}
	l.lastUsed.Store(tok.ID, now.UTC())
	l.lastUsedDirty.Store(true)
	return tok, nil
}

// noticeExpired records a token's expiry once: the first request that finds
// it expired marks it so, with a token_expired entry, in one commit.
func (l *Log) noticeExpired(ctx context.Context, id string) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	tok, key, err := l.findToken(ctx, id)
	if err != nil || tok.Expired {
		return
	}
	tok.Expired = true
	v, err := json.Marshal(tok)
	if err == nil {
		err = l.commitOwn(ctx, []StateValue{{Kind: StateTokens, Key: key, Value: v}}, Event{
			Namespace: APITokens,
			Action:    "token_expired",
			Detail:    fmt.Sprintf("API token %q (%s, %s) expired on %s", tok.Label, tok.Fingerprint, createdPhrase(tok), tok.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")),
			Actor:     OwnActor,
			Targets:   tokenTargets(tok),
			Metadata:  tokenMeta(tok),
		})
	}
	if err != nil {
		l.logger.Error("recording an expired token failed", "token", tok.Label, "err", err)
	}
}

// flushLastUsed writes the last uses noted in memory into the tokens, in one
// commit without an entry: a use is not a change anyone audits, and writing
// each one would cost a disk sync per request.
func (l *Log) flushLastUsed(ctx context.Context) error {
	if !l.lastUsedDirty.Swap(false) {
		return nil
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return err
	}
	var state []StateValue
	for _, sv := range all {
		var tok Token
		if json.Unmarshal(sv.Value, &tok) != nil {
			continue
		}
		v, ok := l.lastUsed.Load(tok.ID)
		if !ok {
			continue
		}
		at := v.(time.Time)
		if tok.LastUsedAt != nil && !at.After(*tok.LastUsedAt) {
			continue
		}
		tok.LastUsedAt = &at
		b, err := json.Marshal(tok)
		if err != nil {
			return err
		}
		state = append(state, StateValue{Kind: StateTokens, Key: sv.Key, Value: b})
	}
	if len(state) == 0 {
		return nil
	}
	_, err = l.store.Commit(ctx, Commit{State: state})
	return err
}

// loadLastUsed fills the in-memory last uses from the stored tokens, at Open.
func (l *Log) loadLastUsed(ctx context.Context) error {
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return err
	}
	for _, sv := range all {
		var tok Token
		if json.Unmarshal(sv.Value, &tok) == nil && tok.LastUsedAt != nil {
			l.lastUsed.Store(tok.ID, *tok.LastUsedAt)
		}
	}
	return nil
}

// runLastUsed flushes the last uses every minute.
func (l *Log) runLastUsed() {
	defer l.wg.Done()
	l.every(time.Minute, func() {
		if err := l.flushLastUsed(context.Background()); err != nil {
			l.logger.Error("saving when tokens were last used failed", "err", err)
		}
	})
}

// Reserved metadata keys: the server stamps every ingested event with the
// token that sent it (overwriting whatever the client put there), and the
// keyword index takes their values as words, so "what did this token write?"
// is a search for its id or fingerprint. They are part of the entry's
// canonical form like any metadata, so the chain vouches for them.
const (
	MetaTokenID          = "auditlog_token_id"
	MetaTokenFingerprint = "auditlog_token_fingerprint"
)

// actingToken is the context key of the API token a request acts with.
type actingToken struct{}

// WithActingToken returns ctx saying that what is done in it is done with
// tok: the entries it records of its own (a setting changed, a token made,
// an export) carry the token's id and fingerprint, as the events it sends
// do, so that a search for a leaked token finds everything done with it.
func WithActingToken(ctx context.Context, tok Token) context.Context {
	return context.WithValue(ctx, actingToken{}, tok)
}

// stampActingToken stamps the entries of ctx's acting token, if any.
func stampActingToken(ctx context.Context, events []Event) {
	if tok, ok := ctx.Value(actingToken{}).(Token); ok {
		StampToken(events, &tok)
	}
}

// StampToken marks events as sent with tok (nil: by no token, as from the
// command line or the launch link), replacing any claim the client made.
func StampToken(events []Event, tok *Token) {
	for i := range events {
		e := &events[i]
		delete(e.Metadata, MetaTokenID)
		delete(e.Metadata, MetaTokenFingerprint)
		if tok == nil {
			continue
		}
		if e.Metadata == nil {
			e.Metadata = map[string]string{}
		}
		e.Metadata[MetaTokenID] = tok.ID
		e.Metadata[MetaTokenFingerprint] = tok.Fingerprint
	}
}
