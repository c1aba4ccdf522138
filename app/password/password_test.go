package password

import (
	"strings"
	"testing"
)

// cheap keeps the tests quick; the format and the checks are the same.
var cheap = Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32}

func TestHashVerifiesOnlyItsPassword(t *testing.T) {
	h := New(cheap, 1)
	hash, err := h.Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash = %q, want the PHC argon2id format", hash)
	}
	if ok, err := h.Verify(hash, "correct horse battery"); err != nil || !ok {
		t.Fatalf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(hash, "correct horse batterY"); err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
}

func TestHashesOfOnePasswordDifferBySalt(t *testing.T) {
	h := New(cheap, 1)
	a, _ := h.Hash("same password")
	b, _ := h.Hash("same password")
	if a == b {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestVerifyUsesTheCostsInTheHash(t *testing.T) {
	old, _ := New(cheap, 1).Hash("kept across a change of costs")
	if ok, err := New(Default, 1).Verify(old, "kept across a change of costs"); err != nil || !ok {
		t.Fatalf("Verify with other default costs = %v, %v", ok, err)
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	h := New(cheap, 1)
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=1024,t=1,p=1$$"} {
		if ok, err := h.Verify(bad, "x"); err == nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

// BenchmarkHash measures one hash with the default costs, the time a
// sign-in spends hashing.
func BenchmarkHash(b *testing.B) {
	h := New(Default, 1)
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
