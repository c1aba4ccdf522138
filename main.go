// Command auditlog records and investigates every meaningful state change in a
// data workspace: one executable, a store and a keyword index in a data
// directory, an API for other systems and a page for people. The command line
// itself lives in ui/cli.
package main

import (
	"context"
	"os"
	// The timezone database travels inside the binary: a downloaded build
	// on Windows (or a trimmed container) has none of its own, and every
	// timestamp is shown in the workspace's zone.
	_ "time/tzdata"

	"auditlog/ui/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:]))
}
