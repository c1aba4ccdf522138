package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"auditlog/app"
)

func (m *Main) search(ctx context.Context, args []string) error {
	fs, data := m.flagSet("search", "search [flags] [QUERY]",
		"Search entries, newest first. QUERY is the page's query language: words, \"quoted phrases\",\n-excluded words and qualifiers such as actor:, action:, namespace:, after: and before:.\nSee the Search section of the README for the whole syntax.")
	ns := fs.String("namespace", "", "only this namespace, e.g. api_tokens or \"API Tokens\"")
	limit := fs.Int("limit", 50, "at most this many entries (1 to 500)")
	cursor := fs.String("cursor", "", "the next page of the same search: the cursor the page before ended with")
	pos, err := m.parse(fs, args)
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > app.MaxLimit {
		return usageError{"search: --limit must be from 1 to 500"}
	}
	b, err := m.openExisting(*data, true)
	if err != nil {
		return err
	}
	loc, err := b.Location(ctx)
	if err != nil {
		return err
	}
	f, err := app.ParseFilter(url.Values{"q": {strings.Join(pos, " ")}, "namespace": {*ns}}, loc)
	if err != nil {
		return err
	}
	page, err := b.Search(ctx, f, *limit, *cursor)
	var aerr *app.Error
	if *cursor != "" && errors.As(err, &aerr) && aerr.Code == app.EINVALID && strings.HasPrefix(aerr.Message, "cursor") {
		return usageError{"search: --cursor takes the cursor a page of this search ended with"}
	}
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
		fmt.Fprintf(m.Stderr, "More entries match; for the next %d, run the same search with --cursor %s\n", *limit, page.Next)
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
