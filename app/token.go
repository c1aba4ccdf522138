package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
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
// is shown once, when it is created.
type Token struct {
	ID        string    `json:"id"`
	Label     string    `json:"label"`
	Scopes    []Scope   `json:"scopes"`
	Hint      string    `json:"hint"` // the secret's first characters, to tell tokens apart
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
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

// CreateToken makes a new API token and records a token_created entry in the
// same transaction. It returns the secret, which is not stored anywhere.
func (l *Log) CreateToken(ctx context.Context, label string, scopes []Scope, actor string) (string, Token, error) {
	label = strings.TrimSpace(label)
	if label == "" || len(label) > 64 || checkText(label, false) != "" {
		return "", Token{}, Errorf(EINVALID, "label: 1 to 64 printable characters are required")
	}
	if len(scopes) == 0 {
		return "", Token{}, Errorf(EINVALID, "scopes: at least one of ingest, read, admin is required")
	}
	secret := tokenPrefix + rand.Text()
	tok := Token{
		ID:        "tok_" + strings.ToLower(rand.Text()[:12]),
		Label:     label,
		Scopes:    scopes,
		Hint:      secret[:len(tokenPrefix)+4],
		CreatedAt: l.now().UTC(),
		CreatedBy: actor,
	}
	v, err := json.Marshal(tok)
	if err != nil {
		return "", Token{}, err
	}
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	err = l.commitOwn(ctx, []StateValue{{Kind: StateTokens, Key: string(hashSecret(secret)), Value: v}}, Event{
		Namespace: APITokens,
		Action:    "token_created",
		Detail:    fmt.Sprintf("Created API token %q with scopes %s", label, strings.Join(names, ", ")),
		Actor:     actor,
		Targets:   []Target{{Type: "api_token", ID: tok.ID, Name: label}},
		Metadata:  map[string]string{"scopes": strings.Join(names, ",")},
	})
	if err != nil {
		return "", Token{}, fmt.Errorf("store: unable to create token: %w", err)
	}
	return secret, tok, nil
}

// RevokeToken deletes a token by id and records a token_revoked entry.
func (l *Log) RevokeToken(ctx context.Context, id, actor string) (Token, error) {
	l.stateMu.Lock() // find and delete as one
	defer l.stateMu.Unlock()
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return Token{}, err
	}
	for _, sv := range all {
		var tok Token
		if json.Unmarshal(sv.Value, &tok) != nil || tok.ID != id {
			continue
		}
		err := l.commitOwn(ctx, []StateValue{{Kind: StateTokens, Key: sv.Key}}, Event{
			Namespace: APITokens,
			Action:    "token_revoked",
			Detail:    fmt.Sprintf("Revoked API token %q", tok.Label),
			Actor:     actor,
			Targets:   []Target{{Type: "api_token", ID: tok.ID, Name: tok.Label}},
		})
		if err != nil {
			return Token{}, fmt.Errorf("store: unable to revoke token: %w", err)
		}
		return tok, nil
	}
	return Token{}, Errorf(ENOTFOUND, "no token with id %q", id)
}

// Tokens lists the API tokens, oldest first.
func (l *Log) Tokens(ctx context.Context) ([]Token, error) {
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return nil, err
	}
	out := make([]Token, 0, len(all))
	for _, sv := range all {
		var t Token
		if err := json.Unmarshal(sv.Value, &t); err != nil {
			return nil, fmt.Errorf("store: token is unreadable: %w", err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// Authenticate finds the token whose secret this is.
func (l *Log) Authenticate(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return Token{}, Errorf(EUNAUTHORIZED, "the bearer token is not valid")
	}
	v, found, err := l.store.State(ctx, StateTokens, string(hashSecret(secret)))
	if err != nil {
		return Token{}, err
	}
	if !found {
		return Token{}, Errorf(EUNAUTHORIZED, "the bearer token is not valid or was revoked")
	}
	var tok Token
	if err := json.Unmarshal(v, &tok); err != nil {
		return Token{}, fmt.Errorf("store: token is unreadable: %w", err)
	}
	return tok, nil
}
