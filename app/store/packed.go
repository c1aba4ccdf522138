package store

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/klauspost/compress/s2"

	"auditlog/app"
)

// Entry values are compressed one by one, since each is read on its own,
// and an entry of 300 bytes has little to match against itself. What repeats
// is the vocabulary every entry shares: namespace and action names, target
// types, the metadata the server adds, each behind its four-byte length in
// the canonical form. A dictionary of that vocabulary lets an entry's words
// refer to it. S2 (a Snappy successor, from the module the cluster code
// already builds on) was chosen over zstd: on the benchmark's entries it
// saves nearly as much (0.68 of the bytes against zstd's 0.69) at a tenth of
// the CPU to pack and a twelfth to unpack (2.1 and 0.3 µs an entry), and
// packing runs inside the store's single write transaction.

// packedEntry marks a value whose canonical form is packed with S2 and
// dictionary 1. A canonical form starts with its version (1), a value of
// the JSON-era store with '{'.
const packedEntry = 0x81

// dictionaryWords is dictionary 1. Entries packed with it can only be read
// with it: it must never change (TestTheEntryDictionaryNeverChanges). A
// better dictionary gets a new marker, and both are kept.
const dictionaryWords = `
connections data_pipelines data_products spaces users service_users api_tokens
connection data_pipeline data_product space user service_user api_token workspace audit_log invite invitee pipeline member
auditlog_token_fingerprint auditlog_token_id
connection_created connection_updated connection_deleted connection_schema_refreshed connection_invite_consumed
pipeline_created pipeline_modified pipeline_deleted pipeline_executed pipeline_run pipeline_run_finished pipeline_run_failed
data_product_created data_product_updated data_product_deleted data_product_shared data_product_exported
data_product_invite_sent data_product_invite_accepted
space_created space_settings_updated space_member_added space_member_removed space_archived
user_created user_invited user_invite_accepted user_invite_revoked user_removed user_role_changed
user_signed_in user_signed_out user_sign_in_failed
service_user_created service_user_updated service_user_deleted service_user_disabled service_user_key_rotated
service_user_role_changed service_user_permissions_updated
token_created token_revoked token_regenerated token_expired token_scopes_updated
retention_changed integrity_check_failed Anonymous
`

// dictionaryProse is what details are commonly made of, without lengths.
const dictionaryProse = ` created the updated the deleted the changed the renamed the invited to from by with in of and for on was role Viewer Editor Admin Owner`

// dictionary1 is dictionary 1's bytes: each word as the canonical form
// writes a string (its length, then its bytes), then the prose. Its first
// eight bytes are a version byte and zeros, as every entry begins, for the
// first repeat offset to point at.
var dictionary1 = func() []byte {
	d := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	for _, w := range strings.Fields(dictionaryWords) {
		d = binary.BigEndian.AppendUint32(d, uint32(len(w)))
		d = append(d, w...)
	}
	return append(d, dictionaryProse...)
}()

var entryDict = s2.MakeDictManual(dictionary1, 0)

// packValue returns the body of canonical's stored value: packed, in
// scratch (grown as needed, and returned for the next entry), when that is
// smaller; else canonical itself.
func packValue(canonical, scratch []byte) (body, scratchOut []byte) {
	if need := 1 + s2.MaxEncodedLen(len(canonical)); cap(scratch) < need {
		scratch = make([]byte, need)
	}
	scratch = scratch[:cap(scratch)]
	scratch[0] = packedEntry
	packed := entryDict.Encode(scratch[1:], canonical)
	if 1+len(packed) >= len(canonical) {
		return canonical, scratch
	}
	return scratch[:1+len(packed)], scratch
}

// maxUnpacked bounds what a packed value may claim to hold, far above any
// entry (a whole request is at most a few MB): a damaged length must not ask
// for gigabytes.
const maxUnpacked = 16 << 20

// unpackValue returns the canonical form a value's body holds, unpacked
// into scratch when it is packed.
func unpackValue(body, scratch []byte) ([]byte, error) {
	if len(body) == 0 || body[0] != packedEntry {
		return body, nil
	}
	n, err := s2.DecodedLen(body[1:])
	if err != nil {
		return nil, fmt.Errorf("packed entry: %w", err)
	}
	if n > maxUnpacked {
		return nil, fmt.Errorf("packed entry: claims %d bytes", n)
	}
	if cap(scratch) < n {
		scratch = make([]byte, n)
	}
	out, err := entryDict.Decode(scratch[:n], body[1:])
	if err != nil {
		return nil, fmt.Errorf("packed entry: %w", err)
	}
	return out, nil
}

// unpacker reads the values of one walk (a drain, a purge, the chain), its
// packed ones unpacked into one buffer: a canonical form it returns is valid
// until its next call. An unpacked form is the file's own bytes, which must
// never become that buffer: bbolt maps the file read-only.
type unpacker struct{ buf []byte }

func (u *unpacker) split(v []byte) (canonical []byte, prev, hash app.Digest, err error) {
	canonical, prev, hash, err = splitValue(v, u.buf)
	if err == nil && v[0] == packedEntry {
		u.buf = canonical[:0]
	}
	return canonical, prev, hash, err
}

// head reads the head of the entry stored at k as v (see app.ReadEntryHead),
// and its canonical form and hash.
func (u *unpacker) head(k, v []byte) (h app.EntryHead, canonical []byte, hash app.Digest, err error) {
	canonical, _, hash, err = u.split(v)
	if err == nil {
		h, err = app.ReadEntryHead(canonical)
	}
	if err != nil {
		return h, nil, hash, unreadable(k, err)
	}
	return h, canonical, hash, nil
}

// unreadable is the error for the entry at key k that does not read.
func unreadable(k []byte, err error) error {
	return fmt.Errorf("the entry of %s (key %x) is unreadable: %w", keyTime(k), k, err)
}
