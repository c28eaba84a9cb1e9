package cqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	ekycv1 "github.com/openekyc/ekyc/proto/ekyc/v1"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/sessionstest"
)

// Tests against a CQL server: EKYC_TEST_CQL=host:port[,host:port...].
// deploy/local/cassandra.sh start runs Apache Cassandra 5.0 on
// 127.0.0.1:29042. Each test uses its own keyspace, dropped at the end.
// EKYC_TEST_CQL_DISABLE_TABLETS=1 for ScyllaDB versions without LWT on
// tablets.

const envCQL = "EKYC_TEST_CQL"

// testConfig returns the configuration of a fresh keyspace on the test
// server, dropped when the test ends, or skips the test.
func testConfig(t *testing.T) Config {
	t.Helper()
	hosts := os.Getenv(envCQL)
	if hosts == "" {
		t.Skip("EKYC_TEST_CQL not set: no CQL server (Cassandra/ScyllaDB) to test against; see deploy/local")
	}
	cfg := Config{
		Hosts:          strings.Split(hosts, ","),
		Keyspace:       "ekyc_test_" + hex.EncodeToString(randomBytes(t, 8)),
		Timeout:        15 * time.Second,
		ConnectTimeout: 15 * time.Second,
		DisableTablets: os.Getenv("EKYC_TEST_CQL_DISABLE_TABLETS") != "",
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := DropKeyspace(ctx, cfg); err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
		}
	})
	return cfg
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openStore migrates a fresh keyspace and opens a store on it.
func openStore(t *testing.T) (*Store, Config) {
	cfg := testConfig(t)
	require.NoError(t, Migrate(testCtx(t), cfg))
	s, err := Open(testCtx(t), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, cfg
}

func TestConformance(t *testing.T) {
	testConfig(t) // skip early
	sessionstest.Run(t, func(t *testing.T) sessions.Store {
		s, _ := openStore(t)
		return s
	})
}

func TestMigrateIdempotent(t *testing.T) {
	cfg := testConfig(t)
	ctx := testCtx(t)
	require.NoError(t, Migrate(ctx, cfg))
	require.NoError(t, Migrate(ctx, cfg), "second Migrate")

	s, err := Open(ctx, cfg)
	require.NoError(t, err)
	defer s.Close()
	st := sessionstest.FullState("tenant-1", "session-1")
	require.NoError(t, s.Put(ctx, st, 0))

	require.NoError(t, Migrate(ctx, cfg), "Migrate on a keyspace with data")
	got, err := s.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	require.True(t, proto.Equal(st, got), "Migrate must keep the data")
}

func TestOpenNotMigrated(t *testing.T) {
	cfg := testConfig(t)
	_, err := Open(testCtx(t), cfg)
	require.ErrorIs(t, err, errNotMigrated)
}

func TestSerialReadAfterConflict(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	st := &ekycv1.SessionState{TenantId: "t", SessionId: "s", Status: ekycv1.SessionStatus_SESSION_STATUS_CREATED}
	require.NoError(t, s.Put(ctx, st, 0))
	_, pending := s.serialPending(key{"t", "s"})
	require.False(t, pending)

	err := s.Put(ctx, &ekycv1.SessionState{TenantId: "t", SessionId: "s"}, 0)
	require.ErrorIs(t, err, sessions.ErrConflict)
	_, pending = s.serialPending(key{"t", "s"})
	require.True(t, pending, "the read after a lost LWT is serial")

	got, err := s.Get(ctx, "t", "s") // at SERIAL
	require.NoError(t, err)
	require.True(t, proto.Equal(st, got))
	_, pending = s.serialPending(key{"t", "s"})
	require.False(t, pending)
}

func TestStoredColumns(t *testing.T) {
	s, cfg := openStore(t)
	ctx := testCtx(t)
	st := sessionstest.FullState("tenant-1", "session-1")
	require.NoError(t, s.Put(ctx, st, 0))

	var (
		version   int64
		status    string
		updatedAt time.Time
	)
	require.NoError(t, s.session.Session.Query(
		"SELECT version, status, updated_at FROM "+cfg.Keyspace+".sessions WHERE tenant_id = ? AND session_id = ?",
		"tenant-1", "session-1").WithContext(ctx).Scan(&version, &status, &updatedAt))
	require.Equal(t, int64(1), version)
	require.Equal(t, "SESSION_STATUS_DECIDED", status)
	require.Equal(t, st.GetUpdatedAt().AsTime().Truncate(time.Millisecond), updatedAt.UTC())
}

// TestTwoWritersOneWins races two writers on one session, for the create
// (INSERT IF NOT EXISTS) and for an update (UPDATE IF version = ?), many
// rounds: exactly one wins each race and the loser gets a definite
// sessions.ErrConflict naming the winner's version; an unknown outcome is a
// failure here (two writers do not exhaust cas_contention_timeout).
func TestTwoWritersOneWins(t *testing.T) {
	s, _ := openStore(t)
	ctx := testCtx(t)
	const rounds = 20
	for r := range rounds {
		session := fmt.Sprintf("race-%d", r)
		for expected := range int64(2) {
			var (
				wg    sync.WaitGroup
				errs  [2]error
				start = make(chan struct{})
			)
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := &ekycv1.SessionState{TenantId: "t", SessionId: session,
						Status: ekycv1.SessionStatus_SESSION_STATUS_PROCESSING, AppliedEventIds: []string{fmt.Sprintf("writer-%d-%d", expected, w)}}
					<-start
					errs[w] = s.Put(ctx, st, expected)
				}()
			}
			close(start)
			wg.Wait()

			winner := -1
			for w, err := range errs {
				if err == nil {
					require.Equal(t, -1, winner, "round %d v%d: both writers won", r, expected)
					winner = w
					continue
				}
				require.ErrorIs(t, err, sessions.ErrConflict, "round %d v%d writer %d", r, expected, w)
				var ce *sessions.ConflictError
				require.True(t, errors.As(err, &ce))
				require.Equal(t, expected, ce.Expected)
				require.Equal(t, expected+1, ce.Actual, "the loser sees the winner's version")
			}
			require.NotEqual(t, -1, winner, "round %d v%d: no writer won: %v", r, expected, errs)

			got, err := s.Get(ctx, "t", session) // serial read after the loser's conflict
			require.NoError(t, err)
			require.Equal(t, expected+1, got.GetVersion())
			require.Equal(t, []string{fmt.Sprintf("writer-%d-%d", expected, winner)}, got.GetAppliedEventIds())
		}
	}
}
