package app

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// ExportFormat is a file format an export can be written in.
type ExportFormat string

// Export formats.
const (
	CSV    ExportFormat = "csv"
	JSON   ExportFormat = "json"
	NDJSON ExportFormat = "ndjson"
)

// ParseExportFormat accepts csv, json or ndjson.
func ParseExportFormat(s string) (ExportFormat, error) {
	switch f := ExportFormat(strings.ToLower(strings.TrimSpace(s))); f {
	case CSV, JSON, NDJSON:
		return f, nil
	case "":
		return "", Errorf(EINVALID, "format: is required (csv, json or ndjson)")
	default:
		return "", Errorf(EINVALID, "format: %q is not csv, json or ndjson", s)
	}
}

// ContentType is the media type of the format.
func (f ExportFormat) ContentType() string {
	switch f {
	case CSV:
		return "text/csv; charset=utf-8"
	case NDJSON:
		return "application/x-ndjson"
	}
	return "application/json"
}

// CSVHeader lists the columns of a CSV export. The last came later, and so
// stands last: readers that count columns keep working.
var CSVHeader = []string{"timestamp", "timestamp_utc", "namespace", "action", "detail", "actor", "id", "targets", "ip", "metadata", "utc_offset"}

// csvTime is how the CSV writes an instant: a date, a space and a time of day
// in whole seconds, the one form that both Excel and LibreOffice Calc read as
// a date-time when they open a CSV. Both leave RFC 3339 (the T, a fraction of
// a second, an offset or Z) as text. The offset goes in its own column;
// the id column and the JSON formats keep the full precision.
const csvTime = "2006-01-02 15:04:05"

// ExportOptions say how an export is written and who takes it.
type ExportOptions struct {
	Format   ExportFormat
	Location *time.Location // the workspace timezone, for the CSV's timestamp column
	Actor    string         // who exports, for the audit_log_exported entry
	// Progress, if set, hears how many entries are written so far, of how
	// many (the count taken when the export began).
	Progress func(written, total int)
	// Counted, if set, hears that count before anything is written: a
	// server sends it ahead of the file, for its client's progress.
	Counted func(total int)
}

// ExportRange is the time range an export of q covers: from the later of its
// start and the retention cutoff, to its end or now.
func (l *Log) ExportRange(q Query) (from, to time.Time) {
	now := l.now()
	from, to = q.After, q.Before
	if cutoff := now.Add(-l.Retention()); from.IsZero() || from.Before(cutoff) {
		from = cutoff
	}
	if to.IsZero() || to.After(now) {
		to = now
	}
	// A range wholly before the retention window, or after now, holds
	// nothing: it is named as the empty range it is, not backwards.
	if from.After(to) {
		from = to
	}
	return from, to
}

// ExportFilename names the file an export of q is saved as, saying whose it is
// and what time it covers, in the workspace's timezone.
func (l *Log) ExportFilename(q Query, f ExportFormat, s Settings) string {
	from, to := l.ExportRange(q)
	loc := s.Location()
	return fmt.Sprintf("audit-log-%s-%s-%s.%s", s.Slug(), from.In(loc).Format("20060102T1504"), to.In(loc).Format("20060102T1504"), f)
}

// exportPage is how many entries are read per store transaction: a long read
// transaction would hold back the store's writers for the whole download.
const exportPage = MaxLimit

// Export writes every entry matching q, newest first, as the page lists them,
// reading page by page so memory stays flat whatever the size. Before the
// first byte it records who exports what as an audit_log_exported entry, so
// that no data leaves the log unrecorded, not even when the export is cut
// short; an export that ends early is recorded again as interrupted.
func (l *Log) Export(ctx context.Context, q Query, w io.Writer, opt ExportOptions) (int, error) {
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	// Words are looked up in the keyword index, which takes entries a
	// moment after the store: an export right after a write would leave out
	// entries its proof covers, as if filtered out, and its entry would
	// count too few (none at all, while the index is rebuilt). So the index
	// is waited for before the count, and again, briefly, for the entries
	// recorded since.
	waitIndex := func(through uint64) error {
		if !q.HasText() {
			return nil
		}
		err := l.waitIndexedFor(ctx, through)
		if err != nil {
			l.recordExport(ctx, q, opt, "audit_log_export_interrupted", 0, err.Error())
		}
		return err
	}
	now, err := l.store.Head(ctx)
	if err != nil {
		return 0, err
	}
	if err := waitIndex(now.Seq); err != nil {
		return 0, err
	}
	expected := 0
	tally, err := l.Tally(ctx, q)
	if err != nil {
		return 0, err
	}
	for _, n := range tally {
		expected += n
	}
	if opt.Counted != nil {
		opt.Counted(expected)
	}
	record, err := l.recordExport(ctx, q, opt, "audit_log_exported", expected, "")
	if code := ErrorCode(err); code != EINTERNAL && code != "" {
		return 0, Errorf(code, "nothing was exported: an export is recorded in the log before it is sent, and the log could not record it: %s", ErrorMessage(err))
	}
	if err != nil {
		return 0, err
	}
	// The export is the log as of a fresh signed checkpoint, which its own
	// entry is under: what it holds can be proven, and nothing recorded while
	// it streams slips in unsigned.
	head, err := l.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	if err := waitIndex(head.Seq); err != nil {
		return 0, err
	}
	var from uint64 = 1
	if a, ok, err := anchorOf(ctx, l.store); err != nil {
		return 0, err
	} else if ok {
		from = a.Seq + 1
	}
	seqs := newExportedSeqs(from, head.Seq)

	bw := bufio.NewWriterSize(w, 64<<10)
	enc := newEncoder(opt.Format, bw, opt.Location)
	written := 0
	err = enc.begin()
	cursor := ""
	for err == nil {
		var page Page
		page, err = l.Search(ctx, q, cursor, exportPage)
		if err != nil {
			break
		}
		for i := range page.Events {
			if page.Events[i].ID == record.ID || (head.Seq > 0 && page.Events[i].Seq > head.Seq) {
				continue // its own entry is not part of what it exports, nor what came after
			}
			seqs.add(page.Events[i].Seq)
			if err = enc.write(&page.Events[i]); err != nil {
				break
			}
			written++
		}
		if err == nil && opt.Progress != nil {
			opt.Progress(written, max(expected, written))
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	var proof *Proof
	if err == nil && opt.Format != CSV {
		proof, err = l.buildProof(ctx, q, seqs, head)
	}
	if err == nil {
		err = enc.end(proof)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		l.recordExport(ctx, q, opt, "audit_log_export_interrupted", written, err.Error())
	}
	return written, err
}

// exportIndexWait bounds how long an export with words waits for the index
// to take the entries it is to hold: an import of a million takes about a
// minute to index.
const exportIndexWait = 2 * time.Minute

// waitIndexedFor waits, up to exportIndexWait, for the index to hold every
// entry up to sequence number through.
func (l *Log) waitIndexedFor(ctx context.Context, through uint64) error {
	wctx, cancel := context.WithTimeout(ctx, exportIndexWait)
	defer cancel()
	err := l.waitIndexed(wctx, through)
	switch {
	case err == nil || ctx.Err() != nil:
		return err
	case wctx.Err() != nil:
		return Errorf(EUNAVAILABLE, "the keyword index has not yet taken every entry recorded before this export (it is behind after a large import, or rebuilding), so a search by words would leave some out: retry in a few minutes, or export without words")
	default:
		return Errorf(EUNAVAILABLE, "the keyword index cannot take the newest entries (%v), so a search by words would leave some out: export without words, or see /healthz", err)
	}
}

// recordExport records an export (action) of q, or its interruption, and
// how many entries it holds. It is recorded whatever becomes of ctx, which
// says only which API token, if any, exports.
func (l *Log) recordExport(ctx context.Context, q Query, opt ExportOptions, action string, count int, failure string) (Event, error) {
	from, to := l.ExportRange(q)
	filter := trimAfterDates(q.String())
	verb := "Exported"
	if failure != "" {
		verb = "Interrupted an export after"
	}
	detail := fmt.Sprintf("%s %s as %s (filter: %s; from %s to %s)", verb, Plural(count, "entry", "entries"), strings.ToUpper(string(opt.Format)),
		filter, from.In(opt.Location).Format("2006-01-02 15:04 MST"), to.In(opt.Location).Format("2006-01-02 15:04 MST"))
	if len(detail) > MaxDetailBytes {
		detail = strings.ToValidUTF8(detail[:MaxDetailBytes-3], "") + "..."
	}
	meta := map[string]string{"format": string(opt.Format), "count": fmt.Sprint(count), "from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339)}
	if f := q.String(); f != "" && len(f) <= maxMetaValue {
		meta["query"] = f
	}
	if failure != "" && len(failure) <= maxMetaValue {
		meta["error"] = failure
	}
	record := []Event{{
		Namespace: Spaces,
		Action:    action,
		Detail:    detail,
		Actor:     opt.Actor,
		Targets:   []Target{{Type: "audit_log", Name: "Audit Log"}},
		Metadata:  meta,
	}}
	stampActingToken(ctx, record)
	out, err := l.Record(context.Background(), record)
	if err != nil {
		return Event{}, fmt.Errorf("app: unable to record the export: %w", err)
	}
	return out[0], nil
}

// Plural is n with the word that goes with it: "1 entry", "2 entries".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// trimAfterDates drops the after:/before: parts of a rendered query: the detail
// states the range once, in the workspace's timezone.
func trimAfterDates(s string) string {
	if s == "" {
		return "everything"
	}
	var keep []string
	for _, part := range strings.Fields(s) {
		if !strings.HasPrefix(part, "after:") && !strings.HasPrefix(part, "before:") {
			keep = append(keep, part)
		}
	}
	if len(keep) == 0 {
		return "everything"
	}
	return strings.Join(keep, " ")
}

type encoder interface {
	begin() error
	write(*Event) error
	end(*Proof) error
}

func newEncoder(f ExportFormat, w *bufio.Writer, loc *time.Location) encoder {
	switch f {
	case CSV:
		cw := csv.NewWriter(w)
		cw.UseCRLF = true // RFC 4180
		return &csvEncoder{w: w, cw: cw, loc: loc}
	case NDJSON:
		return &jsonEncoder{w: w, lines: true}
	default:
		return &jsonEncoder{w: w}
	}
}

type jsonEncoder struct {
	w     *bufio.Writer
	lines bool
	n     int
}

// A JSON export has the shape of an API page, {"events": [...]}, with the
// proof beside the events; NDJSON has an entry a line and the proof last.
func (e *jsonEncoder) begin() error {
	if e.lines {
		return nil
	}
	_, err := e.w.WriteString(`{"events":[`)
	return err
}

func (e *jsonEncoder) write(ev *Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	switch {
	case e.lines:
	case e.n == 0:
		e.w.WriteString("\n")
	default:
		e.w.WriteString(",\n")
	}
	e.n++
	e.w.Write(b)
	if e.lines {
		return e.w.WriteByte('\n')
	}
	return nil
}

func (e *jsonEncoder) end(p *Proof) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if e.lines {
		if p == nil {
			return nil
		}
		e.w.WriteString(`{"proof":`)
		e.w.Write(b)
		_, err = e.w.WriteString("}\n")
		return err
	}
	e.w.WriteString("\n],\n\"proof\":")
	e.w.Write(b)
	_, err = e.w.WriteString("}\n")
	return err
}

type csvEncoder struct {
	w   *bufio.Writer
	cw  *csv.Writer
	loc *time.Location
	row []string
}

func (e *csvEncoder) begin() error {
	// A byte order mark makes spreadsheet programs read the file as UTF-8.
	if _, err := e.w.WriteString("\uFEFF"); err != nil {
		return err
	}
	return e.cw.Write(CSVHeader)
}

func (e *csvEncoder) write(ev *Event) error {
	var targets, meta string
	if len(ev.Targets) > 0 {
		b, _ := json.Marshal(ev.Targets)
		targets = string(b)
	}
	if len(ev.Metadata) > 0 {
		b, _ := json.Marshal(ev.Metadata)
		meta = string(b)
	}
	e.row = append(e.row[:0],
		ev.Timestamp.In(e.loc).Format(csvTime),
		ev.Timestamp.UTC().Format(csvTime),
		ev.Namespace.DisplayName(),
		ev.Action,
		ev.Detail,
		ev.Actor,
		ev.ID,
		targets,
		ev.IP,
		meta,
		// Written "UTC+01:00", not "+01:00", which a spreadsheet would read as a formula.
		"UTC"+ev.Timestamp.In(e.loc).Format("-07:00"),
	)
	for i := range e.row {
		e.row[i] = NeutralizeCell(e.row[i])
	}
	return e.cw.Write(e.row)
}

// A CSV export has no proof: its timestamps are rounded to whole seconds for
// spreadsheets, so its rows cannot reproduce the entries' hashes.
func (e *csvEncoder) end(*Proof) error {
	e.cw.Flush()
	return e.cw.Error()
}

// NeutralizeCell keeps a spreadsheet from running a cell as a formula: text
// starting with = + - @, a tab or a carriage return gets a leading apostrophe,
// which spreadsheets show as plain text. Timestamps never start so.
func NeutralizeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
