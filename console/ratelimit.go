package console

import (
	"math"
	"sync"
	"time"
)

// Limit is a token bucket: Rate tokens per second refill a bucket of Burst
// tokens. Rate <= 0 or Burst <= 0 disables it.
type Limit struct {
	Rate  float64
	Burst int
}

func (l Limit) enabled() bool { return l.Rate > 0 && l.Burst > 0 }

// Default login limits: per (tenant, username) 5 failures, then one per
// minute; per client address 20, then one every 6 s.
var (
	DefaultUserLoginLimit = Limit{Rate: 1.0 / 60, Burst: 5}
	DefaultIPLoginLimit   = Limit{Rate: 1.0 / 6, Burst: 20}
)

// maxBuckets bounds each bucket map. Beyond it, full buckets (which are
// equivalent to absent ones) are dropped; if that is not enough, arbitrary
// ones are, which at worst gives an attacker who sprays that many keys a
// fresh bucket — the per-address limit still applies to it.
const maxBuckets = 100_000

type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) refill(l Limit, now time.Time) {
	// A clock that steps back neither mints nor removes tokens.
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+dt*l.Rate)
		b.last = now
	}
}

// loginLimiter guards the password check: a login attempt reserves a token
// from its (tenant, username) bucket and from its client address's bucket,
// both or neither; a successful login gives both back, so only failures
// count. The check happens before the (deliberately slow) password hash.
type loginLimiter struct {
	mu         sync.Mutex
	user, ip   Limit
	users, ips map[string]*bucket
}

func newLoginLimiter(user, ip Limit) *loginLimiter {
	return &loginLimiter{user: user, ip: ip, users: map[string]*bucket{}, ips: map[string]*bucket{}}
}

func (lm *loginLimiter) get(m map[string]*bucket, key string, l Limit, now time.Time) *bucket {
	b, ok := m[key]
	if !ok {
		if len(m) >= maxBuckets {
			prune(m, l, now)
		}
		b = &bucket{tokens: float64(l.Burst), last: now}
		m[key] = b
	}
	b.refill(l, now)
	return b
}

func prune(m map[string]*bucket, l Limit, now time.Time) {
	for k, b := range m {
		b.refill(l, now)
		if b.tokens >= float64(l.Burst) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxBuckets {
			return
		}
		delete(m, k)
	}
}

// reserve takes a token for user and ip at now. When refused it returns
// how long until both buckets hold one.
func (lm *loginLimiter) reserve(user, ip string, now time.Time) (bool, time.Duration) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	var ub, ib *bucket
	var wait time.Duration
	if lm.user.enabled() {
		ub = lm.get(lm.users, user, lm.user, now)
		wait = max(wait, waitFor(ub, lm.user))
	}
	if lm.ip.enabled() {
		ib = lm.get(lm.ips, ip, lm.ip, now)
		wait = max(wait, waitFor(ib, lm.ip))
	}
	if wait > 0 {
		return false, wait
	}
	if ub != nil {
		ub.tokens--
	}
	if ib != nil {
		ib.tokens--
	}
	return true, 0
}

// refund gives back the tokens of a reservation (a successful login).
func (lm *loginLimiter) refund(user, ip string) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if b, ok := lm.users[user]; ok && lm.user.enabled() {
		b.tokens = math.Min(float64(lm.user.Burst), b.tokens+1)
	}
	if b, ok := lm.ips[ip]; ok && lm.ip.enabled() {
		b.tokens = math.Min(float64(lm.ip.Burst), b.tokens+1)
	}
}

func waitFor(b *bucket, l Limit) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
}

// retryAfter is the Retry-After value in whole seconds, at least 1.
func retryAfter(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }
