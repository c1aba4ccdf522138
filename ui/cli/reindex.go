package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"auditlog/app"
)

func (m *Main) reindex(ctx context.Context, args []string) error {
	fs, data := m.flagSet("reindex", "reindex [flags]", "Rebuild the keyword index from the store. It needs the data directory to itself: stop the server first.")
	log, err := m.localLog(fs, data, args, true)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := log.Reindex(progressPrinter(m.Stderr, "Reindexing")); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "Reindexed in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// localLog opens dir's Log for a command that needs the directory to itself;
// existing refuses a directory that holds no log rather than make one.
// The instance file is read first: a running server is named at once instead
// of after the store's lock times out.
func (m *Main) localLog(fs *flag.FlagSet, data *string, args []string, existing bool) (*app.Log, error) {
	if err := m.parseNone(fs, args); err != nil {
		return nil, err
	}
	dir, err := m.dataDir(*data)
	if err != nil {
		return nil, err
	}
	if in, ok := reachableInstance(dir); ok {
		return nil, inUseErrorOf(dir, in)
	}
	if existing && !holdsLog(dir) {
		return nil, noLogError(dir)
	}
	log, err := m.openLog(dir, 0, false)
	if err != nil {
		return nil, inUseError(dir, err)
	}
	fmt.Fprintf(m.Stderr, "Using the data directory %s\n", dir)
	return log, nil
}
