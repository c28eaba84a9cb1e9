// Package sessionstest is the conformance suite of sessions.Store
// implementations.
package sessionstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
)

const (
	// Racers is the number of goroutines that race to write the same version.
	Racers = 16
	// Incrementers is the number of goroutines of the read-modify-write test,
	// each doing IncrementsEach successful writes.
	Incrementers   = 8
	IncrementsEach = 16
)

// Run runs the conformance suite. newStore returns a fresh, empty store for
// each subtest; closing it is newStore's business (t.Cleanup), and the suite
// may close it first (Close must be idempotent).
func Run(t *testing.T, newStore func(t *testing.T) sessions.Store) {
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalidArguments(t, newStore(t)) })
	t.Run("Create", func(t *testing.T) { testCreate(t, newStore(t)) })
	t.Run("CreateTwice", func(t *testing.T) { testCreateTwice(t, newStore(t)) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newStore(t)) })
	t.Run("StaleVersion", func(t *testing.T) { testStaleVersion(t, newStore(t)) })
	t.Run("TenantIsolation", func(t *testing.T) { testTenantIsolation(t, newStore(t)) })
	t.Run("KeyCollision", func(t *testing.T) { testKeyCollision(t, newStore(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("NoAliasing", func(t *testing.T) { testNoAliasing(t, newStore(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, newStore(t)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { testConcurrentUpdate(t, newStore(t)) })
	t.Run("ReadModifyWrite", func(t *testing.T) { testReadModifyWrite(t, newStore(t)) })
	t.Run("ContextCancelled", func(t *testing.T) { testContextCancelled(t, newStore(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("DeleteMissing", func(t *testing.T) { testDeleteMissing(t, newStore(t)) })
	t.Run("DeleteStaleVersion", func(t *testing.T) { testDeleteStaleVersion(t, newStore(t)) })
	t.Run("DeleteTenantIsolation", func(t *testing.T) { testDeleteTenantIsolation(t, newStore(t)) })
	t.Run("DeleteRacesUpdate", func(t *testing.T) { testDeleteRacesUpdate(t, newStore(t)) })
	t.Run("DeleteContextCancelled", func(t *testing.T) { testDeleteContextCancelled(t, newStore(t)) })
	t.Run("DeleteClosed", func(t *testing.T) { testDeleteClosed(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newState(tenant, session string, status ekycv1.SessionStatus) *ekycv1.SessionState {
	return &ekycv1.SessionState{TenantId: tenant, SessionId: session, Status: status}
}

// requireConflict checks that err is a conflict with the given versions.
func requireConflict(t *testing.T, err error, tenant, session string, expected, actual int64) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sessions.ErrConflict)
	var ce *sessions.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, tenant, ce.TenantID)
	require.Equal(t, session, ce.SessionID)
	require.Equal(t, expected, ce.Expected)
	require.Equal(t, actual, ce.Actual)
}

// requireStored checks that the stored state equals want.
func requireStored(t *testing.T, s sessions.Store, want *ekycv1.SessionState) {
	t.Helper()
	got, err := s.Get(ctxFor(t), want.GetTenantId(), want.GetSessionId())
	require.NoError(t, err)
	require.True(t, proto.Equal(want, got), "stored state differs:\nwant %v\ngot  %v", want, got)
}

func testNotFound(t *testing.T, s sessions.Store) {
	got, err := s.Get(ctxFor(t), "tenant-1", "missing")
	require.ErrorIs(t, err, sessions.ErrNotFound)
	require.Nil(t, got)
}

func testInvalidArguments(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	for _, tc := range []struct{ tenant, session string }{
		{"", "s"}, {"t", ""}, {"", ""}, {"t", "bad\xffutf8"}, {string(make([]byte, sessions.MaxIDLen+1)), "s"},
	} {
		_, err := s.Get(ctx, tc.tenant, tc.session)
		require.ErrorIs(t, err, sessions.ErrInvalidArgument, "Get(%q, %q)", tc.tenant, tc.session)
		err = s.Put(ctx, newState(tc.tenant, tc.session, ekycv1.SessionStatus_SESSION_STATUS_CREATED), 0)
		require.ErrorIs(t, err, sessions.ErrInvalidArgument, "Put(%q, %q)", tc.tenant, tc.session)
	}
	for _, tc := range []struct{ tenant, session string }{
		{"", "s"}, {"t", ""}, {"t", "bad\xffutf8"}, {"t", string(make([]byte, sessions.MaxIDLen+1))},
	} {
		require.ErrorIs(t, s.Delete(ctx, tc.tenant, tc.session, 1), sessions.ErrInvalidArgument, "Delete(%q, %q)", tc.tenant, tc.session)
	}
	require.ErrorIs(t, s.Delete(ctx, "t", "s", -1), sessions.ErrInvalidArgument)
	require.ErrorIs(t, s.Put(ctx, nil, 0), sessions.ErrInvalidArgument)
	st := newState("t", "s", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.ErrorIs(t, s.Put(ctx, st, -1), sessions.ErrInvalidArgument)
	require.Zero(t, st.GetVersion())
	// Nothing was written by the rejected calls.
	_, err := s.Get(ctx, "t", "s")
	require.ErrorIs(t, err, sessions.ErrNotFound)
}

func testCreate(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	st.Version = 42 // ignored: the stored version is expectedVersion+1
	require.NoError(t, s.Put(ctx, st, 0))
	require.Equal(t, int64(1), st.GetVersion())
	requireStored(t, s, st)
}

func testCreateTwice(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	first := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, first, 0))

	second := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_PROCESSING)
	err := s.Put(ctx, second, 0)
	requireConflict(t, err, "tenant-1", "session-1", 0, 1)
	require.Zero(t, second.GetVersion(), "a failed Put must not change the state")
	requireStored(t, s, first)
}

func testUpdate(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, st, 0))

	st.Status = ekycv1.SessionStatus_SESSION_STATUS_PROCESSING
	st.AppliedEventIds = append(st.AppliedEventIds, "event-1")
	require.NoError(t, s.Put(ctx, st, 1))
	require.Equal(t, int64(2), st.GetVersion())
	requireStored(t, s, st)

	// The state read back can be written back at its own version.
	got, err := s.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	got.Status = ekycv1.SessionStatus_SESSION_STATUS_DECIDED
	require.NoError(t, s.Put(ctx, got, got.GetVersion()))
	require.Equal(t, int64(3), got.GetVersion())
	requireStored(t, s, got)
}

func testStaleVersion(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, st, 0))
	st.Status = ekycv1.SessionStatus_SESSION_STATUS_PROCESSING
	require.NoError(t, s.Put(ctx, st, 1))

	stale := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_FAILED)
	stale.Version = 1
	requireConflict(t, s.Put(ctx, stale, 1), "tenant-1", "session-1", 1, 2)
	require.Equal(t, int64(1), stale.GetVersion(), "a failed Put must not change the state")
	// A version from the future conflicts too.
	requireConflict(t, s.Put(ctx, stale, 7), "tenant-1", "session-1", 7, 2)
	requireStored(t, s, st)

	// Updating a session that does not exist conflicts with actual version 0.
	missing := newState("tenant-1", "session-2", ekycv1.SessionStatus_SESSION_STATUS_PROCESSING)
	requireConflict(t, s.Put(ctx, missing, 3), "tenant-1", "session-2", 3, 0)
	_, err := s.Get(ctx, "tenant-1", "session-2")
	require.ErrorIs(t, err, sessions.ErrNotFound)
}

func testTenantIsolation(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	a := newState("tenant-a", "shared-id", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	b := newState("tenant-b", "shared-id", ekycv1.SessionStatus_SESSION_STATUS_REVIEW)
	require.NoError(t, s.Put(ctx, a, 0))
	require.NoError(t, s.Put(ctx, b, 0), "the same session id in another tenant is another session")
	require.Equal(t, int64(1), b.GetVersion())

	a.Status = ekycv1.SessionStatus_SESSION_STATUS_DECIDED
	require.NoError(t, s.Put(ctx, a, 1))
	require.Equal(t, int64(2), a.GetVersion())
	requireStored(t, s, a)
	requireStored(t, s, b)

	_, err := s.Get(ctx, "tenant-c", "shared-id")
	require.ErrorIs(t, err, sessions.ErrNotFound)
	requireConflict(t, s.Put(ctx, newState("tenant-b", "shared-id", ekycv1.SessionStatus_SESSION_STATUS_FAILED), 2),
		"tenant-b", "shared-id", 2, 1)
}

func testKeyCollision(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	// Naive "tenant/session" keys would map all of these to "a/b/c".
	keys := [][2]string{{"a", "b/c"}, {"a/b", "c"}, {"a/b/c", "x"}, {"x", "a/b/c"}}
	// ... and these to "a\x00b" or "ab" with other separators or length bytes.
	keys = append(keys, [2]string{"a\x00", "b"}, [2]string{"a", "\x00b"}, [2]string{"\x01a", "b"}, [2]string{"a", "\x01b"})
	var written []*ekycv1.SessionState
	for i, k := range keys {
		st := newState(k[0], k[1], ekycv1.SessionStatus(i%7))
		st.AppliedEventIds = []string{fmt.Sprintf("event-%d", i)}
		require.NoError(t, s.Put(ctx, st, 0), "create %q/%q", k[0], k[1])
		written = append(written, st)
	}
	for _, st := range written {
		requireStored(t, s, st)
	}
}

// FullState returns a session state with every field set.
func FullState(tenant, session string) *ekycv1.SessionState {
	ts := func(sec int64) *timestamppb.Timestamp {
		return timestamppb.New(time.Unix(1767225600+sec, 123456789).UTC())
	}
	selfie := &ekycv1.ImageRef{Uri: "blob://tenant/selfie.jpg", ContentType: "image/jpeg", Sha256: "ab12", Side: "selfie"}
	checks := []*ekycv1.CheckResult{
		{
			Kind: ekycv1.CheckKind_CHECK_KIND_DOCUMENT, Status: ekycv1.CheckStatus_CHECK_STATUS_PASS, Score: 0.97,
			Signals: []*ekycv1.Signal{
				{Name: "mrz.valid", Value: &ekycv1.Signal_Flag{Flag: true}},
				{Name: "expiry.days", Value: &ekycv1.Signal_Number{Number: 812}, Unit: "days"},
				{Name: "mrz.format", Value: &ekycv1.Signal_Text{Text: "TD3"}},
			},
			Latency: durationpb.New(42 * time.Millisecond), Attempts: 1,
		},
		{
			Kind: ekycv1.CheckKind_CHECK_KIND_FACE, Status: ekycv1.CheckStatus_CHECK_STATUS_ERROR,
			ReasonCodes: []string{"FACE_BACKEND_TIMEOUT"}, Attempts: 3, Error: "deadline exceeded",
			Latency: durationpb.New(2 * time.Second),
		},
	}
	return &ekycv1.SessionState{
		TenantId:  tenant,
		SessionId: session,
		Status:    ekycv1.SessionStatus_SESSION_STATUS_DECIDED,
		Request: &ekycv1.VerificationRequest{
			TenantId: tenant, SessionId: session, EventId: "event-1",
			Applicant: &ekycv1.Applicant{
				GivenNames: "Anna María", Surname: "Eriksson-Ünal", DateOfBirth: "1990-02-28", Nationality: "UTO",
				Address: &ekycv1.Address{Lines: []string{"1 Main St", "Flat 2"}, City: "Zenith", PostalCode: "12345", Country: "UTO"},
			},
			Document: &ekycv1.Document{
				Type: ekycv1.DocumentType_DOCUMENT_TYPE_PASSPORT,
				MrzLines: []string{
					"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
					"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
				},
				Images:         []*ekycv1.ImageRef{{Uri: "blob://tenant/front.jpg", ContentType: "image/jpeg", Side: "front"}},
				IssuingCountry: "UTO",
			},
			Selfies:         []*ekycv1.ImageRef{selfie},
			RequestedChecks: []ekycv1.CheckKind{ekycv1.CheckKind_CHECK_KIND_DOCUMENT, ekycv1.CheckKind_CHECK_KIND_FACE},
			CallbackUrl:     "https://example.test/callback?x=1",
			SubmittedAt:     ts(0),
			PolicyId:        "default",
		},
		Checks: checks,
		Decision: &ekycv1.Decision{
			DecisionId: "decision-1", TenantId: tenant, SessionId: session, EventId: "event-1",
			Outcome: ekycv1.Outcome_OUTCOME_REVIEW, Score: 61.5, ReasonCodes: []string{"FACE_CHECK_ERROR"},
			PolicyId: "default", PolicyVersion: 3, Checks: checks,
			DecidedAt: ts(3), ProcessingLatency: durationpb.New(3 * time.Second), SubmittedAt: ts(0),
		},
		AppliedEventIds: []string{"event-0", "event-1"},
		CreatedAt:       ts(1),
		UpdatedAt:       ts(3),
		ReceivedAt:      ts(1),
	}
}

func testRoundTrip(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := FullState("tenant-1", "session-ü/1")
	want := proto.Clone(st).(*ekycv1.SessionState)
	require.NoError(t, s.Put(ctx, st, 0))
	want.Version = 1
	require.True(t, proto.Equal(want, st), "Put changed more than the version")

	got, err := s.Get(ctx, "tenant-1", "session-ü/1")
	require.NoError(t, err)
	require.True(t, proto.Equal(want, got), "round trip:\nwant %v\ngot  %v", want, got)

	// Update the full state: drop the decision, change a check.
	got.Decision = nil
	got.Checks[1].Status = ekycv1.CheckStatus_CHECK_STATUS_PASS
	got.Status = ekycv1.SessionStatus_SESSION_STATUS_PROCESSING
	require.NoError(t, s.Put(ctx, got, 1))
	requireStored(t, s, got)
}

func testNoAliasing(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := FullState("tenant-1", "session-1")
	require.NoError(t, s.Put(ctx, st, 0))
	want := proto.Clone(st).(*ekycv1.SessionState)

	// Changing what was written, or what was read, does not change the store.
	st.Request.Applicant.Surname = "Changed"
	st.AppliedEventIds[0] = "changed"
	got, err := s.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	got.Checks[0].Signals[0].Name = "changed"
	got.Version = 99
	requireStored(t, s, want)
}

// write is a Put whose unknown outcome is settled by re-reading.
func write(ctx context.Context, s sessions.Store, st *ekycv1.SessionState, expected int64) (applied bool, err error) {
	err = s.Put(ctx, st, expected)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, sessions.ErrUnknownOutcome) {
		return false, err
	}
	applied, _, rerr := sessions.ResolveUnknownOutcome(ctx, s, st, expected)
	if rerr != nil {
		return false, fmt.Errorf("resolve %v: %w", err, rerr)
	}
	if applied {
		return true, nil
	}
	return false, err
}

// race makes Racers goroutines write the same session at the same expected
// version, each with its own marker event id, and checks exactly one won.
func race(t *testing.T, s sessions.Store, tenant, session string, expected int64) {
	ctx := ctxFor(t)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		applied = make([]bool, Racers)
		errs    = make([]error, Racers)
	)
	for i := range Racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := newState(tenant, session, ekycv1.SessionStatus_SESSION_STATUS_PROCESSING)
			st.AppliedEventIds = []string{fmt.Sprintf("racer-%d", i)}
			<-start
			applied[i], errs[i] = write(ctx, s, st, expected)
		}()
	}
	close(start)
	wg.Wait()

	winners := 0
	for i := range Racers {
		if applied[i] {
			winners++
			continue
		}
		require.Error(t, errs[i])
		if errors.Is(errs[i], sessions.ErrUnknownOutcome) {
			continue // settled: not applied
		}
		requireConflict(t, errs[i], tenant, session, expected, expected+1)
	}
	require.Equal(t, 1, winners, "exactly one writer must win: %v", errs)

	got, err := s.Get(ctx, tenant, session)
	require.NoError(t, err)
	require.Equal(t, expected+1, got.GetVersion())
	require.Len(t, got.GetAppliedEventIds(), 1)
	winner := slices.Index(applied, true)
	require.Equal(t, fmt.Sprintf("racer-%d", winner), got.GetAppliedEventIds()[0], "the stored state is the winner's")
}

func testConcurrentCreate(t *testing.T, s sessions.Store) {
	race(t, s, "tenant-1", "session-1", 0)
}

func testConcurrentUpdate(t *testing.T, s sessions.Store) {
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctxFor(t), st, 0))
	race(t, s, "tenant-1", "session-1", 1)
}

func testReadModifyWrite(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	const tenant, session = "tenant-1", "counter"
	require.NoError(t, s.Put(ctx, newState(tenant, session, ekycv1.SessionStatus_SESSION_STATUS_CREATED), 0))

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
		errs      []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for g := range Incrementers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range IncrementsEach {
				event := fmt.Sprintf("g%d-i%d", g, i)
				for {
					cur, err := s.Get(ctx, tenant, session)
					if err != nil {
						fail(err)
						return
					}
					if slices.Contains(cur.GetAppliedEventIds(), event) {
						break // applied by an earlier attempt whose outcome was unknown
					}
					cur.AppliedEventIds = append(cur.AppliedEventIds, event)
					ok, err := write(ctx, s, cur, cur.GetVersion())
					if ok {
						break
					}
					if !errors.Is(err, sessions.ErrConflict) && !errors.Is(err, sessions.ErrUnknownOutcome) {
						fail(err)
						return
					}
					mu.Lock()
					conflicts++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)

	got, err := s.Get(ctx, tenant, session)
	require.NoError(t, err)
	total := Incrementers * IncrementsEach
	require.Equal(t, int64(1+total), got.GetVersion(), "lost updates")
	ids := slices.Clone(got.GetAppliedEventIds())
	require.Len(t, ids, total)
	slices.Sort(ids)
	require.Len(t, slices.Compact(ids), total, "an event was applied twice")
	t.Logf("%d increments, %d conflicts retried", total, conflicts)
}

func testContextCancelled(t *testing.T, s sessions.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	err := s.Put(ctx, st, 0)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, st.GetVersion())
	_, err = s.Get(ctx, "tenant-1", "session-1")
	require.ErrorIs(t, err, context.Canceled)

	// Nothing was written.
	_, err = s.Get(ctxFor(t), "tenant-1", "session-1")
	require.ErrorIs(t, err, sessions.ErrNotFound)
}

func testClose(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, st, 0))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	_, err := s.Get(ctx, "tenant-1", "session-1")
	require.ErrorIs(t, err, sessions.ErrClosed)
	require.ErrorIs(t, s.Put(ctx, st, 1), sessions.ErrClosed)
	require.Equal(t, int64(1), st.GetVersion())
}

// remove is a Delete whose unknown outcome is settled by re-reading: the
// delete was applied when the session is gone.
func remove(ctx context.Context, s sessions.Store, tenant, session string, expected int64) (applied bool, err error) {
	err = s.Delete(ctx, tenant, session, expected)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, sessions.ErrUnknownOutcome) {
		return false, err
	}
	if _, gerr := s.Get(ctx, tenant, session); errors.Is(gerr, sessions.ErrNotFound) {
		return true, nil
	} else if gerr != nil {
		return false, fmt.Errorf("resolve %v: %w", err, gerr)
	}
	return false, err
}

func testDelete(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := FullState("tenant-1", "session-1")
	require.NoError(t, s.Put(ctx, st, 0))
	st.Status = ekycv1.SessionStatus_SESSION_STATUS_DECIDED
	require.NoError(t, s.Put(ctx, st, 1))

	applied, err := remove(ctx, s, "tenant-1", "session-1", 2)
	require.NoError(t, err)
	require.True(t, applied)
	_, err = s.Get(ctx, "tenant-1", "session-1")
	require.ErrorIs(t, err, sessions.ErrNotFound)

	// Deleting again is harmless, whatever the version.
	require.NoError(t, s.Delete(ctx, "tenant-1", "session-1", 2))
	require.NoError(t, s.Delete(ctx, "tenant-1", "session-1", 0))

	// The session can be created anew, at version 1, and an update at
	// the old version conflicts with it.
	again := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, again, 0))
	require.Equal(t, int64(1), again.GetVersion())
	requireStored(t, s, again)
	requireConflict(t, s.Put(ctx, newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_FAILED), 2),
		"tenant-1", "session-1", 2, 1)
}

func testDeleteMissing(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	for _, v := range []int64{0, 1, 7} {
		require.NoError(t, s.Delete(ctx, "tenant-1", "never-stored", v), "version %d", v)
	}
	_, err := s.Get(ctx, "tenant-1", "never-stored")
	require.ErrorIs(t, err, sessions.ErrNotFound)
	// A delete of a missing session does not stop its creation.
	st := newState("tenant-1", "never-stored", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, st, 0))
	requireStored(t, s, st)
}

func testDeleteStaleVersion(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctx, st, 0))
	st.Status = ekycv1.SessionStatus_SESSION_STATUS_PROCESSING
	require.NoError(t, s.Put(ctx, st, 1))

	for _, v := range []int64{1, 3, 0} { // older, newer, "must not exist"
		requireConflict(t, s.Delete(ctx, "tenant-1", "session-1", v), "tenant-1", "session-1", v, 2)
	}
	requireStored(t, s, st)
	// The state read after the conflicts can be deleted at its version.
	got, err := s.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	applied, err := remove(ctx, s, "tenant-1", "session-1", got.GetVersion())
	require.NoError(t, err)
	require.True(t, applied)
	_, err = s.Get(ctx, "tenant-1", "session-1")
	require.ErrorIs(t, err, sessions.ErrNotFound)
}

func testDeleteTenantIsolation(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	// The same session id in another tenant, and keys a naive
	// "tenant/session" encoding would confuse with the deleted ones.
	var kept []*ekycv1.SessionState
	for _, k := range [][2]string{{"tenant-b", "shared-id"}, {"a/b", "c"}, {"a", "b/cd"}} {
		st := newState(k[0], k[1], ekycv1.SessionStatus_SESSION_STATUS_REVIEW)
		require.NoError(t, s.Put(ctx, st, 0))
		kept = append(kept, st)
	}
	for _, k := range [][2]string{{"tenant-a", "shared-id"}, {"a", "b/c"}} {
		require.NoError(t, s.Put(ctx, newState(k[0], k[1], ekycv1.SessionStatus_SESSION_STATUS_CREATED), 0))
		applied, err := remove(ctx, s, k[0], k[1], 1)
		require.NoError(t, err)
		require.True(t, applied)
		_, err = s.Get(ctx, k[0], k[1])
		require.ErrorIs(t, err, sessions.ErrNotFound)
	}
	for _, st := range kept {
		requireStored(t, s, st)
	}
}

// testDeleteRacesUpdate races a Delete and a Put at the same version, for
// several sessions: exactly one wins each race.
func testDeleteRacesUpdate(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	const rounds = 8
	for r := range rounds {
		session := fmt.Sprintf("race-%d", r)
		require.NoError(t, s.Put(ctx, newState("tenant-1", session, ekycv1.SessionStatus_SESSION_STATUS_CREATED), 0))
		var (
			wg                sync.WaitGroup
			start             = make(chan struct{})
			putOK, delOK      bool
			putErr, deleteErr error
			update            = newState("tenant-1", session, ekycv1.SessionStatus_SESSION_STATUS_PROCESSING)
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			putOK, putErr = write(ctx, s, update, 1)
		}()
		go func() {
			defer wg.Done()
			<-start
			delOK, deleteErr = remove(ctx, s, "tenant-1", session, 1)
		}()
		close(start)
		wg.Wait()

		require.True(t, putOK != delOK, "round %d: exactly one must win: put %v, delete %v", r, putErr, deleteErr)
		got, err := s.Get(ctx, "tenant-1", session)
		if delOK {
			require.ErrorIs(t, err, sessions.ErrNotFound, "round %d: the delete won", r)
			if !errors.Is(putErr, sessions.ErrUnknownOutcome) {
				requireConflict(t, putErr, "tenant-1", session, 1, 0)
			}
			continue
		}
		require.NoError(t, err)
		require.Equal(t, int64(2), got.GetVersion(), "round %d: the update won", r)
		require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_PROCESSING, got.GetStatus())
		if !errors.Is(deleteErr, sessions.ErrUnknownOutcome) {
			requireConflict(t, deleteErr, "tenant-1", session, 1, 2)
		}
	}
}

func testDeleteContextCancelled(t *testing.T, s sessions.Store) {
	st := newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED)
	require.NoError(t, s.Put(ctxFor(t), st, 0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.Delete(ctx, "tenant-1", "session-1", 1), context.Canceled)
	requireStored(t, s, st)
}

func testDeleteClosed(t *testing.T, s sessions.Store) {
	ctx := ctxFor(t)
	require.NoError(t, s.Put(ctx, newState("tenant-1", "session-1", ekycv1.SessionStatus_SESSION_STATUS_CREATED), 0))
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Delete(ctx, "tenant-1", "session-1", 1), sessions.ErrClosed)
}

// listed collects what Sessions passes for tenant, by session id.
func listed(t *testing.T, l sessions.Lister, tenant string) map[string]*ekycv1.SessionState {
	t.Helper()
	out := map[string]*ekycv1.SessionState{}
	require.NoError(t, l.Sessions(ctxFor(t), tenant, func(st *ekycv1.SessionState) error {
		require.Equal(t, tenant, st.GetTenantId())
		require.NotContains(t, out, st.GetSessionId(), "listed twice")
		out[st.GetSessionId()] = st
		return nil
	}))
	return out
}

// ListSessions is the number of sessions testList stores for one tenant:
// more than one page of a store that reads in pages of a few hundred.
const ListSessions = 600

// testList checks sessions.Lister, for the stores that implement it.
func testList(t *testing.T, s sessions.Store) {
	l, ok := s.(sessions.Lister)
	if !ok {
		t.Skipf("%T does not implement sessions.Lister", s)
	}
	ctx := ctxFor(t)
	if err := l.Sessions(ctx, "tenant-1", func(*ekycv1.SessionState) error { return nil }); errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("%T cannot list: %v", s, err)
	} else {
		require.NoError(t, err, "listing an empty tenant")
	}
	require.Empty(t, listed(t, l, "tenant-1"))

	// Tenants whose keys a naive encoding would mix up with "a".
	others := [][2]string{{"a/b", "c"}, {"a\x00", "b"}, {"ab", "x"}, {"b", "a"}, {"\x01a", "b"}}
	for _, k := range others {
		require.NoError(t, s.Put(ctx, newState(k[0], k[1], ekycv1.SessionStatus_SESSION_STATUS_CREATED), 0))
	}
	// Written in parallel: stores that sync each write share the syncs.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < ListSessions; i += 8 {
				st := newState("a", fmt.Sprintf("s-%04d", i), ekycv1.SessionStatus_SESSION_STATUS_DECIDED)
				st.CreatedAt = timestamppb.New(time.Unix(1767225600+int64(i), 0))
				if err := s.Put(ctx, st, 0); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)

	got := listed(t, l, "a")
	require.Len(t, got, ListSessions)
	for i := range ListSessions {
		st := got[fmt.Sprintf("s-%04d", i)]
		require.NotNil(t, st, "session %d not listed", i)
		require.Equal(t, int64(1), st.GetVersion())
		require.Equal(t, int64(1767225600+int64(i)), st.GetCreatedAt().GetSeconds())
	}
	for _, k := range others {
		require.Len(t, listed(t, l, k[0]), 1, "tenant %q", k[0])
	}

	// fn may write to the store (here: delete every other session), and its
	// error stops the listing and is returned as it is.
	n := 0
	require.NoError(t, l.Sessions(ctx, "a", func(st *ekycv1.SessionState) error {
		n++
		if n%2 == 0 {
			return s.Delete(ctx, "a", st.GetSessionId(), st.GetVersion())
		}
		st.Status = ekycv1.SessionStatus_SESSION_STATUS_FAILED
		return s.Put(ctx, st, st.GetVersion())
	}))
	require.Equal(t, ListSessions, n)
	got = listed(t, l, "a")
	require.Len(t, got, ListSessions/2)
	for _, st := range got {
		require.Equal(t, ekycv1.SessionStatus_SESSION_STATUS_FAILED, st.GetStatus())
		require.Equal(t, int64(2), st.GetVersion())
	}
	stop := errors.New("stop here")
	calls := 0
	err := l.Sessions(ctx, "a", func(*ekycv1.SessionState) error { calls++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, calls)

	require.ErrorIs(t, l.Sessions(ctx, "", func(*ekycv1.SessionState) error { return nil }), sessions.ErrInvalidArgument)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, l.Sessions(cctx, "a", func(*ekycv1.SessionState) error { return nil }), context.Canceled)
}
