package cli

import (
	"context"
	"fmt"

	"auditlog/app"
	"auditlog/app/demo"
)

func (m *Main) demo(ctx context.Context, args []string) error {
	fs, data := m.flagSet("demo", "demo [flags]", "Load 30 days of demo activity into an empty log (\"auditlog --demo\" loads it, then serves).")
	log, err := m.localLog(fs, data, args, false)
	if err != nil {
		return err
	}
	// Asked for nothing but the demo, a log that has entries is a failure to
	// report, not a note: a script must not go on as if it were loaded.
	if !demo.Wanted(ctx, log) {
		return app.Errorf(app.ECONFLICT, "the log already has entries; demo data is loaded only into an empty log (choose a new directory with --data)")
	}
	if err := m.fillDemo(ctx, log); err != nil {
		return err
	}
	return log.WaitIndexed(ctx)
}

// loadDemo fills an empty log with demo activity; a log that has entries is
// left alone, so demo data never mixes with real records. fresh says the
// log was made by this run, whose own settings entries do not count.
func (m *Main) loadDemo(ctx context.Context, log *app.Log, fresh bool) error {
	if !fresh && !demo.Wanted(ctx, log) {
		fmt.Fprintln(m.Stderr, "The log already has entries; demo data is loaded only into an empty log.")
		return nil
	}
	return m.fillDemo(ctx, log)
}

// fillDemo loads the demo into log, which holds no entries, with progress.
func (m *Main) fillDemo(ctx context.Context, log *app.Log) error {
	n, err := demo.Load(ctx, log, progressPrinter(m.Stderr, "Loading demo data"))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "Loaded %d demo entries.\n", n)
	return nil
}
