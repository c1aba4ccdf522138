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
	log, _, s, ts := serveTempLogAndIndex(t)
	return log, s, ts
}

// serveTempLogAndIndex is serveTempLog that also hands over the keyword
// index, for tests that break it on purpose.
func serveTempLogAndIndex(t *testing.T) (*app.Log, *index.Index, *ui.Server, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	var x *index.Index
	log, err := app.Open(app.Config{Dir: dir, OpenIndex: func() (app.SearchIndex, error) {
		var err error
		x, err = index.Open(filepath.Join(dir, "index"))
		return x, err
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
	return log, x, s, ts
}
