package gateway

import (
	"math"
	"sync"
	"time"
)

// Limit is a token bucket: Rate tokens per second refill a bucket of Burst
// tokens; each request takes one. Rate <= 0 disables the limit.
type Limit struct {
	Rate  float64
	Burst int
}

func (l Limit) enabled() bool { return l.Rate > 0 && l.Burst > 0 }

type bucket struct {
	tokens float64
	last   time.Time
}

// refill brings b up to now under l.
func (b *bucket) refill(l Limit, now time.Time) {
	// A clock that steps back neither mints nor removes tokens.
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+dt*l.Rate)
		b.last = now
	}
}

// wait is how long until b holds one token.
func (b *bucket) wait(l Limit) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
}

// limiter holds one bucket per tenant and one per API key. A request takes a
// token from both or from neither, so a request refused by the tenant's
// bucket does not drain the key's.
//
// Buckets are kept for every tenant and key seen; both are bounded by the
// authenticated keys (unauthenticated requests never reach the limiter).
type limiter struct {
	mu        sync.Mutex
	tenant    Limit
	key       Limit
	perTenant map[string]Limit
	tenants   map[string]*bucket
	keys      map[string]*bucket
}

func newLimiter(tenant, key Limit, perTenant map[string]Limit) *limiter {
	return &limiter{tenant: tenant, key: key, perTenant: perTenant,
		tenants: map[string]*bucket{}, keys: map[string]*bucket{}}
}

func (lm *limiter) get(m map[string]*bucket, id string, l Limit, now time.Time) *bucket {
	b, ok := m[id]
	if !ok {
		b = &bucket{tokens: float64(l.Burst), last: now}
		m[id] = b
	}
	b.refill(l, now)
	return b
}

// allow takes a token for (tenant, key) at now. When refused it returns how
// long until both buckets hold a token. An empty key takes from the
// tenant's bucket only (session tokens: a bucket per session would grow
// without bound).
func (lm *limiter) allow(tenant, key string, now time.Time) (bool, time.Duration) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	tl := lm.tenant
	if l, ok := lm.perTenant[tenant]; ok {
		tl = l
	}
	var tb, kb *bucket
	if tl.enabled() {
		tb = lm.get(lm.tenants, tenant, tl, now)
	}
	if lm.key.enabled() && key != "" {
		// Keys are unique across tenants, but scope by tenant anyway.
		kb = lm.get(lm.keys, tenant+"\x00"+key, lm.key, now)
	}
	var wait time.Duration
	if tb != nil {
		wait = max(wait, tb.wait(tl))
	}
	if kb != nil {
		wait = max(wait, kb.wait(lm.key))
	}
	if wait > 0 {
		return false, wait
	}
	if tb != nil {
		tb.tokens--
	}
	if kb != nil {
		kb.tokens--
	}
	return true, 0
}

// retryAfter is the Retry-After value in whole seconds, at least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
