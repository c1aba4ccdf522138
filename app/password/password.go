// Package password hashes members' passwords with argon2id, the memory-hard
// hash RFC 9106 recommends: a stolen store costs an attacker memory as well as
// time per guess, which graphics cards and custom chips have little of.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's costs. They are written into every hash, so hashes
// made with older costs keep verifying after the costs change.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
	KeyLen  uint32
}

// Default suits a 2-core laptop serving a small team: OWASP's first argon2id
// setting (46 MiB, one pass) on both cores takes about 0.11 s per hash on a
// busy 2-core machine (BenchmarkHash), slow for a guesser and quick for a
// person signing in; 64 MiB with two passes took 0.4 s there.
var Default = Params{Memory: 46 * 1024, Time: 1, Threads: 2, KeyLen: 32}

// Hasher hashes and verifies passwords with argon2id.
type Hasher struct {
	Params Params
	// sem keeps at most this many hashes running at once: each takes
	// Params.Memory, and a burst of sign-ins must not take all of it.
	sem chan struct{}
}

// New returns a Hasher with the given costs that runs at most parallel
// hashes at once.
func New(p Params, parallel int) *Hasher {
	return &Hasher{Params: p, sem: make(chan struct{}, max(parallel, 1))}
}

const prefix = "$argon2id$"

// Hash returns the password's hash in the PHC string format:
// $argon2id$v=19$m=65536,t=2,p=2$salt$hash.
func (h *Hasher) Hash(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := h.Params
	key := h.key([]byte(pw), salt, p)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", prefix, argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw is the password hash was made of.
func (h *Hasher) Verify(hash, pw string) (bool, error) {
	p, salt, want, err := parse(hash)
	if err != nil {
		return false, err
	}
	p.KeyLen = uint32(len(want))
	got := h.key([]byte(pw), salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func (h *Hasher) key(pw, salt []byte, p Params) []byte {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

var errFormat = errors.New("password: the stored hash is not an argon2id hash")

func parse(hash string) (p Params, salt, key []byte, err error) {
	rest, ok := strings.CutPrefix(hash, prefix)
	if !ok {
		return p, nil, nil, errFormat
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return p, nil, nil, errFormat
	}
	var v int
	if _, err := fmt.Sscanf(parts[0], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errFormat
	}
	if _, err := fmt.Sscanf(parts[1], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Memory > 1<<22 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return p, nil, nil, errFormat
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[2]); err != nil || len(salt) < 8 {
		return p, nil, nil, errFormat
	}
	if key, err = b64.DecodeString(parts[3]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errFormat
	}
	return p, salt, key, nil
}
