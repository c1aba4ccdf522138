package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ServiceUser is an automated account that owns API tokens: a CI job, an
// ingest pipeline. Disabling it stops its tokens at once; deleting it
// revokes them.
type ServiceUser struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

func checkServiceUserName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || checkText(name, false) != "" {
		return "", Errorf(EINVALID, "name: 1 to 64 printable characters are required")
	}
	if whom := reservedFor(name); whom != "" {
		return "", Errorf(EINVALID, "name: entries use %q for %s; choose another name", name, whom)
	}
	return name, nil
}

func (l *Log) serviceUser(ctx context.Context, id string) (ServiceUser, error) {
	v, ok, err := l.store.State(ctx, StateServiceUsers, id)
	if err != nil {
		return ServiceUser{}, err
	}
	if !ok {
		return ServiceUser{}, Errorf(ENOTFOUND, "no service user with id %s", Quoted(id))
	}
	var su ServiceUser
	if err := json.Unmarshal(v, &su); err != nil {
		return ServiceUser{}, fmt.Errorf("store: service user is unreadable: %w", err)
	}
	return su, nil
}

// serviceUserByIDOrName finds a service user by id, else by name in any
// case: people on the command line know the name, the page sends the id.
func (l *Log) serviceUserByIDOrName(ctx context.Context, s string) (ServiceUser, error) {
	su, err := l.serviceUser(ctx, s)
	if ErrorCode(err) != ENOTFOUND {
		return su, err
	}
	all, lerr := l.ServiceUsers(ctx)
	if lerr != nil {
		return ServiceUser{}, lerr
	}
	for _, u := range all {
		if Fold(u.Name) == Fold(strings.TrimSpace(s)) {
			return u, nil
		}
	}
	return ServiceUser{}, err
}

// ServiceUsers lists the service users, oldest first.
func (l *Log) ServiceUsers(ctx context.Context) ([]ServiceUser, error) {
	out, _, err := readStates[ServiceUser](ctx, l.store, StateServiceUsers, "a service user")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b ServiceUser) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func suTarget(su ServiceUser) []Target {
	return []Target{{Type: "service_user", ID: su.ID, Name: su.Name}}
}

func (l *Log) saveServiceUser(ctx context.Context, su ServiceUser, extra []StateValue, events ...Event) error {
	v, err := json.Marshal(su)
	if err != nil {
		return err
	}
	return l.commitOwn(ctx, append([]StateValue{{Kind: StateServiceUsers, Key: su.ID, Value: v}}, extra...), events...)
}

// CreateServiceUser adds a service user and records service_user_created.
func (l *Log) CreateServiceUser(ctx context.Context, name, actor string) (ServiceUser, error) {
	name, err := checkServiceUserName(name)
	if err != nil {
		return ServiceUser{}, err
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if err := l.nameFree(ctx, name, ""); err != nil {
		return ServiceUser{}, err
	}
	su := ServiceUser{ID: "su_" + strings.ToLower(rand.Text()[:12]), Name: name, CreatedAt: l.now().UTC(), CreatedBy: actor}
	err = l.saveServiceUser(ctx, su, nil, Event{
		Namespace: ServiceUsers,
		Action:    "service_user_created",
		Detail:    fmt.Sprintf("Created service user %q", name),
		Actor:     actor,
		Targets:   suTarget(su),
	})
	if err != nil {
		return ServiceUser{}, fmt.Errorf("store: unable to create the service user: %w", err)
	}
	return su, nil
}

// nameFree refuses a name another service user (not id) already has.
func (l *Log) nameFree(ctx context.Context, name, id string) error {
	all, err := l.ServiceUsers(ctx)
	if err != nil {
		return err
	}
	for _, su := range all {
		if su.ID != id && readAlike(su.Name, name, true) { // names that read alike, as members' do
			return Errorf(EINVALID, "name: a service user is already called %q", su.Name)
		}
	}
	return nil
}

// RenameServiceUser renames a service user, and the owner name its tokens
// show, recording service_user_updated with the old and the new name.
func (l *Log) RenameServiceUser(ctx context.Context, id, name, actor string) (ServiceUser, error) {
	name, err := checkServiceUserName(name)
	if err != nil {
		return ServiceUser{}, err
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	su, err := l.serviceUser(ctx, id)
	if err != nil {
		return ServiceUser{}, err
	}
	if su.Name == name {
		return su, nil
	}
	if err := l.nameFree(ctx, name, id); err != nil {
		return ServiceUser{}, err
	}
	old := su.Name
	su.Name = name
	tokens, err := l.ownedTokens(ctx, id, func(t *Token) { t.OwnerName = name })
	if err != nil {
		return ServiceUser{}, err
	}
	err = l.saveServiceUser(ctx, su, tokens, Event{
		Namespace: ServiceUsers,
		Action:    "service_user_updated",
		Detail:    fmt.Sprintf("Renamed service user %q to %q", old, name),
		Actor:     actor,
		Targets:   suTarget(su),
		Metadata:  map[string]string{"setting": "name", "from": old, "to": name},
	})
	if err != nil {
		return ServiceUser{}, fmt.Errorf("store: unable to rename the service user: %w", err)
	}
	return su, nil
}

// ownedTokens returns the state of the tokens service user id owns, each
// changed by fn (nil fn: deleted).
func (l *Log) ownedTokens(ctx context.Context, id string, fn func(*Token)) ([]StateValue, error) {
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return nil, err
	}
	var out []StateValue
	for _, sv := range all {
		var tok Token
		if json.Unmarshal(sv.Value, &tok) != nil || tok.Owner != id {
			continue
		}
		if fn == nil {
			out = append(out, StateValue{Kind: StateTokens, Key: sv.Key})
			continue
		}
		fn(&tok)
		v, err := json.Marshal(tok)
		if err != nil {
			return nil, err
		}
		out = append(out, StateValue{Kind: StateTokens, Key: sv.Key, Value: v})
	}
	return out, nil
}

// SetServiceUserDisabled disables a service user (its tokens stop working at
// once: Authenticate checks the owner) or enables it again.
func (l *Log) SetServiceUserDisabled(ctx context.Context, id string, disabled bool, actor string) (ServiceUser, error) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	su, err := l.serviceUser(ctx, id)
	if err != nil {
		return ServiceUser{}, err
	}
	if su.Disabled == disabled {
		return su, nil
	}
	su.Disabled = disabled
	ev := Event{
		Namespace: ServiceUsers,
		Action:    "service_user_disabled",
		Detail:    fmt.Sprintf("Disabled service user %q: its API tokens no longer work", su.Name),
		Actor:     actor,
		Targets:   suTarget(su),
	}
	if !disabled {
		ev.Action = "service_user_updated"
		ev.Detail = fmt.Sprintf("Enabled service user %q again: its API tokens work again", su.Name)
		ev.Metadata = map[string]string{"setting": "disabled", "from": "true", "to": "false"}
	}
	if err := l.saveServiceUser(ctx, su, nil, ev); err != nil {
		return ServiceUser{}, fmt.Errorf("store: unable to change the service user: %w", err)
	}
	return su, nil
}

// DeleteServiceUser deletes a service user and revokes its tokens, one
// token_revoked entry each, in the same commit as service_user_deleted.
func (l *Log) DeleteServiceUser(ctx context.Context, id, actor string) (ServiceUser, error) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	su, err := l.serviceUser(ctx, id)
	if err != nil {
		return ServiceUser{}, err
	}
	all, err := l.store.States(ctx, StateTokens)
	if err != nil {
		return ServiceUser{}, err
	}
	state := []StateValue{{Kind: StateServiceUsers, Key: id}}
	var labels []string
	var events []Event
	for _, sv := range all {
		var tok Token
		if json.Unmarshal(sv.Value, &tok) != nil || tok.Owner != id {
			continue
		}
		if tok.Fingerprint == "" {
			tok.Fingerprint = fingerprintOf([]byte(sv.Key))
		}
		state = append(state, StateValue{Kind: StateTokens, Key: sv.Key})
		labels = append(labels, fmt.Sprintf("%q", tok.Label))
		events = append(events, revokedEvent(tok, actor, fmt.Sprintf(": its service user %q was deleted", su.Name)))
	}
	detail := fmt.Sprintf("Deleted service user %q", su.Name)
	if len(labels) > 0 {
		detail += " and revoked its API tokens " + strings.Join(labels, ", ")
	}
	events = append([]Event{{
		Namespace: ServiceUsers,
		Action:    "service_user_deleted",
		Detail:    detail,
		Actor:     actor,
		Targets:   suTarget(su),
	}}, events...)
	if err := l.commitOwn(ctx, state, events...); err != nil {
		return ServiceUser{}, fmt.Errorf("store: unable to delete the service user: %w", err)
	}
	return su, nil
}
