// Package assets holds the page's static files, embedded in the binary so the
// Audit Log works offline: the vendored htmx, the stylesheet, a small script
// and the icon.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed htmx.min.js htmx.LICENSE app.css app.js icon.svg team.css team.js
var files embed.FS

// FS is every asset, by file name.
func FS() fs.FS { return files }

// versions holds a short content hash per file, computed once at start.
var versions = func() map[string]string {
	m := map[string]string{}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic("assets: " + err.Error()) // the embedded directory is always readable
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, e.Name())
		if err != nil {
			panic("assets: " + err.Error())
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return m
}()

// Version is a short hash of the named file's contents, for cache busting;
// empty when there is no such file.
func Version(name string) string { return versions[name] }
