package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"auditlog/app"
	"auditlog/ui"
)

func (m *Main) token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"token: say create, list or revoke"}
	}
	sub, args := args[0], args[1:]
	fs, data := m.flagSet("token " + sub)
	label := fs.String("label", "", "what the token is for, e.g. ci-deploy")
	scopes := fs.String("scopes", "ingest", "comma-separated scopes: ingest, read, admin")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	var sc []app.Scope
	switch sub {
	case "create":
		if sc, err = app.ParseScopes(*scopes); err != nil {
			return err
		}
		if strings.TrimSpace(*label) == "" {
			return usageError{"token create: --label is required, e.g. --label ci-deploy"}
		}
	case "list":
	case "revoke":
		if len(pos) != 1 {
			return usageError{"token revoke: give the token's ID (see auditlog token list)"}
		}
	default:
		return usageError{fmt.Sprintf("token: unknown subcommand %q (create, list or revoke)", sub)}
	}
	b, err := m.open(*data, false)
	if err != nil {
		return err
	}
	defer b.Close()
	switch sub {
	case "create":
		secret, tok, err := b.CreateToken(ctx, *label, sc)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "Created token %s (%s) with scopes %s. Keep the secret below: it is not shown again.\n", tok.ID, tok.Label, *scopes)
		fmt.Fprintln(m.Stdout, secret)
	case "list":
		toks, err := b.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tSCOPES\tSTARTS WITH\tCREATED\tBY")
		for _, t := range toks {
			names := make([]string, len(t.Scopes))
			for i, s := range t.Scopes {
				names[i] = string(s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\n", t.ID, t.Label, strings.Join(names, ","), t.Hint, t.CreatedAt.Local().Format("2006-01-02 15:04"), t.CreatedBy)
		}
		return tw.Flush()
	case "revoke":
		tok, err := b.RevokeToken(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Revoked token %s (%s)\n", tok.ID, tok.Label)
	}
	return nil
}

// ingest imports NDJSON in batches, each recorded all or nothing like an API
// request. The first bad batch stops the import and says which line is wrong;
// the batches before it stay recorded, and re-running is safe for events with ids.
func (m *Main) ingest(ctx context.Context, args []string) error {
	fs, data := m.flagSet("ingest")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"ingest: give one NDJSON file, or - for standard input"}
	}
	var in io.Reader = m.Stdin
	var size int64
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	b, err := m.open(*data, false)
	if err != nil {
		return err
	}
	defer b.Close()
	cutoff, err := b.Cutoff(ctx)
	if err != nil {
		return err
	}

	counter := &countingReader{r: in}
	sc := bufio.NewScanner(counter)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var lines []string
	var lineNos []int // the file line of each event in lines
	var lineNo, recorded, seen, expired int
	start, lastReport := time.Now(), time.Time{}
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		events, err := app.DecodeEvents(strings.NewReader(strings.Join(lines, "\n")), true)
		if err == nil {
			var lineOf []int
			events, lineOf = dropExpired(events, cutoff, &expired)
			if len(events) > 0 {
				var stored []app.Event
				stored, err = b.Record(ctx, events)
				recorded += len(stored)
				if e, ok := err.(*app.Error); ok {
					for i := range e.Details {
						e.Details[i].Index = lineOf[e.Details[i].Index]
					}
				}
			}
		}
		if err != nil {
			return lineError(err, lineNos, recorded)
		}
		lines, lineNos = lines[:0], lineNos[:0]
		if time.Since(lastReport) > 200*time.Millisecond {
			lastReport = time.Now()
			if size > 0 {
				fmt.Fprintf(m.Stderr, "\rIngesting: %d events (%d%%)", recorded, counter.n*100/size)
			} else {
				fmt.Fprintf(m.Stderr, "\rIngesting: %d events", recorded)
			}
		}
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		lines, lineNos = append(lines, line), append(lineNos, lineNo)
		seen++
		if len(lines) == app.MaxBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ingest: reading line %d: %w", lineNo+1, err)
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "\rIngested %d events in %s\n", recorded, time.Since(start).Round(time.Millisecond))
	if expired > 0 {
		fmt.Fprintf(m.Stderr, "Skipped %d events older than the retention window (they would be purged at once).\n", expired)
	}
	return nil
}

// dropExpired leaves out events from before the retention window: an old
// export imported later still restores everything that may be kept. It
// returns, for each kept event, its place in the batch it came from.
func dropExpired(events []app.Event, cutoff time.Time, dropped *int) ([]app.Event, []int) {
	kept, from := events[:0], make([]int, 0, len(events))
	for i, e := range events {
		if !e.Timestamp.IsZero() && e.Timestamp.Before(cutoff.Add(time.Minute)) {
			*dropped++
			continue
		}
		kept, from = append(kept, e), append(from, i)
	}
	return kept, from
}

// lineError turns an error about event i of a batch into one about a line of the file.
func lineError(err error, lineNos []int, recorded int) error {
	e, ok := err.(*app.Error)
	if !ok || len(e.Details) == 0 {
		return fmt.Errorf("ingest stopped after %d events: %w", recorded, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ingest stopped after %d events; this batch was not recorded:", recorded)
	for i, d := range e.Details {
		if i == 10 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Details)-10)
			break
		}
		fmt.Fprintf(&b, "\n  line %d: %s %s", lineNos[d.Index], d.Field, d.Message)
	}
	return fmt.Errorf("%s", b.String())
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (m *Main) search(ctx context.Context, args []string) error {
	fs, data := m.flagSet("search")
	ns := fs.String("namespace", "", "only this namespace, e.g. api_tokens or \"API Tokens\"")
	limit := fs.Int("limit", 50, "at most this many entries (1 to 500)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > app.MaxLimit {
		return usageError{"search: --limit must be from 1 to 500"}
	}
	b, err := m.open(*data, true)
	if err != nil {
		return err
	}
	defer b.Close()
	loc, err := b.Location(ctx)
	if err != nil {
		return err
	}
	page, err := b.Search(ctx, url.Values{"q": {strings.Join(pos, " ")}, "namespace": {*ns}}, *limit)
	if err != nil {
		return err
	}
	if len(page.Events) == 0 {
		fmt.Fprintln(m.Stderr, "No entries match.")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIMESTAMP\tNAMESPACE\tACTION\tACTOR\tDETAIL")
	for _, e := range page.Events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Timestamp.In(loc).Format("2006-01-02 15:04:05 MST"), e.Namespace.DisplayName(), e.Action, e.Actor, oneLine(e.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(m.Stderr, "More entries match; raise --limit (at most 500) or narrow the query.\n")
	}
	return nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\t", " ")
	if len([]rune(s)) > 120 {
		return string([]rune(s)[:119]) + "…"
	}
	return s
}

// localLog opens dir's Log for a command that needs the directory to itself.
func (m *Main) localLog(name string, args []string) (*app.Log, func() error, error) {
	fs, data := m.flagSet(name)
	if _, err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	dir, err := m.dataDir(*data)
	if err != nil {
		return nil, nil, err
	}
	log, closeLog, err := m.openLog(dir, 0, false)
	return log, closeLog, inUseError(dir, err)
}

func (m *Main) reindex(ctx context.Context, args []string) error {
	log, closeLog, err := m.localLog("reindex", args)
	if err != nil {
		return err
	}
	defer closeLog()
	start := time.Now()
	if err := log.Reindex(progressPrinter(m.Stderr, "Reindexing")); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "Reindexed in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func (m *Main) demo(ctx context.Context, args []string) error {
	log, closeLog, err := m.localLog("demo", args)
	if err != nil {
		return err
	}
	defer closeLog()
	if err := m.loadDemo(ctx, log); err != nil {
		return err
	}
	return log.WaitIndexed(ctx)
}

// loadDemo fills an empty log with demo activity; a log that has entries is
// left alone, so demo data never mixes with real records.
func (m *Main) loadDemo(ctx context.Context, log *app.Log) error {
	if !log.IsEmpty() {
		fmt.Fprintln(m.Stderr, "The log already has entries; demo data is loaded only into an empty log.")
		return nil
	}
	n, err := log.LoadDemo(ctx, progressPrinter(m.Stderr, "Loading demo data"))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "Loaded %d demo entries.\n", n)
	return nil
}

func (m *Main) export(ctx context.Context, args []string) error {
	fs, data := m.flagSet("export")
	format := fs.String("format", "csv", "csv, json or ndjson")
	ns := fs.String("namespace", "", "only this namespace, e.g. api_tokens")
	after := fs.String("after", "", "only entries on or after this date (2026-11-01) or time")
	before := fs.String("before", "", "only entries before this date or time")
	out := fs.String("o", "", "write to this file instead of standard output")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	f, err := app.ParseExportFormat(*format)
	if err != nil {
		return err
	}
	b, err := m.open(*data, true)
	if err != nil {
		return err
	}
	defer b.Close()
	filter := url.Values{"q": {strings.Join(pos, " ")}, "namespace": {*ns}, "after": {*after}, "before": {*before}}
	w := m.Stdout
	var progress func(int, int)
	if *out != "" {
		// Write beside the target and rename at the end, so a failed export
		// never leaves a file that looks complete.
		tmp, err := os.CreateTemp(filepath.Dir(*out), ".export-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		w = tmp
		progress = progressPrinter(m.Stderr, "Exporting")
		start := time.Now()
		summary, err := b.Export(ctx, filter, f, w, progress)
		if err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return err
		}
		fmt.Fprintf(m.Stderr, "%s into %s in %s\n", summary, *out, time.Since(start).Round(time.Millisecond))
		return nil
	}
	_, err = b.Export(ctx, filter, f, w, nil)
	return err
}

// workspace shows the workspace settings, and changes those given as flags.
func (m *Main) workspace(ctx context.Context, args []string) error {
	fs, data := m.flagSet("workspace")
	name := fs.String("name", "", "rename the workspace")
	tz := fs.String("timezone", "", "show entries in this IANA timezone, e.g. Europe/Berlin (\"local\" for this computer's)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	b, err := m.open(*data, false)
	if err != nil {
		return err
	}
	defer b.Close()
	var w ui.Workspace
	if flagWasSet(fs, "name") || flagWasSet(fs, "timezone") {
		var newName, newTZ *string
		if flagWasSet(fs, "name") {
			newName = name
		}
		if flagWasSet(fs, "timezone") {
			if strings.EqualFold(*tz, "local") {
				*tz = ""
			}
			newTZ = tz
		}
		w, err = b.UpdateWorkspace(ctx, newName, newTZ)
	} else {
		w, err = b.Workspace(ctx)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Workspace: %s\nTimezone:  %s\nRetention: %d days\n", w.Name, w.Timezone, w.RetentionDays)
	return nil
}
