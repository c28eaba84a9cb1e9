package cqlstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/monitoring"
	"github.com/openekyc/ekyc/store/monitoring/monitoringtest"
	sessionscql "github.com/openekyc/ekyc/store/sessions/cqlstore"
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
		t.Skip("EKYC_TEST_CQL not set: no CQL server (Cassandra/ScyllaDB) to test against; deploy/local/cassandra.sh start, then EKYC_TEST_CQL=127.0.0.1:29042")
	}
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	cfg := Config{
		Hosts:          strings.Split(hosts, ","),
		Keyspace:       "ekyc_mon_test_" + hex.EncodeToString(b),
		Timeout:        15 * time.Second,
		ConnectTimeout: 15 * time.Second,
		DisableTablets: os.Getenv("EKYC_TEST_CQL_DISABLE_TABLETS") != "",
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sessionscql.DropKeyspace(ctx, cfg); err != nil {
			t.Logf("drop keyspace %s: %v", cfg.Keyspace, err)
		}
	})
	return cfg
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openStore migrates cfg's keyspace and opens a store on it.
func openStore(t *testing.T, cfg Config, keys *envelope.Keyring, opts ...Option) *Store {
	t.Helper()
	require.NoError(t, Migrate(testCtx(t), cfg))
	s, err := Open(testCtx(t), cfg, keys, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	testConfig(t) // skip early
	monitoringtest.Run(t, func(t *testing.T) monitoring.Store {
		return openStore(t, testConfig(t), testKeys(t, 1))
	})
}

// TestConformanceSmallPages runs the suite with pages of 3 rows per
// bucket: the 600-subject iteration reads every bucket over several pages
// while the callback writes.
func TestConformanceSmallPages(t *testing.T) {
	testConfig(t)
	monitoringtest.Run(t, func(t *testing.T) monitoring.Store {
		return openStore(t, testConfig(t), testKeys(t, 1), WithPageSize(3))
	})
}

func TestMigrateIdempotent(t *testing.T) {
	cfg := testConfig(t)
	ctx := testCtx(t)
	// The sessions store's migration first: the two share the keyspace.
	require.NoError(t, sessionscql.Migrate(ctx, cfg))
	s := openStore(t, cfg, testKeys(t, 1))
	require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("t1", "s-1", "un-1")))
	require.NoError(t, Migrate(ctx, cfg), "Migrate on a table with data")
	got := monitoringtest.All(ctx, t, s, "t1")
	require.Len(t, got, 1)
	require.Equal(t, []string{"un-1"}, got[0].KnownHits, "Migrate keeps the data")
}

func TestOpenNotMigrated(t *testing.T) {
	cfg := testConfig(t)
	_, err := Open(testCtx(t), cfg, testKeys(t, 1))
	require.ErrorIs(t, err, ErrNotMigrated)
}

// TestNoPIIInColumns reads the table's columns as the database holds them:
// the only columns are the key and the sealed record, and no column of any
// row holds the applicant's name, date of birth, document number or known
// hits, in any case.
func TestNoPIIInColumns(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg, testKeys(t, 1))
	ctx := testCtx(t)
	for _, id := range []string{"sess-1", "sess-2", "sess-3"} {
		require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("tenant-a", id, "ofac-1")))
		require.NoError(t, s.SetKnownHits(ctx, "tenant-a", id, []string{"ofac-1", "ftm-Q1"}))
	}

	var cols []string
	iter := s.session.Session.Query("SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
		cfg.Keyspace, Table).WithContext(ctx).Iter()
	for col := ""; iter.Scan(&col); {
		cols = append(cols, col)
	}
	require.NoError(t, iter.Close())
	slices.Sort(cols)
	require.Equal(t, []string{"bucket", "record", "session_id", "tenant_id"}, cols)

	a := monitoringtest.Applicant
	needles := []string{a.Name, "Eriksson", "Anna Maria", "1985", "L898902C3", "SWE", "ofac-1", "ftm-Q1"}
	rows := 0
	iter = s.session.Session.Query("SELECT tenant_id, bucket, session_id, record FROM " + cfg.Keyspace + "." + Table).WithContext(ctx).Iter()
	for {
		var (
			tenant, session string
			bucket          int16
			rec             []byte
		)
		if !iter.Scan(&tenant, &bucket, &session, &rec) {
			break
		}
		rows++
		require.Equal(t, "tenant-a", tenant)
		require.Equal(t, Bucket(session), bucket)
		for _, n := range needles {
			for _, col := range [][]byte{[]byte(tenant), []byte(session), rec} {
				require.False(t, bytes.Contains(bytes.ToLower(col), []byte(strings.ToLower(n))), "a column of %s holds %q", session, n)
			}
		}
	}
	require.NoError(t, iter.Close())
	require.Equal(t, 3, rows)
}

// TestCorruptRecord: a record that does not open is skipped and reported
// (ErrCorrupt, naming the session); the other subjects are still served. A
// record copied under another session does not open (the key is
// authenticated), and another master key opens nothing.
func TestCorruptRecord(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg, testKeys(t, 1))
	ctx := testCtx(t)
	for _, id := range []string{"s-1", "s-2", "s-3"} {
		require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("t1", id)))
	}
	var rec []byte
	require.NoError(t, s.session.Session.Query("SELECT record FROM "+s.table()+" WHERE tenant_id = ? AND bucket = ? AND session_id = ?",
		"t1", Bucket("s-1"), "s-1").WithContext(ctx).Scan(&rec))
	applied, err := s.session.Session.Query("UPDATE "+s.table()+" SET record = ? WHERE tenant_id = ? AND bucket = ? AND session_id = ? IF EXISTS",
		rec, "t1", Bucket("s-2"), "s-2").WithContext(ctx).MapScanCAS(map[string]any{})
	require.NoError(t, err)
	require.True(t, applied)

	var got []string
	err = s.Subjects(ctx, "t1", func(sub monitoring.Subject) error {
		got = append(got, sub.Session)
		return nil
	})
	require.ErrorIs(t, err, monitoring.ErrCorrupt)
	require.Contains(t, err.Error(), `"s-2"`)
	require.Equal(t, []string{"s-1", "s-3"}, got)
	require.ErrorIs(t, s.SetKnownHits(ctx, "t1", "s-2", nil), monitoring.ErrCorrupt)

	other, err := Open(ctx, cfg, testKeys(t, 2))
	require.NoError(t, err)
	defer other.Close()
	err = other.Subjects(ctx, "t1", func(monitoring.Subject) error { t.Fatal("opened with the wrong key"); return nil })
	require.ErrorIs(t, err, monitoring.ErrCorrupt)
	require.ErrorIs(t, err, envelope.ErrWrongKey)
}

// TestSessionOrderIsByteOrder: the table's text clustering order is the
// byte order of Go strings, also outside ASCII, across buckets and pages.
func TestSessionOrderIsByteOrder(t *testing.T) {
	s := openStore(t, testConfig(t), testKeys(t, 1), WithPageSize(2))
	ctx := testCtx(t)
	ids := []string{"z", "é", "e", "E", "ß", "日本", "Ω", "a b", "a-b", "a\u00a0b", "~", "𝔘", "Z9", "0", "émile", "\u007f"}
	for _, id := range ids {
		require.NoError(t, s.Enrol(ctx, monitoringtest.NewSubject("t1", id)))
	}
	want := slices.Sorted(slices.Values(ids))
	var got []string
	for _, sub := range monitoringtest.All(ctx, t, s, "t1") {
		got = append(got, sub.Session)
	}
	require.Equal(t, want, got)
}

// TestTwoStoresShareTheTable: a second store (another node) sees the
// first's subjects and known hits; an enrolment through either keeps the
// first one's record.
func TestTwoStoresShareTheTable(t *testing.T) {
	cfg := testConfig(t)
	a := openStore(t, cfg, testKeys(t, 1))
	b, err := Open(testCtx(t), cfg, testKeys(t, 1))
	require.NoError(t, err)
	defer b.Close()
	ctx := testCtx(t)
	require.NoError(t, a.Enrol(ctx, monitoringtest.NewSubject("t1", "s-1", "un-1")))
	again := monitoringtest.NewSubject("t1", "s-1")
	again.Query.Name = "Someone Else"
	require.NoError(t, b.Enrol(ctx, again))
	require.NoError(t, b.SetKnownHits(ctx, "t1", "s-1", []string{"un-1", "eu-2"}))
	got := monitoringtest.All(ctx, t, a, "t1")
	require.Len(t, got, 1)
	require.Equal(t, monitoringtest.Applicant, got[0].Query)
	require.Equal(t, []string{"eu-2", "un-1"}, got[0].KnownHits)
}
