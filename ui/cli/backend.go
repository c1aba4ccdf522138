package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"auditlog/app"
	"auditlog/app/store"
	"auditlog/ui"
	"auditlog/ui/api"
	"auditlog/ui/client"
)

// backend is what the command line asks of a data directory: the Log itself
// when the directory is free, or the server that holds it.
type backend interface {
	// Record records events all or nothing, and says how many entries it
	// added: an event whose id was stored before, or earlier in the same
	// call, adds none. differs marks the events answered with an entry
	// that says otherwise (app.SameEvent): another event under an id in
	// use, not recorded.
	Record(ctx context.Context, events []app.Event) (stored []app.Event, added int, differs []bool, err error)
	// Cutoff is the oldest instant inside the retention window.
	Cutoff(ctx context.Context) (time.Time, error)
	// Location is the workspace's timezone.
	Location(ctx context.Context) (*time.Location, error)
	Search(ctx context.Context, f app.Filter, limit int, cursor string) (app.Page, error)
	CreateToken(ctx context.Context, spec app.TokenSpec) (string, app.Token, error)
	RegenerateToken(ctx context.Context, id string) (string, app.Token, error)
	Tokens(ctx context.Context) ([]app.Token, error)
	RevokeToken(ctx context.Context, id string) (app.Token, error)
	// Export writes the filter's entries as format and returns a line saying what it wrote.
	// progress, if set, hears how many entries of how many are written.
	Export(ctx context.Context, f app.Filter, format app.ExportFormat, w io.Writer, progress func(written, total int)) (string, error)
	Workspace(ctx context.Context) (api.Workspace, error)
	// UpdateWorkspace changes the name or timezone where they are not nil.
	UpdateWorkspace(ctx context.Context, name, timezone *string) (api.Workspace, error)
}

// open opens the data directory (the --data flag's value, else the default)
// for a command: the running server that holds it, else the Log itself. The
// instance file is read first, so a command sent to a running server does not
// wait for the store's lock to time out. wait makes a local Log finish
// indexing first. It says on stderr which one it uses.
func (m *Main) open(dataFlag string, wait bool) (backend, error) {
	dir, err := m.dataDir(dataFlag)
	if err != nil {
		return nil, err
	}
	if r, ok := m.remote(dir); ok {
		return r, nil
	}
	log, err := m.openLog(dir, 0, wait)
	if err != nil {
		// A server may have started since the instance file was read.
		if r, ok := m.remote(dir); ok && app.ErrorCode(err) == app.ECONFLICT {
			return r, nil
		}
		return nil, inUseError(dir, err)
	}
	fmt.Fprintf(m.Stderr, "Using the data directory %s\n", dir)
	return &local{log: log, actor: currentUser()}, nil
}

// openExisting is open for a command that only reads or changes what is
// there: a data directory that holds no Audit Log is refused, not made,
// since a mistyped --data would otherwise answer "nothing found" from a
// new, empty log, or change one nobody uses.
func (m *Main) openExisting(dataFlag string, wait bool) (backend, error) {
	dir, err := m.dataDir(dataFlag)
	if err != nil {
		return nil, err
	}
	if !holdsLog(dir) {
		if r, ok := m.remote(dir); ok {
			return r, nil
		}
		return nil, noLogError(dir)
	}
	return m.open(dataFlag, wait)
}

// holdsLog tells whether dir holds an Audit Log's store, or held one whose
// file is now missing (which doctor, verify and serve then report).
func holdsLog(dir string) bool { return store.Exists(dir) }

func noLogError(dir string) error {
	return fmt.Errorf("no Audit Log in %s: check --data, or start one there with auditlog serve", dir)
}

// remote reaches the server that holds dir, if one answers, with the launch
// secret it recorded: the command acts as the person at this computer.
func (m *Main) remote(dir string) (*remote, bool) {
	in, ok := reachableInstance(dir)
	if !ok {
		return nil, false
	}
	u, err := url.Parse(in.LaunchURL)
	if err != nil || u.Query().Get("secret") == "" {
		return nil, false
	}
	fmt.Fprintf(m.Stderr, "Using the Audit Log running at %s (data directory %s)\n", in.URL, dir)
	return &remote{client.New(in.URL, u.Query().Get("secret"), client.WithHTTPClient(in.httpClient(0)))}, true
}

// local is a Log opened by this process; Main's Close closes it.
type local struct {
	log   *app.Log
	actor string
}

func (l *local) Record(ctx context.Context, events []app.Event) ([]app.Event, int, []bool, error) {
	r, err := l.log.Ingest(ctx, events)
	if err != nil {
		return nil, 0, nil, err
	}
	ids := make([]string, len(r.Entries))
	for i, e := range r.Entries {
		ids[i] = e.ID
	}
	return r.Entries, added(ids, r.AlreadyStored()), r.Differs, nil
}

// added counts the entries a request added: its distinct ids but those
// stored before it.
func added(ids, alreadyStored []string) int {
	counted := make(map[string]bool, len(ids))
	for _, id := range alreadyStored {
		counted[id] = true
	}
	n := 0
	for _, id := range ids {
		if !counted[id] {
			counted[id] = true
			n++
		}
	}
	return n
}

func (l *local) Cutoff(context.Context) (time.Time, error) { return l.log.Cutoff(), nil }

func (l *local) Location(ctx context.Context) (*time.Location, error) {
	return l.log.Settings().Location(), nil
}

func (l *local) Search(ctx context.Context, f app.Filter, limit int, cursor string) (app.Page, error) {
	loc, err := l.Location(ctx)
	if err != nil {
		return app.Page{}, err
	}
	q, err := f.Compile(loc)
	if err != nil {
		return app.Page{}, err
	}
	return l.log.Search(ctx, q, cursor, limit)
}

func (l *local) CreateToken(ctx context.Context, spec app.TokenSpec) (string, app.Token, error) {
	return l.log.CreateTokenWith(ctx, spec, l.actor)
}

func (l *local) RegenerateToken(ctx context.Context, id string) (string, app.Token, error) {
	return l.log.RegenerateToken(ctx, id, l.actor)
}

func (l *local) Tokens(ctx context.Context) ([]app.Token, error) { return l.log.Tokens(ctx) }

func (l *local) RevokeToken(ctx context.Context, id string) (app.Token, error) {
	return l.log.RevokeToken(ctx, id, l.actor)
}

func (l *local) Export(ctx context.Context, f app.Filter, format app.ExportFormat, w io.Writer, progress func(int, int)) (string, error) {
	loc, err := l.Location(ctx)
	if err != nil {
		return "", err
	}
	q, err := f.Compile(loc)
	if err != nil {
		return "", err
	}
	opt := app.ExportOptions{Format: format, Location: loc, Actor: l.actor, Progress: progress}
	n, err := l.log.Export(ctx, q, w, opt)
	from, to := l.log.ExportRange(q)
	return fmt.Sprintf("Exported %d entries from %s to %s", n, from.In(loc).Format("2006-01-02 15:04 MST"), to.In(loc).Format("2006-01-02 15:04 MST")), err
}

func (l *local) Workspace(ctx context.Context) (api.Workspace, error) {
	return ui.WorkspaceOf(l.log), nil
}

func (l *local) UpdateWorkspace(ctx context.Context, name, timezone *string) (api.Workspace, error) {
	if _, err := l.log.ChangeSettings(ctx, app.SettingsChange{Workspace: name, Timezone: timezone}, l.actor); err != nil {
		return api.Workspace{}, err
	}
	return l.Workspace(ctx)
}

// remote is a running Audit Log reached through its API. While a server
// holds the data directory the command line works through it instead of failing.
type remote struct{ c *client.Client }

func (r *remote) workspace(ctx context.Context) (api.Workspace, *time.Location, error) {
	w, err := r.c.Workspace(ctx)
	if err != nil {
		return w, nil, err
	}
	zone := w.Timezone
	if w.SystemTimezone != "" {
		zone = w.SystemTimezone // the server's "system", which may not be this process's
	}
	loc, _, err := app.LoadZone(zone)
	if err != nil {
		loc = time.Local // a zone this computer's timezone database lacks
	}
	return w, loc, nil
}

func (r *remote) Workspace(ctx context.Context) (api.Workspace, error) { return r.c.Workspace(ctx) }

func (r *remote) UpdateWorkspace(ctx context.Context, name, timezone *string) (api.Workspace, error) {
	return r.c.UpdateWorkspace(ctx, name, timezone)
}

func (r *remote) Cutoff(ctx context.Context) (time.Time, error) {
	w, _, err := r.workspace(ctx)
	return time.Now().Add(-time.Duration(w.RetentionHours) * time.Hour), err
}

func (r *remote) Location(ctx context.Context) (*time.Location, error) {
	_, loc, err := r.workspace(ctx)
	return loc, err
}

// Record posts events as one request: the same all-or-nothing rule.
func (r *remote) Record(ctx context.Context, events []app.Event) ([]app.Event, int, []bool, error) {
	resp, err := r.c.PostEvents(ctx, events)
	if err != nil {
		return nil, 0, nil, err
	}
	out := make([]app.Event, len(resp.IDs))
	for i, id := range resp.IDs {
		out[i].ID = id
	}
	// The answer names the ids, not which of the events sent under one
	// differ from its entry (one of them may be it): each is compared with
	// the entry, read back. There are few, if any.
	differs := make([]bool, len(events))
	for _, id := range resp.Conflicting {
		stored, err := r.c.Event(ctx, id)
		for i := range events {
			if events[i].ID != id {
				continue
			}
			sent := events[i]
			sent.Normalize(i, stored.Timestamp, 100*365*24*time.Hour) // as the server compared it
			differs[i] = err != nil || !app.SameEvent(&sent, &stored)
		}
	}
	return out, added(resp.IDs, resp.AlreadyStored), differs, nil
}

func (r *remote) Search(ctx context.Context, f app.Filter, limit int, cursor string) (app.Page, error) {
	return r.c.Search(ctx, f, limit, cursor)
}

func (r *remote) CreateToken(ctx context.Context, spec app.TokenSpec) (string, app.Token, error) {
	created, err := r.c.CreateTokenWith(ctx, api.TokenRequest{Label: spec.Label, Scopes: spec.Scopes, ExpiresAt: spec.ExpiresAt, Owner: spec.Owner})
	return created.Secret, created.Token, err
}

func (r *remote) RegenerateToken(ctx context.Context, id string) (string, app.Token, error) {
	created, err := r.c.RegenerateToken(ctx, id)
	return created.Secret, created.Token, err
}

func (r *remote) Tokens(ctx context.Context) ([]app.Token, error) { return r.c.Tokens(ctx) }

func (r *remote) RevokeToken(ctx context.Context, id string) (app.Token, error) {
	return r.c.RevokeToken(ctx, id)
}

// Export streams the server's export into w. The server says how many
// entries it held only at the end, so there is no progress to report.
func (r *remote) Export(ctx context.Context, f app.Filter, format app.ExportFormat, w io.Writer, progress func(int, int)) (string, error) {
	n, entries, err := r.c.Export(ctx, f, format, w, progress)
	if entries < 0 {
		return fmt.Sprintf("Exported %d KiB through the running server", (n+1023)/1024), err
	}
	return fmt.Sprintf("Exported %s (%d KiB) through the running server", app.Plural(entries, "entry", "entries"), (n+1023)/1024), err
}
