package sessions_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/store/sessions/sessionstest"
)

func TestConflictError(t *testing.T) {
	var err error = &sessions.ConflictError{TenantID: "t", SessionID: "s", Expected: 2, Actual: 5}
	wrapped := fmt.Errorf("actor: %w", err)
	require.ErrorIs(t, wrapped, sessions.ErrConflict)
	require.NotErrorIs(t, wrapped, sessions.ErrUnknownOutcome)
	require.NotErrorIs(t, wrapped, sessions.ErrNotFound)
	var ce *sessions.ConflictError
	require.ErrorAs(t, wrapped, &ce)
	require.Equal(t, int64(5), ce.Actual)
	require.Contains(t, err.Error(), "expected version 2, stored version 5")

	unknown := &sessions.ConflictError{TenantID: "t", SessionID: "s", Expected: 0, Actual: -1}
	require.Contains(t, unknown.Error(), "stored version unknown")
	require.NotErrorIs(t, errors.New("sessions: version conflict"), sessions.ErrConflict)
}

func TestUnknownOutcomeError(t *testing.T) {
	var err error = &sessions.UnknownOutcomeError{TenantID: "t", SessionID: "s", Expected: 3, Err: context.DeadlineExceeded}
	require.ErrorIs(t, err, sessions.ErrUnknownOutcome)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, sessions.ErrConflict)
	require.Contains(t, err.Error(), "deadline exceeded")
}

func TestValidate(t *testing.T) {
	require.NoError(t, sessions.ValidateKey("t", "s"))
	require.ErrorIs(t, sessions.ValidateKey("", "s"), sessions.ErrInvalidArgument)
	require.ErrorContains(t, sessions.ValidateKey("", "s"), "empty tenant id")
	require.ErrorContains(t, sessions.ValidateKey("t", ""), "empty session id")
	require.ErrorContains(t, sessions.ValidateKey("t", "\xc3"), "UTF-8")
	require.ErrorIs(t, sessions.ValidatePut(nil, 0), sessions.ErrInvalidArgument)
	require.ErrorIs(t, sessions.ValidatePut(&ekycv1.SessionState{TenantId: "t"}, 0), sessions.ErrInvalidArgument)
	require.ErrorIs(t, sessions.ValidatePut(&ekycv1.SessionState{TenantId: "t", SessionId: "s"}, -2), sessions.ErrInvalidArgument)
	require.NoError(t, sessions.ValidatePut(&ekycv1.SessionState{TenantId: "t", SessionId: "s"}, 9))
}

func TestMarshalAndVersionOf(t *testing.T) {
	st := sessionstest.FullState("t", "s")
	st.Version = 3
	b, err := sessions.Marshal(st, 1<<40)
	require.NoError(t, err)
	require.Equal(t, int64(3), st.GetVersion(), "Marshal leaves st unchanged")
	again, err := sessions.Marshal(proto.Clone(st).(*ekycv1.SessionState), 1<<40)
	require.NoError(t, err)
	require.Equal(t, b, again, "deterministic")

	got, err := sessions.Unmarshal(b)
	require.NoError(t, err)
	require.Equal(t, int64(1<<40), got.GetVersion())
	got.Version = 3
	require.True(t, proto.Equal(st, got))

	for _, v := range []int64{0, 1, 127, 128, 1 << 40} {
		b, err := sessions.Marshal(st, v)
		require.NoError(t, err)
		got, err := sessions.VersionOf(b)
		require.NoError(t, err)
		require.Equal(t, v, got)
	}
	v, err := sessions.VersionOf(nil)
	require.NoError(t, err)
	require.Zero(t, v)
	_, err = sessions.VersionOf([]byte{0x22, 0x05, 'a'}) // truncated field 4 as bytes
	require.Error(t, err)
	_, err = sessions.Unmarshal([]byte{0xff})
	require.Error(t, err)
}

func TestResolveUnknownOutcome(t *testing.T) {
	ctx := context.Background()
	s, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	defer s.Close()

	// Nothing stored: not applied.
	mine := sessionstest.FullState("t", "s")
	applied, cur, err := sessions.ResolveUnknownOutcome(ctx, s, mine, 0)
	require.NoError(t, err)
	require.False(t, applied)
	require.Nil(t, cur)

	// Stored and equal at expected+1: applied.
	require.NoError(t, s.Put(ctx, proto.Clone(mine).(*ekycv1.SessionState), 0))
	applied, cur, err = sessions.ResolveUnknownOutcome(ctx, s, mine, 0)
	require.NoError(t, err)
	require.True(t, applied)
	require.Equal(t, int64(1), mine.GetVersion())
	require.True(t, proto.Equal(mine, cur))

	// Another writer's state at expected+1: not applied, current returned.
	theirs := proto.Clone(mine).(*ekycv1.SessionState)
	theirs.Status = ekycv1.SessionStatus_SESSION_STATUS_FAILED
	require.NoError(t, s.Put(ctx, theirs, 1))
	mine.Status = ekycv1.SessionStatus_SESSION_STATUS_REVIEW
	applied, cur, err = sessions.ResolveUnknownOutcome(ctx, s, mine, 1)
	require.NoError(t, err)
	require.False(t, applied)
	require.Equal(t, int64(1), mine.GetVersion(), "not applied: st unchanged")
	require.True(t, proto.Equal(theirs, cur))

	// Stored version is not expected+1: not applied.
	applied, cur, err = sessions.ResolveUnknownOutcome(ctx, s, theirs, 0)
	require.NoError(t, err)
	require.False(t, applied)
	require.Equal(t, int64(2), cur.GetVersion())

	_, _, err = sessions.ResolveUnknownOutcome(ctx, s, nil, 0)
	require.ErrorIs(t, err, sessions.ErrInvalidArgument)
}
