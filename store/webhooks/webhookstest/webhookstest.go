// Package webhookstest is the conformance suite of webhooks.Store
// implementations.
package webhookstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/webhooks"
)

// Base is the clock origin of the suite's events.
var Base = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// NewEvent returns a valid event of tenant with id.
func NewEvent(tenant, id string) webhooks.Event {
	return webhooks.Event{
		ID: id, Tenant: tenant, Type: webhooks.TypeVerificationDecided,
		URL:       "https://receiver.example/hooks?token=s3cr3t-token",
		Body:      []byte(fmt.Sprintf(`{"event_id":%q,"applicant":"Jane Q. Applicant","dob":"1980-02-29"}`, id)),
		CreatedAt: Base,
	}
}

// Run runs the conformance suite. newStore returns a fresh, empty store for
// each subtest; closing it is newStore's business (t.Cleanup), and the suite
// may close it first (Close must be idempotent).
func Run(t *testing.T, newStore func(t *testing.T) webhooks.Store) {
	t.Run("EnqueueGetIdempotent", func(t *testing.T) { testEnqueue(t, newStore(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalid(t, newStore(t)) })
	t.Run("DueOrderLimitNextDue", func(t *testing.T) { testDue(t, newStore(t)) })
	t.Run("RecordAttempt", func(t *testing.T) { testRecordAttempt(t, newStore(t)) })
	t.Run("Replay", func(t *testing.T) { testReplay(t, newStore(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, newStore(t)) })
	t.Run("ListFilterAndPages", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("LogBounded", func(t *testing.T) { testLogBounded(t, newStore(t)) })
	t.Run("ConcurrentEnqueue", func(t *testing.T) { testConcurrentEnqueue(t, newStore(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore(t)) })
}

func enqueue(t *testing.T, s webhooks.Store, e webhooks.Event) {
	t.Helper()
	created, err := s.Enqueue(context.Background(), e)
	require.NoError(t, err)
	require.True(t, created)
}

func pending(t *testing.T, s webhooks.Store) int {
	t.Helper()
	n, err := s.Pending(context.Background())
	require.NoError(t, err)
	return n
}

func ids(rs []webhooks.Record) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// farFuture is later than any clock the store may use.
var farFuture = time.Now().Add(100 * 365 * 24 * time.Hour)

func testEnqueue(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	e := NewEvent("t1", "evt-1")
	enqueue(t, s, e)
	r, err := s.Get(ctx, "t1", "evt-1")
	require.NoError(t, err)
	require.Equal(t, e, r.Event)
	require.Equal(t, webhooks.StatePending, r.State)
	require.Equal(t, 1, r.Delivery)
	require.Zero(t, r.Attempts)
	require.Empty(t, r.Log)
	require.False(t, r.NextAttemptAt.IsZero())
	require.Equal(t, 1, pending(t, s))

	// Same id again, other content: the first version wins.
	again := e
	again.Body = []byte(`{"other":true}`)
	created, err := s.Enqueue(ctx, again)
	require.NoError(t, err)
	require.False(t, created)
	r, err = s.Get(ctx, "t1", "evt-1")
	require.NoError(t, err)
	require.JSONEq(t, string(e.Body), string(r.Body))
	require.Equal(t, 1, pending(t, s))

	// CreatedAt is set when zero.
	z := NewEvent("t1", "evt-2")
	z.CreatedAt = time.Time{}
	enqueue(t, s, z)
	r, err = s.Get(ctx, "t1", "evt-2")
	require.NoError(t, err)
	require.False(t, r.CreatedAt.IsZero())

	_, err = s.Get(ctx, "t1", "nope")
	require.ErrorIs(t, err, webhooks.ErrNotFound)
}

func testInvalid(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	bad := map[string]func(*webhooks.Event){
		"no tenant":     func(e *webhooks.Event) { e.Tenant = "" },
		"no id":         func(e *webhooks.Event) { e.ID = "" },
		"id with space": func(e *webhooks.Event) { e.ID = "a b" },
		"id with CRLF":  func(e *webhooks.Event) { e.ID = "a\r\nX-Evil: 1" },
		"bad type":      func(e *webhooks.Event) { e.Type = "Verification Decided" },
		"ftp URL":       func(e *webhooks.Event) { e.URL = "ftp://receiver.example/x" },
		"relative URL":  func(e *webhooks.Event) { e.URL = "/hooks" },
		"no host":       func(e *webhooks.Event) { e.URL = "https:///hooks" },
		"empty body":    func(e *webhooks.Event) { e.Body = nil },
		"not JSON":      func(e *webhooks.Event) { e.Body = []byte("{nope") },
		"huge body":     func(e *webhooks.Event) { e.Body = []byte(`"` + strings.Repeat("a", webhooks.MaxBodySize) + `"`) },
	}
	for name, mutate := range bad {
		e := NewEvent("t1", "evt-1")
		mutate(&e)
		_, err := s.Enqueue(ctx, e)
		require.ErrorIs(t, err, webhooks.ErrInvalidArgument, name)
	}
	enqueue(t, s, NewEvent("t1", "evt-1"))
	_, err := s.RecordAttempt(ctx, "t1", "evt-1", webhooks.Attempt{Delivery: 1}, webhooks.Next{State: "bogus"})
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument)
	_, err = s.RecordAttempt(ctx, "t1", "evt-1", webhooks.Attempt{Delivery: 1}, webhooks.Next{State: webhooks.StatePending})
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument, "pending needs a time")
	_, err = s.Due(ctx, farFuture, 0)
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument)
	_, err = s.List(ctx, "t1", webhooks.Filter{State: "bogus"})
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument)
	_, err = s.Replay(ctx, "t1", "evt-1", time.Time{})
	require.ErrorIs(t, err, webhooks.ErrInvalidArgument)
	r, err := s.Get(ctx, "t1", "evt-1")
	require.NoError(t, err)
	require.Empty(t, r.Log, "failed calls write nothing")
}

func testDue(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	_, ok, err := s.NextDue(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	for _, id := range []string{"a", "b", "c", "d"} {
		enqueue(t, s, NewEvent("t1", id))
	}
	// Push a and b into the future, b before a.
	_, err = s.RecordAttempt(ctx, "t1", "a", webhooks.Attempt{Delivery: 1, At: Base, Status: 500},
		webhooks.Next{State: webhooks.StatePending, At: farFuture.Add(2 * time.Hour)})
	require.NoError(t, err)
	_, err = s.RecordAttempt(ctx, "t1", "b", webhooks.Attempt{Delivery: 1, At: Base, Status: 500},
		webhooks.Next{State: webhooks.StatePending, At: farFuture.Add(time.Hour)})
	require.NoError(t, err)

	due, err := s.Due(ctx, time.Now(), 10)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"c", "d"}, ids(due))
	due, err = s.Due(ctx, time.Now(), 1)
	require.NoError(t, err)
	require.Len(t, due, 1)

	due, err = s.Due(ctx, farFuture.Add(3*time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 4)
	require.Equal(t, []string{"b", "a"}, ids(due[2:]), "earliest first")

	// Nothing due before the earliest time.
	at, ok, err := s.NextDue(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, at.After(time.Now()))
	for _, id := range []string{"c", "d"} {
		_, err = s.RecordAttempt(ctx, "t1", id, webhooks.Attempt{Delivery: 1, At: Base, Status: 200}, webhooks.Next{State: webhooks.StateDelivered})
		require.NoError(t, err)
	}
	at, ok, err = s.NextDue(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, at.Equal(farFuture.Add(time.Hour)), "got %v", at)
	due, err = s.Due(ctx, at.Add(-time.Nanosecond), 10)
	require.NoError(t, err)
	require.Empty(t, due)
	due, err = s.Due(ctx, at, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, ids(due), "due at exactly its time")
	require.Equal(t, 2, pending(t, s))
}

func testRecordAttempt(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	enqueue(t, s, NewEvent("t1", "e"))
	next := Base.Add(time.Minute)
	long := strings.Repeat("x", webhooks.MaxErrorLen+50)
	r, err := s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 1, At: Base, Status: 0, Error: long, Duration: 3 * time.Millisecond},
		webhooks.Next{State: webhooks.StatePending, At: next})
	require.NoError(t, err)
	require.Equal(t, 1, r.Attempts)
	require.True(t, r.NextAttemptAt.Equal(next))
	require.Len(t, r.Log, 1)
	require.Equal(t, 1, r.Log[0].N)
	require.Len(t, r.Log[0].Error, webhooks.MaxErrorLen)

	r, err = s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 1, At: next, Status: 204, Duration: time.Millisecond},
		webhooks.Next{State: webhooks.StateDelivered})
	require.NoError(t, err)
	require.Equal(t, webhooks.StateDelivered, r.State)
	require.True(t, r.NextAttemptAt.IsZero())
	require.Equal(t, 0, pending(t, s))

	got, err := s.Get(ctx, "t1", "e")
	require.NoError(t, err)
	require.Equal(t, r.Log, got.Log)
	require.Equal(t, []int{0, 204}, []int{got.Log[0].Status, got.Log[1].Status})
	require.Equal(t, 2, got.Log[1].N)
	require.Equal(t, 3*time.Millisecond, got.Log[0].Duration)

	// Not pending any more: a late attempt is stale and writes nothing.
	_, err = s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 1, At: next, Status: 500},
		webhooks.Next{State: webhooks.StatePending, At: next})
	require.ErrorIs(t, err, webhooks.ErrStale)
	got, err = s.Get(ctx, "t1", "e")
	require.NoError(t, err)
	require.Len(t, got.Log, 2)
	require.Equal(t, webhooks.StateDelivered, got.State)

	// Dead letter.
	enqueue(t, s, NewEvent("t1", "f"))
	r, err = s.RecordAttempt(ctx, "t1", "f", webhooks.Attempt{Delivery: 1, At: Base, Status: 410}, webhooks.Next{State: webhooks.StateDead})
	require.NoError(t, err)
	require.Equal(t, webhooks.StateDead, r.State)
	due, err := s.Due(ctx, farFuture, 10)
	require.NoError(t, err)
	require.Empty(t, due)
	_, err = s.RecordAttempt(ctx, "t1", "missing", webhooks.Attempt{Delivery: 1}, webhooks.Next{State: webhooks.StateDead})
	require.ErrorIs(t, err, webhooks.ErrNotFound)
}

func testReplay(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	enqueue(t, s, NewEvent("t1", "e"))
	_, err := s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 1, At: Base, Status: 410}, webhooks.Next{State: webhooks.StateDead})
	require.NoError(t, err)
	require.Equal(t, 0, pending(t, s))

	at := Base.Add(time.Hour)
	r, err := s.Replay(ctx, "t1", "e", at)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatePending, r.State)
	require.Equal(t, 2, r.Delivery)
	require.Zero(t, r.Attempts)
	require.True(t, r.NextAttemptAt.Equal(at))
	require.Len(t, r.Log, 1, "the log is kept")
	require.Equal(t, 1, pending(t, s))
	due, err := s.Due(ctx, at, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"e"}, ids(due))

	// An attempt of the old delivery is stale.
	_, err = s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 1, At: at, Status: 200}, webhooks.Next{State: webhooks.StateDelivered})
	require.ErrorIs(t, err, webhooks.ErrStale)
	r, err = s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 2, At: at, Status: 200}, webhooks.Next{State: webhooks.StateDelivered})
	require.NoError(t, err)
	require.Equal(t, 1, r.Log[1].N, "attempts are numbered per delivery")
	require.Equal(t, 2, r.Log[1].Delivery)

	// Replaying a pending event brings it forward, never back.
	enqueue(t, s, NewEvent("t1", "p"))
	_, err = s.RecordAttempt(ctx, "t1", "p", webhooks.Attempt{Delivery: 1, At: Base, Status: 500},
		webhooks.Next{State: webhooks.StatePending, At: Base.Add(2 * time.Hour)})
	require.NoError(t, err)
	r, err = s.Replay(ctx, "t1", "p", Base.Add(3*time.Hour))
	require.NoError(t, err)
	require.True(t, r.NextAttemptAt.Equal(Base.Add(2*time.Hour)))
	r, err = s.Replay(ctx, "t1", "p", Base)
	require.NoError(t, err)
	require.Equal(t, 1, r.Delivery)
	require.Equal(t, 1, r.Attempts)
	require.True(t, r.NextAttemptAt.Equal(Base))
	due, err = s.Due(ctx, Base, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"p"}, ids(due))
	require.Equal(t, 1, pending(t, s))
}

func testTenantIsolation(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	enqueue(t, s, NewEvent("tenant-a", "shared-id"))
	enqueue(t, s, NewEvent("tenant-a", "only-a"))
	enqueue(t, s, NewEvent("tenant-b", "shared-id"))
	// A tenant id that is a prefix of another must not see its events.
	enqueue(t, s, NewEvent("tenant", "x"))

	_, err := s.Get(ctx, "tenant-b", "only-a")
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	_, err = s.Replay(ctx, "tenant-b", "only-a", Base)
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	_, err = s.RecordAttempt(ctx, "tenant-b", "only-a", webhooks.Attempt{Delivery: 1}, webhooks.Next{State: webhooks.StateDead})
	require.ErrorIs(t, err, webhooks.ErrNotFound)

	for tenant, want := range map[string][]string{
		"tenant-a": {"only-a", "shared-id"}, "tenant-b": {"shared-id"}, "tenant": {"x"}, "tenant-c": {},
	} {
		rs, err := s.List(ctx, tenant, webhooks.Filter{})
		require.NoError(t, err)
		require.Equal(t, want, ids(rs), tenant)
		for _, r := range rs {
			require.Equal(t, tenant, r.Tenant)
		}
	}
	// Delivering b's event leaves a's pending.
	_, err = s.RecordAttempt(ctx, "tenant-b", "shared-id", webhooks.Attempt{Delivery: 1, At: Base, Status: 200}, webhooks.Next{State: webhooks.StateDelivered})
	require.NoError(t, err)
	r, err := s.Get(ctx, "tenant-a", "shared-id")
	require.NoError(t, err)
	require.Equal(t, webhooks.StatePending, r.State)
}

func testList(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	var all []string
	for i := range 25 {
		id := fmt.Sprintf("evt-%02d", i)
		all = append(all, id)
		e := NewEvent("t1", id)
		if i%5 == 0 {
			e.Type = webhooks.TypeMonitoringAlert
		}
		enqueue(t, s, e)
		if i%2 == 0 {
			_, err := s.RecordAttempt(ctx, "t1", id, webhooks.Attempt{Delivery: 1, At: Base, Status: 200}, webhooks.Next{State: webhooks.StateDelivered})
			require.NoError(t, err)
		}
	}
	var paged []string
	after := ""
	for {
		rs, err := s.List(ctx, "t1", webhooks.Filter{After: after, Limit: 10})
		require.NoError(t, err)
		require.LessOrEqual(t, len(rs), 10)
		if len(rs) == 0 {
			break
		}
		paged = append(paged, ids(rs)...)
		after = rs[len(rs)-1].ID
	}
	require.Equal(t, all, paged)

	rs, err := s.List(ctx, "t1", webhooks.Filter{State: webhooks.StateDelivered, Limit: 100})
	require.NoError(t, err)
	require.Len(t, rs, 13)
	for _, r := range rs {
		require.Equal(t, webhooks.StateDelivered, r.State)
	}
	rs, err = s.List(ctx, "t1", webhooks.Filter{Type: webhooks.TypeMonitoringAlert, State: webhooks.StatePending})
	require.NoError(t, err)
	require.Equal(t, []string{"evt-05", "evt-15"}, ids(rs))
}

func testLogBounded(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	enqueue(t, s, NewEvent("t1", "e"))
	total := webhooks.MaxLog + 7
	for i := range total {
		_, err := s.RecordAttempt(ctx, "t1", "e", webhooks.Attempt{Delivery: 1, At: Base.Add(time.Duration(i) * time.Second), Status: 500},
			webhooks.Next{State: webhooks.StatePending, At: Base.Add(time.Duration(i+1) * time.Second)})
		require.NoError(t, err)
	}
	r, err := s.Get(ctx, "t1", "e")
	require.NoError(t, err)
	require.Len(t, r.Log, webhooks.MaxLog)
	require.Equal(t, 7, r.DroppedAttempts)
	require.Equal(t, total, r.Attempts)
	require.Equal(t, 8, r.Log[0].N, "the oldest are dropped")
	require.Equal(t, total, r.Log[len(r.Log)-1].N)
}

func testConcurrentEnqueue(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the goroutines race on one id, the others add their own.
			id := "same"
			if i%2 == 1 {
				id = fmt.Sprintf("own-%d", i)
			}
			c, err := s.Enqueue(ctx, NewEvent("t1", id))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if c {
				created++
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, 1+n/2, created)
	require.Equal(t, 1+n/2, pending(t, s))
}

func testClose(t *testing.T, s webhooks.Store) {
	ctx := context.Background()
	enqueue(t, s, NewEvent("t1", "e"))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := s.Enqueue(ctx, NewEvent("t1", "f"))
	require.ErrorIs(t, err, webhooks.ErrClosed)
	_, err = s.Get(ctx, "t1", "e")
	require.ErrorIs(t, err, webhooks.ErrClosed)
	_, err = s.Due(ctx, farFuture, 1)
	require.ErrorIs(t, err, webhooks.ErrClosed)
	_, err = s.List(ctx, "t1", webhooks.Filter{})
	require.ErrorIs(t, err, webhooks.ErrClosed)
	_, err = s.Pending(ctx)
	require.ErrorIs(t, err, webhooks.ErrClosed)
}
