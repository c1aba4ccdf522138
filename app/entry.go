package app

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The canonical form of an entry is the bytes its chain hash is computed
// over, and also how the store keeps it. It is simple enough to re-implement
// in a few lines of any language (the README gives a worked example):
//
//	version  1 byte: 0x01
//	seq      8 bytes, unsigned, big-endian: the entry's place in recording order
//	timestamp, received_at
//	         8 bytes each, signed, big-endian: nanoseconds since 1970-01-01 UTC
//	id, namespace, action, detail, actor, ip
//	         each a string: 4-byte big-endian length in bytes, then UTF-8
//	targets  4-byte count, then type, id, name of each, as strings
//	metadata 4-byte count, then key and value of each, as strings, keys in
//	         byte order
//
// An absent field is an empty string (or a zero count); the hash, prev_hash
// and seq an entry shows are not themselves strings in it (seq is its place).
const entryVersion = 1

// EncodeEntry writes e in the canonical form, with e.Seq as its place.
func EncodeEntry(e *Event) []byte { return AppendEntry(make([]byte, 0, EntryLen(e)), e) }

// EntryLen is the length of e's canonical form.
func EntryLen(e *Event) int {
	n := 1 + 8 + 8 + 8 + 6*4 + 4 + 4 + len(e.ID) + len(e.Namespace) + len(e.Action) + len(e.Detail) + len(e.Actor) + len(e.IP)
	for _, t := range e.Targets {
		n += 12 + len(t.Type) + len(t.ID) + len(t.Name)
	}
	for k, v := range e.Metadata {
		n += 8 + len(k) + len(v)
	}
	return n
}

// AppendEntry appends e's canonical form to b: a store writing many entries
// at once keeps them in a few large buffers instead of one each.
func AppendEntry(b []byte, e *Event) []byte {
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Timestamp.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(unixNanos(e.ReceivedAt)))
	for _, s := range []string{e.ID, string(e.Namespace), e.Action, e.Detail, e.Actor, e.IP} {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Targets)))
	for _, t := range e.Targets {
		b = appendString(appendString(appendString(b, t.Type), t.ID), t.Name)
	}
	if len(e.Metadata) == 0 {
		return binary.BigEndian.AppendUint32(b, 0)
	}
	keys := make([]string, 0, len(e.Metadata))
	for k := range e.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = appendString(appendString(b, k), e.Metadata[k])
	}
	return b
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

var errEntryShort = errors.New("entry: the bytes end early")

// DecodeEntry reads the canonical form back. Hash and PrevHash are not part
// of it and stay empty.
func DecodeEntry(b []byte) (Event, error) {
	var e Event
	// The entry's strings share one copy of its bytes: one allocation, not
	// one per field.
	d := entryDecoder{b: b, whole: string(b)}
	seq, ts, received := d.head()
	if d.err != nil {
		return e, d.err
	}
	e.Seq, e.Timestamp = seq, ts
	if received != 0 {
		e.ReceivedAt = time.Unix(0, received).UTC()
	}
	e.ID = d.str()
	e.Namespace = Namespace(d.str())
	e.Action, e.Detail, e.Actor, e.IP = d.str(), d.str(), d.str(), d.str()
	if n := d.count(12); n > 0 {
		e.Targets = make([]Target, n)
		for i := range e.Targets {
			e.Targets[i] = Target{Type: d.str(), ID: d.str(), Name: d.str()}
		}
	}
	if n := d.count(8); n > 0 {
		e.Metadata = make(map[string]string, n)
		for range n {
			k := d.str()
			e.Metadata[k] = d.str()
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("entry: %d bytes after the end", len(d.b))
	}
	return e, d.err
}

// EntryHead is what deleting a stored entry needs of it: where its traces
// are kept.
type EntryHead struct {
	Seq       uint64
	Timestamp time.Time
	ID        string
	Namespace Namespace
}

// ReadEntryHead reads the head of an entry's canonical form and checks that
// the rest is whole, without copying the rest: a purge reads every entry of
// a day and needs four of its fields.
func ReadEntryHead(b []byte) (EntryHead, error) {
	var h EntryHead
	d := entryDecoder{b: b}
	h.Seq, h.Timestamp, _ = d.head()
	if d.err != nil {
		return EntryHead{}, d.err
	}
	h.ID = d.str()
	h.Namespace = knownNamespace(d.take(int(d.u32())))
	for range 4 { // action, detail, actor, ip
		d.skip()
	}
	for range d.count(12) * 3 {
		d.skip()
	}
	for range d.count(8) * 2 {
		d.skip()
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("entry: %d bytes after the end", len(d.b))
	}
	return h, d.err
}

// knownNamespace returns b as a namespace, without a copy when it is one of
// the known ones.
func knownNamespace(b []byte) Namespace {
	for _, n := range Namespaces {
		if string(n) == string(b) {
			return n
		}
	}
	return Namespace(b)
}

type entryDecoder struct {
	b     []byte
	whole string // b as it began, when strings are cut from it rather than copied
	err   error
}

// head reads what every entry starts with: its version, then its sequence
// number, time and receipt time (0: none).
func (d *entryDecoder) head() (seq uint64, ts time.Time, received int64) {
	if v := d.byte(); v != entryVersion && d.err == nil {
		d.err = fmt.Errorf("entry: unknown version %d", v)
	}
	if d.err != nil {
		return 0, time.Time{}, 0
	}
	return d.u64(), time.Unix(0, int64(d.u64())).UTC(), int64(d.u64())
}

func (d *entryDecoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = errEntryShort
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *entryDecoder) byte() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *entryDecoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *entryDecoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *entryDecoder) str() string {
	n := int(d.u32())
	at := len(d.whole) - len(d.b)
	b := d.take(n)
	if d.whole == "" || b == nil {
		return string(b)
	}
	return d.whole[at : at+n]
}

func (d *entryDecoder) skip() { d.take(int(d.u32())) }

// count reads a count of items at least min bytes each, refusing one the
// remaining bytes cannot hold, so a damaged count cannot ask for gigabytes.
func (d *entryDecoder) count(min int) int {
	n := int(d.u32())
	if d.err == nil && n*min > len(d.b) {
		d.err = errEntryShort
		return 0
	}
	return n
}

// Digest is the SHA-256 of an entry's canonical form.
type Digest = [sha256.Size]byte

// ChainHash links an entry into the chain: SHA-256(prev ‖ SHA-256(canonical)).
// Hashing the entry's digest rather than its bytes lets a verifier follow the
// chain past an entry it has only the digest of (a purged one, or one a
// filtered export left out).
func ChainHash(prev Digest, canonical []byte) Digest {
	return LinkHash(prev, sha256.Sum256(canonical))
}

// LinkHash is ChainHash for an entry known by its digest.
func LinkHash(prev, digest Digest) Digest {
	var buf [2 * sha256.Size]byte
	copy(buf[:], prev[:])
	copy(buf[sha256.Size:], digest[:])
	return sha256.Sum256(buf[:])
}
