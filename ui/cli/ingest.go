package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"auditlog/app"
)

// ingest imports NDJSON. Every line is checked first, as the API checks
// events, and a file with a bad line is refused whole, naming its lines:
// nothing of it is recorded. Then it is recorded in batches, each all or
// nothing like an API request; an import cut short (the server went away,
// say) keeps the batches before, and re-running it is safe for events with
// ids.
func (m *Main) ingest(ctx context.Context, args []string) error {
	fs, data := m.flagSet("ingest", "ingest [flags] FILE|-",
		"Import NDJSON events (one JSON object a line). Every line is checked as the API checks events\nbefore any is recorded; then they are recorded in batches of up to 1000. Events with ids are not\nduplicated. An export file is first checked against the proof it ends with.")
	unverified := fs.Bool("unverified", false, "import an export file even though it does not verify against its proof, or has none")
	pos, err := m.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"ingest: give one NDJSON file, or - for standard input"}
	}
	dir, err := m.dataDir(*data)
	if err != nil {
		return err
	}
	f, err := m.ingestFile(ctx, pos[0], dir)
	if err != nil {
		return err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	if err := m.checkExportProof(f, pos[0], size, *unverified); err != nil {
		return err
	}
	// Into a new log, the file is checked before the log is made (with the
	// retention a new log has): a refused file leaves nothing behind.
	fresh := !holdsLog(dir)
	if fresh {
		if err := m.checkEvents(f, pos[0], size, time.Now().Add(-app.DefaultRetention)); err != nil {
			return err
		}
	}
	b, err := m.open(*data, false)
	if err != nil {
		return err
	}
	cutoff, err := b.Cutoff(ctx)
	if err != nil {
		return err
	}
	if !fresh {
		if err := m.checkEvents(f, pos[0], size, cutoff); err != nil {
			return err
		}
	}

	// done counts the events sent; recorded, the entries they added.
	var done, recorded, expired int
	var conflicts []string // "line N (id X)": another event under an id in use, not recorded
	start := time.Now()
	progress := m.ingestProgress("Ingesting", size)
	defer progress.end()
	err = eachBatch(f, func(lines []string, lineNos []int, read int64) error {
		events, err := app.DecodeEvents(strings.NewReader(strings.Join(lines, "\n")), true)
		if err == nil {
			var lineOf []int
			events, lineOf = dropExpired(events, cutoff, &expired)
			if len(events) > 0 {
				var stored []app.Event
				var added int
				var differs []bool
				stored, added, differs, err = b.Record(ctx, events)
				done += len(stored)
				recorded += added
				for j, d := range differs {
					if d {
						conflicts = append(conflicts, fmt.Sprintf("line %d (id %s)", lineNos[lineOf[j]], events[j].ID))
					}
				}
				if e, ok := err.(*app.Error); ok {
					for i := range e.Details {
						e.Details[i].Index = lineOf[e.Details[i].Index]
					}
				}
			}
		}
		if err != nil {
			progress.end()
			return lineError(err, lineNos, done)
		}
		progress.report(done, read)
		return nil
	})
	if err != nil {
		return err
	}
	progress.end()
	fmt.Fprintf(m.Stderr, "Ingested %s in %s\n", app.Plural(recorded, "event", "events"), time.Since(start).Round(time.Millisecond))
	if existing := done - recorded - len(conflicts); existing == 1 {
		fmt.Fprintln(m.Stderr, "1 event was stored already (its id was) and was not recorded again.")
	} else if existing > 1 {
		fmt.Fprintf(m.Stderr, "%d events were stored already (their ids were) and were not recorded again.\n", existing)
	}
	if expired > 0 {
		fmt.Fprintf(m.Stderr, "Skipped %d events older than the retention window (they would be purged at once).\n", expired)
	}
	if len(conflicts) > 0 {
		// Said last, and as a failure: each is an event of the file that
		// is not in the log, and a script must not take the import as whole.
		shown := conflicts[:min(len(conflicts), maxLineErrors)]
		more := ""
		if len(conflicts) > len(shown) {
			more = fmt.Sprintf("\n  and %d more", len(conflicts)-len(shown))
		}
		return fmt.Errorf("ingest: %s not recorded: this log already has another entry under each one's id (merged from another log, its ids may be this one's own); give each an id of its own, or none, and ingest those lines again:\n  %s%s",
			app.Plural(len(conflicts), "event was", "events were"), strings.Join(shown, "\n  "), more)
	}
	return nil
}

// ingestFile opens what ingest reads as a file it can read twice, once to
// check and once to record: standard input is kept in a temporary file in
// the data directory (the disk that is to hold the events anyway, where a
// temporary directory in memory could not hold a large import), or in the
// temporary directory for a log yet to be made; it is removed when the
// command ends.
func (m *Main) ingestFile(ctx context.Context, name, dir string) (*os.File, error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		m.onClose(f.Close)
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, usageError{fmt.Sprintf("ingest: %s is a directory; give an NDJSON file", name)}
		}
		return f, nil
	}
	spool := dir
	if _, err := os.Stat(dir); err != nil {
		spool = "" // no directory is made for input that may be refused
	}
	f, err := os.CreateTemp(spool, ".ingest-*.ndjson")
	if err != nil {
		return nil, err
	}
	// Unlinked at once, where the system allows it (not Windows): the open
	// file still reads, and nothing of the input is left on disk when the
	// command ends in any way, kill -9 included: a spool left behind would
	// keep audit text past the retention that purges it from the log.
	if os.Remove(f.Name()) == nil {
		m.onClose(f.Close)
	} else {
		m.onClose(func() error { f.Close(); return os.Remove(f.Name()) })
	}
	// A read of standard input does not hear Ctrl-C: the copy is left to
	// itself then, and the file removed as the command ends.
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(f, m.Stdin)
		copied <- err
	}()
	select {
	case err := <-copied:
		if err != nil {
			return nil, fmt.Errorf("ingest: reading standard input: %w", err)
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	_, err = f.Seek(0, io.SeekStart)
	return f, err
}

// checkEvents reads every event of f as recording it would, and refuses the
// file if any breaks a rule, naming up to maxLineErrors of its lines.
func (m *Main) checkEvents(f *os.File, name string, size int64, cutoff time.Time) error {
	now := time.Now()
	retention := now.Sub(cutoff)
	var shown []app.FieldError // by the file's line numbers
	badLines, broken, events, expired := 0, 0, 0, 0
	progress := m.ingestProgress("Checking every line", size)
	defer progress.end()
	err := eachBatch(f, func(lines []string, lineNos []int, read int64) error {
		if events == 0 && notNDJSON(lines[0]) {
			return fmt.Errorf("ingest: %s holds JSON, not NDJSON (one event a line): export with --format ndjson, or turn a JSON export into NDJSON with jq -c '.events[]' and import that with --unverified, once auditlog verify --file has checked the JSON export against its proof", name)
		}
		details, err := checkBatch(lines, now, retention, cutoff, &expired)
		if err != nil {
			return fmt.Errorf("ingest: lines %d to %d of %s: %w; nothing was recorded", lineNos[0], lineNos[len(lineNos)-1], name, err)
		}
		events += len(lines)
		last := -1
		for _, d := range details {
			if d.Index != last {
				badLines++
				last = d.Index
			}
			broken++
			if len(shown) < maxLineErrors {
				d.Index = lineNos[d.Index]
				shown = append(shown, d)
			}
		}
		progress.report(events, read)
		return nil
	})
	progress.end()
	if err != nil || badLines == 0 {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ingest: %d of the %d events in %s break a rule, so nothing was recorded; fix these lines and run it again:", badLines, events, name)
	writeBrokenRules(&b, shown, broken)
	return errors.New(b.String())
}

// checkBatch returns every rule the events of lines break, each against its
// line's place in lines. A line that does not read as an event is told of
// alone, and the others are still checked: the batch is read again line by
// line, so that one run names every bad line.
func checkBatch(lines []string, now time.Time, retention time.Duration, cutoff time.Time, expired *int) ([]app.FieldError, error) {
	decoded, err := app.DecodeEvents(strings.NewReader(strings.Join(lines, "\n")), true)
	if err == nil {
		var details []app.FieldError
		var lineOf []int
		decoded, lineOf = dropExpired(decoded, cutoff, expired)
		for i := range decoded {
			details = append(details, decoded[i].Normalize(lineOf[i], now, retention)...)
		}
		return details, nil
	}
	e, ok := err.(*app.Error)
	if !ok || len(e.Details) == 0 {
		return nil, err
	}
	if len(lines) == 1 {
		return e.Details, nil
	}
	var details []app.FieldError
	for i, line := range lines {
		one, err := checkBatch([]string{line}, now, retention, cutoff, expired)
		if err != nil {
			return nil, err
		}
		for _, d := range one {
			d.Index = i
			details = append(details, d)
		}
	}
	return details, nil
}

// maxLineErrors is how many broken rules a refused file or batch is told of.
const maxLineErrors = 20

// batchBytes bounds the lines of one batch: a request to a server takes
// at most 5 MiB, and the events are encoded again to be sent.
const batchBytes = 4 << 20

// eachBatch reads f from its start in batches of lines as one request takes
// them, each with the file's line numbers and how far into the file it is.
func eachBatch(f *os.File, each func(lines []string, lineNos []int, read int64) error) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	counter := &countingReader{r: f}
	r := bufio.NewReaderSize(counter, 64<<10)
	var lines []string
	var lineNos []int
	lineNo, bytes := 0, 0
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		err := each(lines, lineNos, counter.n-int64(r.Buffered()))
		lines, lineNos, bytes = lines[:0], lineNos[:0], 0
		return err
	}
	for {
		raw, err := readLine(r, maxLine)
		if err == io.EOF {
			break
		}
		lineNo++
		if err != nil {
			return fmt.Errorf("ingest: reading line %d: %w", lineNo, err)
		}
		line := strings.TrimSpace(string(raw))
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" {
			continue
		}
		if len(lines) == app.MaxBatch || bytes+len(line) > batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		lines, lineNos = append(lines, line), append(lineNos, lineNo)
		bytes += len(line) + 1
	}
	return flush()
}

// ingestProgress reports a pass over a file on one terminal line, once it
// has run a fifth of a second; end ends the line before anything else is
// said: on a terminal \r would leave the longer line's tail.
func (m *Main) ingestProgress(what string, size int64) *lineProgress {
	return &lineProgress{w: m.Stderr, what: what, size: size, last: time.Now()}
}

type lineProgress struct {
	w        io.Writer
	what     string
	size     int64
	last     time.Time
	reported bool
}

func (p *lineProgress) report(events int, read int64) {
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last, p.reported = time.Now(), true
	if p.size > 0 {
		fmt.Fprintf(p.w, "\r%s: %d events (%d%%)", p.what, events, min(100, read*100/p.size))
	} else {
		fmt.Fprintf(p.w, "\r%s: %d events", p.what, events)
	}
}

func (p *lineProgress) end() {
	if p.reported {
		fmt.Fprintln(p.w)
		p.reported = false
	}
}

// checkExportProof checks an export file against its proof before any of
// it is imported: restoring a workspace from an export whose entries were
// edited would give them a new, unbroken chain, and the edit would never be
// found again. The proof is checked with the key it names, which shows the
// file unchanged since it was signed, though not by whom: that key is
// printed, to compare with the key of the log it came from. A file with a
// proof line anywhere is an export, and must verify whole (a line added
// after the proof is found so); a file with none is a file of events,
// imported as it is. The file is left at its start.
func (m *Main) checkExportProof(f *os.File, path string, size int64, unverified bool) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	last, found, err := lastProofLine(f)
	if err == nil && !found {
		// Events that carry their place in a chain come from an export:
		// one without its proof was cut short, or had it cut off.
		head := make([]byte, 64<<10)
		n, _ := f.ReadAt(head, 0)
		if looksExported(head[:n]) {
			if !unverified {
				return fmt.Errorf("ingest: %s holds entries of a log (they carry prev_hash and hash) without the proof line an NDJSON export ends with, so nothing was imported: an export cut short, or its proof removed, could hold edited entries. Export it again; or, for entries read from the API or converted from a JSON export, --unverified imports them all the same", path)
			}
			fmt.Fprintln(m.Stderr, "The export has no proof line to check it against; importing it anyway, as --unverified asks.")
		}
	}
	if err != nil || !found {
		if _, serr := f.Seek(0, io.SeekStart); err == nil {
			err = serr
		}
		return err
	}
	var pl struct {
		Proof struct {
			PublicKey string `json:"public_key"`
		} `json:"proof"`
	}
	_ = json.Unmarshal(last, &pl) // a proof that does not read is found so below
	key, keyErr := app.ParsePublicKey(pl.Proof.PublicKey)
	var v app.ExportVerification
	if keyErr == nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r := &progressReader{r: f, size: size, last: time.Now(), report: func(done, size int64, end bool) {
			fmt.Fprintf(m.Stderr, "\rChecking the export's proof: %d%%", min(100, done*100/max(size, 1)))
			if end {
				fmt.Fprintln(m.Stderr)
			}
		}}
		v, err = app.VerifyExport(r, key)
		r.end()
	}
	if _, serr := f.Seek(0, io.SeekStart); serr != nil {
		return serr
	}
	switch {
	case keyErr != nil:
		err = fmt.Errorf("its proof names no public key it could be checked with (%v)", keyErr)
	case err == nil && !v.Intact():
		printExportVerification(m.Stderr, path, &v)
		err = v.Break
	}
	if err != nil {
		if unverified {
			fmt.Fprintf(m.Stderr, "The export does not verify against its proof (%v); importing it anyway, as --unverified asks.\n", err)
			return nil
		}
		return fmt.Errorf("ingest: %s does not verify against its proof (%v), so nothing was imported: the entries may have been edited. Check it with auditlog verify --file and the key of the log it came from; --unverified imports it all the same", path, err)
	}
	fmt.Fprintf(m.Stderr, "The export verifies against its proof, signed by %s: compare it with the key of the log it came from (auditlog verify --public-key there).\n", pl.Proof.PublicKey)
	return nil
}

// lastProofLine finds the last proof line of the file, wherever it is, in
// one pass that keeps no line (a proof line can be tens of MB), then reads
// that one.
func lastProofLine(f *os.File) (line []byte, found bool, err error) {
	r := bufio.NewReaderSize(f, 64<<10)
	var at, start, end int64
	atLineStart, inProof := true, false
	for {
		chunk, err := r.ReadSlice('\n')
		if atLineStart {
			if inProof = app.IsProofLine(bytes.TrimLeft(chunk, " \t")); inProof {
				start, found = at, true
			}
		}
		at += int64(len(chunk))
		atLineStart = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if inProof {
			end = at
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	if !found {
		return nil, false, nil
	}
	line = make([]byte, end-start)
	if _, err := f.ReadAt(line, start); err != nil {
		return nil, false, err
	}
	return bytes.TrimSpace(line), true, nil
}

// looksExported tells whether the start of a stream is an export's: an
// entry with its place in a chain, or the proof of an export of none.
func looksExported(head []byte) bool {
	first, _, _ := bytes.Cut(bytes.TrimLeft(head, " \t\r\n\uFEFF"), []byte("\n"))
	return app.IsProofLine(first) || bytes.Contains(first, []byte(`"prev_hash":`))
}

// notNDJSON tells whether a file's first line shows it to be one JSON
// document rather than an event a line: a JSON export (its events, however
// indented), or an array of events.
func notNDJSON(first string) bool {
	first = strings.TrimPrefix(first, "\uFEFF")
	return strings.HasPrefix(first, "[") || first == "{" || app.StartsJSONExport([]byte(first))
}

// maxLine bounds an event's line: far above any event the API takes (one
// request is at most 5 MiB).
const maxLine = 8 << 20

// readLine returns r's next line without its newline (io.EOF once there are
// none), or an error for a line longer than limit. An export's proof line
// comes back empty, read past rather than held: it grows with the log, not
// the export (the digests of the entries an export leaves out, about 40
// bytes each: 39 MB for two days of a month of a million), and ingest takes
// exports back as they are.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	proof := false
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line) == 0 && !proof && app.IsProofLine(bytes.TrimLeft(chunk, " \t")) {
			proof = true
		}
		if !proof {
			if len(line)+len(chunk) > limit+1 {
				return nil, fmt.Errorf("the line is longer than %d MiB", limit>>20)
			}
			line = append(line, chunk...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(line) > 0 || proof):
			return bytes.TrimSuffix(line, []byte("\n")), nil
		case err != nil:
			return nil, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), nil
	}
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
func lineError(err error, lineNos []int, done int) error {
	e, ok := err.(*app.Error)
	if !ok || len(e.Details) == 0 {
		return fmt.Errorf("ingest stopped after %d events: %w", done, err)
	}
	shown := make([]app.FieldError, 0, maxLineErrors)
	for _, d := range e.Details[:min(len(e.Details), maxLineErrors)] {
		d.Index = lineNos[d.Index]
		shown = append(shown, d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ingest stopped after %d events; this batch was not recorded:", done)
	writeBrokenRules(&b, shown, len(e.Details))
	return errors.New(b.String())
}

// writeBrokenRules lists broken rules by the file's line numbers (their
// Index), and says how many of total it leaves out.
func writeBrokenRules(b *strings.Builder, shown []app.FieldError, total int) {
	for _, d := range shown {
		fmt.Fprintf(b, "\n  line %d: %s", d.Index, fieldMessage(d))
	}
	if more := total - len(shown); more > 0 {
		fmt.Fprintf(b, "\n  … and %d more", more)
	}
}

// fieldMessage says what is wrong with a field, or with the whole line
// when no one field is to blame ("is not a JSON object").
func fieldMessage(d app.FieldError) string {
	if d.Field == "" {
		return "the line " + d.Message
	}
	return d.Field + " " + d.Message
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
