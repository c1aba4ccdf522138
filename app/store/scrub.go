package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"

	"auditlog/app"
)

// bbolt never writes a page in place: a commit writes the pages it changes
// elsewhere and frees the old ones, which keep their bytes until the file
// reuses them. So a purged entry's detail, actor and address stay in the
// file, free, readable to anyone who reads it as bytes, for as long as no
// later commit happens to take those pages: in a store that has gone quiet,
// for ever. Expired entries are to be beyond recovery, so what a purge frees
// is zeroed (scrubFreePages).
//
// bbolt offers no way to write a free page, so the scrub writes them itself,
// through a file handle of its own, inside a write transaction: no commit
// can take a free page meanwhile. A free page is read by nobody: the newest
// committed state, which every reader that starts now sees, leaves it out.
// Pages freed since an older reader started are still that reader's
// (bbolt calls them pending), and bbolt's freelist does not tell them from
// the others, so the scrub runs only while no reader is open, and tries
// again later otherwise. It writes only the pages that hold something, so a
// store with much free space (one whose retention was lowered) pays for it
// once, not at every purge.

// scrubFreePages zeroes the free pages that are not zero yet and returns how
// many it zeroed. busy is true when a reader was open: nothing was zeroed,
// and the scrub is still due.
func (s *Store) scrubFreePages(ctx context.Context) (zeroed int, busy bool, err error) {
	if s.db.Stats().OpenTxN > 0 {
		return 0, true, nil // looked at again in the transaction, which costs a commit
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	pageSize := int64(s.db.Info().PageSize)
	err = s.update("the free pages", func(tx *bolt.Tx) error {
		if s.db.Stats().OpenTxN > 0 {
			busy = true
			return nil
		}
		ids, err := freePageIDs(f, pageSize)
		if err != nil {
			return err
		}
		page, blank := make([]byte, pageSize), make([]byte, pageSize)
		for _, id := range ids {
			if err := ctx.Err(); err != nil {
				return err
			}
			// The freelist on disk is the last commit's, and this transaction
			// has taken nothing from it: bbolt must agree that the page is free.
			if info, err := tx.Page(int(id)); err != nil || info == nil || info.Type != "free" {
				continue
			}
			if _, err := f.ReadAt(page, int64(id)*pageSize); err != nil {
				return err
			}
			if bytes.Equal(page, blank) {
				continue
			}
			if _, err := f.WriteAt(blank, int64(id)*pageSize); err != nil {
				return err
			}
			zeroed++
		}
		// The commit's fsync, of the same file, makes the zeros durable.
		return tx.Bucket([]byte(app.StateMeta)).Delete(metaScrubDue)
	})
	return zeroed, busy, err
}

// freePageIDs reads the ids of the free pages from the freelist page the
// newest meta page names, as bbolt wrote it: a page header whose count is
// the number of ids (or 0xFFFF, the number then being the first of them),
// then the ids, eight bytes each in the machine's order (little-endian on
// every platform Audit Log is built for).
func freePageIDs(f *os.File, pageSize int64) ([]uint64, error) {
	m, ok := newestMeta(f, pageSize)
	if !ok {
		return nil, fmt.Errorf("neither meta page reads")
	}
	if m.freelist == noFreelist {
		return nil, fmt.Errorf("the file keeps no freelist")
	}
	header := make([]byte, pageHeaderSize+8)
	if _, err := f.ReadAt(header, int64(m.freelist)*pageSize); err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	count, skip := int64(le.Uint16(header[10:])), int64(0)
	if count == 0xFFFF {
		count, skip = int64(le.Uint64(header[pageHeaderSize:])), 1
	}
	overflow := int64(le.Uint32(header[12:]))
	if (pageHeaderSize+8*(skip+count)) > (overflow+1)*pageSize || count < 0 {
		return nil, fmt.Errorf("the freelist page %d claims %d ids in %d pages", m.freelist, count, overflow+1)
	}
	b := make([]byte, 8*count)
	if _, err := f.ReadAt(b, int64(m.freelist)*pageSize+pageHeaderSize+8*skip); err != nil {
		return nil, err
	}
	ids := make([]uint64, count)
	for i := range ids {
		ids[i] = le.Uint64(b[8*i:])
	}
	return ids, nil
}
