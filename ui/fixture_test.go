package ui_test

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"auditlog/app"
	"auditlog/app/store"
	"auditlog/index"
	"auditlog/ui"
)

// serveTempLog runs the real server over a real store and keyword index in a
// temporary data directory, and closes both when the test ends.
func serveTempLog(t *testing.T) (*app.Log, *ui.Server, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	log, err := openLogIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := ui.NewServer(log)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		log.Close()
	})
	return log, s, ts
}

// openLogIn opens a Log over a real store and keyword index in dir.
func openLogIn(dir string) (*app.Log, error) {
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	return app.Open(app.Config{Store: st, OpenIndex: func() (app.SearchIndex, error) {
		return index.Open(filepath.Join(dir, "index"))
	}})
}

// acmeBerlin names the workspace "Acme Data" in Europe/Berlin, so that
// timestamps show a zone other than UTC.
func acmeBerlin() app.SettingsChange {
	name, zone := "Acme Data", "Europe/Berlin"
	return app.SettingsChange{Workspace: &name, Timezone: &zone}
}
