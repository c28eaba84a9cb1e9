// Package monitoringtest is the conformance suite of monitoring.Store
// implementations.
package monitoringtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/services/screening"
	"github.com/openekyc/ekyc/store/monitoring"
)

// Many is the number of subjects of the iteration test: more than a page of
// any reasonable implementation.
const Many = 600

// Run runs the conformance suite. newStore returns a fresh, empty store for
// each subtest; closing it is newStore's business (t.Cleanup), and the suite
// may close it first (Close must be idempotent).
func Run(t *testing.T, newStore func(t *testing.T) monitoring.Store) {
	t.Run("EnrolAndList", func(t *testing.T) { testEnrolAndList(t, newStore(t)) })
	t.Run("EnrolIsIdempotent", func(t *testing.T) { testEnrolIdempotent(t, newStore(t)) })
	t.Run("SetKnownHits", func(t *testing.T) { testSetKnownHits(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalidArguments(t, newStore(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, newStore(t)) })
	t.Run("Unenrol", func(t *testing.T) { testUnenrol(t, newStore(t)) })
	t.Run("ManyWithWritesDuringIteration", func(t *testing.T) { testMany(t, newStore(t)) })
	t.Run("CallbackErrorStops", func(t *testing.T) { testCallbackError(t, newStore(t)) })
	t.Run("ConcurrentEnrol", func(t *testing.T) { testConcurrentEnrol(t, newStore(t)) })
	t.Run("ContextCancelled", func(t *testing.T) { testContextCancelled(t, newStore(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore(t)) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Applicant is the subject's query the suite enrols (and the name a test
// can look for in an implementation's files).
var Applicant = screening.Query{
	Name:       "Anna Maria Eriksson",
	DOB:        screening.DateSpec{Year: 1985, Month: 8, Day: 12},
	Countries:  []string{"SWE"},
	DocNumbers: []string{"L898902C3"},
	Type:       screening.EntityPerson,
}

// NewSubject returns a subject of tenant/session with the Applicant query.
func NewSubject(tenant, session string, known ...string) monitoring.Subject {
	return monitoring.Subject{Tenant: tenant, Session: session, Query: Applicant, KnownHits: known,
		EnrolledAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// All lists a tenant's subjects.
func All(ctx context.Context, t *testing.T, s monitoring.Store, tenant string) []monitoring.Subject {
	t.Helper()
	var out []monitoring.Subject
	require.NoError(t, s.Subjects(ctx, tenant, func(sub monitoring.Subject) error {
		out = append(out, sub)
		return nil
	}))
	return out
}

func testEnrolAndList(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	require.Empty(t, All(ctx, t, s, "t1"))
	for _, id := range []string{"s-2", "s-1", "s-3"} {
		require.NoError(t, s.Enrol(ctx, NewSubject("t1", id, "un-2", "ofac-1", "un-2")))
	}
	noTime := NewSubject("t1", "s-0")
	noTime.EnrolledAt = time.Time{}
	before := time.Now()
	require.NoError(t, s.Enrol(ctx, noTime))

	got := All(ctx, t, s, "t1")
	require.Len(t, got, 4)
	for i, id := range []string{"s-0", "s-1", "s-2", "s-3"} {
		require.Equal(t, "t1", got[i].Tenant)
		require.Equal(t, id, got[i].Session, "session id order")
		require.Equal(t, Applicant, got[i].Query)
	}
	require.Empty(t, got[0].KnownHits)
	require.False(t, got[0].EnrolledAt.Before(before.Add(-time.Minute)), "the store stamps a zero EnrolledAt")
	require.Equal(t, []string{"ofac-1", "un-2"}, got[1].KnownHits, "sorted, without duplicates")
	require.True(t, got[1].EnrolledAt.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)))
}

func testEnrolIdempotent(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Enrol(ctx, NewSubject("t1", "s-1", "ofac-1")))
	require.NoError(t, s.SetKnownHits(ctx, "t1", "s-1", []string{"ofac-1", "ftm-Q1"}))
	again := NewSubject("t1", "s-1")
	again.Query.Name = "Someone Else"
	again.EnrolledAt = again.EnrolledAt.Add(time.Hour)
	require.NoError(t, s.Enrol(ctx, again), "enrolling twice is not an error")
	got := All(ctx, t, s, "t1")
	require.Len(t, got, 1)
	require.Equal(t, []string{"ftm-Q1", "ofac-1"}, got[0].KnownHits, "a second enrolment does not reset the known hits")
	require.Equal(t, Applicant, got[0].Query)
	require.True(t, got[0].EnrolledAt.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)))
}

func testSetKnownHits(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Enrol(ctx, NewSubject("t1", "s-1")))
	require.NoError(t, s.SetKnownHits(ctx, "t1", "s-1", []string{"b", "a", "b"}))
	require.Equal(t, []string{"a", "b"}, All(ctx, t, s, "t1")[0].KnownHits)
	require.NoError(t, s.SetKnownHits(ctx, "t1", "s-1", nil))
	got := All(ctx, t, s, "t1")[0]
	require.Empty(t, got.KnownHits)
	require.Equal(t, Applicant, got.Query, "the query is kept")
}

func testNotFound(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	err := s.SetKnownHits(ctx, "t1", "missing", []string{"a"})
	require.ErrorIs(t, err, monitoring.ErrNotFound)
	require.Empty(t, All(ctx, t, s, "t1"), "SetKnownHits does not enrol")
}

func testInvalidArguments(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	noName := NewSubject("t1", "s-1")
	noName.Query.Name = ""
	badDate := NewSubject("t1", "s-1")
	badDate.Query.DOB = screening.DateSpec{Year: 1985, Month: 13}
	for name, sub := range map[string]monitoring.Subject{
		"empty tenant":    NewSubject("", "s-1"),
		"empty session":   NewSubject("t1", ""),
		"long session":    NewSubject("t1", string(make([]byte, monitoring.MaxIDLen+1))),
		"invalid utf-8":   NewSubject("t1", "\xff"),
		"no name":         noName,
		"bad date":        badDate,
		"empty entity id": NewSubject("t1", "s-1", ""),
	} {
		require.ErrorIs(t, s.Enrol(ctx, sub), monitoring.ErrInvalidArgument, name)
	}
	require.ErrorIs(t, s.SetKnownHits(ctx, "", "s-1", nil), monitoring.ErrInvalidArgument)
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "", nil), monitoring.ErrInvalidArgument)
	require.NoError(t, s.Enrol(ctx, NewSubject("t1", "s-1")))
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "s-1", []string{""}), monitoring.ErrInvalidArgument)
	require.ErrorIs(t, s.Subjects(ctx, "", func(monitoring.Subject) error { return nil }), monitoring.ErrInvalidArgument)
	require.Len(t, All(ctx, t, s, "t1"), 1, "nothing invalid was stored")
}

func testTenantIsolation(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	// Pairs that a naive "tenant/session" key would mix up.
	require.NoError(t, s.Enrol(ctx, NewSubject("a", "b/c", "x")))
	require.NoError(t, s.Enrol(ctx, NewSubject("a/b", "c", "y")))
	require.NoError(t, s.Enrol(ctx, NewSubject("ab", "c", "z")))
	require.NoError(t, s.Enrol(ctx, NewSubject("a0", "c", "w")))
	for tenant, want := range map[string][2]string{"a": {"b/c", "x"}, "a/b": {"c", "y"}, "ab": {"c", "z"}, "a0": {"c", "w"}} {
		got := All(ctx, t, s, tenant)
		require.Len(t, got, 1, tenant)
		require.Equal(t, tenant, got[0].Tenant)
		require.Equal(t, want[0], got[0].Session, tenant)
		require.Equal(t, []string{want[1]}, got[0].KnownHits, tenant)
	}
	require.ErrorIs(t, s.SetKnownHits(ctx, "a/b", "b/c", nil), monitoring.ErrNotFound)
	require.Empty(t, All(ctx, t, s, "b"))
}

func testUnenrol(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Enrol(ctx, NewSubject("a", "s-1", "x")))
	require.NoError(t, s.Enrol(ctx, NewSubject("a", "s-2")))
	require.NoError(t, s.Enrol(ctx, NewSubject("b", "s-1")))
	require.NoError(t, s.Unenrol(ctx, "a", "s-1"))
	require.NoError(t, s.Unenrol(ctx, "a", "s-1"), "idempotent")
	require.NoError(t, s.Unenrol(ctx, "a", "never"))
	got := All(ctx, t, s, "a")
	require.Len(t, got, 1)
	require.Equal(t, "s-2", got[0].Session)
	require.Len(t, All(ctx, t, s, "b"), 1, "another tenant's subject of the same session id stays")
	require.ErrorIs(t, s.SetKnownHits(ctx, "a", "s-1", nil), monitoring.ErrNotFound)
	require.ErrorIs(t, s.Unenrol(ctx, "", "s-1"), monitoring.ErrInvalidArgument)
	// Enrolling again after erasure is a new subject.
	require.NoError(t, s.Enrol(ctx, NewSubject("a", "s-1")))
	require.Len(t, All(ctx, t, s, "a"), 2)
}

func testMany(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	for i := range Many {
		require.NoError(t, s.Enrol(ctx, NewSubject("t1", fmt.Sprintf("s-%04d", i))))
	}
	require.NoError(t, s.Enrol(ctx, NewSubject("t2", "other")))
	seen := 0
	prev := ""
	require.NoError(t, s.Subjects(ctx, "t1", func(sub monitoring.Subject) error {
		require.Greater(t, sub.Session, prev, "each subject once, in order")
		prev = sub.Session
		seen++
		// Writes from the callback must not deadlock or disturb the iteration.
		if err := s.SetKnownHits(ctx, sub.Tenant, sub.Session, []string{"hit-" + sub.Session}); err != nil {
			return err
		}
		if seen%100 == 0 {
			return s.Enrol(ctx, NewSubject("t1", fmt.Sprintf("s-%04d-late", seen)))
		}
		return nil
	}))
	require.GreaterOrEqual(t, seen, Many)
	require.LessOrEqual(t, seen, Many+Many/100)
	for _, sub := range All(ctx, t, s, "t1") {
		if len(sub.Session) == len("s-0000") {
			require.Equal(t, []string{"hit-" + sub.Session}, sub.KnownHits)
		}
	}
}

func testCallbackError(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	for i := range 5 {
		require.NoError(t, s.Enrol(ctx, NewSubject("t1", fmt.Sprintf("s-%d", i))))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Subjects(ctx, "t1", func(monitoring.Subject) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2, calls)
}

func testConcurrentEnrol(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Enrol(ctx, NewSubject("t1", "s-1", fmt.Sprintf("hit-%d", i)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got := All(ctx, t, s, "t1")
	require.Len(t, got, 1)
	require.Len(t, got[0].KnownHits, 1, "one enrolment won, whole")
}

func testContextCancelled(t *testing.T, s monitoring.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.Enrol(ctx, NewSubject("t1", "s-1")), context.Canceled)
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "s-1", nil), context.Canceled)
	require.ErrorIs(t, s.Subjects(ctx, "t1", func(monitoring.Subject) error { return nil }), context.Canceled)
	require.Empty(t, All(ctxFor(t), t, s, "t1"))
}

func testClose(t *testing.T, s monitoring.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Enrol(ctx, NewSubject("t1", "s-1")))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	require.ErrorIs(t, s.Enrol(ctx, NewSubject("t1", "s-2")), monitoring.ErrClosed)
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "s-1", nil), monitoring.ErrClosed)
	require.ErrorIs(t, s.Subjects(ctx, "t1", func(monitoring.Subject) error { return nil }), monitoring.ErrClosed)
}
