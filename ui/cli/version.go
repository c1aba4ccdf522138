package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped in by release builds:
//
//	go build -ldflags "-X auditlog/ui/cli.version=v1.2.3 -X auditlog/ui/cli.commit=abc123"
//
// Left empty, they come from what the Go toolchain recorded about the build.
var version, commit string

func (m *Main) version(context.Context, []string) error {
	v, c := buildVersion()
	fmt.Fprintf(m.Stdout, "auditlog %s (commit %s, %s)\n", v, c, runtime.Version())
	return nil
}

// buildVersion returns the stamped version and commit, else the module
// version and VCS revision the toolchain recorded, else "devel" and "unknown".
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				modified = s.Value
			}
		}
		if c == "" && rev != "" {
			c = rev
			if modified == "true" {
				c += "-dirty" // built from a work tree with uncommitted changes
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}
