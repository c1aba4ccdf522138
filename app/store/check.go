package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"auditlog/app"

	bolt "go.etcd.io/bbolt"
)

// Beside the store file, two markers: one says a log exists, so that a file
// truncated to nothing (or deleted) is not taken for a new, empty log; the
// other says the last shutdown was clean, so that a full consistency check
// is needed only after a crash.
const (
	existsMarker = FileName + ".exists"
	cleanMarker  = FileName + ".clean"
)

// bbolt's file layout, as far as the checks before opening read it: two meta
// pages at the start, each a 16-byte page header and then the meta fields.
const (
	boltMagic      = 0xED0CDAED
	pageHeaderSize = 16
	metaSize       = 64 // magic … txid, then the checksum
	minPages       = 4  // two meta pages, a freelist and a root leaf
)

// Damaged is a store that failed its checks: it is not opened, and so never
// written to. Path names the file and Problem what is wrong with it.
type Damaged struct {
	Path    string
	Problem string
}

func (d *Damaged) Error() string {
	return fmt.Sprintf("the store %s is damaged: %s. It was not opened, so nothing has been written to it. %s", d.Path, d.Problem, restoreAdvice(filepath.Dir(d.Path)))
}

// restoreAdvice says how to get a working log back from an export.
func restoreAdvice(dir string) string {
	return fmt.Sprintf("To restore: keep the damaged file for investigation (move %s aside, with its %s marker), "+
		"start the app with an empty data directory, and import your latest export with `auditlog ingest EXPORT.ndjson`; "+
		"entries with ids are not duplicated. Without an export, the entries still readable may be copied out by a bbolt tool.",
		filepath.Join(dir, FileName), existsMarker)
}

// asAppError makes a damaged store an error the app reports as unavailable.
func (d *Damaged) asAppError() error {
	return &app.Error{Code: app.EUNAVAILABLE, Message: d.Error()}
}

type metaPage struct {
	pageSize uint32
	freelist uint64 // the page the freelist is written on (noFreelist: none)
	pgid     uint64 // pages in use: the file must hold at least this many
	txid     uint64
}

// noFreelist is the freelist page of a file that keeps none.
const noFreelist = ^uint64(0)

// readMeta reads the meta page at off; ok is false when it does not parse
// or its checksum does not match.
func readMeta(f *os.File, off int64) (metaPage, bool) {
	b := make([]byte, pageHeaderSize+metaSize)
	if _, err := f.ReadAt(b, off); err != nil {
		return metaPage{}, false
	}
	m := b[pageHeaderSize:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic {
		return metaPage{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return metaPage{}, false
	}
	return metaPage{pageSize: le.Uint32(m[8:]), freelist: le.Uint64(m[32:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// newestMeta reads both meta pages, which bbolt writes in turn, and returns
// the one of the later transaction that reads; ok is false when neither
// does. The second is looked for at the first's page size, or at pageSize
// when the first does not read.
func newestMeta(f *os.File, pageSize int64) (m metaPage, ok bool) {
	first, ok0 := readMeta(f, 0)
	if ok0 {
		pageSize = int64(first.pageSize)
	}
	if second, ok1 := readMeta(f, pageSize); ok1 && (!ok0 || second.txid > first.txid) {
		return second, true
	}
	return first, ok0
}

// checkFile looks at the store file before bbolt does: bbolt maps the file
// and trusts it, so a truncated one made it panic or die of SIGBUS, after
// writing to it. exists says whether the store was created.
func checkFile(dir string) (exists bool, err error) {
	path := filepath.Join(dir, FileName)
	_, markErr := os.Stat(filepath.Join(dir, existsMarker))
	marked := markErr == nil
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if marked {
			return false, &Damaged{path, "the file is missing, but a log existed here (" + existsMarker + " says so)"}
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	size := st.Size()
	if size == 0 {
		if marked {
			return false, &Damaged{path, "the file is empty (0 bytes), but a log existed here (" + existsMarker + " says so)"}
		}
		return false, nil // created and never written: bbolt fills it afresh
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	best, ok := newestMeta(f, int64(os.Getpagesize()))
	if !ok {
		return false, &Damaged{path, fmt.Sprintf("neither of its two meta pages parses (the file is %d bytes)", size)}
	}
	pageSize := int64(best.pageSize)
	switch {
	case pageSize < 512 || pageSize&(pageSize-1) != 0:
		return false, &Damaged{path, fmt.Sprintf("its meta page names a page size of %d bytes", pageSize)}
	case size%pageSize != 0:
		return false, &Damaged{path, fmt.Sprintf("its size, %d bytes, is not a multiple of its page size, %d bytes: it was cut short or added to", size, pageSize)}
	case size < minPages*pageSize:
		return false, &Damaged{path, fmt.Sprintf("it is %d bytes, too small for a store", size)}
	case int64(best.pgid)*pageSize > size:
		return false, &Damaged{path, fmt.Sprintf("it is %d bytes, but its pages reach to byte %d: it was cut short", size, int64(best.pgid)*pageSize)}
	}
	return true, nil
}

// checkConsistency runs bbolt's full check (every page reachable once,
// every key in order) on the file opened read-only. It is run when the last
// shutdown was not clean, and by Check.
func checkConsistency(path string, locked func()) (err error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) {
		return app.Errorf(app.ECONFLICT, "the data directory %s is in use by another Audit Log process", filepath.Dir(path))
	}
	if err != nil {
		return &Damaged{path, fmt.Sprintf("it does not open: %v", err)}
	}
	locked()
	defer db.Close()
	defer func() {
		if r := recover(); r != nil {
			err = &Damaged{path, fmt.Sprintf("reading it failed: %v", r)}
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var problems []string
	err = db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, e.Error())
			}
		}
		return nil
	})
	if err != nil {
		return &Damaged{path, err.Error()}
	}
	if len(problems) > 0 {
		return &Damaged{path, "its consistency check failed: " + strings.Join(problems, "; ")}
	}
	return nil
}

// Report is what Check found in a data directory.
type Report struct {
	Path     string
	Entries  int           // readable entries
	Problems []string      // empty when the store is sound
	Took     time.Duration // how long the check ran
}

// OK reports whether the store is sound.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// String says what is wrong, and how to restore, for a person to read.
func (r *Report) String() string {
	if r.OK() {
		return fmt.Sprintf("The store %s is sound: %d entries, every page checked (%s).\n", r.Path, r.Entries, r.Took.Round(time.Millisecond))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The store %s is damaged:\n", r.Path)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	fmt.Fprintf(&b, "%s\n", restoreAdvice(filepath.Dir(r.Path)))
	return b.String()
}

// Check examines the store in dir without writing to it, the way Open does
// and more: the file's size and meta pages, bbolt's consistency check, and
// every entry read back. It is for a doctor command; the error is for a
// directory it could not examine at all (in use, unreadable).
func Check(dir string) (*Report, error) {
	start := time.Now()
	path := filepath.Join(dir, FileName)
	r := &Report{Path: path}
	done := func() (*Report, error) { r.Took = time.Since(start); return r, nil }
	var d *Damaged
	exists, err := checkFile(dir)
	if errors.As(err, &d) {
		r.Problems = append(r.Problems, d.Problem)
		return done()
	}
	if err != nil {
		return nil, err
	}
	if !exists {
		r.Problems = append(r.Problems, "there is no store here")
		return done()
	}
	if err := checkConsistency(path, func() {}); errors.As(err, &d) {
		r.Problems = append(r.Problems, d.Problem)
		return done()
	} else if err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if b == nil {
			r.Problems = append(r.Problems, "it has no entries bucket")
			return nil
		}
		u := unpacker{tx: tx}
		return b.ForEach(func(k, v []byte) error {
			if _, _, err := getEvent(&u, k); err != nil {
				if len(r.Problems) < 20 {
					r.Problems = append(r.Problems, err.Error())
				}
				return nil
			}
			r.Entries++
			return nil
		})
	})
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	return done()
}

// writeMarker creates an empty marker file and makes its name durable.
func writeMarker(dir, name string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, "Audit Log: see "+FileName+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		SyncDir(dir)
	}
	return err
}

// SyncDir makes a rename or a new file in dir survive a power cut, where
// the system can sync a directory (not every one can; there it does nothing).
func SyncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}
