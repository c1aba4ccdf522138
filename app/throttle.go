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
	n       int // failures, and attempts still being checked
	checked int // of n, the attempts still being checked
	last    time.Time
	// refused is the last failure whose wait has refused an attempt: the
	// first refusal of each wait is recorded, the rest are not (see take).
	refused time.Time
}

// throttleInFlight is how many attempts still being checked are not counted
// against an address or account: two members behind one router signing in
// at once, after four wrong passwords there, are neither refused. More at
// once are counted, so that many attempts sent together still cannot all
// pass before the first fails.
const throttleInFlight = 2

// counted is how many failures the wait follows.
func (s *strikes) counted() int { return s.n - min(s.checked, throttleInFlight) }

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

// attempt is a sign-in counted by take, for succeed to give back: its time,
// and the time of each key's last failure before it.
type attempt struct {
	at    time.Time
	keys  [2]string    // the account's, then the address's
	prior [2]time.Time // by key; zero: the key had no failures
}

// take starts an attempt for an account from an address: it returns how
// long to wait when either is throttled, else counts the attempt as a
// failure at once, so that many attempts sent together cannot all pass
// before the first fails. A success gives it back (succeed). first tells a
// refusal that is the first of its wait: that one is worth an entry, as
// someone is being kept out; each of a flood of them would be a flood of
// entries.
func (t *throttle) take(account, address string, now time.Time) (wait time.Duration, a attempt, first bool) {
	keys := [2]string{account, address}
	t.mu.Lock()
	defer t.mu.Unlock()
	var waiting []*strikes
	for _, k := range keys {
		s := t.m[k]
		if s == nil || now.Sub(s.last) >= throttleForget {
			continue
		}
		if w := s.last.Add(throttleDelay(s.counted())).Sub(now); w > 0 {
			wait = max(wait, w)
			waiting = append(waiting, s)
		}
	}
	if wait > 0 {
		for _, s := range waiting {
			if !s.refused.Equal(s.last) {
				s.refused, first = s.last, true
			}
		}
		return wait, attempt{}, first
	}
	if len(t.m) >= throttleKeys {
		for k, s := range t.m {
			if now.Sub(s.last) >= throttleForget {
				delete(t.m, k)
			}
		}
	}
	a = attempt{at: now, keys: keys}
	for i, k := range keys {
		s := t.m[k]
		if s == nil || now.Sub(s.last) >= throttleForget {
			s = &strikes{}
			t.m[k] = s
		}
		a.prior[i] = s.last
		s.n++
		s.checked++
		s.last = now
	}
	return 0, a, false
}

// succeed gives back the attempt take counted: the account's failures are
// forgotten; the address keeps its earlier ones, or one good account would
// let a guesser from there start over. The address's wait runs again from
// its last failure, not from this success: otherwise every good sign-in
// from an address with failures (people behind one router) would lock the
// next person there out for the whole wait, and keep the failures from
// ever being forgotten.
func (t *throttle) succeed(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, k := range a.keys {
		s := t.m[k]
		if s == nil {
			continue
		}
		if i == 0 { // the account
			delete(t.m, k)
			continue
		}
		if s.checked > 0 { // unless forgotten and begun again since
			s.checked--
		}
		if s.n--; s.n <= 0 {
			delete(t.m, k)
		} else if s.last.Equal(a.at) {
			// No attempt came since; one that did keeps its own time.
			s.last = a.prior[i]
		}
	}
}

// fail counts the attempt take counted as the failure it was.
func (t *throttle) fail(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range a.keys {
		if s := t.m[k]; s != nil && s.checked > 0 {
			s.checked--
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
