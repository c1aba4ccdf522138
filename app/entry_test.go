package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTheCanonicalFormReadsBackAsTheEntry(t *testing.T) {
	e := Event{ID: "x", Seq: 42, Timestamp: time.Date(2026, 11, 20, 9, 30, 0, 123, time.UTC), ReceivedAt: time.Date(2026, 11, 20, 9, 31, 0, 0, time.UTC),
		Namespace: Users, Action: "user_invited", Detail: "Invited Ünal", Actor: "Maya", IP: "2001:db8::1",
		Targets: []Target{{Type: "user", ID: "u1", Name: "Ünal"}, {Name: "only a name"}}, Metadata: map[string]string{"b": "2", "a": ""}}
	got, err := DecodeEntry(EncodeEntry(&e))
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("DecodeEntry(EncodeEntry(e)) = %+v, %v\nwant %+v", got, err, e)
	}
	b := EncodeEntry(&e)
	for n := range len(b) { // every truncation is an error, never a panic
		if _, err := DecodeEntry(b[:n]); err == nil {
			t.Fatalf("a canonical form cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// A purge reads only an entry's head, but must refuse exactly the entries
// the full reader refuses: a damaged entry stays, reported, rather than being
// deleted with a tombstone of its damaged bytes.
func TestTheHeadOfAnEntryReadsAsTheWholeEntryDoes(t *testing.T) {
	for _, e := range []Event{
		{ID: "x", Seq: 42, Timestamp: time.Date(2026, 11, 20, 9, 30, 0, 123, time.UTC), Namespace: Users, Action: "user_invited",
			Targets: []Target{{Type: "user", ID: "u1", Name: "Ünal"}, {Name: "only a name"}}, Metadata: map[string]string{"b": "2", "a": ""}},
		{ID: "01jd", Seq: 1, Timestamp: time.Unix(0, 1).UTC(), Namespace: "custom_ns", Action: "a", Detail: "d", Actor: "Anonymous", IP: "10.0.0.1"},
	} {
		b := EncodeEntry(&e)
		h, err := ReadEntryHead(b)
		if want := (EntryHead{e.Seq, e.Timestamp, e.ID, e.Namespace}); err != nil || h != want {
			t.Fatalf("ReadEntryHead = %+v, %v; want %+v", h, err, want)
		}
		damaged := [][]byte{append(bytes.Clone(b), 0)}
		for n := range len(b) {
			damaged = append(damaged, b[:n])
			flipped := bytes.Clone(b)
			flipped[n] ^= 0xff
			damaged = append(damaged, flipped)
		}
		for _, d := range damaged {
			_, whole := DecodeEntry(d)
			if _, head := ReadEntryHead(d); (whole == nil) != (head == nil) {
				t.Fatalf("on %x the whole entry reads with %v, its head with %v", d, whole, head)
			}
		}
	}
}

// The README documents the canonical form with a worked example so that it
// can be re-implemented elsewhere; this keeps the example true.
func TestTheReadmesWorkedExampleOfTheCanonicalForm(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "A worked example")
	if i < 0 {
		t.Fatal("the README has no worked example of the canonical form")
	}
	text = text[i:]
	block := regexp.MustCompile("(?s)```json\n(.*?)```\n.*?```\n(.*?)```\n.*?SHA-256 is `([0-9a-f]{64})`.*?`([0-9a-f]{64})`").FindStringSubmatch(text)
	if block == nil {
		t.Fatal("the worked example is not in the expected shape: a JSON block, a hex block, the digest and the hash")
	}
	var e Event
	dec := json.NewDecoder(strings.NewReader(block[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("the example entry does not read: %v", err)
	}
	canonical := EncodeEntry(&e)
	want, err := hex.DecodeString(strings.Join(strings.Fields(block[2]), ""))
	if err != nil || !bytes.Equal(canonical, want) {
		t.Fatalf("canonical form =\n%x\nthe README says\n%x", canonical, want)
	}
	digest := sha256.Sum256(canonical)
	hash := ChainHash(Digest{}, canonical)
	if hex.EncodeToString(digest[:]) != block[3] || hex.EncodeToString(hash[:]) != block[4] {
		t.Fatalf("digest %x and hash %x, the README says %s and %s", digest, hash, block[3], block[4])
	}
}
