package app

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Proof travels with a JSON or NDJSON export and lets anyone holding the
// Audit Log's public key check it offline: every exported entry carries its
// seq, prev_hash and hash; the proof adds the signed checkpoints that end the
// stretches of chain the export touches, and the digests of the entries in
// those stretches the export leaves out (filtered out, purged, or the
// export's own entry). A verifier follows the chain from each exported
// entry's prev_hash to the next checkpoint, so an entry edited, removed or
// added anywhere on the way breaks a signed hash.
type Proof struct {
	Version     int          `json:"version"`
	PublicKey   string       `json:"public_key,omitempty"`
	Checkpoints []Checkpoint `json:"checkpoints"`
	// Digests are the SHA-256 digests of the canonical forms of the entries
	// left out, in runs of consecutive sequence numbers.
	Digests []DigestRun `json:"digests"`
	// Seal says, signed, which entries the export holds. The chain proves
	// each entry genuine, and that none is missing between two exported
	// ones; without the seal, whole stretches cut from either end (with
	// their checkpoints taken out of the proof) would leave an export that
	// verifies as a narrower one.
	Seal *ExportSeal `json:"seal,omitempty"`
}

// ExportSeal is the Audit Log's signed statement of what an export holds.
type ExportSeal struct {
	Head    uint64    `json:"head"`    // the sequence of the checkpoint the export is as of
	Entries int       `json:"entries"` // how many entries it holds
	First   uint64    `json:"first"`   // the sequence of the first (0 when it holds none)
	Last    uint64    `json:"last"`    // and of the last
	Time    time.Time `json:"time"`    // when it was sealed
	// Contents is which entries it holds: the SHA-256, in hex, of their
	// hashes (32 bytes each) in sequence order. Without it, a count and two
	// ends, a filtered export could have an entry it holds swapped for
	// another of the log (the swapped one's digest moved into the proof).
	// Seals of releases before it have none.
	Contents string `json:"contents,omitempty"`
	// Query is what the export was asked for, as the search bar writes it
	// ("" for everything): the file cannot hold more than what matched,
	// but a verifier must know what that was to judge what it lacks.
	Query     string `json:"query"`
	Signature string `json:"signature"`
}

// SignedBytes is what a seal's signature covers, one field a line:
//
//	auditlog-export-v2
//	<head> <entries> <first> <last>   (decimal)
//	<time as RFC 3339 with nanoseconds, UTC>
//	<contents>
//	<query, quoted as a JSON string>
//
// A seal without contents, which releases before it wrote, covers the
// first three lines, under auditlog-export-v1.
func (s *ExportSeal) SignedBytes() []byte {
	if s.Contents == "" {
		return fmt.Appendf(nil, "auditlog-export-v1\n%d %d %d %d\n%s\n", s.Head, s.Entries, s.First, s.Last, s.Time.UTC().Format(time.RFC3339Nano))
	}
	query, _ := json.Marshal(s.Query)
	return fmt.Appendf(nil, "auditlog-export-v2\n%d %d %d %d\n%s\n%s\n%s\n", s.Head, s.Entries, s.First, s.Last, s.Time.UTC().Format(time.RFC3339Nano), s.Contents, query)
}

// ListsEntries reports whether the seal says which entries the export
// holds, not only how many.
func (s *ExportSeal) ListsEntries() bool { return s.Contents != "" }

// Check reports whether the seal is signed by key.
func (s *ExportSeal) Check(key ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	return err == nil && len(key) == ed25519.PublicKeySize && ed25519.Verify(key, s.SignedBytes(), sig)
}

// DigestRun is the digests of consecutive entries from sequence number From:
// base64 of 32 bytes each.
type DigestRun struct {
	From    uint64 `json:"from"`
	Digests string `json:"digests"`
}

// exportedSeqs remembers which sequence numbers an export wrote, in a bitmap
// over the range the chain holds, so that memory stays small whatever the size.
type exportedSeqs struct {
	from uint64
	bits []uint64
	min  uint64
	max  uint64
	n    int
}

func newExportedSeqs(from, to uint64) *exportedSeqs {
	n := uint64(0)
	if to >= from {
		n = to - from + 1
	}
	return &exportedSeqs{from: from, bits: make([]uint64, (n+63)/64)}
}

func (s *exportedSeqs) add(seq uint64) {
	if seq < s.from || seq-s.from >= uint64(len(s.bits))*64 {
		return
	}
	i := seq - s.from
	if s.bits[i/64]&(1<<(i%64)) != 0 {
		return
	}
	s.bits[i/64] |= 1 << (i % 64)
	s.n++
	if s.min == 0 || seq < s.min {
		s.min = seq
	}
	s.max = max(s.max, seq)
}

func (s *exportedSeqs) has(seq uint64) bool {
	if seq < s.from || seq-s.from >= uint64(len(s.bits))*64 {
		return false
	}
	i := seq - s.from
	return s.bits[i/64]&(1<<(i%64)) != 0
}

// buildProof collects what a verifier needs beyond an export's entries:
// the proof of each stretch of chain they stand in, and the seal saying
// which they are.
func (l *Log) buildProof(ctx context.Context, q Query, seqs *exportedSeqs, head Checkpoint) (*Proof, error) {
	p := &Proof{Version: 1, Checkpoints: []Checkpoint{}, Digests: []DigestRun{}}
	contents := sha256.New() // the exported entries' hashes, in sequence order
	if seqs.min != 0 && head.Seq != 0 {
		if err := l.proveStretches(ctx, p, seqs, head, contents); err != nil {
			return nil, err
		}
	}
	if key := l.PublicKey(); key != nil {
		p.PublicKey = EncodePublicKey(key)
		p.Seal = &ExportSeal{Head: head.Seq, Entries: seqs.n, First: seqs.min, Last: seqs.max, Time: l.now().UTC(),
			Contents: hex.EncodeToString(contents.Sum(nil)), Query: q.String()}
		p.Seal.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(l.signer, p.Seal.SignedBytes()))
	}
	return p, nil
}

// proveStretches walks the chain from the first exported entry to the
// export's checkpoint, adding to p the checkpoints that end each stretch
// and the digests of the entries it leaves out, and writing each exported
// entry's hash to contents.
func (l *Log) proveStretches(ctx context.Context, p *Proof, seqs *exportedSeqs, head Checkpoint, contents io.Writer) error {
	all, err := checkpoints(ctx, l.store)
	if err != nil {
		return err
	}
	at := map[uint64]Checkpoint{}
	for _, c := range all {
		at[c.Seq] = c
	}
	at[head.Seq] = head
	var run []byte
	var runFrom uint64
	flush := func() {
		if len(run) > 0 {
			p.Digests = append(p.Digests, DigestRun{From: runFrom, Digests: base64.StdEncoding.EncodeToString(run)})
			run = nil
		}
	}
	needed := false      // inside a stretch that starts at an exported entry
	var unreadable error // an entry whose digest the proof cannot give
	err = l.store.Chain(ctx, seqs.min, func(link *Link) bool {
		if link.Seq > head.Seq {
			return false
		}
		exported := seqs.has(link.Seq)
		if exported {
			needed = true
			contents.Write(link.Hash[:])
		}
		if link.Unreadable != nil {
			unreadable = link.Unreadable
			return false
		}
		if needed && !exported {
			d := link.Digest
			if !link.Purged() {
				d = sha256.Sum256(link.Canonical)
			}
			if len(run) == 0 || runFrom+uint64(len(run)/sha256.Size) != link.Seq {
				flush()
				runFrom = link.Seq
			}
			run = append(run, d[:]...)
		}
		if c, ok := at[link.Seq]; ok && needed {
			p.Checkpoints = append(p.Checkpoints, c)
			needed = false
		}
		return true
	})
	flush()
	if err == nil {
		err = unreadable
	}
	return err
}

// ExportVerification says what checking an export found.
type ExportVerification struct {
	Entries     int    `json:"entries"`     // exported entries checked
	Checkpoints int    `json:"checkpoints"` // signed checkpoints they were linked to
	From        uint64 `json:"from"`        // the first sequence number the export holds
	To          uint64 `json:"to"`          // the last
	LeftOut     int    `json:"left_out"`    // entries of that span the export does not hold (known by digest)
	// Sealed is when the Audit Log sealed the export: it holds every entry
	// the seal says, no more, no fewer.
	Sealed time.Time `json:"sealed"`
	// Listed says the seal named the entries themselves, not only how many
	// and the two ends (seals of earlier releases did not).
	Listed bool `json:"listed"`
	// Query is what the export was asked for, as its seal says ("" for
	// everything; not known for seals of earlier releases).
	Query string `json:"query"`
	Break *Break `json:"break,omitempty"`
}

// Intact reports whether nothing was found broken.
func (v *ExportVerification) Intact() bool { return v.Break == nil }

// Contiguous reports whether the export holds every entry of its span.
func (v *ExportVerification) Contiguous() bool { return v.LeftOut == 0 }

// VerifyExport checks a JSON or NDJSON export against the public key of the
// Audit Log that wrote it, with nothing else: every entry must hash to its
// recorded hash, and the chain must lead from each entry, through the
// entries after it (exported, or known by the proof's digests), to a
// checkpoint signed by key.
//
// An export of a whole log is large (a million entries is about 650 MB),
// so entries are not held: each is reduced, as it is read, to what
// following the chain needs (see exportedLink), about a tenth of it.
func VerifyExport(r io.Reader, key ed25519.PublicKey) (ExportVerification, error) {
	var v ExportVerification
	var read linkChunks
	proof, err := readExport(r, func(e *Event) { read.add(linkOf(e)) })
	if err != nil {
		return v, err
	}
	links := read.sorted()
	found := func(b *Break) (ExportVerification, error) {
		v.Break = b
		return v, nil
	}
	if proof == nil {
		return found(&Break{Kind: BreakForged, Message: "the export has no proof: it was cut short, or written by a version that did not sign exports"})
	}
	seal := proof.Seal
	if seal == nil {
		return found(&Break{Kind: BreakForged, Message: "the export's proof has no seal saying which entries it holds: it was edited, or written by a version that did not seal exports"})
	}
	if !seal.Check(key) {
		return found(&Break{Kind: BreakForged, Message: "the export's seal does not match its signature by this key: the seal was altered, or another key signed it"})
	}
	if !seal.ListsEntries() && seal.Query != "" {
		// A seal of before the query was signed cannot have one: it was
		// added, and would be read as what the export was asked for.
		return found(&Break{Kind: BreakForged, Message: "the export's seal names a query its signature does not cover: the query was added to it"})
	}
	cps := map[uint64]Checkpoint{}
	for _, c := range proof.Checkpoints {
		if !c.Check(key) {
			return found(&Break{Kind: BreakForged, Seq: c.Seq, Message: fmt.Sprintf("the checkpoint at sequence %d does not match its signature by this key: it was altered, or another key signed it", c.Seq)})
		}
		cps[c.Seq] = c
	}
	digests, bad := readDigests(proof.Digests)
	if bad != nil {
		return found(&Break{Kind: BreakEdited, Seq: bad.From, Message: fmt.Sprintf("the proof's digests from sequence %d are unreadable", bad.From)})
	}
	for i, x := range links {
		if x.seq == 0 {
			return found(&Break{Kind: BreakInserted, ID: x.id, Message: fmt.Sprintf("entry %s has no place in the chain (no seq)", x.id)})
		}
		if i > 0 && links[i-1].seq == x.seq {
			return found(&Break{Kind: BreakInserted, Seq: x.seq, ID: x.id, Message: fmt.Sprintf("two entries claim sequence %d", x.seq)})
		}
	}
	if len(links) > 0 {
		v.From, v.To = links[0].seq, links[len(links)-1].seq
	}
	linked := map[uint64]bool{} // checkpoints reached
	for i := 0; i < len(links); {
		e := links[i] // the first entry of a stretch of chain
		if e.flaw != nil && e.flaw.prevUnreadable {
			return found(&Break{Kind: BreakEdited, Seq: e.seq, ID: e.id, Message: fmt.Sprintf("entry %s has no readable prev_hash", e.id)})
		}
		h := e.prev
		// Follow the chain from this entry to the next checkpoint.
		for seq := e.seq; ; seq++ {
			if i < len(links) && links[i].seq == seq {
				x := links[i]
				if prev := x.prevHash(); prev != hex.EncodeToString(h[:]) {
					return found(&Break{Kind: BreakReordered, Seq: seq, ID: x.id, Expected: hex.EncodeToString(h[:]), Found: prev,
						Message: fmt.Sprintf("entry %s (sequence %d) does not follow the entry before it", x.id, seq)})
				}
				// It follows h, so the hash it links to is the one read with it.
				h = x.hash
				if x.flaw != nil && x.flaw.hashWrong {
					return found(&Break{Kind: BreakEdited, Seq: seq, ID: x.id, Expected: x.flaw.hash, Found: hex.EncodeToString(h[:]),
						Message: fmt.Sprintf("entry %s (sequence %d) was changed after it was exported", x.id, seq)})
				}
				v.Entries++
				i++
			} else if dg, ok := digests.at(seq); ok {
				h = LinkHash(h, dg)
				v.LeftOut++
			} else {
				return found(&Break{Kind: BreakMissing, Seq: seq, Message: fmt.Sprintf("entry %d is missing: neither the export nor its proof holds it", seq)})
			}
			if c, ok := cps[seq]; ok {
				if c.Hash != hex.EncodeToString(h[:]) {
					return found(&Break{Kind: BreakForged, Seq: seq, Expected: c.Hash, Found: hex.EncodeToString(h[:]),
						Message: fmt.Sprintf("the chain at sequence %d is not the one the checkpoint of %s signed", seq, c.Time.Format("2006-01-02 15:04:05 MST"))})
				}
				linked[seq] = true
				break
			}
		}
		// Every exported entry up to that checkpoint was consumed on the way
		// (they are in sequence order): i is at the first one after it.
	}
	v.Checkpoints = len(linked)
	// The chain has shown every entry genuine and none missing between two
	// exported ones; the seal shows none cut from the ends, nor a stretch
	// cut whole with its checkpoint.
	if v.Entries != seal.Entries || v.From != seal.First || v.To != seal.Last {
		at := seal.Last // the first entry cut, from the end that differs
		switch {
		case v.From != seal.First:
			at = seal.First
		case v.To < seal.Last:
			at = v.To + 1
		}
		return found(&Break{Kind: BreakMissing, Seq: at,
			Expected: fmt.Sprintf("%d entries, sequence %d to %d", seal.Entries, seal.First, seal.Last),
			Found:    fmt.Sprintf("%d entries, sequence %d to %d", v.Entries, v.From, v.To),
			Message:  fmt.Sprintf("the export holds %d of the %d entries it was sealed with: entries were cut from it", v.Entries, seal.Entries)})
	}
	for _, c := range proof.Checkpoints {
		if !linked[c.Seq] {
			return found(&Break{Kind: BreakMissing, Seq: c.Seq, Message: fmt.Sprintf("no entry of the export leads to the checkpoint at sequence %d its proof holds: the entries before it were cut", c.Seq)})
		}
	}
	if seal.ListsEntries() {
		contents := sha256.New()
		for _, x := range links {
			contents.Write(x.hash[:])
		}
		if got := hex.EncodeToString(contents.Sum(nil)); got != seal.Contents {
			return found(&Break{Kind: BreakInserted, Expected: seal.Contents, Found: got,
				Message: fmt.Sprintf("the export holds %d genuine entries of the log, but not the ones it was sealed with: an entry was swapped for another", v.Entries)})
		}
		v.Listed, v.Query = true, seal.Query
	}
	v.Sealed = seal.Time
	return v, nil
}

// exportedLink is what following the chain needs of an exported entry: its
// place, its id to name it by, the hash it says it follows, and the hash it
// leads to, computed from that and its canonical form as it is read (an
// entry that follows the hash before it leads to just that hash).
type exportedLink struct {
	seq  uint64
	id   string
	prev Digest
	hash Digest
	flaw *linkFlaw // nil for nearly all
}

// linkChunks holds exported links in chunks, so that holding a million
// never copies them to grow, nor needs room for two copies at once.
type linkChunks [][]exportedLink

const linkChunk = 1 << 14

func (c *linkChunks) add(x exportedLink) {
	if n := len(*c); n == 0 || len((*c)[n-1]) == linkChunk {
		*c = append(*c, make([]exportedLink, 0, linkChunk))
	}
	last := &(*c)[len(*c)-1]
	*last = append(*last, x)
}

// sorted lists the links by sequence number; of two with one number, the
// first read comes first, and is the one a break names.
func (c linkChunks) sorted() []*exportedLink {
	var all []*exportedLink
	if len(c) > 0 {
		all = make([]*exportedLink, 0, (len(c)-1)*linkChunk+len(c[len(c)-1]))
	}
	for _, chunk := range c {
		for i := range chunk {
			all = append(all, &chunk[i])
		}
	}
	slices.SortStableFunc(all, func(a, b *exportedLink) int { return compareU64(a.seq, b.seq) })
	return all
}

// linkFlaw is how an exported entry's hashes were written, when not as the
// Audit Log writes them: its chain breaks there, and the break quotes them.
type linkFlaw struct {
	prevHash, hash string // as written
	prevUnreadable bool   // prev_hash is not a SHA-256 hash in hex
	prevMisspelt   bool   // nor in lower case, as the chain spells it
	hashWrong      bool   // hash is not the one computed
}

func linkOf(e *Event) exportedLink {
	x := exportedLink{seq: e.Seq, id: e.ID}
	flaw := linkFlaw{prevHash: e.PrevHash, hash: e.Hash}
	var err error
	x.prev, err = parseDigest(e.PrevHash)
	flaw.prevUnreadable = err != nil
	flaw.prevMisspelt = hex.EncodeToString(x.prev[:]) != e.PrevHash
	x.hash = LinkHash(x.prev, sha256.Sum256(EncodeEntry(e)))
	flaw.hashWrong = hex.EncodeToString(x.hash[:]) != e.Hash
	if flaw.prevUnreadable || flaw.prevMisspelt || flaw.hashWrong {
		x.flaw = &flaw
	}
	return x
}

// prevHash is the prev_hash the entry was exported with.
func (x *exportedLink) prevHash() string {
	if x.flaw != nil && x.flaw.prevMisspelt {
		return x.flaw.prevHash
	}
	return hex.EncodeToString(x.prev[:])
}

// proofDigests are the proof's digests, decoded, by sequence number.
type proofDigests []decodedRun

type decodedRun struct {
	from    uint64
	digests []byte // sha256.Size bytes each
}

// readDigests decodes runs, or returns the first that cannot be.
func readDigests(runs []DigestRun) (proofDigests, *DigestRun) {
	d := make(proofDigests, 0, len(runs))
	for i, run := range runs {
		b, err := base64.StdEncoding.DecodeString(run.Digests)
		if err != nil || len(b)%sha256.Size != 0 {
			return nil, &runs[i]
		}
		if len(b) > 0 {
			d = append(d, decodedRun{run.From, b})
		}
	}
	// Runs never overlap in a proof the Audit Log wrote; in a forged one,
	// whichever digest is taken, the chain must still reach a signed hash.
	slices.SortStableFunc(d, func(a, b decodedRun) int { return compareU64(a.from, b.from) })
	return d, nil
}

// at is the digest of the entry at seq, if the proof holds it: in the last
// run starting at or before seq. (Only that one: runs that overlap, which
// only a forged proof holds, must not make every lookup a walk over them.)
func (d proofDigests) at(seq uint64) (Digest, bool) {
	i := sort.Search(len(d), func(i int) bool { return d[i].from > seq }) - 1
	if i < 0 {
		return Digest{}, false
	}
	r := d[i]
	if n := uint64(len(r.digests) / sha256.Size); seq-r.from < n {
		return Digest(r.digests[(seq-r.from)*sha256.Size:][:sha256.Size]), true
	}
	return Digest{}, false
}

// readExport reads a JSON or NDJSON export, handing each entry to entry as
// it is read, and returns its proof.
func readExport(r io.Reader, entry func(*Event)) (*Proof, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// A byte order mark, which an editor on Windows may add when it saves
	// the file, is no part of the export.
	if bom, _ := br.Peek(3); string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	first, err := br.Peek(1)
	for err == nil && (first[0] == ' ' || first[0] == '\n' || first[0] == '\r' || first[0] == '\t') {
		br.ReadByte()
		first, err = br.Peek(1)
	}
	if err != nil {
		return nil, Errorf(EINVALID, "the export is empty")
	}
	if head, _ := br.Peek(512); StartsJSONExport(head) {
		return readJSONExport(br, entry)
	}
	if first[0] != '{' {
		if head, _ := br.Peek(len("timestamp,")); string(head) == "timestamp," {
			return nil, Errorf(EINVALID, "the export is a CSV export, which carries no proof (its times are rounded for spreadsheets): export NDJSON or JSON to verify")
		}
		return nil, Errorf(EINVALID, "the export is neither NDJSON nor JSON written by the Audit Log")
	}
	// Lines are read whatever their length: the proof line grows with the
	// log (the digests of the entries an export leaves out, about 40 bytes
	// each), past any fixed limit.
	var proof *Proof
	line := 0
	for {
		raw, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, Errorf(EINVALID, "the export could not be read: %v", err)
		}
		if len(raw) == 0 && err == io.EOF {
			break
		}
		line++
		b := bytes.TrimSpace(raw)
		if len(b) == 0 {
			continue
		}
		if IsProofLine(b) {
			if proof != nil {
				return nil, Errorf(EINVALID, "line %d: a second proof; an export ends with one", line)
			}
			// The line holds the proof and nothing else: a note beside it
			// would read as part of what verified.
			var pl map[string]json.RawMessage
			if err := json.Unmarshal(b, &pl); err != nil || len(pl["proof"]) == 0 || string(pl["proof"]) == "null" {
				return nil, Errorf(EINVALID, "line %d: the proof is unreadable", line)
			}
			if where, ok := ambiguousName(b); ok {
				return nil, Errorf(EINVALID, "line %d: %s is given twice, in the same or other letters; readers of the file could differ on which counts", line, where)
			}
			if len(pl) != 1 {
				return nil, Errorf(EINVALID, "line %d: the proof line holds more than the proof", line)
			}
			p, err := decodeProof(pl["proof"])
			if err != nil {
				return nil, Errorf(EINVALID, "line %d: the proof is unreadable: %v", line, err)
			}
			proof = p
			continue
		}
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, Errorf(EINVALID, "line %d is not an entry: %v", line, err)
		}
		if err := readsOneWay(b); err != nil {
			return nil, Errorf(EINVALID, "line %d: %v", line, err)
		}
		entry(&e)
	}
	return proof, nil
}

// StartsJSONExport tells whether a file that starts with head (from its
// first byte that is not white space) is a JSON export: however indented
// (as jq or an editor writes it again), it starts with its events, where
// NDJSON starts with an entry, or with the proof of an export of none.
func StartsJSONExport(head []byte) bool {
	// In any letters: the JSON reader then names "Events" as what it is.
	rest := bytes.TrimLeft(head[min(1, len(head)):], " \t\r\n")
	return len(head) > 0 && head[0] == '{' && len(rest) >= len(`"events"`) && bytes.EqualFold(rest[:len(`"events"`)], []byte(`"events"`))
}

// readsOneWay refuses an entry that readers could read differently: a field
// given twice (encoding/json keeps the last, other readers the first), or one
// that is no field of an entry, in any letters (encoding/json takes "ACTOR"
// for actor). Its hash is of the values the verification reads, so a forged
// "actor" placed before the true one would verify as intact while a
// spreadsheet or a script showed the forgery. An import refuses the same
// entries, with the same words.
func readsOneWay(raw []byte) error {
	if errs, _ := decodeEvent(0, raw, &Event{}, true); len(errs) > 0 {
		problem, _, _ := strings.Cut(errs[0].Message, ";") // what follows is advice to a sender
		return fmt.Errorf("%s %s: not as the Audit Log writes an entry, and readers of the file could differ on what it says", cmp.Or(errs[0].Field, "the entry"), problem)
	}
	return nil
}

// readJSONExport reads {"events": [...], "proof": {...}} an entry at a time.
func readJSONExport(r io.Reader, entry func(*Event)) (*Proof, error) {
	fail := func(err error) (*Proof, error) {
		return nil, Errorf(EINVALID, "the JSON export could not be read: %v", err)
	}
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return fail(err)
	}
	var proof *Proof
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		// A part given twice, or in other letters (which encoding/json would
		// take for it), is refused: readers of the file that keep the last
		// "events" would not see the entries a first one holds, and those
		// must not verify unseen.
		name, _ := t.(string)
		for _, part := range []string{"events", "proof"} {
			if strings.EqualFold(name, part) {
				if name != part || seen[part] {
					return fail(fmt.Errorf("%q appears where only one %q belongs", name, part))
				}
				seen[part] = true
			}
		}
		switch t {
		case "events":
			t, err := dec.Token()
			if err != nil {
				return fail(err)
			}
			if t == nil {
				continue // null: none
			}
			if t != json.Delim('[') {
				return fail(fmt.Errorf("events is %v, not a list", t))
			}
			for n := 1; dec.More(); n++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fail(err)
				}
				var e Event
				if err := json.Unmarshal(raw, &e); err != nil {
					return fail(fmt.Errorf("entry %d: %v", n, err))
				}
				if err := readsOneWay(raw); err != nil {
					return fail(fmt.Errorf("entry %d: %v", n, err))
				}
				entry(&e)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return fail(err)
			}
		case "proof":
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fail(err)
			}
			if proof, err = decodeProof(raw); err != nil {
				return fail(err)
			}
		default:
			// Anything else would be read as part of a file that verifies,
			// though nothing of it was sealed: "approved by the auditor".
			return fail(fmt.Errorf("%q is no part of an export, which holds \"events\" and \"proof\" only", name))
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fail(err)
	}
	if t, err := dec.Token(); err != io.EOF {
		return fail(fmt.Errorf("%v follows the export", t))
	}
	return proof, nil
}

// decodeProof reads a proof, refusing a field it does not have: a note
// slipped in beside the seal would read as part of what verified.
func decodeProof(raw []byte) (*Proof, error) {
	if where, ok := ambiguousName(raw); ok {
		return nil, fmt.Errorf("proof: %s is given twice, in the same or other letters; readers of the file could differ on which counts", where)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p *Proof
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("proof: %v", err)
	}
	return p, nil
}

// ambiguousName finds a member's name given twice in one object of raw, in
// the same letters or in others (encoding/json takes "Query" for query, and
// keeps the last of two; other readers keep the first).
func ambiguousName(raw []byte) (where string, found bool) {
	seen := map[string]map[string]bool{} // the folded names of each object, by its place
	walkJSON(raw, func(s jsonSpot) bool {
		if !s.isName {
			return true
		}
		names := seen[s.at]
		if names == nil {
			names = map[string]bool{}
			seen[s.at] = names
		}
		folded := strings.ToLower(s.name)
		if names[folded] {
			where, found = memberAt(s.at, s.name), true
			return false
		}
		names[folded] = true
		return true
	})
	return where, found
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != want {
		return fmt.Errorf("found %v where %q belongs", t, want)
	}
	return nil
}
