// Package client is a Go client of the Audit Log's HTTP API: other Go
// programs send and read events with it, and the command line reaches a
// running server through it. Failed requests come back as *app.Error with the
// server's code and message, as they would from the Log itself.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"auditlog/app"
	"auditlog/ui/api"
)

// Client talks to one Audit Log server with one API token (or the launch
// secret of a server on this computer).
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Option changes a Client as New builds it.
type Option func(*Client)

// WithHTTPClient sends requests through hc instead of a plain http.Client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// New returns a client of the server at baseURL (e.g. http://127.0.0.1:7410)
// that authenticates with token.
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), token: token, http: &http.Client{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// URL is the server's base address.
func (c *Client) URL() string { return c.base }

// do sends a request and decodes a JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	res, err := c.send(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("the server at %s answered %s with something unreadable: %w", c.base, path, err)
	}
	return nil
}

// send returns the response of a successful request for the caller to read.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the server at %s did not answer: %w", c.base, err)
	}
	if res.StatusCode >= 300 {
		defer res.Body.Close()
		var e api.ErrorBody
		if json.NewDecoder(res.Body).Decode(&e) == nil && e.Error != nil {
			return nil, e.Error
		}
		return nil, fmt.Errorf("the server at %s answered %s", c.base, res.Status)
	}
	return res, nil
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// Health asks whether the server and its store answer.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var h api.Health
	err := c.do(ctx, "GET", "/healthz", nil, "", &h)
	return h, err
}

// Workspace returns the workspace's name, timezone and retention.
func (c *Client) Workspace(ctx context.Context) (api.Workspace, error) {
	var w api.Workspace
	err := c.do(ctx, "GET", "/api/v1/workspace", nil, "", &w)
	return w, err
}

// UpdateWorkspace changes the name or timezone where they are not nil (admin scope).
func (c *Client) UpdateWorkspace(ctx context.Context, name, timezone *string) (api.Workspace, error) {
	var w api.Workspace
	err := c.do(ctx, "PATCH", "/api/v1/workspace", jsonBody(api.WorkspaceUpdate{Name: name, Timezone: timezone}), "application/json", &w)
	return w, err
}

// Send records events as one NDJSON request: all of them or, on an error
// naming the events at fault, none. It returns the ids in order.
func (c *Client) Send(ctx context.Context, events []app.Event) ([]string, error) {
	resp, err := c.PostEvents(ctx, events)
	return resp.IDs, err
}

// PostEvents is Send, answering with the whole response: also which ids were
// stored before (by an earlier attempt of a retried request, say).
func (c *Client) PostEvents(ctx context.Context, events []app.Event) (api.PostEventsResponse, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" as itself, not six bytes of "\u003c": a request's size is bounded
	for i := range events {
		if err := enc.Encode(wireEvent(&events[i])); err != nil {
			return api.PostEventsResponse{}, err
		}
	}
	var resp api.PostEventsResponse
	err := c.do(ctx, "POST", "/api/v1/events", &b, "application/x-ndjson", &resp)
	return resp, err
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

// Event returns one entry by id.
func (c *Client) Event(ctx context.Context, id string) (app.Event, error) {
	var e app.Event
	err := c.do(ctx, "GET", "/api/v1/events/"+url.PathEscape(id), nil, "", &e)
	return e, err
}

// filterValues writes f in the API's parameter names. Bounds go as RFC 3339
// instants, so the server's timezone cannot shift them.
func filterValues(f app.Filter) url.Values {
	v := f.Values(time.UTC)
	if !f.After.IsZero() {
		v.Set("after", f.After.UTC().Format(time.RFC3339Nano))
	}
	if !f.Before.IsZero() {
		v.Set("before", f.Before.UTC().Format(time.RFC3339Nano))
	}
	return v
}

// Search returns up to limit entries matching f, newest first, starting after
// cursor (empty for the first page); the page's Next continues it.
func (c *Client) Search(ctx context.Context, f app.Filter, limit int, cursor string) (api.EventPage, error) {
	v := filterValues(f)
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var page api.EventPage
	err := c.do(ctx, "GET", "/api/v1/events?"+v.Encode(), nil, "", &page)
	return page, err
}

// Export streams every entry matching f into w as format, and returns how
// many bytes it wrote and how many entries the server says the export
// holds (-1 when it did not say, as behind a proxy that drops trailers).
// An export the server could not finish is an error, never a short file
// that looks whole. The server records the export itself.
//
// progress, if set, hears how many entries have come so far, of how many
// the server expected, as the file streams: lines counted, which each
// format gives an entry (a CSV cell may hold a line break, so it is a
// guide, not a count), and the trailer's exact count at the end.
func (c *Client) Export(ctx context.Context, f app.Filter, format app.ExportFormat, w io.Writer, progress func(done, total int)) (written int64, entries int, err error) {
	v := filterValues(f)
	v.Set("format", string(format))
	res, err := c.send(ctx, "GET", "/api/v1/export?"+v.Encode(), nil, "")
	if err != nil {
		return 0, -1, err
	}
	defer res.Body.Close()
	expected, known := strconv.Atoi(res.Header.Get(api.ExpectedHeader))
	if progress != nil && known == nil {
		w = &lineCounter{w: w, total: expected, progress: progress}
	}
	written, err = io.Copy(w, res.Body)
	if err != nil {
		return written, -1, fmt.Errorf("the export from %s ended early, after %d bytes: %w", c.base, written, err)
	}
	entries = -1
	if n, err := strconv.Atoi(res.Trailer.Get(api.EntriesTrailer)); err == nil {
		entries = n
		if progress != nil && known == nil {
			progress(n, n)
		}
	}
	return written, entries, nil
}

// lineCounter passes what it writes on, and says how many lines have
// gone through, short of the total (the end is said by the caller).
type lineCounter struct {
	w        io.Writer
	lines    int
	total    int
	progress func(done, total int)
}

func (l *lineCounter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.lines += bytes.Count(p[:n], []byte{'\n'})
	if l.total > 0 {
		l.progress(min(l.lines, l.total-1), l.total)
	}
	return n, err
}

// CreateToken makes an API token (admin scope); the secret is returned this once.
func (c *Client) CreateToken(ctx context.Context, label string, scopes []app.Scope) (api.CreatedToken, error) {
	var resp api.CreatedToken
	err := c.do(ctx, "POST", "/api/v1/tokens", jsonBody(api.TokenRequest{Label: label, Scopes: scopes}), "application/json", &resp)
	return resp, err
}

// CreateTokenWith makes an API token as req says: scopes, and optionally an
// expiry and an owning service user (admin scope).
func (c *Client) CreateTokenWith(ctx context.Context, req api.TokenRequest) (api.CreatedToken, error) {
	var resp api.CreatedToken
	err := c.do(ctx, "POST", "/api/v1/tokens", jsonBody(req), "application/json", &resp)
	return resp, err
}

// RegenerateToken gives the token with id a new secret, returned this once;
// the old secret stops working at once (admin scope).
func (c *Client) RegenerateToken(ctx context.Context, id string) (api.RegeneratedToken, error) {
	var resp api.RegeneratedToken
	err := c.do(ctx, "POST", "/api/v1/tokens/"+url.PathEscape(id)+"/regenerate", nil, "", &resp)
	return resp, err
}

// Tokens lists the API tokens (admin scope); secrets are never listed.
func (c *Client) Tokens(ctx context.Context) ([]app.Token, error) {
	var resp api.TokenList
	err := c.do(ctx, "GET", "/api/v1/tokens", nil, "", &resp)
	return resp.Tokens, err
}

// RevokeToken revokes the token with id (admin scope).
func (c *Client) RevokeToken(ctx context.Context, id string) (app.Token, error) {
	var resp api.RevokedToken
	err := c.do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(id), nil, "", &resp)
	return resp.Token, err
}

// Integrity has the server verify its chain now and say what it found.
func (c *Client) Integrity(ctx context.Context) (api.Integrity, error) {
	var out api.Integrity
	err := c.do(ctx, "GET", "/api/v1/integrity", nil, "", &out)
	return out, err
}
