package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"auditlog/app"
)

func (m *Main) export(ctx context.Context, args []string) error {
	fs, data := m.flagSet("export", "export [flags] [QUERY]",
		"Export the entries a search finds, newest first, as CSV, JSON or NDJSON (which \"auditlog ingest\"\nreads back). QUERY is the query language of search; see the Search section of the README.")
	format := fs.String("format", "csv", "csv, json or ndjson")
	ns := fs.String("namespace", "", "only this namespace, e.g. api_tokens")
	after := fs.String("after", "", "only entries on or after this date (2026-11-01) or time")
	before := fs.String("before", "", "only entries before this date or time")
	out := fs.String("o", "", "write to this file instead of standard output")
	pos, err := m.parse(fs, args)
	if err != nil {
		return err
	}
	ef, err := app.ParseExportFormat(*format)
	if err != nil {
		return err
	}
	b, err := m.openExisting(*data)
	if err != nil {
		return err
	}
	loc, err := b.Location(ctx)
	if err != nil {
		return err
	}
	filter, err := app.ParseFilter(url.Values{"q": {strings.Join(pos, " ")}, "namespace": {*ns}, "after": {*after}, "before": {*before}}, loc)
	if err != nil {
		return err
	}
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
		summary, err := b.Export(ctx, filter, ef, w, progress)
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
	_, err = b.Export(ctx, filter, ef, w, nil)
	return err
}
