package cqlstore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/monitoring"
	"github.com/openekyc/ekyc/store/monitoring/monitoringtest"
	"github.com/openekyc/ekyc/store/monitoring/pebblestore"
)

// Tests that need no CQL server.

func testKeys(t *testing.T, b byte) *envelope.Keyring {
	t.Helper()
	k, err := envelope.New(bytes.Repeat([]byte{b}, envelope.KeySize))
	require.NoError(t, err)
	return k
}

func TestConfigValidation(t *testing.T) {
	cfg, err := withDefaults(Config{Hosts: []string{"localhost:9042"}, Keyspace: "ekyc"})
	require.NoError(t, err)
	require.Equal(t, gocql.LocalQuorum, cfg.Consistency)
	require.Equal(t, gocql.Serial, cfg.SerialConsistency)
	require.Equal(t, 1, cfg.ReplicationFactor)

	keys := testKeys(t, 1)
	for name, bad := range map[string]Config{
		"no hosts":          {Keyspace: "ekyc"},
		"empty host":        {Hosts: []string{""}, Keyspace: "ekyc"},
		"no keyspace":       {Hosts: []string{"h"}},
		"injection":         {Hosts: []string{"h"}, Keyspace: "ekyc; DROP KEYSPACE x"},
		"too long":          {Hosts: []string{"h"}, Keyspace: "k" + strings.Repeat("x", 48)},
		"serial as read":    {Hosts: []string{"h"}, Keyspace: "ekyc", Consistency: gocql.Serial},
		"non-serial serial": {Hosts: []string{"h"}, Keyspace: "ekyc", SerialConsistency: gocql.Quorum},
		"negative rf":       {Hosts: []string{"h"}, Keyspace: "ekyc", ReplicationFactor: -1},
		"zero dc rf":        {Hosts: []string{"h"}, Keyspace: "ekyc", DataCenters: map[string]int{"dc1": 0}},
		"negative timeout":  {Hosts: []string{"h"}, Keyspace: "ekyc", Timeout: -time.Second},
	} {
		_, err := withDefaults(bad)
		require.ErrorIs(t, err, monitoring.ErrInvalidArgument, name)
		_, err = Open(context.Background(), bad, keys)
		require.ErrorIs(t, err, monitoring.ErrInvalidArgument, name)
		require.ErrorIs(t, Migrate(context.Background(), bad), monitoring.ErrInvalidArgument, name)
	}
}

func TestOpenArguments(t *testing.T) {
	cfg := Config{Hosts: []string{"127.0.0.1:1"}, Keyspace: "ekyc"}
	_, err := Open(context.Background(), cfg, nil)
	require.ErrorIs(t, err, monitoring.ErrInvalidArgument)
	_, err = Open(context.Background(), cfg, testKeys(t, 1), WithPageSize(0))
	require.ErrorIs(t, err, monitoring.ErrInvalidArgument)
}

func TestOpenUnreachable(t *testing.T) {
	cfg := Config{Hosts: []string{"127.0.0.1:1"}, Keyspace: "ekyc", ConnectTimeout: time.Second, Timeout: time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Open(ctx, cfg, testKeys(t, 1))
	require.Error(t, err)
	require.Error(t, Migrate(ctx, cfg))

	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = Open(cancelled, cfg, testKeys(t, 1))
	require.ErrorIs(t, err, context.Canceled)
}

func TestSchemaCQL(t *testing.T) {
	cfg, err := withDefaults(Config{Hosts: []string{"h"}, Keyspace: "ekyc", ReplicationFactor: 3})
	require.NoError(t, err)
	require.Equal(t,
		"CREATE KEYSPACE IF NOT EXISTS ekyc WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} AND durable_writes = true",
		createKeyspaceCQL(cfg))
	cfg, err = withDefaults(Config{Hosts: []string{"h"}, Keyspace: "ekyc",
		DataCenters: map[string]int{"eu-west": 3, "us'east": 2}, DisableTablets: true})
	require.NoError(t, err)
	require.Equal(t,
		"CREATE KEYSPACE IF NOT EXISTS ekyc WITH replication = {'class': 'NetworkTopologyStrategy', 'eu-west': 3, 'us''east': 2} AND durable_writes = true AND tablets = {'enabled': false}",
		createKeyspaceCQL(cfg))

	table := createTableCQL("ekyc")
	require.True(t, strings.HasPrefix(table, "CREATE TABLE IF NOT EXISTS ekyc.monitoring_subjects ("), table)
	for _, part := range []string{"tenant_id text", "bucket smallint", "session_id text", "record blob",
		"PRIMARY KEY ((tenant_id, bucket), session_id)", "CLUSTERING ORDER BY (session_id ASC)"} {
		require.Contains(t, table, part)
	}
}

func TestStatements(t *testing.T) {
	s := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{}, testKeys(t, 1), options{now: time.Now, pageSize: 5})
	require.Equal(t, "INSERT INTO ekyc.monitoring_subjects (tenant_id,bucket,session_id,record) VALUES (?,?,?,?) IF NOT EXISTS ", s.insertStmt)
	require.Equal(t, []string{"tenant_id", "bucket", "session_id", "record"}, s.insertNames)
	require.Equal(t, "SELECT record FROM ekyc.monitoring_subjects WHERE tenant_id=? AND bucket=? AND session_id=? ", s.selectStmt)
	require.Equal(t, []string{"tenant_id", "bucket", "session_id"}, s.selectNames)
	require.Equal(t, "UPDATE ekyc.monitoring_subjects SET record=? WHERE tenant_id=? AND bucket=? AND session_id=? IF EXISTS ", s.updateStmt)
	require.Equal(t, []string{"record", "tenant_id", "bucket", "session_id"}, s.updateNames)
	require.Equal(t, "SELECT session_id,record FROM ekyc.monitoring_subjects WHERE tenant_id=? AND bucket=? AND session_id>? LIMIT ? ", s.pageStmt)
	require.Equal(t, []string{"tenant_id", "bucket", "after", "limit"}, s.pageNames)
}

// TestKeyIsPebbleKey: records are sealed with the Pebble store's record key
// as associated data, so a sealed record is valid in either store.
func TestKeyIsPebbleKey(t *testing.T) {
	for _, k := range [][2]string{{"t1", "s-1"}, {"a", "b/c"}, {"a/b", "c"}, {"", ""}, {strings.Repeat("x", 300), "é"}} {
		require.Equal(t, pebblestore.Key(k[0], k[1]), Key(k[0], k[1]), "%q", k)
	}
	require.NotEqual(t, Key("a", "b/c"), Key("a/b", "c"))
}

// TestSealOpen: a record opens under its own key only, with the key ring
// that sealed it.
func TestSealOpen(t *testing.T) {
	s := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{}, testKeys(t, 1), options{now: time.Now, pageSize: 5})
	r := record{Query: monitoringtest.Applicant, KnownHits: []string{"un-1"}, EnrolledAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	sealed, err := s.seal("t1", "s-1", r)
	require.NoError(t, err)
	for _, needle := range []string{"Eriksson", "L898902C3", "1985", "un-1"} {
		require.NotContains(t, string(sealed), needle)
	}
	got, err := s.open("t1", "s-1", sealed)
	require.NoError(t, err)
	require.Equal(t, r, got)

	_, err = s.open("t1", "s-2", sealed)
	require.ErrorIs(t, err, monitoring.ErrCorrupt)
	require.ErrorIs(t, err, envelope.ErrCorrupt)

	other := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{}, testKeys(t, 2), options{now: time.Now, pageSize: 5})
	_, err = other.open("t1", "s-1", sealed)
	require.ErrorIs(t, err, monitoring.ErrCorrupt)
	require.ErrorIs(t, err, envelope.ErrWrongKey)
}

// TestBucket pins the bucket function (it is part of the table's layout)
// and checks that it spreads session ids over every bucket.
func TestBucket(t *testing.T) {
	// FNV-1a 32: offset basis 0x811c9dc5 for "", 0xe40c292c for "a".
	require.Equal(t, int16(0x811c9dc5%Buckets), Bucket(""))
	require.Equal(t, int16(0xe40c292c%Buckets), Bucket("a"))
	counts := make([]int, Buckets)
	const n = 32000
	for i := range n {
		b := Bucket(fmt.Sprintf("session-%d", i))
		require.True(t, b >= 0 && b < Buckets)
		counts[b]++
	}
	for b, c := range counts {
		require.InDelta(t, n/Buckets, c, n/Buckets/4, "bucket %d", b)
	}
}

func TestClosedStore(t *testing.T) {
	s := newStore(Config{Keyspace: "ekyc"}, gocqlx.Session{Session: &gocql.Session{}}, testKeys(t, 1), options{now: time.Now, pageSize: 5})
	s.closed.Store(true)
	require.NoError(t, s.Close(), "Close is idempotent")
	ctx := context.Background()
	require.ErrorIs(t, s.Enrol(ctx, monitoringtest.NewSubject("t1", "s-1")), monitoring.ErrClosed)
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "s-1", nil), monitoring.ErrClosed)
	require.ErrorIs(t, s.Subjects(ctx, "t1", func(monitoring.Subject) error { return nil }), monitoring.ErrClosed)
}
