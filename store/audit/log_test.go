package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/audit"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond + 123) // distinct, with nanoseconds
	return c.t
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)} }

func openLog(t *testing.T, dir string, opts ...audit.Option) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// fill appends n entries alternating between two tenants.
func fill(t *testing.T, l *audit.Log, n int) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for i := range n {
		tenant := []string{"acme", "globex"}[i%2]
		e, err := l.Append(context.Background(), audit.Entry{
			Tenant: tenant, Actor: "key:abcd", Action: audit.ActionSessionDecided,
			Subject: fmt.Sprintf("sess-%d", i), Details: map[string]string{"outcome": "APPROVED", "policy": "default@v3"},
		})
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

func TestAppendChainsAndVerifies(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, t.TempDir(), audit.WithClock(newClock().Now))

	rep, err := l.Verify(ctx)
	require.NoError(t, err)
	require.Equal(t, audit.Report{}, rep, "an empty log verifies")

	// The caller's Seq, Time and hashes are ignored.
	e1, err := l.Append(ctx, audit.Entry{Seq: 99, PrevHash: "x", Hash: "y", Tenant: "acme", Actor: "cli", Action: audit.ActionTenantCreated, Subject: "acme"})
	require.NoError(t, err)
	require.Equal(t, uint64(1), e1.Seq)
	require.Empty(t, e1.PrevHash)
	require.Len(t, e1.Hash, 64)
	require.Equal(t, audit.ComputeHash(e1), e1.Hash)
	require.False(t, e1.Time.IsZero())

	entries := append([]audit.Entry{e1}, fill(t, l, 9)...)
	for i := 1; i < len(entries); i++ {
		require.Equal(t, uint64(i+1), entries[i].Seq)
		require.Equal(t, entries[i-1].Hash, entries[i].PrevHash)
		require.True(t, entries[i].Time.After(entries[i-1].Time))
	}

	rep, err = l.Verify(ctx)
	require.NoError(t, err)
	require.Equal(t, audit.Report{Entries: 10, Head: entries[9].Hash}, rep)
	seq, h, err := l.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(10), seq)
	require.Equal(t, entries[9].Hash, h)

	// Stored entries read back exactly as returned by Append.
	got, err := l.Entry(ctx, 4)
	require.NoError(t, err)
	require.Equal(t, entries[3], got)
	_, err = l.Entry(ctx, 11)
	require.ErrorIs(t, err, audit.ErrNotFound)

	var ranged []audit.Entry
	require.NoError(t, l.Range(ctx, 7, func(e audit.Entry) error { ranged = append(ranged, e); return nil }))
	require.Equal(t, entries[6:], ranged)
	stop := errors.New("stop")
	n := 0
	require.ErrorIs(t, l.Range(ctx, 0, func(audit.Entry) error { n++; return stop }), stop)
	require.Equal(t, 1, n)

	// List: per tenant, newest first, limited.
	acme, err := l.List(ctx, "acme", 3)
	require.NoError(t, err)
	require.Len(t, acme, 3)
	require.Equal(t, []uint64{10, 8, 6}, []uint64{acme[0].Seq, acme[1].Seq, acme[2].Seq})
	for _, e := range acme {
		require.Equal(t, "acme", e.Tenant)
	}
	acme, err = l.List(ctx, "acme", 0)
	require.NoError(t, err)
	require.Len(t, acme, 6) // e1 and five of fill's nine
	none, err := l.List(ctx, "acm", 0)
	require.NoError(t, err)
	require.Empty(t, none, "a prefix of a tenant id is another tenant")
	all, err := l.List(ctx, "", 100)
	require.NoError(t, err)
	require.Len(t, all, 10)
	require.Equal(t, uint64(10), all[0].Seq)
}

func TestRangeManyPages(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, t.TempDir())
	fill(t, l, 600)
	var want uint64 = 1
	require.NoError(t, l.Range(ctx, 0, func(e audit.Entry) error {
		require.Equal(t, want, e.Seq)
		want++
		return nil
	}))
	require.Equal(t, uint64(601), want)
	rep, err := l.Verify(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(600), rep.Entries)
}

func TestComputeHashCoversEveryField(t *testing.T) {
	base := audit.Entry{
		Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Tenant: "acme", Actor: "cli",
		Action: "key.created", Subject: "k1", Details: map[string]string{"a": "1", "b": "2"}, PrevHash: "00ff",
	}
	h := audit.ComputeHash(base)
	same := base
	same.Details = map[string]string{"b": "2", "a": "1"}
	same.Hash = "ignored"
	same.Time = base.Time.In(time.FixedZone("x", 3600))
	require.Equal(t, h, audit.ComputeHash(same), "detail order, Hash and time zone do not matter")

	for name, mut := range map[string]func(*audit.Entry){
		"seq":            func(e *audit.Entry) { e.Seq++ },
		"time":           func(e *audit.Entry) { e.Time = e.Time.Add(1) },
		"tenant":         func(e *audit.Entry) { e.Tenant = "acmf" },
		"actor":          func(e *audit.Entry) { e.Actor = "clj" },
		"action":         func(e *audit.Entry) { e.Action = "key.revoked" },
		"subject":        func(e *audit.Entry) { e.Subject = "k2" },
		"detail value":   func(e *audit.Entry) { e.Details = map[string]string{"a": "1", "b": "3"} },
		"detail key":     func(e *audit.Entry) { e.Details = map[string]string{"a": "1", "c": "2"} },
		"detail dropped": func(e *audit.Entry) { e.Details = map[string]string{"a": "1"} },
		"prev hash":      func(e *audit.Entry) { e.PrevHash = "00fe" },
		// Length prefixes: moving a byte between adjacent fields changes the hash.
		"field boundary": func(e *audit.Entry) { e.Tenant, e.Actor = "acmec", "li" },
		"detail split":   func(e *audit.Entry) { e.Details = map[string]string{"a": "1b", "": "2"} },
	} {
		e := base
		mut(&e)
		require.NotEqual(t, h, audit.ComputeHash(e), name)
	}
}

// tamper closes l, changes the database directly, and reopens the log.
func tamper(t *testing.T, l *audit.Log, dir string, f func(db *pebble.DB)) *audit.Log {
	t.Helper()
	require.NoError(t, l.Close())
	db, err := pebble.Open(dir, &pebble.Options{})
	require.NoError(t, err)
	f(db)
	require.NoError(t, db.Close())
	return openLog(t, dir)
}

func readEntry(t *testing.T, db *pebble.DB, seq uint64) audit.Entry {
	t.Helper()
	v, closer, err := db.Get(audit.EntryKey(seq))
	require.NoError(t, err)
	defer closer.Close()
	var e audit.Entry
	require.NoError(t, json.Unmarshal(v, &e))
	return e
}

func writeEntry(t *testing.T, db *pebble.DB, e audit.Entry) {
	t.Helper()
	v, err := json.Marshal(e)
	require.NoError(t, err)
	require.NoError(t, db.Set(audit.EntryKey(e.Seq), v, pebble.Sync))
}

func requireTampered(t *testing.T, l *audit.Log, seq uint64, reason string) {
	t.Helper()
	_, err := l.Verify(context.Background())
	require.ErrorIs(t, err, audit.ErrTampered)
	var te *audit.TamperError
	require.ErrorAs(t, err, &te)
	require.Equal(t, seq, te.Seq, te.Reason)
	require.Contains(t, te.Reason, reason)
}

func TestVerifyDetectsTampering(t *testing.T) {
	cases := map[string]struct {
		mutate func(t *testing.T, db *pebble.DB)
		seq    uint64
		reason string
	}{
		"field modified": {
			mutate: func(t *testing.T, db *pebble.DB) {
				e := readEntry(t, db, 3)
				e.Details["outcome"] = "DECLINED"
				writeEntry(t, db, e)
			},
			seq: 3, reason: "content modified",
		},
		"raw bytes modified": {
			mutate: func(t *testing.T, db *pebble.DB) {
				v, closer, err := db.Get(audit.EntryKey(2))
				require.NoError(t, err)
				b := []byte(strings.Replace(string(v), `"actor":"key:abcd"`, `"actor":"key:abce"`, 1))
				closer.Close()
				require.NoError(t, db.Set(audit.EntryKey(2), b, pebble.Sync))
			},
			seq: 2, reason: "content modified",
		},
		"entry removed from the middle": {
			mutate: func(t *testing.T, db *pebble.DB) { require.NoError(t, db.Delete(audit.EntryKey(3), pebble.Sync)) },
			seq:    3, reason: "missing",
		},
		"first entry removed": {
			mutate: func(t *testing.T, db *pebble.DB) { require.NoError(t, db.Delete(audit.EntryKey(1), pebble.Sync)) },
			seq:    1, reason: "missing",
		},
		"last entry removed": {
			mutate: func(t *testing.T, db *pebble.DB) { require.NoError(t, db.Delete(audit.EntryKey(5), pebble.Sync)) },
			seq:    5, reason: "missing at the tail",
		},
		"entry re-hashed alone": {
			mutate: func(t *testing.T, db *pebble.DB) {
				e := readEntry(t, db, 3)
				e.Subject = "sess-other"
				e.Hash = audit.ComputeHash(e)
				writeEntry(t, db, e)
			},
			seq: 4, reason: "broken chain",
		},
		"last entry re-hashed alone": {
			mutate: func(t *testing.T, db *pebble.DB) {
				e := readEntry(t, db, 5)
				e.Subject = "sess-other"
				e.Hash = audit.ComputeHash(e)
				writeEntry(t, db, e)
			},
			seq: 5, reason: "head record",
		},
		"entries swapped": {
			mutate: func(t *testing.T, db *pebble.DB) {
				a, b := readEntry(t, db, 2), readEntry(t, db, 3)
				a.Seq, b.Seq = 3, 2
				writeEntry(t, db, a)
				writeEntry(t, db, b)
			},
			seq: 2, reason: "broken chain",
		},
		"entry moved to another key": {
			mutate: func(t *testing.T, db *pebble.DB) {
				v, closer, err := db.Get(audit.EntryKey(2))
				require.NoError(t, err)
				b := append([]byte(nil), v...)
				closer.Close()
				require.NoError(t, db.Set(audit.EntryKey(3), b, pebble.Sync))
			},
			seq: 3, reason: "says it is 2",
		},
		"head removed": {
			mutate: func(t *testing.T, db *pebble.DB) { require.NoError(t, db.Delete(audit.HeadKey(), pebble.Sync)) },
			seq:    5, reason: "head record missing",
		},
		"entry garbled": {
			mutate: func(t *testing.T, db *pebble.DB) {
				require.NoError(t, db.Set(audit.EntryKey(4), []byte("{not json"), pebble.Sync))
			},
			seq: 4, reason: "does not decode",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir)
			fill(t, l, 5)
			_, err := l.Verify(context.Background())
			require.NoError(t, err)
			l = tamper(t, l, dir, func(db *pebble.DB) { c.mutate(t, db) })
			requireTampered(t, l, c.seq, c.reason)
		})
	}
}

// TestTailRemovalNotRefilled: after the last entry is removed, the log
// continues after the head record, so the gap stays visible.
func TestTailRemovalNotRefilled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openLog(t, dir)
	fill(t, l, 5)
	l = tamper(t, l, dir, func(db *pebble.DB) { require.NoError(t, db.Delete(audit.EntryKey(5), pebble.Sync)) })
	e, err := l.Append(ctx, audit.Entry{Actor: "node", Action: "node.started"})
	require.NoError(t, err)
	require.Equal(t, uint64(6), e.Seq)
	requireTampered(t, l, 5, "missing")
}

// TestFullRewriteNeedsAnchor documents the limit: an attacker who rewrites
// an entry, every later hash and the head passes Verify; only a head hash
// anchored outside the log shows it.
func TestFullRewriteNeedsAnchor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openLog(t, dir)
	entries := fill(t, l, 4)
	anchor := entries[3] // seq 4 and its hash, kept by the operator
	l = tamper(t, l, dir, func(db *pebble.DB) {
		prev := ""
		for seq := uint64(1); seq <= 4; seq++ {
			e := readEntry(t, db, seq)
			if seq == 2 {
				e.Details["outcome"] = "DECLINED"
			}
			e.PrevHash = prev
			e.Hash = audit.ComputeHash(e)
			writeEntry(t, db, e)
			prev = e.Hash
		}
		hv, err := json.Marshal(map[string]any{"seq": 4, "hash": prev})
		require.NoError(t, err)
		require.NoError(t, db.Set(audit.HeadKey(), hv, pebble.Sync))
	})
	rep, err := l.Verify(ctx)
	require.NoError(t, err, "a consistent rewrite passes the chain check")
	require.NotEqual(t, anchor.Hash, rep.Head, "but the head no longer matches the anchor")
	got, err := l.Entry(ctx, anchor.Seq)
	require.NoError(t, err)
	require.NotEqual(t, anchor.Hash, got.Hash)
}

func TestConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, t.TempDir())
	const writers, each = 8, 25
	var wg sync.WaitGroup
	results := make(chan audit.Entry, writers*each)
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e, err := l.Append(ctx, audit.Entry{
					Tenant: fmt.Sprintf("t%d", w), Actor: "node", Action: audit.ActionSessionCreated,
					Subject: fmt.Sprintf("s-%d-%d", w, i),
				})
				if err != nil {
					errs <- err
					continue
				}
				results <- e
			}
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := map[uint64]audit.Entry{}
	for e := range results {
		_, dup := seen[e.Seq]
		require.False(t, dup, "seq %d assigned twice", e.Seq)
		seen[e.Seq] = e
	}
	require.Len(t, seen, writers*each)
	for seq := uint64(2); seq <= writers*each; seq++ {
		require.Equal(t, seen[seq-1].Hash, seen[seq].PrevHash, "seq %d", seq)
	}
	rep, err := l.Verify(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(writers*each), rep.Entries)
	require.Equal(t, seen[writers*each].Hash, rep.Head)
	for w := range writers {
		got, err := l.List(ctx, fmt.Sprintf("t%d", w), 0)
		require.NoError(t, err)
		require.Len(t, got, each)
	}
}

func TestRestartContinuesChain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openLog(t, dir)
	first := fill(t, l, 3)
	require.NoError(t, l.Close())
	_, err := l.Append(ctx, audit.Entry{Actor: "node", Action: "node.started"})
	require.ErrorIs(t, err, audit.ErrClosed)
	_, err = l.Verify(ctx)
	require.ErrorIs(t, err, audit.ErrClosed)

	l = openLog(t, dir)
	e4, err := l.Append(ctx, audit.Entry{Actor: "node", Action: "node.started"})
	require.NoError(t, err)
	require.Equal(t, uint64(4), e4.Seq)
	require.Equal(t, first[2].Hash, e4.PrevHash)
	rep, err := l.Verify(ctx)
	require.NoError(t, err)
	require.Equal(t, audit.Report{Entries: 4, Head: e4.Hash}, rep)
}

func TestAppendValidates(t *testing.T) {
	ctx := context.Background()
	l := openLog(t, t.TempDir())
	many := map[string]string{}
	for i := range audit.MaxDetails + 1 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for name, e := range map[string]audit.Entry{
		"no action":        {Actor: "cli"},
		"one-word action":  {Actor: "cli", Action: "created"},
		"upper action":     {Actor: "cli", Action: "Key.Created"},
		"no actor":         {Action: audit.ActionKeyCreated},
		"control in actor": {Actor: "cl\ni", Action: audit.ActionKeyCreated},
		"long subject":     {Actor: "cli", Action: audit.ActionKeyCreated, Subject: strings.Repeat("s", audit.MaxFieldLen+1)},
		"empty detail key": {Actor: "cli", Action: audit.ActionKeyCreated, Details: map[string]string{"": "v"}},
		"long detail":      {Actor: "cli", Action: audit.ActionKeyCreated, Details: map[string]string{"k": strings.Repeat("v", audit.MaxDetailLen+1)}},
		"too many details": {Actor: "cli", Action: audit.ActionKeyCreated, Details: many},
		"bad utf-8":        {Actor: "cli", Action: audit.ActionKeyCreated, Tenant: "\xff"},
	} {
		_, err := l.Append(ctx, e)
		require.ErrorIs(t, err, audit.ErrInvalid, name)
	}
	rep, err := l.Verify(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Entries, "nothing was appended")
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openLog(t, dir)
	_, err := audit.Open(context.Background(), dir)
	require.ErrorIs(t, err, audit.ErrLocked)
}

func BenchmarkAppend(b *testing.B) {
	l, err := audit.Open(context.Background(), b.TempDir())
	require.NoError(b, err)
	defer l.Close()
	e := audit.Entry{Tenant: "acme", Actor: "node", Action: audit.ActionSessionCreated, Subject: "sess-1"}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
