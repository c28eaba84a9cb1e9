package gateway

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimiterChargesBothBucketsOrNeither(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lm := newLimiter(Limit{Rate: 1, Burst: 2}, Limit{Rate: 1, Burst: 3}, nil)

	ok, _ := lm.allow("t", "k1", t0)
	require.True(t, ok)
	ok, _ = lm.allow("t", "k2", t0)
	require.True(t, ok)
	// The tenant's bucket is empty: k1 is refused and keeps its 2 tokens.
	ok, wait := lm.allow("t", "k1", t0)
	require.False(t, ok)
	require.Equal(t, time.Second, wait)
	require.InDelta(t, 2, lm.keys["t\x00k1"].tokens, 1e-9)

	// Refill never exceeds the burst.
	ok, _ = lm.allow("t", "k1", t0.Add(time.Hour))
	require.True(t, ok)
	require.InDelta(t, 1, lm.tenants["t"].tokens, 1e-9)
	require.InDelta(t, 2, lm.keys["t\x00k1"].tokens, 1e-9)

	// A clock going backwards does not mint tokens.
	lm2 := newLimiter(Limit{}, Limit{Rate: 10, Burst: 1}, nil)
	ok, _ = lm2.allow("t", "k", t0)
	require.True(t, ok)
	ok, _ = lm2.allow("t", "k", t0.Add(-time.Hour))
	require.False(t, ok)

	// Disabled limits always allow.
	lm3 := newLimiter(Limit{}, Limit{}, nil)
	for range 100 {
		ok, _ := lm3.allow("t", "k", t0)
		require.True(t, ok)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	require.Equal(t, 1, retryAfter(time.Millisecond))
	require.Equal(t, 1, retryAfter(time.Second))
	require.Equal(t, 2, retryAfter(1001*time.Millisecond))
	require.Equal(t, 1, retryAfter(0))
}

func TestPrincipalScopes(t *testing.T) {
	admin := Principal{Scopes: []string{ScopeAdmin}}
	write := Principal{Scopes: []string{ScopeWrite}}
	read := Principal{Scopes: []string{ScopeRead}}
	none := Principal{Scopes: []string{"bogus"}}
	require.True(t, admin.Allows(ScopeRead) && admin.Allows(ScopeWrite) && admin.Allows(ScopeAdmin))
	require.True(t, write.Allows(ScopeRead) && write.Allows(ScopeWrite))
	require.False(t, write.Allows(ScopeAdmin))
	require.True(t, read.Allows(ScopeRead))
	require.False(t, read.Allows(ScopeWrite))
	require.False(t, none.Allows(ScopeRead))
	require.False(t, admin.Allows("bogus"))
}
