package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"auditlog/app"
	"auditlog/app/cluster"
	"auditlog/index"
	"auditlog/ui"
)

// serveClusterNode serves a Log on a real cluster node, with the server's
// Cluster hook set as serve sets it.
func serveClusterNode(t *testing.T, cfg cluster.Config) (*app.Log, *ui.Server, *httptest.Server) {
	t.Helper()
	cfg.DataDir = t.TempDir()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := cluster.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log, err := app.Open(app.Config{
		Store:     node,
		OpenIndex: func() (app.SearchIndex, error) { return index.Open(filepath.Join(cfg.DataDir, "index")) },
		Logger:    cfg.Logger,
	})
	if err != nil {
		node.Close()
		t.Fatal(err)
	}
	s := ui.NewServer(log)
	s.Cluster = func(ctx context.Context) app.ClusterStatus { return node.Status(ctx) }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		log.Close()
	})
	return log, s, ts
}

func TestHealthzReportsTheClusterAndRefusesWithoutAQuorum(t *testing.T) {
	log, _, ts := serveClusterNode(t, cluster.Config{Name: "solo"})
	o := loadOpenAPI(t, ts.URL)
	c := caller{t: t, base: ts.URL}
	// A write returns once this node applied it, so the stream is there.
	if _, err := log.Record(context.Background(), []app.Event{{Namespace: app.Spaces, Action: "space_created", Detail: "Created space \"Finance\""}}); err != nil {
		t.Fatal(err)
	}
	ok := c.send("GET", "/healthz", "")
	ok.want(t, 200)
	o.check("GET", "/healthz", ok)
	var h struct{ Cluster *app.ClusterStatus }
	if err := json.Unmarshal(ok.body, &h); err != nil || h.Cluster == nil {
		t.Fatalf("/healthz of a cluster node says nothing of the cluster: %s", ok.body)
	}
	if !h.Cluster.Quorum || h.Cluster.Applied == 0 || h.Cluster.Lag != 0 || len(h.Cluster.Nodes) != 1 {
		t.Errorf("a cluster of one that applied a write reports %+v", *h.Cluster)
	}

	// One node of three, the other two never started: no quorum.
	var routes []string
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, l.Addr().String())
		l.Close()
	}
	_, loneServer, lone := serveClusterNode(t, cluster.Config{Name: "n1", Listen: routes[0], Routes: routes})
	down := caller{t: t, base: lone.URL}.send("GET", "/healthz", "")
	down.want(t, 503)
	o.check("GET", "/healthz", down)
	h.Cluster = nil
	if err := json.Unmarshal(down.body, &h); err != nil || h.Cluster == nil || h.Cluster.Quorum {
		t.Errorf("a node alone of three reports %s", down.body)
	}
	// Nothing is written without a quorum: the event is refused, to be sent again.
	owner := strings.SplitN(loneServer.LaunchURL(""), "secret=", 2)[1]
	refused := caller{t: t, base: lone.URL}.send("POST", "/api/v1/events", `{"namespace":"spaces","action":"space_created","detail":"Created space \"Ops\""}`,
		bearer(owner), contentType("application/json"))
	refused.want(t, 503)
	if !strings.Contains(string(refused.body), "quorum") || !strings.Contains(string(refused.body), "same ids") {
		t.Errorf("the refusal does not say why, or how to send again: %s", refused.body)
	}
	checkAnswer(t, lone.URL, "POST", "/api/v1/events", response(refused))
	// Nor is anything exported, which is recorded before it is sent.
	export := caller{t: t, base: lone.URL}.send("GET", "/api/v1/export?format=ndjson", "", bearer(owner))
	export.want(t, 503)
	if body := string(export.body); !strings.Contains(body, "nothing was exported") || !strings.Contains(body, "quorum") || strings.Contains(body, "ids") {
		t.Errorf("the export's refusal: %s", body)
	}
	checkAnswer(t, lone.URL, "GET", "/api/v1/export", response(export))
}

func TestThePageShowsTheClusterOnlyWhenThereIsOne(t *testing.T) {
	page := func(s *ui.Server, ts *httptest.Server) string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		browser := caller{t: t, base: ts.URL, client: &http.Client{Jar: jar}}
		browser.send("GET", strings.TrimPrefix(s.LaunchURL(ts.URL), ts.URL), "").want(t, 200)
		a := browser.send("GET", ui.PagePath, "")
		a.want(t, 200)
		return string(a.body)
	}
	log, s, ts := serveClusterNode(t, cluster.Config{Name: "solo"})
	if _, err := log.Record(context.Background(), []app.Event{{Namespace: app.Spaces, Action: "space_created", Detail: "Created space \"Finance\""}}); err != nil {
		t.Fatal(err)
	}
	body := page(s, ts)
	for _, want := range []string{`id="cluster"`, "Cluster: 1 of 1 nodes up", "solo (this node)", "<td>up</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page of a cluster node lacks %q", want)
		}
	}
	_, single, singleTS := serveTempLog(t)
	if body := page(single, singleTS); strings.Contains(body, `id="cluster"`) {
		t.Error("the page of a single node shows a cluster section")
	}
}
