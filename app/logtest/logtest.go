// Package logtest opens real Logs for tests: a bbolt store and a Bleve index
// in a temporary directory, closed when the test ends. Tests across the
// project share it so that each exercises the same parts the app runs on.
package logtest

import (
	"path/filepath"
	"testing"

	"auditlog/app"
	"auditlog/app/store"
	"auditlog/index"
)

// Config is a Log's configuration with a real store (and signing key) and a
// real index in dir. The Log that app.Open makes of it closes the store.
func Config(tb testing.TB, dir string) app.Config {
	tb.Helper()
	st, err := store.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := store.SigningKey(dir)
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return app.Config{Store: st, Signer: key, OpenIndex: func() (app.SearchIndex, error) {
		return index.Open(filepath.Join(dir, "index"))
	}}
}

// Open opens a Log in dir (a new temporary directory when dir is empty) and
// closes it when the test ends.
func Open(tb testing.TB, dir string) *app.Log {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	log, err := app.Open(Config(tb, dir))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { log.Close() })
	return log
}
