package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"auditlog/app"
)

// ingest imports NDJSON in batches, each recorded all or nothing like an API
// request. The first bad batch stops the import and says which line is wrong;
// the batches before it stay recorded, and re-running is safe for events with ids.
func (m *Main) ingest(ctx context.Context, args []string) error {
	fs, data := m.flagSet("ingest", "ingest [flags] FILE|-",
		"Import NDJSON events (one JSON object a line), checked as the API checks them,\nin batches of 1000 recorded all or nothing. Events with ids are not duplicated.")
	pos, err := m.parse(fs, args)
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
	cutoff, err := b.Cutoff(ctx)
	if err != nil {
		return err
	}

	counter := &countingReader{r: in}
	r := bufio.NewReaderSize(counter, 64<<10)
	var lines []string
	var lineNos []int // the file line of each event in lines
	// done counts the events sent; recorded, the entries they added.
	var lineNo, done, recorded, seen, expired int
	start := time.Now()
	lastReport := start // an ingest done within a fifth of a second shows no progress
	// The progress line is ended before anything else is said, an error
	// too: on a terminal \r would leave the longer line's tail, and in a
	// log there is no going back over it.
	reported := false
	endProgress := func() {
		if reported {
			fmt.Fprintln(m.Stderr)
			reported = false
		}
	}
	defer endProgress()
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
				var added int
				stored, added, err = b.Record(ctx, events)
				done += len(stored)
				recorded += added
				if e, ok := err.(*app.Error); ok {
					for i := range e.Details {
						e.Details[i].Index = lineOf[e.Details[i].Index]
					}
				}
			}
		}
		if err != nil {
			return lineError(err, lineNos, done)
		}
		lines, lineNos = lines[:0], lineNos[:0]
		if time.Since(lastReport) > 200*time.Millisecond {
			lastReport, reported = time.Now(), true
			if size > 0 {
				fmt.Fprintf(m.Stderr, "\rIngesting: %d events (%d%%)", done, counter.n*100/size)
			} else {
				fmt.Fprintf(m.Stderr, "\rIngesting: %d events", done)
			}
		}
		return nil
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
	if err := flush(); err != nil {
		return err
	}
	endProgress()
	fmt.Fprintf(m.Stderr, "Ingested %d events in %s\n", recorded, time.Since(start).Round(time.Millisecond))
	if existing := done - recorded; existing == 1 {
		fmt.Fprintln(m.Stderr, "1 event was stored already (its id was) and was not recorded again.")
	} else if existing > 1 {
		fmt.Fprintf(m.Stderr, "%d events were stored already (their ids were) and were not recorded again.\n", existing)
	}
	if expired > 0 {
		fmt.Fprintf(m.Stderr, "Skipped %d events older than the retention window (they would be purged at once).\n", expired)
	}
	return nil
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
	var b strings.Builder
	fmt.Fprintf(&b, "ingest stopped after %d events; this batch was not recorded:", done)
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
