package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"time"

	"auditlog/app"
	"auditlog/ui"
)

// remote is a running Audit Log, reached through its API with the launch
// secret from its instance file. While a server holds the data directory the
// command line works through it instead of failing.
type remote struct {
	base   string
	secret string
	http   *http.Client
}

// remoteOf reaches a running instance with the launch secret it recorded.
func remoteOf(in instance) (*remote, bool) {
	u, err := url.Parse(in.LaunchURL)
	if err != nil || u.Query().Get("secret") == "" {
		return nil, false
	}
	return &remote{base: in.URL, secret: u.Query().Get("secret"), http: &http.Client{}}, true
}

// do sends a request and decodes a JSON answer into out; API errors come back
// as *app.Error, as they would from the Log itself.
func (r *remote) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	res, err := r.send(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("the running server answered %s with something unreadable: %w", path, err)
	}
	return nil
}

// send returns the response of a successful request for the caller to read.
func (r *remote) send(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+r.secret)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := r.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the running server at %s did not answer: %w", r.base, err)
	}
	if res.StatusCode >= 300 {
		defer res.Body.Close()
		var e struct{ Error *app.Error }
		if json.NewDecoder(res.Body).Decode(&e) == nil && e.Error != nil {
			return nil, e.Error
		}
		return nil, fmt.Errorf("the running server answered %s", res.Status)
	}
	return res, nil
}

func (r *remote) workspace(ctx context.Context) (ui.Workspace, *time.Location, error) {
	var w ui.Workspace
	if err := r.do(ctx, "GET", "/api/v1/workspace", nil, "", &w); err != nil {
		return w, nil, err
	}
	loc, err := time.LoadLocation(w.Timezone)
	if err != nil {
		loc = time.Local // "Local": the server runs on this computer
	}
	return w, loc, nil
}

func (r *remote) Close() error { return nil }

func (r *remote) Workspace(ctx context.Context) (ui.Workspace, error) {
	w, _, err := r.workspace(ctx)
	return w, err
}

func (r *remote) UpdateWorkspace(ctx context.Context, name, timezone *string) (ui.Workspace, error) {
	body, _ := json.Marshal(map[string]*string{"name": name, "timezone": timezone})
	var w ui.Workspace
	err := r.do(ctx, "PATCH", "/api/v1/workspace", bytes.NewReader(body), "application/json", &w)
	return w, err
}

func (r *remote) Cutoff(ctx context.Context) (time.Time, error) {
	w, _, err := r.workspace(ctx)
	return time.Now().Add(-time.Duration(w.RetentionDays) * 24 * time.Hour), err
}

func (r *remote) Location(ctx context.Context) (*time.Location, error) {
	_, loc, err := r.workspace(ctx)
	return loc, err
}

// Record posts events as one NDJSON request: the same all-or-nothing rule.
func (r *remote) Record(ctx context.Context, events []app.Event) ([]app.Event, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range events {
		if err := enc.Encode(wireEvent(&events[i])); err != nil {
			return nil, err
		}
	}
	var resp struct{ IDs []string }
	if err := r.do(ctx, "POST", "/api/v1/events", &b, "application/x-ndjson", &resp); err != nil {
		return nil, err
	}
	out := make([]app.Event, len(resp.IDs))
	for i, id := range resp.IDs {
		out[i].ID = id
	}
	return out, nil
}

// wireEvent drops what the server sets itself, so a zero time is not sent as a timestamp.
func wireEvent(e *app.Event) map[string]any {
	m := map[string]any{"namespace": e.Namespace, "action": e.Action, "detail": e.Detail}
	for k, v := range map[string]string{"id": e.ID, "actor": e.Actor, "ip": e.IP} {
		if v != "" {
			m[k] = v
		}
	}
	if !e.Timestamp.IsZero() {
		m["timestamp"] = e.Timestamp.Format(time.RFC3339Nano)
	}
	if len(e.Targets) > 0 {
		m["targets"] = e.Targets
	}
	if len(e.Metadata) > 0 {
		m["metadata"] = e.Metadata
	}
	return m
}

func (r *remote) Search(ctx context.Context, filter url.Values, limit int) (app.Page, error) {
	v := url.Values{}
	maps.Copy(v, filter)
	v.Set("limit", fmt.Sprint(limit))
	var page app.Page
	err := r.do(ctx, "GET", "/api/v1/events?"+v.Encode(), nil, "", &page)
	return page, err
}

func (r *remote) CreateToken(ctx context.Context, label string, scopes []app.Scope) (string, app.Token, error) {
	body, _ := json.Marshal(map[string]any{"label": label, "scopes": scopes})
	var resp struct {
		Token  app.Token
		Secret string
	}
	err := r.do(ctx, "POST", "/api/v1/tokens", bytes.NewReader(body), "application/json", &resp)
	return resp.Secret, resp.Token, err
}

func (r *remote) Tokens(ctx context.Context) ([]app.Token, error) {
	var resp struct{ Tokens []app.Token }
	err := r.do(ctx, "GET", "/api/v1/tokens", nil, "", &resp)
	return resp.Tokens, err
}

func (r *remote) RevokeToken(ctx context.Context, id string) (app.Token, error) {
	var resp struct{ Token app.Token }
	err := r.do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(id), nil, "", &resp)
	return resp.Token, err
}

// Export streams the server's export into w. The server does not say how many
// entries are coming, so there is no progress to report.
func (r *remote) Export(ctx context.Context, filter url.Values, format app.ExportFormat, w io.Writer, _ func(int, int)) (string, error) {
	v := url.Values{}
	maps.Copy(v, filter)
	v.Set("format", string(format))
	res, err := r.send(ctx, "GET", "/api/v1/export?"+v.Encode(), nil, "")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	n, err := io.Copy(w, res.Body)
	return fmt.Sprintf("Exported %d KiB through the running server", (n+1023)/1024), err
}

func (r *remote) String() string { return r.base }
