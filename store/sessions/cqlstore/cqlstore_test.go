package cqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/store/sessions"
)

// Tests that need no CQL server.

func TestConfigValidation(t *testing.T) {
	ok := Config{Hosts: []string{"localhost:9042"}, Keyspace: "ekyc"}
	cfg, err := ok.withDefaults()
	require.NoError(t, err)
	require.Equal(t, gocql.LocalQuorum, cfg.Consistency)
	require.Equal(t, gocql.Serial, cfg.SerialConsistency)
	require.Equal(t, 1, cfg.ReplicationFactor)

	cfg, err = Config{Hosts: []string{"h"}, Keyspace: "k_1", Consistency: gocql.Quorum, SerialConsistency: gocql.LocalSerial, ReplicationFactor: 3}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, gocql.Quorum, cfg.Consistency)
	require.Equal(t, gocql.LocalSerial, cfg.SerialConsistency)
	require.Equal(t, 3, cfg.ReplicationFactor)

	for name, bad := range map[string]Config{
		"no hosts":            {Keyspace: "ekyc"},
		"empty host":          {Hosts: []string{""}, Keyspace: "ekyc"},
		"no keyspace":         {Hosts: []string{"h"}},
		"upper case":          {Hosts: []string{"h"}, Keyspace: "Ekyc"},
		"injection":           {Hosts: []string{"h"}, Keyspace: "ekyc; DROP KEYSPACE x"},
		"leading digit":       {Hosts: []string{"h"}, Keyspace: "1ekyc"},
		"too long":            {Hosts: []string{"h"}, Keyspace: "k" + strings.Repeat("x", 48)},
		"serial as read":      {Hosts: []string{"h"}, Keyspace: "ekyc", Consistency: gocql.Serial},
		"non-serial serial":   {Hosts: []string{"h"}, Keyspace: "ekyc", SerialConsistency: gocql.Quorum},
		"negative rf":         {Hosts: []string{"h"}, Keyspace: "ekyc", ReplicationFactor: -1},
		"zero dc rf":          {Hosts: []string{"h"}, Keyspace: "ekyc", DataCenters: map[string]int{"dc1": 0}},
		"empty dc":            {Hosts: []string{"h"}, Keyspace: "ekyc", DataCenters: map[string]int{"": 3}},
		"negative timeout":    {Hosts: []string{"h"}, Keyspace: "ekyc", Timeout: -time.Second},
		"negative connect to": {Hosts: []string{"h"}, Keyspace: "ekyc", ConnectTimeout: -time.Second},
	} {
		_, err := bad.withDefaults()
		require.ErrorIs(t, err, sessions.ErrInvalidArgument, name)
		_, err = Open(context.Background(), bad)
		require.ErrorIs(t, err, sessions.ErrInvalidArgument, name)
		require.ErrorIs(t, Migrate(context.Background(), bad), sessions.ErrInvalidArgument, name)
	}
}

func TestCreateKeyspaceCQL(t *testing.T) {
	cfg, err := Config{Hosts: []string{"h"}, Keyspace: "ekyc", ReplicationFactor: 3}.withDefaults()
	require.NoError(t, err)
	require.Equal(t,
		"CREATE KEYSPACE IF NOT EXISTS ekyc WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} AND durable_writes = true",
		createKeyspaceCQL(cfg))

	cfg, err = Config{Hosts: []string{"h"}, Keyspace: "ekyc", ReplicationFactor: 5,
		DataCenters: map[string]int{"eu-west": 3, "us'east": 2}, DisableTablets: true}.withDefaults()
	require.NoError(t, err)
	require.Equal(t,
		"CREATE KEYSPACE IF NOT EXISTS ekyc WITH replication = {'class': 'NetworkTopologyStrategy', 'eu-west': 3, 'us''east': 2} AND durable_writes = true AND tablets = {'enabled': false}",
		createKeyspaceCQL(cfg))

	table := createTableCQL("ekyc")
	require.True(t, strings.HasPrefix(table, "CREATE TABLE IF NOT EXISTS ekyc.sessions ("), table)
	for _, col := range []string{"tenant_id text", "session_id text", "version bigint", "status text", "state blob", "updated_at timestamp", "PRIMARY KEY ((tenant_id, session_id))"} {
		require.Contains(t, table, col)
	}
}

func TestStatements(t *testing.T) {
	s := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{})
	require.Equal(t, "SELECT version,state FROM ekyc.sessions WHERE tenant_id=? AND session_id=? ", s.selectStmt)
	require.Equal(t, []string{"tenant_id", "session_id"}, s.selectNames)
	require.Equal(t, "INSERT INTO ekyc.sessions (tenant_id,session_id,version,status,state,updated_at) VALUES (?,?,?,?,?,?) IF NOT EXISTS ", s.insertStmt)
	require.Equal(t, "UPDATE ekyc.sessions SET version=?,status=?,state=?,updated_at=? WHERE tenant_id=? AND session_id=? IF version=? ", s.updateStmt)
	require.Equal(t, []string{"version", "status", "state", "updated_at", "tenant_id", "session_id", "expected_version"}, s.updateNames)
	require.Equal(t, "DELETE FROM ekyc.sessions WHERE tenant_id=? AND session_id=? IF version=? ", s.deleteStmt)
	require.Equal(t, []string{"tenant_id", "session_id", "expected_version"}, s.deleteNames)
}

// codeErr is a gocql.RequestError with a given code, like gocql's generic
// error frames.
type codeErr int

func (c codeErr) Code() int       { return int(c) }
func (c codeErr) Message() string { return "test" }
func (c codeErr) Error() string   { return fmt.Sprintf("code %#x", int(c)) }

func TestIsUnknownOutcome(t *testing.T) {
	unknown := []error{
		&gocql.RequestErrWriteTimeout{WriteType: "CAS"},
		&gocql.RequestErrWriteTimeout{WriteType: "SIMPLE"},
		&gocql.RequestErrCASWriteUnknown{},
		&gocql.RequestErrWriteFailure{},
		gocql.ErrTimeoutNoResponse,
		gocql.ErrConnectionClosed,
		context.DeadlineExceeded,
		context.Canceled,
		fmt.Errorf("wrapped: %w", &gocql.RequestErrWriteTimeout{}),
		codeErr(gocql.ErrCodeServer),
		errors.New("read tcp: connection reset by peer"),
	}
	for _, err := range unknown {
		require.True(t, isUnknownOutcome(err), "%T %v", err, err)
	}
	definite := []error{
		nil,
		&gocql.RequestErrUnavailable{},
		&gocql.RequestErrReadTimeout{},
		&gocql.RequestErrReadFailure{},
		&gocql.RequestErrUnprepared{},
		fmt.Errorf("wrapped: %w", &gocql.RequestErrUnavailable{}),
		codeErr(gocql.ErrCodeOverloaded),
		codeErr(gocql.ErrCodeSyntax),
		codeErr(gocql.ErrCodeInvalid),
		codeErr(gocql.ErrCodeUnauthorized),
		gocql.ErrNoConnections,
		gocql.ErrSessionClosed,
		sessions.ErrClosed,
		gocql.MarshalError("bad value"),
	}
	for _, err := range definite {
		require.False(t, isUnknownOutcome(err), "%T %v", err, err)
	}
}

func TestStoredVersion(t *testing.T) {
	require.Equal(t, int64(4), storedVersion(map[string]any{"version": int64(4)}))
	require.Equal(t, int64(0), storedVersion(map[string]any{}), "Cassandra: no row, [applied] only")
	require.Equal(t, int64(0), storedVersion(map[string]any{"version": int64(0)}), "ScyllaDB: null column, no row")
	require.Equal(t, int64(0), storedVersion(map[string]any{"version": nil}))
	var null *int64
	require.Equal(t, int64(0), storedVersion(map[string]any{"version": null}))
	v := int64(7)
	require.Equal(t, int64(7), storedVersion(map[string]any{"version": &v}))
	require.Equal(t, int64(-1), storedVersion(map[string]any{"version": "7"}))
}

func TestActualVersion(t *testing.T) {
	require.Equal(t, int64(4), actualVersion(map[string]any{"version": int64(4)}, 3))
	require.Equal(t, int64(0), actualVersion(map[string]any{"version": int64(0)}, 3), "null column: no row")
	require.Equal(t, int64(0), actualVersion(map[string]any{}, 3), "Cassandra: no row, [applied] only")
	require.Equal(t, int64(-1), actualVersion(map[string]any{}, 0), "row exists, version unknown")
	v := int64(7)
	require.Equal(t, int64(7), actualVersion(map[string]any{"version": &v}, 0))
	require.Equal(t, int64(-1), actualVersion(map[string]any{"version": "7"}, 0))
}

func TestSerialMarks(t *testing.T) {
	s := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{})
	a, b := key{"t", "a"}, key{"t", "b"}
	_, ok := s.serialPending(a)
	require.False(t, ok)

	s.markSerial(a)
	gen, ok := s.serialPending(a)
	require.True(t, ok)
	_, ok = s.serialPending(b)
	require.False(t, ok)

	// A conflict during the serial read keeps the key marked.
	s.markSerial(a)
	s.serialDone(a, gen)
	gen, ok = s.serialPending(a)
	require.True(t, ok)
	s.serialDone(a, gen)
	_, ok = s.serialPending(a)
	require.False(t, ok)

	s.markSerial(b)
	s.serialClear(b)
	_, ok = s.serialPending(b)
	require.False(t, ok)

	for i := range maxSerialReads + 10 {
		s.markSerial(key{"t", fmt.Sprint(i)})
	}
	require.LessOrEqual(t, len(s.serialNext), maxSerialReads)
}

func TestOpenUnreachable(t *testing.T) {
	cfg := Config{Hosts: []string{"127.0.0.1:1"}, Keyspace: "ekyc", ConnectTimeout: time.Second, Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Open(ctx, cfg)
	require.Error(t, err)
	require.Error(t, Migrate(ctx, cfg))

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = Open(cancelled, cfg)
	require.ErrorIs(t, err, context.Canceled)
}

func TestClosedStore(t *testing.T) {
	s := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{Session: &gocql.Session{}})
	s.closed.Store(true)
	require.NoError(t, s.Close(), "Close is idempotent")
	_, err := s.Get(context.Background(), "t", "s")
	require.ErrorIs(t, err, sessions.ErrClosed)
}
