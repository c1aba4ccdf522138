package ui_test

import (
	"net/http/httptest"
	"testing"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/index"
	"auditlog/ui"
)

// serveTempLog runs the real server over a real store and keyword index in a
// temporary data directory, and closes both when the test ends.
func serveTempLog(t *testing.T) (*app.Log, *ui.Server, *httptest.Server) {
	t.Helper()
	log, _, s, ts := serveTempLogAndIndex(t)
	return log, s, ts
}

// serveTempLogAndIndex is serveTempLog that also hands over the keyword
// index, for tests that break it on purpose.
func serveTempLogAndIndex(t *testing.T) (*app.Log, *index.Index, *ui.Server, *httptest.Server) {
	t.Helper()
	cfg := logtest.Config(t, t.TempDir())
	var x *index.Index
	open := cfg.OpenIndex
	cfg.OpenIndex = func() (app.SearchIndex, error) {
		idx, err := open()
		x, _ = idx.(*index.Index)
		return idx, err
	}
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := ui.NewServer(log)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		log.Close()
	})
	return log, x, s, ts
}

// acmeBerlin names the workspace "Acme Data" in Europe/Berlin, so that
// timestamps show a zone other than UTC.
func acmeBerlin() app.SettingsChange {
	name, zone := "Acme Data", "Europe/Berlin"
	return app.SettingsChange{Workspace: &name, Timezone: &zone}
}
