package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"auditlog/app"
	"auditlog/app/store"
)

var errUnhealthy = errors.New("the data directory needs attention (see above)")

// doctor examines a data directory without a server: the store first (never
// written to when it is damaged), then the chain, then the index's days
// against the store's counts. Each step runs only when the one before found
// nothing wrong, since a damaged store cannot be verified or reindexed.
func (m *Main) doctor(ctx context.Context, args []string) error {
	fs, data := m.flagSet("doctor", "doctor [--data DIR]",
		"Check the store (size, pages, every entry read back), the tamper-evident chain and the keyword index,\n"+
			"say what is wrong and how to restore from an export. It needs the data directory to itself: stop the server first.\n"+
			"Exit status 0 when healthy, 1 when not.")
	if err := m.parseNone(fs, args); err != nil {
		return err
	}
	dir, err := m.dataDir(*data)
	if err != nil {
		return err
	}
	if !holdsLog(dir) {
		return noLogError(dir)
	}
	if in, ok := reachableInstance(dir); ok {
		return inUseErrorOf(dir, in)
	}
	fmt.Fprintf(m.Stderr, "Using the data directory %s\n", dir)

	report, err := store.Check(dir)
	if err != nil {
		return inUseError(dir, err)
	}
	fmt.Fprint(m.Stdout, "Store: ", report.String())
	if !report.OK() {
		return errUnhealthy
	}

	st, key, err := m.openStoreAndKey(dir)
	if err != nil {
		return err
	}
	progress, end := slowProgress(m.Stderr, "Verifying the chain")
	v, err := app.VerifyChainReporting(ctx, st, key, time.Now(), progress)
	end()
	if err != nil {
		return err
	}
	fmt.Fprint(m.Stdout, "Chain: ")
	printVerification(m.Stdout, &v)
	if !v.Intact() {
		m.Close()
		fmt.Fprintln(m.Stdout, "The chain is broken: the entries named above were changed after they were recorded. Restore from an export verified with `auditlog verify --file`.")
		return errUnhealthy
	}
	repaired, err := st.RepairNamespaces(ctx)
	// The Log opens the store again, and bbolt's lock is per file handle.
	m.Close()
	if err != nil {
		return err
	}
	if len(repaired) == 0 {
		fmt.Fprintln(m.Stdout, "Namespaces: each lists the entries the store holds of it")
	}
	for _, r := range repaired {
		fmt.Fprintf(m.Stdout, "Namespaces: %s listed %d entries where the store holds %d, and its list was made again from the entries\n", r.Namespace, r.Listed, r.Has)
	}

	log, err := m.openLog(dir, 0, true)
	if err != nil {
		return inUseError(dir, err)
	}
	if log.IndexRebuiltWhole() && v.Entries > 0 {
		fmt.Fprintf(m.Stdout, "Index: it was not the one the store last filled (its files missing, damaged, or of another release) and was rebuilt whole from the store\n")
		return errUnhealthy
	}
	repairs := log.IndexRepairs()
	if len(repairs) == 0 {
		fmt.Fprintln(m.Stdout, "Index: every day holds as many entries as the store")
		if len(repaired) > 0 {
			return errUnhealthy
		}
		return nil
	}
	fmt.Fprintf(m.Stdout, "Index: %d days needed a repair and were rebuilt from the store:\n", len(repairs))
	for _, r := range repairs {
		state := "rebuilt"
		if !r.Done {
			state = "being rebuilt"
		}
		fmt.Fprintf(m.Stdout, "  - %s %s: %s\n", r.Day.Format(time.DateOnly), state, r.Reason)
	}
	return errUnhealthy
}
