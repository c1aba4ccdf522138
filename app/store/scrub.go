package store

import (
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"auditlog/app"
)

// bbolt never writes a page in place: a commit writes the pages it changes
// elsewhere and frees the old ones, which keep their bytes until the file
// reuses them. So a purged entry's detail, actor and address stay in the
// file, free, readable to anyone who reads it as bytes, for as long as no
// later commit happens to take those pages: in a store that has gone quiet,
// for ever. Expired entries are to be beyond recovery, so a purge ends by
// blanking the free pages: they are filled, in a bucket of their own, with
// zeros, and the bucket is deleted, leaving them free and blank. bbolt
// offers no other way to write a free page.
var bucketScrub = []byte("scrub")

// Sizes of bbolt's leaf pages beyond the page header: an element's header,
// and the key a scrub gives each value.
const (
	leafElementSize = 16
	scrubKeySize    = 8
)

// scrubChunk is how many pages one transaction of a scrub fills at most:
// commits wait for each, so each must be short (16 MB with 4 KiB pages).
const scrubChunk = 4096

// scrubFreePages blanks the pages free in the file and returns how many it
// filled. A page some reader still holds is not free yet; the next purge's
// scrub blanks it.
func (s *Store) scrubFreePages() (int, error) {
	// A writer frees the pages no reader holds any more when it begins,
	// and counts the free pages when it ends: this one does nothing else.
	if err := s.update("the free pages", func(*bolt.Tx) error { return nil }); err != nil {
		return 0, err
	}
	pageSize := s.db.Info().PageSize
	// Two values fill a leaf page and leave it no room for a third. Every
	// page the fill takes comes from the free ones while there are any: the
	// branch pages above the leaves (one for every 150 or so) take the last
	// few from the end of the file instead, where bbolt has them ready.
	// Commits go on meanwhile and take free pages too, so each transaction
	// fills no more than are still free, and the scrub no more than were
	// free at its start: it must not grow the file, nor chase the pages its
	// own transactions free.
	blank := make([]byte, (pageSize-pageHeaderSize)/2-leafElementSize-scrubKeySize)
	want, done := s.db.Stats().FreePageN, 0
	for done < want {
		n := min(scrubChunk, want-done, s.db.Stats().FreePageN)
		if n == 0 {
			break
		}
		err := s.update("the free pages", func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucketScrub)
			if err != nil {
				return err
			}
			b.FillPercent = 1
			for i := done; i < done+n; i++ {
				for half := range 2 {
					if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(2*i+half)), blank); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, s.update("the free pages", dropScrub)
}

// dropScrub deletes the bucket the free pages were filled in, and notes the
// scrub done.
func dropScrub(tx *bolt.Tx) error {
	if err := tx.Bucket([]byte(app.StateMeta)).Delete(metaScrubDue); err != nil {
		return err
	}
	return dropScrubBucket(tx)
}

// dropScrubBucket deletes the bucket a scrub fills free pages with, which a
// scrub cut short by a crash leaves behind (metaScrubDue is then still set,
// and the next purge scrubs again).
func dropScrubBucket(tx *bolt.Tx) error {
	if tx.Bucket(bucketScrub) == nil {
		return nil
	}
	return tx.DeleteBucket(bucketScrub)
}
