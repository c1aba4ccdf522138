package app_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"auditlog/app"
)

// A damaged page among the oldest entries, met by the purge at start, must
// not keep the log from starting: the newest entries are still served and
// the health check says what is damaged.
func TestADamagedPageMetAtStartLeavesTheRestServed(t *testing.T) {
	f := openFixture(t)
	var events []app.Event
	var oldest app.Event
	for i := 0; i < 2000; i++ {
		events = append(events, ev(app.Spaces, "space_created", fmt.Sprintf("space-%04d", i), "bob", time.Duration(i)*time.Second, f.clock.Now()))
		if len(events) == app.MaxBatch {
			recorded := f.record(events...)
			oldest = recorded[len(recorded)-1]
			events = nil
		}
	}
	f.waitIndexed()
	f.close()
	path := filepath.Join(f.dir, "auditlog.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Stored values are packed: the oldest entry's page holds its key, then
	// its value, which starts with its form (0x81: packed). Other pages hold
	// the key too, as a bound or a reference; they stay whole.
	key := app.MakeKey(oldest.Timestamp, oldest.Seq)
	needle := append(key[:], 0x81)
	if !bytes.Contains(b, needle) {
		t.Fatal("the oldest entry is not in the file")
	}
	// Every page holding it: bbolt leaves stale copies of pages in free ones.
	for off := 0; ; {
		i := bytes.Index(b[off:], needle)
		if i < 0 {
			break
		}
		page := (off + i) / os.Getpagesize() * os.Getpagesize()
		copy(b[page:], bytes.Repeat([]byte{0xAB}, 16))
		off = page + os.Getpagesize()
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f.open()
	if page := f.search("", "", 10); len(page.Events) != 10 || page.Events[0].Detail != "space-0000" {
		t.Fatalf("the newest entries: %d listed", len(page.Events))
	}
	if err := f.log.Check(); app.ErrorCode(err) != app.EUNAVAILABLE || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Check: %v", err)
	}
}

// An entry whose packed bytes were changed on disk cannot be unpacked. A
// verification names it as an edited entry, a break, rather than failing
// as a whole: the break is what the page, healthz and the integrity
// entry report.
func TestAnEntryWhosePackedBytesChangedIsABreak(t *testing.T) {
	f := openFixture(t)
	var damaged app.Event
	for i := range 20 {
		out := f.record(ev(app.Spaces, "space_created", fmt.Sprintf("space-%02d", i), "Maya", time.Duration(20-i)*time.Minute, f.clock.Now()))
		if i == 7 {
			damaged = out[0]
		}
	}
	f.close()
	path := filepath.Join(f.dir, "auditlog.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The value follows the key and starts with its form (0x81: packed),
	// then the packed block's length: a length past any entry's.
	k := app.MakeKey(damaged.Timestamp, damaged.Seq)
	at := bytes.Index(b, append(k[:], 0x81))
	if at < 0 {
		t.Fatal("the entry is not in the file packed")
	}
	b[at+len(k)+1], b[at+len(k)+2] = 0xff, 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f.open()
	v, err := f.log.VerifyNow(context.Background())
	if err != nil || v.Break == nil || v.Break.Kind != app.BreakEdited || v.Break.Seq != damaged.Seq || !strings.Contains(v.Break.Message, "unreadable") {
		t.Fatalf("verification: %+v, %v; want entry %d edited (unreadable)", v.Break, err, damaged.Seq)
	}
}
