package app

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Checkpoint is a signed statement of the chain's head: every entry up to
// Seq, in recording order, hashes to Hash. Anyone with the public key can
// check it; nobody without the private key can make one.
type Checkpoint struct {
	Seq    uint64    `json:"seq"`
	Hash   string    `json:"hash"`   // hex
	Newest time.Time `json:"newest"` // the newest timestamp among the entries it covers
	Time   time.Time `json:"time"`   // when it was signed
	// PurgedBefore is the newest cutoff a purge of this log has used: an
	// entry gone from before it expired under the retention of its day, even
	// if the retention is longer now.
	PurgedBefore time.Time `json:"purged_before,omitempty"`
	PublicKey    string    `json:"public_key"`
	Signature    string    `json:"signature"` // base64 Ed25519 signature of SignedBytes
}

// SignedBytes is what a checkpoint's signature covers, one field a line:
//
//	auditlog-checkpoint-v1
//	<seq in decimal>
//	<hash in lower-case hex>
//	<newest as RFC 3339 with nanoseconds, UTC>
//	<time as RFC 3339 with nanoseconds, UTC>
//	purged_before <RFC 3339 with nanoseconds, UTC>   (only once a purge ran)
func (c *Checkpoint) SignedBytes() []byte {
	b := fmt.Appendf(nil, "auditlog-checkpoint-v1\n%d\n%s\n%s\n%s\n", c.Seq, c.Hash,
		c.Newest.UTC().Format(time.RFC3339Nano), c.Time.UTC().Format(time.RFC3339Nano))
	if !c.PurgedBefore.IsZero() {
		b = fmt.Appendf(b, "purged_before %s\n", c.PurgedBefore.UTC().Format(time.RFC3339Nano))
	}
	return b
}

// Check reports whether the checkpoint is signed by key.
func (c *Checkpoint) Check(key ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	return err == nil && len(key) == ed25519.PublicKeySize && ed25519.Verify(key, c.SignedBytes(), sig)
}

func sign(key ed25519.PrivateKey, head ChainHead, purgedBefore, now time.Time) Checkpoint {
	c := Checkpoint{Seq: head.Seq, Hash: hex.EncodeToString(head.Hash[:]), Newest: head.Newest, Time: now.UTC(),
		PurgedBefore: purgedBefore.UTC(), PublicKey: EncodePublicKey(key.Public().(ed25519.PublicKey))}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, c.SignedBytes()))
	return c
}

// EncodePublicKey writes a public key as people pass it around: "ed25519:" and base64.
func EncodePublicKey(k ed25519.PublicKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(k)
}

// ParsePublicKey reads what EncodePublicKey writes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(trimPrefix(s, "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, Errorf(EINVALID, "public key: %q is not an Ed25519 key like ed25519:BASE64 (32 bytes)", s)
	}
	return ed25519.PublicKey(b), nil
}

func trimPrefix(s, p string) string {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Where the Log keeps the checkpoints: one a key of sequence number, and the
// anchor, the checkpoint verification starts from once older entries are gone.
const (
	StateCheckpoints StateKind = "checkpoints"
	metaAnchor                 = "anchor"
	metaPurgedBefore           = "purged_before" // the newest cutoff a purge used, unix nanoseconds
)

// purgedBefore is the newest cutoff a purge of this store has used.
func purgedBefore(ctx context.Context, st Store) (time.Time, error) {
	v, _, err := st.State(ctx, StateMeta, metaPurgedBefore)
	if err != nil || len(v) != 8 {
		return time.Time{}, err
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC(), nil
}

func checkpointKey(seq uint64) string { return string(binary.BigEndian.AppendUint64(nil, seq)) }

// CheckpointInterval is how often the Log signs the chain's head when there
// are new entries; it signs at shutdown too.
const CheckpointInterval = 10 * time.Minute

// PublicKey is the key checkpoints are signed with, or nil when the Log signs none.
func (l *Log) PublicKey() ed25519.PublicKey {
	if l.signer == nil {
		return nil
	}
	return l.signer.Public().(ed25519.PublicKey)
}

// Checkpoint signs the chain's head when entries were recorded since the
// last checkpoint, and returns the newest checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	last, ok, err := l.LatestCheckpoint(ctx)
	if err != nil || l.signer == nil {
		return last, err
	}
	head, err := l.store.Head(ctx)
	if err != nil {
		return last, err
	}
	purged, err := purgedBefore(ctx, l.store)
	if err != nil {
		return last, err
	}
	// Sign when there is something new: entries, or a purge since the last.
	if head.Seq == 0 || (ok && last.Seq == head.Seq && !purged.After(last.PurgedBefore)) {
		return last, nil
	}
	c := sign(l.signer, head, purged, l.now())
	v, _ := json.Marshal(c)
	if _, err := l.store.Commit(ctx, Commit{State: []StateValue{{Kind: StateCheckpoints, Key: checkpointKey(c.Seq), Value: v}}}); err != nil {
		return last, fmt.Errorf("store: unable to save a checkpoint: %w", err)
	}
	return c, nil
}

// LatestCheckpoint returns the newest signed checkpoint; ok is false before the first.
func (l *Log) LatestCheckpoint(ctx context.Context) (Checkpoint, bool, error) {
	all, err := checkpoints(ctx, l.store)
	if err != nil || len(all) == 0 {
		return Checkpoint{}, false, err
	}
	return all[len(all)-1], true, nil
}

// checkpoints returns the stored checkpoints, oldest first.
func checkpoints(ctx context.Context, st Store) ([]Checkpoint, error) {
	out, _, err := readStates[Checkpoint](ctx, st, StateCheckpoints, "a checkpoint")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Checkpoint) int { return compareU64(a.Seq, b.Seq) })
	return out, nil
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func anchorOf(ctx context.Context, st Store) (Checkpoint, bool, error) {
	v, ok, err := st.State(ctx, StateMeta, metaAnchor)
	if err != nil || !ok {
		return Checkpoint{}, false, err
	}
	var c Checkpoint
	if err := json.Unmarshal(v, &c); err != nil {
		return Checkpoint{}, false, fmt.Errorf("store: the chain's anchor is unreadable: %w", err)
	}
	return c, true, nil
}

// advanceAnchor moves the anchor to the newest checkpoint whose entries have
// all expired (so all are purged), and drops the links and checkpoints behind
// it: verification then starts from that signed point.
func (l *Log) advanceAnchor(ctx context.Context, cutoff time.Time) error {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	all, err := checkpoints(ctx, l.store)
	if err != nil {
		return err
	}
	var next *Checkpoint
	for i := range all {
		if all[i].Newest.Before(cutoff) {
			next = &all[i]
		}
	}
	if next == nil {
		return nil
	}
	if cur, ok, err := anchorOf(ctx, l.store); err != nil || (ok && cur.Seq >= next.Seq) {
		return err
	}
	v, _ := json.Marshal(next)
	state := []StateValue{{Kind: StateMeta, Key: metaAnchor, Value: v}}
	for _, c := range all {
		if c.Seq < next.Seq {
			state = append(state, StateValue{Kind: StateCheckpoints, Key: checkpointKey(c.Seq)})
		}
	}
	if _, err := l.store.Commit(ctx, Commit{State: state}); err != nil {
		return fmt.Errorf("store: unable to move the chain's anchor: %w", err)
	}
	return l.store.DropLinks(ctx, next.Seq)
}

// Break kinds: how a chain can be found broken.
const (
	BreakEdited    = "edited"    // an entry's content no longer hashes to its recorded hash
	BreakMissing   = "missing"   // an entry is gone from its place without having expired
	BreakInserted  = "inserted"  // an entry stands where the chain has no place for it
	BreakReordered = "reordered" // an entry stands in another entry's place
	BreakForged    = "forged"    // the chain does not match what a checkpoint signed
)

// Break is the first place a verification found the chain broken.
type Break struct {
	Kind     string `json:"kind"`
	Seq      uint64 `json:"seq"`
	ID       string `json:"id,omitempty"`
	Expected string `json:"expected,omitempty"`
	Found    string `json:"found,omitempty"`
	Message  string `json:"message"`
}

func (b *Break) Error() string { return b.Message }

// Verification says what a walk of the chain checked and what it found.
type Verification struct {
	Entries     int        `json:"entries"`          // stored entries whose content was hashed
	Purged      int        `json:"purged"`           // purged entries followed by their digest
	From        uint64     `json:"from"`             // the first sequence number checked
	To          uint64     `json:"to"`               // the last
	Head        string     `json:"head"`             // the chain's head hash
	Checkpoints int        `json:"checkpoints"`      // signed checkpoints matched
	Signed      uint64     `json:"signed"`           // the newest signed sequence number
	Unsigned    int        `json:"unsigned"`         // entries after it, not yet signed
	Anchored    bool       `json:"anchored"`         // starts from a signed anchor, not the first entry
	Break       *Break     `json:"break,omitempty"`  // nil: intact
	CheckedAt   time.Time  `json:"checked_at"`       // when
	Took        string     `json:"took,omitempty"`   // how long
	Rate        float64    `json:"rate,omitempty"`   // entries a second
	Key         string     `json:"public_key"`       // the key checkpoints were checked with
	Newest      *time.Time `json:"newest,omitempty"` // the newest timestamp covered
}

// Intact reports whether nothing was found broken.
func (v *Verification) Intact() bool { return v.Break == nil }

// verifyReportEvery is how many links VerifyChainReporting follows between
// reports.
const verifyReportEvery = 1 << 16

// Verify verifies the Log's chain (see VerifyChain).
func (l *Log) Verify(ctx context.Context) (Verification, error) {
	return VerifyChain(ctx, l.store, l.PublicKey(), l.now())
}

// VerifyChain walks a store's chain from its anchor in recording order:
// every stored entry must hash, with the hash before it, to its recorded
// hash; every purged one must have expired (by the retention, as of now);
// every checkpoint must be signed by key and match the chain where it stands,
// and the newest must not stand past the chain's end. A nil key checks the
// chain's links but not the signatures.
func VerifyChain(ctx context.Context, st Store, key ed25519.PublicKey, now time.Time) (Verification, error) {
	return VerifyChainReporting(ctx, st, key, now, nil)
}

// VerifyChainReporting is VerifyChain telling progress, when it is not nil,
// how many links it has followed of about how many, every verifyReportEvery
// links and at the end: a million entries take seconds.
func VerifyChainReporting(ctx context.Context, st Store, key ed25519.PublicKey, now time.Time, progress func(done, total int)) (Verification, error) {
	start := time.Now()
	v := Verification{CheckedAt: now.UTC()}
	if key != nil {
		v.Key = EncodePublicKey(key)
	}
	all, err := checkpoints(ctx, st)
	if err != nil {
		return v, err
	}
	retention, err := storedRetention(ctx, st)
	if err != nil {
		return v, err
	}
	anchor, anchored, err := anchorOf(ctx, st)
	if err != nil {
		return v, err
	}
	found := func(b *Break) (Verification, error) {
		v.Break = b
		return v, nil
	}
	for _, c := range append(all, anchor) {
		if (c.Signature != "" || c.Seq != 0) && key != nil && !c.Check(key) {
			return found(&Break{Kind: BreakForged, Seq: c.Seq, Message: fmt.Sprintf("the checkpoint at sequence %d is not signed by this log's key", c.Seq)})
		}
	}
	var h Digest
	next := uint64(1)
	if anchored {
		v.Anchored = true
		if h, err = parseDigest(anchor.Hash); err != nil {
			return found(&Break{Kind: BreakForged, Seq: anchor.Seq, Message: "the anchor's hash is unreadable"})
		}
		next = anchor.Seq + 1
	}
	v.From = next
	// An entry may be gone if it expired: before the retention's cutoff, or
	// before the newest cutoff a signed checkpoint says a purge used (the
	// retention may have been raised since).
	cutoff := now.Add(-retention)
	for _, c := range append(all, anchor) {
		if c.PurgedBefore.After(cutoff) && c.PurgedBefore.Before(now) {
			cutoff = c.PurgedBefore
		}
	}
	cps := all
	var brk *Break
	first, total := next, 0
	if progress != nil {
		if head, err := st.Head(ctx); err == nil && head.Seq >= first {
			total = int(head.Seq - first + 1)
		}
	}
	step := func(link *Link) bool {
		switch {
		case link.Seq > next:
			brk = &Break{Kind: BreakMissing, Seq: next, Message: fmt.Sprintf("entries %d to %d are missing from the chain", next, link.Seq-1)}
			return false
		case link.Seq < next:
			brk = &Break{Kind: BreakInserted, Seq: link.Seq, Message: fmt.Sprintf("sequence %d appears twice", link.Seq)}
			return false
		}
		var digest Digest
		if link.Unreadable != nil {
			brk = &Break{Kind: BreakEdited, Seq: link.Seq, Message: fmt.Sprintf("entry %d (of %s) is unreadable: its stored bytes were changed (%v)",
				link.Seq, link.Key.Time().Format(time.RFC3339), link.Unreadable)}
			return false
		}
		if link.Gone {
			brk = &Break{Kind: BreakMissing, Seq: link.Seq, Message: fmt.Sprintf("entry %d (of %s) is gone from the store", link.Seq, link.Key.Time().Format(time.RFC3339))}
			return false
		}
		if link.Purged() {
			if !link.Key.Time().Before(cutoff) {
				brk = &Break{Kind: BreakMissing, Seq: link.Seq, Message: fmt.Sprintf("entry %d (of %s) is gone though it has not expired", link.Seq, link.Key.Time().Format(time.RFC3339))}
				return false
			}
			digest = link.Digest
			v.Purged++
		} else {
			// The common case, an intact entry, needs only its sequence number
			// and its hash; the whole entry is read only to describe a break.
			digest = sha256.Sum256(link.Canonical)
			if canonicalSeq(link.Canonical) != link.Seq || link.PrevHash != h || LinkHash(h, digest) != link.Hash {
				brk = entryBreak(link, h, digest)
				return false
			}
			v.Entries++
		}
		h = LinkHash(h, digest)
		if h != link.Hash { // only a purged entry's digest can get here unchecked
			brk = &Break{Kind: BreakEdited, Seq: link.Seq, Expected: hex.EncodeToString(link.Hash[:]), Found: hex.EncodeToString(h[:]),
				Message: fmt.Sprintf("the digest kept for purged entry %d was changed", link.Seq)}
			return false
		}
		for len(cps) > 0 && cps[0].Seq < link.Seq {
			cps = cps[1:]
		}
		if len(cps) > 0 && cps[0].Seq == link.Seq {
			if cps[0].Hash != hex.EncodeToString(h[:]) {
				brk = &Break{Kind: BreakForged, Seq: link.Seq, Expected: cps[0].Hash, Found: hex.EncodeToString(h[:]),
					Message: fmt.Sprintf("the chain at sequence %d is not the one the checkpoint of %s signed", link.Seq, cps[0].Time.Format(time.RFC3339))}
				return false
			}
			v.Checkpoints++
			v.Signed = link.Seq
		}
		v.To = link.Seq
		next++
		if progress != nil && (next-first)%verifyReportEvery == 0 {
			done := int(next - first)
			progress(done, max(total, done))
		}
		return true
	}
	// Entries recorded during the walk move the head past where it ended:
	// the walk goes on from there, so that a writer is not taken for a
	// forger. A head behind the walk, or one that never settles, still is.
	var head ChainHead
	for range 10 {
		if err := st.Chain(ctx, next, step); err != nil {
			return v, err
		}
		if brk != nil {
			return found(brk)
		}
		if head, err = st.Head(ctx); err != nil {
			return v, err
		}
		if head.Seq <= next-1 {
			break
		}
	}
	if progress != nil {
		done := int(next - first)
		progress(done, done)
	}
	v.Head = hex.EncodeToString(h[:])
	if anchored && v.Signed < anchor.Seq {
		v.Signed = anchor.Seq
	}
	if len(all) > 0 && all[len(all)-1].Seq > v.To && (v.To > 0 || !anchored || all[len(all)-1].Seq > anchor.Seq) {
		last := all[len(all)-1]
		return found(&Break{Kind: BreakMissing, Seq: next, Message: fmt.Sprintf("the chain ends at sequence %d, but a checkpoint signed entries up to %d", next-1, last.Seq)})
	}
	if head.Seq != next-1 || (head.Seq > 0 && head.Hash != h) {
		return found(&Break{Kind: BreakForged, Seq: head.Seq, Expected: hex.EncodeToString(head.Hash[:]), Found: hex.EncodeToString(h[:]),
			Message: fmt.Sprintf("the recorded head (sequence %d) is not where the chain ends (sequence %d)", head.Seq, next-1)})
	}
	// Every stored entry must have its place in the chain. Counting is only
	// fair while nothing is recorded meanwhile, so it waits for a still moment.
	if n, err := st.Len(ctx); err != nil {
		return v, err
	} else if after, err := st.Head(ctx); err == nil && after.Seq == head.Seq && n > v.Entries {
		return found(&Break{Kind: BreakInserted, Seq: head.Seq, Message: fmt.Sprintf("the store holds %d entries, but the chain links only %d: %d were put in from outside", n, v.Entries, n-v.Entries)})
	}
	v.Unsigned = int(v.To - v.Signed)
	if v.To == 0 {
		v.Unsigned = 0
	}
	if !head.Newest.IsZero() {
		v.Newest = &head.Newest
	}
	took := time.Since(start)
	v.Took = took.Round(time.Millisecond).String()
	if s := took.Seconds(); s > 0 {
		v.Rate = float64(v.Entries+v.Purged) / s
	}
	return v, nil
}

// entryBreak describes how a stored entry fails to fit the chain after h.
func entryBreak(link *Link, h, digest Digest) *Break {
	e, err := DecodeEntry(link.Canonical)
	switch {
	case err != nil:
		return &Break{Kind: BreakEdited, Seq: link.Seq, Message: fmt.Sprintf("entry %d is unreadable: %v", link.Seq, err)}
	case e.Seq != link.Seq:
		return &Break{Kind: BreakReordered, Seq: link.Seq, ID: e.ID, Expected: strconv.FormatUint(link.Seq, 10), Found: strconv.FormatUint(e.Seq, 10),
			Message: fmt.Sprintf("entry %s (sequence %d) stands in the place of sequence %d", e.ID, e.Seq, link.Seq)}
	case link.PrevHash != h:
		return &Break{Kind: BreakReordered, Seq: link.Seq, ID: e.ID, Expected: hex.EncodeToString(h[:]), Found: hex.EncodeToString(link.PrevHash[:]),
			Message: fmt.Sprintf("entry %s (sequence %d) does not follow the entry before it", e.ID, link.Seq)}
	}
	want := LinkHash(h, digest)
	return &Break{Kind: BreakEdited, Seq: link.Seq, ID: e.ID, Expected: hex.EncodeToString(link.Hash[:]), Found: hex.EncodeToString(want[:]),
		Message: fmt.Sprintf("entry %s (sequence %d) was changed after it was recorded", e.ID, link.Seq)}
}

// canonicalSeq reads the sequence number of an entry's canonical form.
func canonicalSeq(b []byte) uint64 {
	if len(b) < 9 {
		return 0
	}
	return binary.BigEndian.Uint64(b[1:9])
}

func parseDigest(s string) (Digest, error) {
	var d Digest
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(d) {
		return d, errors.New("not a SHA-256 hash in hex")
	}
	copy(d[:], b)
	return d, nil
}

// runIntegrity verifies the chain at start and every hour, and signs its
// head every CheckpointInterval when there are new entries. A verification
// that finds the chain broken is recorded as an entry, once per break.
func (l *Log) runIntegrity() {
	defer l.wg.Done()
	l.verifyNow()
	sign := time.NewTicker(CheckpointInterval)
	defer sign.Stop()
	verify := time.NewTicker(time.Hour)
	defer verify.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-sign.C:
			if _, err := l.Checkpoint(context.Background()); err != nil {
				l.logger.Error("signing the chain's head failed", "err", err)
			}
		case <-verify.C:
			l.verifyNow()
		}
	}
}

// verifyNow is VerifyNow for the background loop, which has no one to tell
// but the log.
func (l *Log) verifyNow() {
	if _, err := l.VerifyNow(context.Background()); err != nil && !l.isClosing() {
		l.logger.Error("verifying the chain failed", "err", err)
	}
}

// VerifyNow verifies the chain and keeps the result for Integrity. The head
// is signed only after a verification finds the chain intact, so a change
// made while the app was stopped is found, not signed over. A break is
// recorded as an integrity_check_failed entry, once for each break.
func (l *Log) VerifyNow(ctx context.Context) (Verification, error) {
	l.verifyMu.Lock() // one at a time: each compares its finding with the last
	defer l.verifyMu.Unlock()
	v, err := l.Verify(ctx)
	if err != nil {
		return v, err
	}
	prev := l.integrity.Swap(&v)
	if v.Break == nil {
		if _, err := l.Checkpoint(ctx); err != nil {
			l.logger.Error("signing the chain's head failed", "err", err)
		}
		return v, nil
	}
	l.logger.Error("the audit log's chain is broken", "kind", v.Break.Kind, "seq", v.Break.Seq, "problem", v.Break.Message)
	if prev != nil && prev.Break != nil && *prev.Break == *v.Break {
		return v, nil
	}
	_, err = l.Record(ctx, []Event{{
		Namespace: Spaces,
		Action:    "integrity_check_failed",
		Detail:    "Integrity check failed: " + v.Break.Message,
		Actor:     OwnActor,
		Targets:   []Target{{Type: "audit_log", Name: "Audit Log"}},
		Metadata:  map[string]string{"kind": v.Break.Kind, "seq": strconv.FormatUint(v.Break.Seq, 10)},
	}})
	if err != nil {
		l.logger.Error("recording the failed integrity check failed", "err", err)
	}
	return v, nil
}

// Integrity is the newest verification's result, or nil before the first.
func (l *Log) Integrity() *Verification { return l.integrity.Load() }
