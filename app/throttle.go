package app

import (
	"net"
	"sync"
	"time"
)

// Sign-in throttling: after throttleFree wrong passwords for one account or
// from one address, each further attempt waits throttleBase, doubling with
// each further failure up to throttleMax. Failures are forgotten once none
// came for throttleForget.
const (
	throttleFree   = 5
	throttleBase   = 15 * time.Second
	throttleMax    = 15 * time.Minute
	throttleForget = time.Hour
	throttleKeys   = 100_000 // beyond this many, forgotten failures are swept first
)

type strikes struct {
	n    int
	last time.Time
}

// throttle counts wrong passwords in memory: a restart forgets them, which
// costs a guesser a restart they cannot cause.
type throttle struct {
	mu sync.Mutex
	m  map[string]*strikes
}

func throttleDelay(n int) time.Duration {
	if n < throttleFree {
		return 0
	}
	d := throttleBase
	for i := throttleFree; i < n && d < throttleMax; i++ {
		d *= 2
	}
	return min(d, throttleMax)
}

// take starts an attempt under keys: it returns how long to wait when one
// of them is throttled, else counts the attempt as a failure at once, so
// that many attempts sent together cannot all pass before the first fails.
// A success gives it back (succeed).
func (t *throttle) take(keys []string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		s := t.m[k]
		if s == nil || now.Sub(s.last) >= throttleForget {
			continue
		}
		if w := s.last.Add(throttleDelay(s.n)).Sub(now); w > longest {
			longest = w
		}
	}
	if longest > 0 {
		return longest
	}
	if len(t.m) >= throttleKeys {
		for k, s := range t.m {
			if now.Sub(s.last) >= throttleForget {
				delete(t.m, k)
			}
		}
	}
	for _, k := range keys {
		s := t.m[k]
		if s == nil || now.Sub(s.last) >= throttleForget {
			s = &strikes{}
			t.m[k] = s
		}
		s.n++
		s.last = now
	}
	return 0
}

// succeed gives back the attempt take counted: the account's failures are
// forgotten; the address keeps its earlier ones, or one good account would
// let a guesser from there start over.
func (t *throttle) succeed(account, address string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, account)
	if s := t.m[address]; s != nil {
		if s.n--; s.n <= 0 {
			delete(t.m, address)
		}
	}
}

// addrBlock is the unit an address is throttled by: one IPv4 address, or an
// IPv6 /64, which one machine usually holds whole.
func addrBlock(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
