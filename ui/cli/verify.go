package cli

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"auditlog/app"
	"auditlog/app/store"
)

// verify checks that nobody edited, removed, inserted or reordered entries:
// in a data directory (or the server that holds it), or in an export file.
func (m *Main) verify(ctx context.Context, args []string) error {
	fs, data := m.flagSet("verify", "verify [--data DIR] | verify --file EXPORT.ndjson --public-key KEY | verify --public-key",
		"Walk the tamper-evident chain and its signed checkpoints and say what was checked and whether it is intact.\n"+
			"Exit status 0 when intact, 1 when not. With --public-key alone, print the key checkpoints are signed with.")
	file := fs.String("file", "", "verify an NDJSON export offline instead of a data directory (- reads it from standard input)")
	keyFlag := fs.String("public-key", "", "the key to check signatures with (ed25519:BASE64): the export's, or the data directory's checkpoints must be signed with it; alone, print this data directory's key")
	// "--public-key" alone asks for the key rather than giving one.
	printKey := false
	for i, a := range args {
		if (a == "--public-key" || a == "-public-key") && (i == len(args)-1 || strings.HasPrefix(args[i+1], "-")) {
			args = append(slices.Clone(args[:i]), args[i+1:]...)
			printKey = true
			break
		}
	}
	if err := m.parseNone(fs, args); err != nil {
		return err
	}
	if *file != "" {
		return m.verifyExport(*file, *keyFlag)
	}
	dir, err := m.dataDir(*data)
	if err != nil {
		return err
	}
	if printKey {
		return m.printPublicKey(ctx, dir)
	}
	// A key given is the one an auditor trusts: the checkpoints must be
	// signed with it, not merely with the key the data directory holds.
	var trusted ed25519.PublicKey
	if *keyFlag != "" {
		if trusted, err = app.ParsePublicKey(*keyFlag); err != nil {
			return usageError{fmt.Sprintf("verify: --public-key: %v", err)}
		}
	}
	var v app.Verification
	if r, ok := m.remote(dir); ok {
		in, err := r.c.Integrity(ctx)
		if err != nil {
			return err
		}
		if trusted != nil {
			if key, err := app.ParsePublicKey(in.PublicKey); err != nil || !key.Equal(trusted) {
				return fmt.Errorf("the log's checkpoints are signed with %s, not with the key given: this is not the log that key belongs to, or its key was replaced", in.PublicKey)
			}
		}
		v = in.Verification
	} else {
		st, key, err := m.openStoreAndKey(dir)
		if err != nil {
			return err
		}
		if trusted != nil {
			key = trusted
		}
		fmt.Fprintf(m.Stderr, "Using the data directory %s\n", dir)
		progress, end := slowProgress(m.Stderr, "Verifying the chain")
		v, err = app.VerifyChainReporting(ctx, st, key, time.Now(), progress)
		end()
		if err != nil {
			return err
		}
	}
	printVerification(m.Stdout, &v)
	if !v.Intact() {
		return errBroken
	}
	return nil
}

var errBroken = errors.New("the chain is broken")

// openStoreAndKey opens the store alone (verifying needs no index) and reads
// the public half of its signing key, if it has one.
func (m *Main) openStoreAndKey(dir string) (*store.Store, ed25519.PublicKey, error) {
	if !holdsLog(dir) {
		return nil, nil, noLogError(dir)
	}
	st, err := m.openStore(dir)
	if err != nil {
		return nil, nil, inUseError(dir, err)
	}
	m.onClose(st.Close)
	key, err := store.PublicKey(dir)
	if err != nil {
		return nil, nil, err
	}
	return st, key, nil
}

func (m *Main) printPublicKey(ctx context.Context, dir string) error {
	if r, ok := m.remote(dir); ok {
		in, err := r.c.Integrity(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, in.PublicKey)
		return nil
	}
	key, err := store.PublicKey(dir)
	if err != nil {
		return err
	}
	if key == nil {
		return fmt.Errorf("the data directory %s has no signing key yet (it is made when the Audit Log first starts)", dir)
	}
	fmt.Fprintln(m.Stdout, app.EncodePublicKey(key))
	return nil
}

func (m *Main) verifyExport(path, keyText string) error {
	if keyText == "" {
		return usageError{"verify --file needs --public-key: the key of the Audit Log that made the export (auditlog verify --public-key prints it)"}
	}
	key, err := app.ParsePublicKey(keyText)
	if err != nil {
		return err
	}
	var in io.Reader = m.Stdin
	var size int64
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if info, err := f.Stat(); err == nil && info.IsDir() {
			return usageError{fmt.Sprintf("verify: --file %s is a directory; give an NDJSON export, or - for standard input", path)}
		} else if err == nil && info.Mode().IsRegular() {
			size = info.Size()
		}
		in = f
	}
	defaultGC(m.Getenv)
	r := &progressReader{r: in, size: size, last: time.Now(), report: func(done, size int64, end bool) {
		unit, shift := "MB", 20
		if size < 10<<20 {
			unit, shift = "KB", 10
		}
		fmt.Fprintf(m.Stderr, "\rVerifying: %d of %d %s read (%d%%)", done>>shift, size>>shift, unit, min(100, done*100/max(size, 1)))
		if end {
			fmt.Fprintln(m.Stderr)
		}
	}}
	v, err := app.VerifyExport(r, key)
	r.end()
	if err != nil {
		return err
	}
	printExportVerification(m.Stdout, path, &v)
	if !v.Intact() {
		return errBroken
	}
	return nil
}

// progressReader reports, a few times a second, how much of a file of size
// bytes has been read, when that is known; a file read within the first
// fifth of a second says nothing.
type progressReader struct {
	r      io.Reader
	size   int64
	done   int64
	last   time.Time
	said   bool
	report func(done, size int64, end bool)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.size > 0 && time.Since(p.last) >= 200*time.Millisecond {
		p.last = time.Now()
		p.report(p.done, p.size, false)
		p.said = true
	}
	return n, err
}

// end ends the progress line, if one was begun.
func (p *progressReader) end() {
	if p.said {
		p.report(p.done, p.size, true)
	}
}

func printVerification(w io.Writer, v *app.Verification) {
	fmt.Fprintf(w, "Checked %s", app.Plural(v.Entries, "entry", "entries"))
	if v.Purged > 0 {
		fmt.Fprintf(w, " and followed %d purged ones by their digest", v.Purged)
	}
	if v.To > 0 {
		fmt.Fprintf(w, ", sequence %d to %d", v.From, v.To)
	}
	if v.Took != "" {
		fmt.Fprintf(w, ", in %s (%.0f entries/s)", v.Took, v.Rate)
	}
	fmt.Fprintln(w)
	if v.Anchored {
		fmt.Fprintf(w, "Started from the signed anchor before sequence %d (older entries were purged)\n", v.From)
	}
	if v.Head != "" {
		fmt.Fprintf(w, "Chain head: %s\n", v.Head)
	}
	if v.Key != "" {
		fmt.Fprintf(w, "Checkpoints: %d matched, signed up to sequence %d by %s\n", v.Checkpoints, v.Signed, v.Key)
	}
	if v.Unsigned > 0 {
		fmt.Fprintf(w, "Not yet signed: the last %d entries (the next checkpoint signs them)\n", v.Unsigned)
	}
	printOutcome(w, v.Break)
}

func printOutcome(w io.Writer, b *app.Break) {
	if b == nil {
		fmt.Fprintln(w, "intact")
		return
	}
	fmt.Fprintf(w, "BROKEN (%s) at sequence %d", b.Kind, b.Seq)
	if b.ID != "" {
		fmt.Fprintf(w, ", entry %s", b.ID)
	}
	fmt.Fprintf(w, ": %s\n", b.Message)
	if b.Expected != "" || b.Found != "" {
		fmt.Fprintf(w, "  expected %s\n  found    %s\n", b.Expected, b.Found)
	}
}

func printExportVerification(w io.Writer, path string, v *app.ExportVerification) {
	fmt.Fprintf(w, "Checked %s of %s, sequence %d to %d, against %s\n", app.Plural(v.Entries, "entry", "entries"), path, v.From, v.To, app.Plural(v.Checkpoints, "signed checkpoint", "signed checkpoints"))
	if v.Intact() {
		switch {
		case !v.Listed:
			fmt.Fprintf(w, "Its seal, signed %s by an earlier release, says it holds %d entries from sequence %d to %d; it does not name them, so an entry of that stretch swapped for another would not be found.\n", v.Sealed.Format(time.RFC3339), v.Entries, v.From, v.To)
		case v.Query == "":
			fmt.Fprintf(w, "Its seal, signed %s, says it holds exactly these %d entries, exported with no filter.\n", v.Sealed.Format(time.RFC3339), v.Entries)
		default:
			fmt.Fprintf(w, "Its seal, signed %s, says it holds exactly these %d entries, exported as the matches of %s.\n", v.Sealed.Format(time.RFC3339), v.Entries, strconv.Quote(v.Query))
		}
		if v.Contiguous() {
			fmt.Fprintln(w, "The export holds every entry of that stretch of the log.")
		} else {
			fmt.Fprintf(w, "The export leaves out %s of that stretch (filtered out, purged, or the export's own entry); the proof holds their digests.\n", app.Plural(v.LeftOut, "entry", "entries"))
		}
	}
	printOutcome(w, v.Break)
}
