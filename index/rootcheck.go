package index

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
)

// Bleve keeps a shard's list of segments in a bbolt file, store/root.bolt,
// which it memory-maps. A file cut short (a disk that filled, a copy that
// stopped) can still open: bbolt checks its two meta pages, not that the
// pages they lead to are there. A page read past the file's end is then a
// fault, and when Bleve's own goroutines read it (persisting, cleaning up
// old snapshots: see safely) the fault ends the process. rootCut finds such
// a file before it is opened, from bbolt's meta pages: the newest valid one
// says how many pages the file has in use.
//
// The layout read here is bbolt's file format (version 2), which its
// README promises to keep: a page header of 16 bytes, then the meta: magic,
// version, page size, flags, the root bucket (16 bytes), the freelist's
// page, the high-water page id, the transaction id and an FNV-64a checksum
// of all that comes before it.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaSize   = 64 // up to and including the checksum
)

// rootCut returns an error when the shard's root.bolt is shorter than its
// pages in use; nil when it is whole, or when its meta pages cannot be
// read at all (bbolt's own open says why, safely).
func rootCut(shard string) error {
	f, err := os.Open(filepath.Join(shard, "store", "root.bolt"))
	if err != nil {
		return nil // no such file: Bleve's open reports what is missing
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// The second meta page is one page in. The first says the page size;
	// when it is itself damaged, the sizes bbolt files are written with are
	// tried, as bbolt does.
	var best *boltMeta
	if m, ok := readBoltMeta(f, 0); ok {
		best = &m
	}
	sizes := []int64{int64(os.Getpagesize()), 4096, 16384, 65536}
	if best != nil {
		sizes = []int64{int64(best.pageSize)}
	}
	for _, size := range sizes {
		if m, ok := readBoltMeta(f, size); ok && m.pageSize == uint32(size) {
			if best == nil || m.txid > best.txid {
				best = &m
			}
			break
		}
	}
	if best == nil {
		return nil
	}
	if need := int64(best.highWater) * int64(best.pageSize); st.Size() < need {
		return fmt.Errorf("index: %s is cut short: %d bytes of the %d its pages in use take", filepath.Join("store", "root.bolt"), st.Size(), need)
	}
	return nil
}

type boltMeta struct {
	pageSize  uint32
	highWater uint64
	txid      uint64
}

func readBoltMeta(r io.ReaderAt, at int64) (boltMeta, bool) {
	var b [boltPageHeader + boltMetaSize]byte
	if _, err := r.ReadAt(b[:], at); err != nil {
		return boltMeta{}, false
	}
	m := b[boltPageHeader:]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return boltMeta{}, false
	}
	meta := boltMeta{pageSize: le.Uint32(m[8:]), highWater: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
	return meta, meta.pageSize >= 512
}
