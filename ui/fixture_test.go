package ui_test

import (
	"net/http/httptest"
	"path/filepath"
	"testing"

	"auditlog/app"
	"auditlog/index"
	"auditlog/ui"
)

// serveTempLog runs the real server over a real store and keyword index in a
// temporary data directory, and closes both when the test ends.
func serveTempLog(t *testing.T) (*app.Log, *ui.Server, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	log, err := app.Open(app.Config{Dir: dir, OpenIndex: func() (app.SearchIndex, error) {
		return index.Open(filepath.Join(dir, "index"))
	}})
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
