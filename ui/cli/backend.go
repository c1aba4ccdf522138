package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"auditlog/app"
	"auditlog/ui"
)

// backend is what the command line asks of a data directory: the Log itself
// when the directory is free, or the server that holds it.
type backend interface {
	Record(ctx context.Context, events []app.Event) ([]app.Event, error)
	// Cutoff is the oldest instant inside the retention window.
	Cutoff(ctx context.Context) (time.Time, error)
	// Location is the workspace's timezone.
	Location(ctx context.Context) (*time.Location, error)
	Search(ctx context.Context, filter url.Values, limit int) (app.Page, error)
	CreateToken(ctx context.Context, label string, scopes []app.Scope) (string, app.Token, error)
	Tokens(ctx context.Context) ([]app.Token, error)
	RevokeToken(ctx context.Context, id string) (app.Token, error)
	// Export writes the filter's entries as format and returns a line saying what it wrote.
	// progress, if set, hears how many entries of how many are written.
	Export(ctx context.Context, filter url.Values, format app.ExportFormat, w io.Writer, progress func(written, total int)) (string, error)
	Workspace(ctx context.Context) (ui.Workspace, error)
	// UpdateWorkspace changes the name or timezone where they are not nil.
	UpdateWorkspace(ctx context.Context, name, timezone *string) (ui.Workspace, error)
	Close() error
}

// open opens the data directory (the --data flag's value, else the default)
// for a command: the Log when it is free, else the running server that holds
// it. wait makes a local Log finish indexing first.
func (m *Main) open(dataFlag string, wait bool) (backend, error) {
	dir, err := m.dataDir(dataFlag)
	if err != nil {
		return nil, err
	}
	log, closeLog, err := m.openLog(dir, 0, wait)
	if in, ok := inUse(dir, err); ok {
		if r, ok := remoteOf(in); ok {
			fmt.Fprintf(m.Stderr, "Using the Audit Log running at %s.\n", r)
			return r, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return &local{log: log, close: closeLog, actor: currentUser()}, nil
}

// local is a Log opened by this process.
type local struct {
	log   *app.Log
	close func() error
	actor string
}

func (l *local) Close() error { return l.close() }

func (l *local) Record(ctx context.Context, events []app.Event) ([]app.Event, error) {
	return l.log.Record(ctx, events)
}

func (l *local) Cutoff(context.Context) (time.Time, error) { return l.log.Cutoff(), nil }

func (l *local) Location(ctx context.Context) (*time.Location, error) {
	s, err := l.log.Settings(ctx)
	return s.Location(), err
}

func (l *local) Search(ctx context.Context, filter url.Values, limit int) (app.Page, error) {
	q, err := l.query(ctx, filter)
	if err != nil {
		return app.Page{}, err
	}
	return l.log.Search(ctx, q, "", limit)
}

func (l *local) query(ctx context.Context, filter url.Values) (app.Query, error) {
	loc, err := l.Location(ctx)
	if err != nil {
		return app.Query{}, err
	}
	f, err := app.ParseFilter(filter, loc)
	if err != nil {
		return app.Query{}, err
	}
	return f.Compile(loc)
}

func (l *local) CreateToken(ctx context.Context, label string, scopes []app.Scope) (string, app.Token, error) {
	return l.log.CreateToken(ctx, label, scopes, l.actor)
}

func (l *local) Tokens(ctx context.Context) ([]app.Token, error) { return l.log.Tokens(ctx) }

func (l *local) RevokeToken(ctx context.Context, id string) (app.Token, error) {
	return l.log.RevokeToken(ctx, id, l.actor)
}

func (l *local) Export(ctx context.Context, filter url.Values, format app.ExportFormat, w io.Writer, progress func(int, int)) (string, error) {
	q, err := l.query(ctx, filter)
	if err != nil {
		return "", err
	}
	loc, _ := l.Location(ctx)
	opt := app.ExportOptions{Format: format, Location: loc, Actor: l.actor, Progress: progress}
	n, err := l.log.Export(ctx, q, w, opt)
	from, to := l.log.ExportRange(q)
	return fmt.Sprintf("Exported %d entries from %s to %s", n, from.In(loc).Format("2006-01-02 15:04 MST"), to.In(loc).Format("2006-01-02 15:04 MST")), err
}

func (l *local) Workspace(ctx context.Context) (ui.Workspace, error) {
	return ui.WorkspaceOf(ctx, l.log)
}

func (l *local) UpdateWorkspace(ctx context.Context, name, timezone *string) (ui.Workspace, error) {
	if _, err := l.log.ChangeSettings(ctx, name, timezone, l.actor); err != nil {
		return ui.Workspace{}, err
	}
	return l.Workspace(ctx)
}
