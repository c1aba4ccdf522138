package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"auditlog/app"
	"auditlog/app/store"
)

func (m *Main) export(ctx context.Context, args []string) error {
	fs, data := m.flagSet("export", "export [flags] [QUERY]",
		"Export the entries a search finds, newest first, as CSV, JSON or NDJSON (which \"auditlog ingest\"\nreads back). QUERY is the query language of search; see the Search section of the README.")
	format := fs.String("format", "csv", "csv, json or ndjson")
	ns := fs.String("namespace", "", "only this namespace, e.g. api_tokens")
	after := fs.String("after", "", "only entries on or after this date (2026-11-01) or time")
	before := fs.String("before", "", "only entries before this date or time")
	out := fs.String("o", "", "write to this file instead of standard output, replacing it once the export is whole (a device or pipe is written through)")
	pos, err := m.parse(fs, args)
	if err != nil {
		return err
	}
	ef, err := app.ParseExportFormat(*format)
	if err != nil {
		return err
	}
	// Where it goes is settled first: a directory given as -o is refused
	// before the export runs, not after.
	target, err := exportTarget(*out)
	if err != nil {
		return err
	}
	b, err := m.openExisting(*data, true)
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
	if target.fd > 0 {
		_, err = b.Export(ctx, filter, ef, m.openFile(target.fd, *out), nil)
		return err
	}
	w, finish, err := target.open()
	if err != nil {
		return err
	}
	start := time.Now()
	summary, err := b.Export(ctx, filter, ef, w, progressPrinter(m.Stderr, "Exporting"))
	if err = finish(err); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "%s into %s in %s\n", summary, *out, time.Since(start).Round(time.Millisecond))
	return nil
}

// openFile is one of this process's open files: the descriptor itself, not
// its path opened again, which would start at another offset than the
// shell's (on Linux).
func (m *Main) openFile(fd int, name string) io.Writer {
	switch fd {
	case 1:
		return m.Stdout
	case 2:
		return m.Stderr
	}
	return os.NewFile(uintptr(fd), name)
}

// exportFile is where -o sends an export: one of this process's open files
// (standard output by default), a regular file replaced whole once the
// export is complete, or something else that is written through (a device
// such as /dev/null, a named pipe), which a rename would replace with a
// file.
type exportFile struct {
	fd      int // an open file's descriptor (1 standard output, 2 standard error), else 0
	path    string
	through bool
	old     fs.FileInfo // the file it replaces; nil for a new one
}

// descriptor returns the open file out names: "-o /dev/stdout >> file"
// appends to file as the shell set it up, which opening the path again
// would write over.
func descriptor(out string) (int, bool) {
	switch out {
	case "", "-", "/dev/stdout":
		return 1, true
	case "/dev/stderr":
		return 2, true
	}
	for _, dir := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if n, ok := strings.CutPrefix(out, dir); ok {
			fd, err := strconv.Atoi(n)
			return fd, err == nil && fd > 0 // 0 is standard input, written to through its path
		}
	}
	return 0, false
}

func exportTarget(out string) (exportFile, error) {
	if fd, ok := descriptor(out); ok {
		return exportFile{fd: fd}, nil
	}
	info, err := os.Stat(out) // through a symbolic link, to what it names
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, lerr := os.Lstat(out); lerr == nil {
			return exportFile{path: out, through: true}, nil // a link to a file yet to be made
		}
		return exportFile{path: out}, nil
	case err != nil:
		return exportFile{}, err
	case info.IsDir():
		return exportFile{}, usageError{fmt.Sprintf("export: -o %s is a directory; give a file name, such as %s", out, filepath.Join(out, "audit-log.csv"))}
	case !info.Mode().IsRegular():
		return exportFile{path: out, through: true}, nil
	}
	// A link to a regular file: the file it names is replaced, the link stays.
	real, err := filepath.EvalSymlinks(out)
	if err != nil {
		return exportFile{}, err
	}
	return exportFile{path: real, old: info}, nil
}

// open returns the writer for the export and finish, which ends it given
// the export's error: a regular file is written beside the target and
// renamed over it only when the export is whole, so a failed export never
// leaves a file that looks complete.
func (f exportFile) open() (io.Writer, func(error) error, error) {
	if f.through {
		w, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, nil, err
		}
		return w, func(err error) error { return errors.Join(err, w.Close()) }, nil
	}
	removeAbandoned(f.path)
	tmp, err := os.CreateTemp(filepath.Dir(f.path), partialPrefix(f.path)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, nil, err
	}
	// A file replaced keeps who may read it; a new one is the owner's
	// alone (CreateTemp's 0600), as audit records should be.
	if f.old != nil {
		if err := tmp.Chmod(keepOwner(tmp, f.old)); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil, nil, err
		}
	}
	return tmp, func(err error) error {
		// On disk before it takes the old file's place: a crash must not
		// leave an empty file where a whole export was.
		if err == nil {
			err = tmp.Sync()
		}
		if err == nil {
			err = tmp.Close()
		}
		if err == nil {
			err = os.Rename(tmp.Name(), f.path)
		}
		if err == nil {
			store.SyncDir(filepath.Dir(f.path))
		}
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
		return err
	}, nil
}

// partialPrefix starts the name of the file an export to path is written
// into until it is whole: hidden beside it, saying whose it is; the id of
// the process writing it follows.
func partialPrefix(path string) string { return "." + filepath.Base(path) + ".partial-" }

// removeAbandoned deletes what exports to path left when their process was
// killed (kill -9, a power cut), which nothing else would: audit entries
// in a hidden file, kept past the retention that purges them from the log.
// A file is left alone while the process that writes it lives.
func removeAbandoned(path string) {
	dir, prefix := filepath.Dir(path), partialPrefix(path)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		if pid, err := strconv.Atoi(pidText); err == nil && pid != os.Getpid() && !processAlive(pid) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
