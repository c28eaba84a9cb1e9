package review

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/reasons"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/keys"
)

// cheapArgon keeps tests fast; the parameters' handling is the same.
var cheapArgon = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	store *Store
	ring  *keys.Ring
	dir   string
	clock *clock
}

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	ctx := context.Background()
	mk := make([]byte, 32)
	_, err := rand.Read(mk)
	require.NoError(t, err)
	master, err := keys.NewMaster(mk)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, t.TempDir(), master)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ring.Close() })
	clk := &clock{t: t0}
	dir := filepath.Join(t.TempDir(), "review")
	s, err := Open(ctx, dir, ring, append([]Option{WithArgon2(cheapArgon), WithClock(clk.now)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return &env{store: s, ring: ring, dir: dir, clock: clk}
}

func newCase(t *testing.T, tenant, decision string, at time.Time, codes ...string) rv.Case {
	t.Helper()
	c, err := rv.NewCase(rv.Opening{Tenant: tenant, SessionID: "sess-" + decision, DecisionID: decision, Reasons: codes, OpenedAt: at}, rv.DefaultSLA())
	require.NoError(t, err)
	return c
}

func create(t *testing.T, s *Store, c rv.Case) rv.Case {
	t.Helper()
	got, created, err := s.Create(context.Background(), c)
	require.NoError(t, err)
	require.True(t, created)
	return got
}

// filesContain reports whether any file under dir holds needle.
func filesContain(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	found := false
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			found = true
		}
		return nil
	}))
	return found
}

var (
	alice = rv.Actor{ID: "rvw_alice", Tenant: "acme", Role: rv.RoleReviewer}
	carol = rv.Actor{ID: "rvw_carol", Tenant: "acme", Role: rv.RoleSenior}
	rules = rv.Rules{ClaimTTL: 10 * time.Minute}
)

func TestOpenArguments(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, err := Open(ctx, "", e.ring)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Open(ctx, t.TempDir(), nil)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Open(ctx, t.TempDir(), e.ring, WithArgon2(Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 8, SaltLen: 16}))
	require.ErrorIs(t, err, ErrInvalid)
	_, err = Open(ctx, e.dir, e.ring, WithArgon2(cheapArgon))
	require.ErrorIs(t, err, ErrLocked)
}

func TestCreateIdempotent(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	c := newCase(t, "acme", "dec-1", t0, reasons.FaceLivenessFailed)
	got := create(t, s, c)
	require.Equal(t, uint64(1), got.Version)

	// A redelivered decision (even observed later) opens no second case.
	again := newCase(t, "acme", "dec-1", t0.Add(time.Hour), reasons.FaceLivenessFailed)
	stored, created, err := s.Create(ctx, again)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, got, stored)
	list, err := s.List(ctx, "acme", Filter{})
	require.NoError(t, err)
	require.Len(t, list, 1)

	read, err := s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, got, read)

	bad := c
	bad.ID = "made-up"
	_, _, err = s.Create(ctx, bad)
	require.ErrorIs(t, err, ErrInvalid)
	bad = c
	bad.State = "weird"
	_, _, err = s.Create(ctx, bad)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestCaseTenantIsolation(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	a := create(t, s, newCase(t, "acme", "dec-1", t0, reasons.DocExpired))
	b := create(t, s, newCase(t, "globex", "dec-1", t0, reasons.DocExpired))
	require.NotEqual(t, a.ID, b.ID)

	_, err := s.Get(ctx, "globex", a.ID)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.Update(ctx, "globex", a.ID, a.Version, func(c rv.Case) (rv.Case, error) { return c, nil })
	require.ErrorIs(t, err, ErrNotFound)
	list, err := s.List(ctx, "globex", Filter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, b.ID, list[0].ID)
	require.NoError(t, s.Delete(ctx, "globex", a.ID))
	_, err = s.Get(ctx, "acme", a.ID)
	require.NoError(t, err, "deleting through another tenant removes nothing")

	// An actor of another tenant is refused by the transition even when a
	// caller passes the right tenant to the store.
	mallet := rv.Actor{ID: "rvw_m", Tenant: "globex", Role: rv.RoleAdmin}
	_, err = s.Update(ctx, "acme", a.ID, a.Version, func(c rv.Case) (rv.Case, error) {
		return rv.Claim(c, mallet, t0, rules)
	})
	require.ErrorIs(t, err, rv.ErrForbidden)
	// A tenant prefix of another ("acme" vs "acme2") is not a match either.
	_, err = s.Get(ctx, "acm", a.ID)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestListOrder(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	// Opened in this order; due = opened + SLA of the priority.
	doc1 := create(t, s, newCase(t, "acme", "doc-1", t0, reasons.DocExpired))                       // due t0+24h
	oth := create(t, s, newCase(t, "acme", "oth", t0.Add(-time.Hour), reasons.DecisionScoreReview)) // due t0+23h
	live := create(t, s, newCase(t, "acme", "live", t0, reasons.FaceLivenessFailed))                // due t0+4h
	sanc2 := create(t, s, newCase(t, "acme", "sanc-2", t0.Add(time.Minute), reasons.ScreeningSanctionsHit, reasons.DocExpired))
	sanc1 := create(t, s, newCase(t, "acme", "sanc-1", t0, reasons.ScreeningPEPHit))
	dup := create(t, s, newCase(t, "acme", "dup", t0.Add(2*time.Hour), reasons.FaceDuplicateIdentity))
	doc0 := create(t, s, newCase(t, "acme", "doc-0", t0.Add(-2*time.Hour), reasons.DataNameMismatch))
	create(t, s, newCase(t, "globex", "sanc-x", t0, reasons.ScreeningSanctionsHit))

	ids := func(cs []rv.Case) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.ID
		}
		return out
	}
	all, err := s.List(ctx, "acme", Filter{State: rv.StateOpen})
	require.NoError(t, err)
	require.Equal(t, ids([]rv.Case{sanc1, sanc2, dup, live, doc0, doc1, oth}), ids(all))

	docs, err := s.List(ctx, "acme", Filter{State: rv.StateOpen, Priority: rv.PriorityDocument})
	require.NoError(t, err)
	require.Equal(t, ids([]rv.Case{doc0, doc1}), ids(docs))

	top, err := s.List(ctx, "acme", Filter{Limit: 3})
	require.NoError(t, err)
	require.Equal(t, ids([]rv.Case{sanc1, sanc2, dup}), ids(top))

	// Claiming moves a case to the assigned index; with no state filter
	// the merge keeps the global order.
	claimed, err := s.Update(ctx, "acme", sanc2.ID, sanc2.Version, func(c rv.Case) (rv.Case, error) {
		return rv.Claim(c, alice, t0, rules)
	})
	require.NoError(t, err)
	require.Equal(t, uint64(2), claimed.Version)
	open, err := s.List(ctx, "acme", Filter{State: rv.StateOpen, Limit: 2})
	require.NoError(t, err)
	require.Equal(t, ids([]rv.Case{sanc1, dup}), ids(open))
	assigned, err := s.List(ctx, "acme", Filter{State: rv.StateAssigned})
	require.NoError(t, err)
	require.Equal(t, []string{sanc2.ID}, ids(assigned))
	require.Equal(t, alice.ID, assigned[0].Assignee)
	every, err := s.List(ctx, "acme", Filter{})
	require.NoError(t, err)
	require.Equal(t, ids([]rv.Case{sanc1, sanc2, dup, live, doc0, doc1, oth}), ids(every))

	_, err = s.List(ctx, "acme", Filter{State: "nope"})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = s.List(ctx, "acme", Filter{Priority: 9})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestUpdateCompareAndSet(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	c := create(t, s, newCase(t, "acme", "dec-1", t0, reasons.DocExpired))

	_, err := s.Update(ctx, "acme", c.ID, c.Version+1, func(c rv.Case) (rv.Case, error) { return c, nil })
	require.ErrorIs(t, err, ErrConflict)
	_, err = s.Update(ctx, "acme", "missing", 1, func(c rv.Case) (rv.Case, error) { return c, nil })
	require.ErrorIs(t, err, ErrNotFound)

	// A refused transition writes nothing.
	_, err = s.Update(ctx, "acme", c.ID, c.Version, func(c rv.Case) (rv.Case, error) {
		return rv.Decide(c, alice, t0, rules, rv.Verdict{Outcome: rv.OutcomeApprove, Reasons: []string{reasons.DocExpired}, Comment: "x"})
	})
	require.ErrorIs(t, err, rv.ErrConflict)
	got, err := s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, c, got)

	// fn may not change identity or drop history.
	for name, mut := range map[string]func(*rv.Case){
		"tenant":  func(c *rv.Case) { c.Tenant = "globex" },
		"session": func(c *rv.Case) { c.SessionID = "other" },
		"history": func(c *rv.Case) { c.History = nil },
		"state":   func(c *rv.Case) { c.State = "weird" },
	} {
		_, err := s.Update(ctx, "acme", c.ID, c.Version, func(c rv.Case) (rv.Case, error) { mut(&c); return c, nil })
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	_, err = s.Update(ctx, "acme", c.ID, c.Version, nil)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestRacingClaims: reviewers who all read version 1 claim at once;
// exactly one wins, whoever loses learns it from the store (ErrConflict)
// or, if it read after the win, from the transition (ErrClaimedByOther).
func TestRacingClaims(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	c := create(t, s, newCase(t, "acme", "dec-1", t0, reasons.ScreeningSanctionsHit))

	const n = 16
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		wins    atomic.Int32
		winner  atomic.Value
		errsMu  sync.Mutex
		loseErr []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := rv.Actor{ID: fmt.Sprintf("rvw_%02d", i), Tenant: "acme", Role: rv.RoleReviewer}
			version := c.Version
			if i%2 == 1 { // half of them re-read first
				cur, err := s.Get(ctx, "acme", c.ID)
				if err != nil {
					errsMu.Lock()
					loseErr = append(loseErr, err)
					errsMu.Unlock()
					return
				}
				version = cur.Version
			}
			<-start
			_, err := s.Update(ctx, "acme", c.ID, version, func(c rv.Case) (rv.Case, error) {
				return rv.Claim(c, a, t0, rules)
			})
			if err == nil {
				wins.Add(1)
				winner.Store(a.ID)
				return
			}
			errsMu.Lock()
			loseErr = append(loseErr, err)
			errsMu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(1), wins.Load())
	require.Len(t, loseErr, n-1)
	for _, err := range loseErr {
		require.True(t, errors.Is(err, ErrConflict) || errors.Is(err, rv.ErrClaimedByOther), err)
	}
	got, err := s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, winner.Load(), got.Assignee)
	require.Equal(t, uint64(2), got.Version)
	require.Len(t, got.History, 2)
}

func TestExpiredClaimTakenOver(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.store
	c := create(t, s, newCase(t, "acme", "dec-1", t0, reasons.DocExpired))
	bob := rv.Actor{ID: "rvw_bob", Tenant: "acme", Role: rv.RoleReviewer}
	claim := func(a rv.Actor, v uint64, at time.Time) (rv.Case, error) {
		return s.Update(ctx, "acme", c.ID, v, func(c rv.Case) (rv.Case, error) { return rv.Claim(c, a, at, rules) })
	}
	c1, err := claim(alice, c.Version, e.clock.now())
	require.NoError(t, err)
	e.clock.add(9 * time.Minute)
	_, err = claim(bob, c1.Version, e.clock.now())
	require.ErrorIs(t, err, rv.ErrClaimedByOther)
	e.clock.add(time.Minute)
	c2, err := claim(bob, c1.Version, e.clock.now())
	require.NoError(t, err)
	require.Equal(t, bob.ID, c2.Assignee)
	require.Equal(t, alice.ID, c2.History[len(c2.History)-1].Previous)
	_, err = s.Update(ctx, "acme", c.ID, c2.Version, func(c rv.Case) (rv.Case, error) {
		return rv.Decide(c, alice, e.clock.now(), rules, rv.Verdict{Outcome: rv.OutcomeApprove, Reasons: []string{reasons.DocExpired}, Comment: "late"})
	})
	require.ErrorIs(t, err, rv.ErrClaimedByOther)
}

// TestCommentsSealed decides a case under four-eyes with comments, reads
// them back, and finds none of them in the store's files; shredding the
// session makes the case unreadable but deletable.
func TestCommentsSealed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.store
	c := create(t, s, newCase(t, "acme", "dec-1", t0, reasons.ScreeningSanctionsHit))
	fe := rv.Rules{ClaimTTL: time.Hour, FourEyes: rv.FourEyes{Sanctions: true}}
	c1 := "Applicant JOHANNA-MARKER-ROE born 1980-01-01 is not the listed person"
	c2 := "Agreed: CONFIRM-MARKER-QX7 different birth year"

	up := func(v uint64, fn func(rv.Case) (rv.Case, error)) rv.Case {
		got, err := s.Update(ctx, "acme", c.ID, v, fn)
		require.NoError(t, err)
		return got
	}
	cur := up(c.Version, func(c rv.Case) (rv.Case, error) { return rv.Claim(c, alice, t0, fe) })
	cur = up(cur.Version, func(c rv.Case) (rv.Case, error) {
		return rv.Decide(c, alice, t0, fe, rv.Verdict{Outcome: rv.OutcomeApprove, Reasons: []string{reasons.ScreeningSanctionsHit}, Comment: c1})
	})
	require.Equal(t, rv.StatePendingConfirmation, cur.State)
	got, err := s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, c1, got.Proposal.Comment)

	cur = up(cur.Version, func(c rv.Case) (rv.Case, error) { return rv.Confirm(c, carol, t0, c2) })
	got, err = s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, cur, got)
	require.Equal(t, c1, got.Decision.Comment)
	require.Equal(t, carol.ID, got.Decision.ConfirmedBy)
	require.Equal(t, c1, got.History[2].Comment)
	require.Equal(t, c2, got.History[3].Comment)

	require.NoError(t, s.Close())
	for _, m := range []string{"JOHANNA-MARKER-ROE", "CONFIRM-MARKER-QX7"} {
		require.False(t, filesContain(t, e.dir, []byte(m)), "comment %s in the clear on disk", m)
	}
	// The ids and codes are there: the scan can find what is stored.
	require.True(t, filesContain(t, e.dir, []byte(reasons.ScreeningSanctionsHit)))

	s, err = Open(ctx, e.dir, e.ring, WithArgon2(cheapArgon))
	require.NoError(t, err)
	defer s.Close()
	got, err = s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, c2, got.History[3].Comment)

	// Erasure: the session's key is shredded, the comments are gone.
	require.NoError(t, e.ring.Shred(ctx, "acme", c.SessionID))
	_, err = s.Get(ctx, "acme", c.ID)
	require.ErrorIs(t, err, keys.ErrShredded)
	require.NoError(t, s.Delete(ctx, "acme", c.ID))
	_, err = s.Get(ctx, "acme", c.ID)
	require.ErrorIs(t, err, ErrNotFound)
	list, err := s.List(ctx, "acme", Filter{})
	require.NoError(t, err)
	require.Empty(t, list)
}

// TestRacingUpdatesCAS races writers whose function never refuses (a
// renewal by the same reviewer is always allowed): only the version check
// can stop all of them from winning.
func TestRacingUpdatesCAS(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	c := create(t, s, newCase(t, "acme", "dec-1", t0, reasons.DocExpired))
	c, err := s.Update(ctx, "acme", c.ID, c.Version, func(c rv.Case) (rv.Case, error) { return rv.Claim(c, alice, t0, rules) })
	require.NoError(t, err)

	const n = 16
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		wins      atomic.Int32
		conflicts atomic.Int32
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Update(ctx, "acme", c.ID, c.Version, func(c rv.Case) (rv.Case, error) {
				return rv.Claim(c, alice, t0.Add(time.Duration(i)*time.Second), rules)
			})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrConflict):
				conflicts.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Equal(t, int32(1), wins.Load())
	require.Equal(t, int32(n-1), conflicts.Load())
	got, err := s.Get(ctx, "acme", c.ID)
	require.NoError(t, err)
	require.Equal(t, c.Version+1, got.Version)
	require.Len(t, got.History, len(c.History)+1)
}

func TestQueueStats(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	// SLAs (DefaultSLA): sanctions 5m, duplicate 30m, liveness 4h, document 24h.
	create(t, s, newCase(t, "acme", "sanc-late", t0.Add(-time.Hour), reasons.ScreeningSanctionsHit)) // due t0-55m
	create(t, s, newCase(t, "acme", "sanc-new", t0, reasons.ScreeningSanctionsHit))                  // due t0+5m
	dup := create(t, s, newCase(t, "acme", "dup", t0.Add(-31*time.Minute), reasons.FaceDuplicateIdentity))
	create(t, s, newCase(t, "acme", "doc", t0, reasons.DocExpired))
	done := create(t, s, newCase(t, "acme", "done", t0.Add(-48*time.Hour), reasons.DocExpired))
	create(t, s, newCase(t, "globex", "other", t0.Add(-time.Hour), reasons.ScreeningSanctionsHit))

	_, err := s.Update(ctx, "acme", dup.ID, dup.Version, func(c rv.Case) (rv.Case, error) { return rv.Claim(c, alice, t0, rules) })
	require.NoError(t, err)
	d, err := s.Update(ctx, "acme", done.ID, done.Version, func(c rv.Case) (rv.Case, error) { return rv.Claim(c, alice, t0, rules) })
	require.NoError(t, err)
	_, err = s.Update(ctx, "acme", done.ID, d.Version, func(c rv.Case) (rv.Case, error) {
		return rv.Decide(c, alice, t0, rules, rv.Verdict{Outcome: rv.OutcomeApprove, Reasons: []string{reasons.DocExpired}, Comment: "renewed"})
	})
	require.NoError(t, err)

	q, err := s.QueueStats(ctx, "acme", t0)
	require.NoError(t, err)
	require.Equal(t, 4, q.Total(), "the decided case is not in the queue")
	require.Equal(t, 2, q.Waiting[rv.StateOpen][rv.PrioritySanctions])
	require.Equal(t, 1, q.Waiting[rv.StateAssigned][rv.PriorityDuplicate])
	require.Equal(t, 1, q.Waiting[rv.StateOpen][rv.PriorityDocument])
	require.Equal(t, 1, q.Overdue[rv.PrioritySanctions])
	require.Equal(t, 55*time.Minute, q.MostOverdue[rv.PrioritySanctions])
	require.Equal(t, 1, q.Overdue[rv.PriorityDuplicate])
	require.Equal(t, time.Minute, q.MostOverdue[rv.PriorityDuplicate])
	require.Zero(t, q.Overdue[rv.PriorityDocument])

	// Later, more is overdue; another tenant's queue is its own.
	q, err = s.QueueStats(ctx, "acme", t0.Add(25*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 4, q.TotalOverdue())
	g, err := s.QueueStats(ctx, "globex", t0)
	require.NoError(t, err)
	require.Equal(t, 1, g.Total())
	e, err := s.QueueStats(ctx, "initech", t0)
	require.NoError(t, err)
	require.Zero(t, e.Total())
	_, err = s.QueueStats(ctx, "", t0)
	require.ErrorIs(t, err, ErrInvalid)
}
