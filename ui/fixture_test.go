package ui_test

import (
	"net/http/httptest"
	"testing"

	"auditlog/app"
	"auditlog/app/logtest"
	"auditlog/ui"
)

// serveTempLog runs the real server over a real store and keyword index in a
// temporary data directory, and closes both when the test ends.
func serveTempLog(t *testing.T) (*app.Log, *ui.Server, *httptest.Server) {
	t.Helper()
	log := logtest.Open(t, "")
	s := ui.NewServer(log)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return log, s, ts
}

// acmeBerlin names the workspace "Acme Data" in Europe/Berlin, so that
// timestamps show a zone other than UTC.
func acmeBerlin() app.SettingsChange {
	name, zone := "Acme Data", "Europe/Berlin"
	return app.SettingsChange{Workspace: &name, Timezone: &zone}
}
