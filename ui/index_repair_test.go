package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/ui"
	"auditlog/ui/api"
)

// A day of the index deleted while the app was stopped is rebuilt at the
// next start; /healthz and the page say which day and why, so that a
// search that missed entries meanwhile is explained.
func TestTheHealthCheckAndThePageSayWhichDayOfTheIndexWasRebuilt(t *testing.T) {
	dir := t.TempDir()
	log, err := app.Open(logtest.Config(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	var events []app.Event
	for i := range 6 {
		events = append(events, ev(app.Users, "user_invited", "Invited heron@example.com", "Maya Chen", time.Duration(i)*12*time.Hour))
	}
	if _, err := log.Record(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	waitIndexedLog(t, log)
	log.Close()
	days, _ := filepath.Glob(filepath.Join(dir, "index", "20*"))
	if len(days) < 2 {
		t.Fatalf("index days %v, want several", days)
	}
	day := filepath.Base(days[0])
	if err := os.RemoveAll(days[0]); err != nil {
		t.Fatal(err)
	}

	log, err = app.Open(logtest.Config(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	waitIndexedLog(t, log)
	s := ui.NewServer(log)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	res, err := http.Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h api.Health
	json.NewDecoder(res.Body).Decode(&h)
	res.Body.Close()
	if res.StatusCode != 200 || h.Status != "ok" || len(h.IndexRepairs) != 1 || h.IndexRepairs[0].Day != day || !h.IndexRepairs[0].Done || h.IndexRepairs[0].Reason == "" {
		t.Fatalf("/healthz after a day of the index was deleted: %d %+v, want %s rebuilt with a reason", res.StatusCode, h, day)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, err = client.Get(s.LaunchURL(ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	req, _ := http.NewRequest("GET", ts.URL+ui.PagePath, nil)
	req.Header.Set("Accept", "text/html")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	res.Body.Close()
	mustContain(t, b.String(), "index-repairs", "day "+day+" (UTC) was rebuilt from the store", h.IndexRepairs[0].Reason)
}

// waitFor waits until the index holds what the store does, repairs included.
func waitIndexedLog(t *testing.T, log *app.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
}
