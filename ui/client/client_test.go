package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/ui"
	"auditlog/ui/api"
	"auditlog/ui/client"
)

// serve runs the real server over a real store and index in a temporary
// directory, and returns its address and a token with the given scopes.
func serve(t *testing.T, scopes ...app.Scope) (string, *app.Log, string) {
	t.Helper()
	log := logtest.Open(t, "")
	ts := httptest.NewServer(ui.NewServer(log).Handler())
	t.Cleanup(ts.Close)
	secret, _, err := log.CreateToken(context.Background(), "client-test", scopes, "test")
	if err != nil {
		t.Fatal(err)
	}
	return ts.URL, log, secret
}

func code(err error) string {
	var e *app.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not an *app.Error: " + err.Error()
}

func TestTheClientSendsSearchesAndExportsThroughTheRealServer(t *testing.T) {
	ctx := context.Background()
	url, log, secret := serve(t, app.ScopeIngest, app.ScopeRead)
	c := client.New(url, secret)

	yesterday := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	ids, err := c.Send(ctx, []app.Event{
		{ID: "c-1", Namespace: app.Namespace("connections"), Action: "connection_created", Detail: `Added connection "Snowflake Warehouse"`, Actor: "Maya Chen", Timestamp: yesterday},
		{Namespace: app.Namespace("api_tokens"), Action: "token_revoked", Detail: `Revoked API token "ci-deploy"`, Actor: "Lukas Brandt"},
	})
	if err != nil || len(ids) != 2 || ids[0] != "c-1" || ids[1] == "" {
		t.Fatalf("Send = %v, %v", ids, err)
	}
	e, err := c.Event(ctx, "c-1")
	if err != nil || e.Actor != "Maya Chen" || !e.Timestamp.Equal(yesterday) || e.Namespace != "connections" {
		t.Fatalf("Event = %+v, %v", e, err)
	}
	if err := log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}

	page, err := c.Search(ctx, app.Filter{Q: "snowflake"}, 10, "")
	if err != nil || len(page.Events) != 1 || page.Events[0].ID != "c-1" {
		t.Fatalf("Search snowflake = %+v, %v", page, err)
	}
	// The token's own creation is in API Tokens too, older than the revocation.
	page, err = c.Search(ctx, app.Filter{Namespace: "api_tokens"}, 10, "")
	if err != nil || len(page.Events) != 2 || page.Events[0].Action != "token_revoked" || page.Events[1].Action != "token_created" {
		t.Fatalf("Search in api_tokens = %+v, %v", page, err)
	}
	// A time bound is an instant, whatever the server's timezone.
	page, err = c.Search(ctx, app.Filter{After: yesterday.Add(time.Second)}, 10, "")
	if err != nil || len(page.Events) != 2 || page.Events[0].ID == "c-1" || page.Events[1].ID == "c-1" {
		t.Fatalf("Search after yesterday = %+v, %v", page, err)
	}
	// Pages follow on with the cursor.
	first, err := c.Search(ctx, app.Filter{}, 1, "")
	if err != nil || len(first.Events) != 1 || first.Next == "" {
		t.Fatalf("first page = %+v, %v", first, err)
	}
	second, err := c.Search(ctx, app.Filter{}, 1, first.Next)
	if err != nil || len(second.Events) != 1 || second.Events[0].ID == first.Events[0].ID {
		t.Fatalf("second page = %+v, %v", second, err)
	}

	var out bytes.Buffer
	var heard [][2]int // the progress, as the command line shows it
	n, entries, err := c.Export(ctx, app.Filter{Namespace: "connections"}, app.NDJSON, &out, func(done, total int) { heard = append(heard, [2]int{done, total}) })
	if err != nil || n != int64(out.Len()) || entries != 1 || strings.Count(out.String(), "\n") != 2 || !strings.Contains(out.String(), `"id":"c-1"`) {
		t.Fatalf("Export = %d bytes, %d entries, %v:\n%s", n, entries, err, out.String())
	}
	if len(heard) == 0 || heard[len(heard)-1] != [2]int{1, 1} {
		t.Fatalf("the export's progress went %v, want it to end at 1 of 1", heard)
	}

	w, err := c.Workspace(ctx)
	if err != nil || w.RetentionDays != 30 || w.Timezone == "" {
		t.Fatalf("Workspace = %+v, %v", w, err)
	}
	h, err := c.Health(ctx)
	if err != nil || h.Status != "ok" {
		t.Fatalf("Health = %+v, %v", h, err)
	}
}

func TestTheClientReturnsTheServersErrorCodeAndMessage(t *testing.T) {
	ctx := context.Background()
	url, _, secret := serve(t, app.ScopeIngest, app.ScopeRead)
	c := client.New(url, secret)

	_, err := c.Send(ctx, []app.Event{{Namespace: "widgets", Action: "x_y", Detail: "d"}})
	var e *app.Error
	if !errors.As(err, &e) || e.Code != app.EINVALID || len(e.Details) != 1 || e.Details[0].Field != "namespace" {
		t.Fatalf("a bad event: %#v", err)
	}
	if _, err := c.Event(ctx, "nope"); code(err) != app.ENOTFOUND {
		t.Fatalf("an unknown id: %v", err)
	}
	if _, err := c.Search(ctx, app.Filter{Q: `"open`}, 10, ""); code(err) != app.EINVALID || !strings.Contains(err.Error(), "unterminated quote") {
		t.Fatalf("a bad query: %v", err)
	}
	if _, err := c.Tokens(ctx); code(err) != app.EFORBIDDEN {
		t.Fatalf("listing tokens without the admin scope: %v", err)
	}
	if _, err := client.New(url, "wrong").Workspace(ctx); code(err) != app.EUNAUTHORIZED {
		t.Fatalf("a wrong token: %v", err)
	}
	if _, err := client.New("http://127.0.0.1:1", secret).Workspace(ctx); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("no server: %v", err)
	}
}

func TestTheClientManagesTokensAndTheWorkspace(t *testing.T) {
	ctx := context.Background()
	url, _, secret := serve(t, app.ScopeAdmin, app.ScopeRead)
	c := client.New(url, secret)

	created, err := c.CreateToken(ctx, "ci-deploy", []app.Scope{app.ScopeIngest})
	if err != nil || created.Secret == "" || created.Token.Label != "ci-deploy" {
		t.Fatalf("CreateToken = %+v, %v", created, err)
	}
	// The new token works, with its scope only.
	if _, err := client.New(url, created.Secret).Send(ctx, []app.Event{{Namespace: "users", Action: "user_invited", Detail: "Invited ana@example.com"}}); err != nil {
		t.Fatalf("sending with the new token: %v", err)
	}
	toks, err := c.Tokens(ctx)
	if err != nil || len(toks) != 2 {
		t.Fatalf("Tokens = %+v, %v", toks, err)
	}
	revoked, err := c.RevokeToken(ctx, created.Token.ID)
	if err != nil || revoked.ID != created.Token.ID {
		t.Fatalf("RevokeToken = %+v, %v", revoked, err)
	}
	if _, err := client.New(url, created.Secret).Send(ctx, []app.Event{{Namespace: "users", Action: "user_invited", Detail: "x"}}); code(err) != app.EUNAUTHORIZED {
		t.Fatalf("a revoked token still sends: %v", err)
	}

	name, tz := "Acme Data", "Europe/Berlin"
	w, err := c.UpdateWorkspace(ctx, &name, &tz)
	if err != nil || w.Name != name || w.Timezone != tz {
		t.Fatalf("UpdateWorkspace = %+v, %v", w, err)
	}
	bad := "Mars/Olympus"
	if _, err := c.UpdateWorkspace(ctx, nil, &bad); code(err) != app.EINVALID {
		t.Fatalf("an unknown timezone: %v", err)
	}
}

// An export the server cannot finish cuts the connection; the client says
// it ended early rather than leave a short file that looks whole.
func TestAnExportCutShortIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", api.EntriesTrailer)
		w.Write([]byte(`{"id":"a"}` + "\n"))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // as the export handler does when the store fails midway
	}))
	defer srv.Close()
	var out bytes.Buffer
	_, entries, err := client.New(srv.URL, "t").Export(context.Background(), app.Filter{}, app.NDJSON, &out, nil)
	if err == nil || !strings.Contains(err.Error(), "ended early") || entries != -1 {
		t.Fatalf("a cut export: %d entries, %v; want an error saying it ended early", entries, err)
	}
}
