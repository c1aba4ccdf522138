package app

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
	Head      uint64    `json:"head"`    // the sequence of the checkpoint the export is as of
	Entries   int       `json:"entries"` // how many entries it holds
	First     uint64    `json:"first"`   // the sequence of the first (0 when it holds none)
	Last      uint64    `json:"last"`    // and of the last
	Time      time.Time `json:"time"`    // when it was sealed
	Signature string    `json:"signature"`
}

// SignedBytes is what a seal's signature covers, one field a line:
//
//	auditlog-export-v1
//	<head> <entries> <first> <last>   (decimal)
//	<time as RFC 3339 with nanoseconds, UTC>
func (s *ExportSeal) SignedBytes() []byte {
	return fmt.Appendf(nil, "auditlog-export-v1\n%d %d %d %d\n%s\n", s.Head, s.Entries, s.First, s.Last, s.Time.UTC().Format(time.RFC3339Nano))
}

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

// proofLine is how an NDJSON export ends: one line holding the proof, which
// no entry line could be mistaken for (entries have no "proof" field).
type proofLine struct {
	Proof *Proof `json:"proof"`
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

// buildProof walks the chain from the first exported entry to the export's
// checkpoint and collects what a verifier needs beyond the entries.
func (l *Log) buildProof(ctx context.Context, seqs *exportedSeqs, head Checkpoint) (*Proof, error) {
	p := &Proof{Version: 1, Checkpoints: []Checkpoint{}, Digests: []DigestRun{}}
	if key := l.PublicKey(); key != nil {
		p.PublicKey = EncodePublicKey(key)
		p.Seal = &ExportSeal{Head: head.Seq, Entries: seqs.n, First: seqs.min, Last: seqs.max, Time: l.now().UTC()}
		p.Seal.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(l.signer, p.Seal.SignedBytes()))
	}
	if seqs.min == 0 || head.Seq == 0 {
		return p, nil
	}
	all, err := checkpoints(ctx, l.store)
	if err != nil {
		return nil, err
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
	needed := false // inside a stretch that starts at an exported entry
	err = l.store.Chain(ctx, seqs.min, func(link *Link) bool {
		if link.Seq > head.Seq {
			return false
		}
		exported := seqs.has(link.Seq)
		if exported {
			needed = true
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
	return p, err
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
	Break  *Break    `json:"break,omitempty"`
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
func VerifyExport(r io.Reader, key ed25519.PublicKey) (ExportVerification, error) {
	var v ExportVerification
	events, proof, err := readExport(r)
	if err != nil {
		return v, err
	}
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
		return found(&Break{Kind: BreakForged, Message: "the export's seal is not signed by this key"})
	}
	cps := map[uint64]Checkpoint{}
	for _, c := range proof.Checkpoints {
		if !c.Check(key) {
			return found(&Break{Kind: BreakForged, Seq: c.Seq, Message: fmt.Sprintf("the checkpoint at sequence %d is not signed by this key", c.Seq)})
		}
		cps[c.Seq] = c
	}
	digests := map[uint64]Digest{}
	for _, run := range proof.Digests {
		b, err := base64.StdEncoding.DecodeString(run.Digests)
		if err != nil || len(b)%sha256.Size != 0 {
			return found(&Break{Kind: BreakEdited, Seq: run.From, Message: fmt.Sprintf("the proof's digests from sequence %d are unreadable", run.From)})
		}
		for i := 0; i < len(b); i += sha256.Size {
			digests[run.From+uint64(i/sha256.Size)] = Digest(b[i : i+sha256.Size])
		}
	}
	slices.SortFunc(events, func(a, b Event) int { return compareU64(a.Seq, b.Seq) })
	bySeq := map[uint64]*Event{}
	for i := range events {
		e := &events[i]
		if e.Seq == 0 {
			return found(&Break{Kind: BreakInserted, ID: e.ID, Message: fmt.Sprintf("entry %s has no place in the chain (no seq)", e.ID)})
		}
		if bySeq[e.Seq] != nil {
			return found(&Break{Kind: BreakInserted, Seq: e.Seq, ID: e.ID, Message: fmt.Sprintf("two entries claim sequence %d", e.Seq)})
		}
		bySeq[e.Seq] = e
	}
	if len(events) > 0 {
		v.From, v.To = events[0].Seq, events[len(events)-1].Seq
	}
	linked := map[uint64]bool{} // checkpoints reached
	for i := 0; i < len(events); {
		e := &events[i] // the first entry of a stretch of chain
		h, err := parseDigest(e.PrevHash)
		if err != nil {
			return found(&Break{Kind: BreakEdited, Seq: e.Seq, ID: e.ID, Message: fmt.Sprintf("entry %s has no readable prev_hash", e.ID)})
		}
		// Follow the chain from this entry to the next checkpoint.
		for seq := e.Seq; ; seq++ {
			var d Digest
			if x := bySeq[seq]; x != nil {
				if x.PrevHash != hex.EncodeToString(h[:]) {
					return found(&Break{Kind: BreakReordered, Seq: seq, ID: x.ID, Expected: hex.EncodeToString(h[:]), Found: x.PrevHash,
						Message: fmt.Sprintf("entry %s (sequence %d) does not follow the entry before it", x.ID, seq)})
				}
				d = sha256.Sum256(EncodeEntry(x))
				h = LinkHash(h, d)
				if hex.EncodeToString(h[:]) != x.Hash {
					return found(&Break{Kind: BreakEdited, Seq: seq, ID: x.ID, Expected: x.Hash, Found: hex.EncodeToString(h[:]),
						Message: fmt.Sprintf("entry %s (sequence %d) was changed after it was exported", x.ID, seq)})
				}
				v.Entries++
				i++
			} else if dg, ok := digests[seq]; ok {
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
		return found(&Break{Kind: BreakMissing, Seq: seal.Last,
			Expected: fmt.Sprintf("%d entries, sequence %d to %d", seal.Entries, seal.First, seal.Last),
			Found:    fmt.Sprintf("%d entries, sequence %d to %d", v.Entries, v.From, v.To),
			Message:  fmt.Sprintf("the export holds %d of the %d entries it was sealed with: entries were cut from it", v.Entries, seal.Entries)})
	}
	for _, c := range proof.Checkpoints {
		if !linked[c.Seq] {
			return found(&Break{Kind: BreakMissing, Seq: c.Seq, Message: fmt.Sprintf("no entry of the export leads to the checkpoint at sequence %d its proof holds: the entries before it were cut", c.Seq)})
		}
	}
	v.Sealed = seal.Time
	return v, nil
}

// readExport reads the entries and the proof of a JSON or NDJSON export.
func readExport(r io.Reader) ([]Event, *Proof, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.Peek(1)
	for err == nil && (first[0] == ' ' || first[0] == '\n' || first[0] == '\r' || first[0] == '\t') {
		br.ReadByte()
		first, err = br.Peek(1)
	}
	if err != nil {
		return nil, nil, Errorf(EINVALID, "the export is empty")
	}
	if head, _ := br.Peek(len(`{"events"`)); string(head) == `{"events"` {
		return readJSONExport(br)
	}
	if first[0] == '{' {
		// Lines are read whatever their length: the proof line grows with
		// the log (the digests of the entries an export leaves out, about
		// 40 bytes each), past any fixed limit.
		var events []Event
		var proof *Proof
		line := 0
		for {
			raw, err := br.ReadBytes('\n')
			if err != nil && err != io.EOF {
				return nil, nil, Errorf(EINVALID, "the export could not be read: %v", err)
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
				var pl proofLine
				if err := json.Unmarshal(b, &pl); err != nil || pl.Proof == nil {
					return nil, nil, Errorf(EINVALID, "line %d: the proof is unreadable", line)
				}
				proof = pl.Proof
				continue
			}
			var e Event
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, nil, Errorf(EINVALID, "line %d is not an entry: %v", line, err)
			}
			events = append(events, e)
		}
		return events, proof, nil
	}
	return nil, nil, Errorf(EINVALID, "the export is neither NDJSON nor JSON written by the Audit Log")
}

func readJSONExport(r io.Reader) ([]Event, *Proof, error) {
	var doc struct {
		Events []Event `json:"events"`
		Proof  *Proof  `json:"proof"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, nil, Errorf(EINVALID, "the JSON export could not be read: %v", err)
	}
	return doc.Events, doc.Proof, nil
}
