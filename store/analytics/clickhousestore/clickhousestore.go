// Package clickhousestore is the ClickHouse implementation of
// analytics.Store, over the native protocol (clickhouse-go/v2). It runs on
// Debian's ClickHouse 18.16 and on current servers: no DateTime64, Map,
// LowCardinality, async inserts or server-side query parameters in its
// statements; inserts go through PrepareBatch with named columns.
//
// Tables (migrations/*.sql, applied by Migrate): decisions and
// decision_checks, ReplacingMergeTree partitioned by month of decided_at
// and ordered by (tenant_id, decided_at, decision_id[, check_kind]), so a
// redelivered row collapses with its first copy at merge time; every report
// reads them with FINAL, so duplicates never count before the merge either.
// The materialized views outcomes_daily_mv and reason_codes_daily_mv feed
// AggregatingMergeTree tables with uniqExact states over the decision id
// for dashboards (see docs/analytics.md).
package clickhousestore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
	chdriver "github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/internal/gate"
)

// Store is an analytics.Store over ClickHouse. It is safe for concurrent
// use.
type Store struct {
	cfg  Config
	conn chdriver.Conn
	gate gate.Gate
}

var _ analytics.Store = (*Store)(nil)

// Open returns a store over cfg's servers. It validates cfg but does not
// connect: connections open on first use (see Ping), so a server that is
// down at start makes the calls fail with analytics.ErrUnavailable rather
// than Open. Call Migrate before writing to a new database.
func Open(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(cfg.options(cfg.Database))
	if err != nil {
		return nil, fmt.Errorf("clickhousestore: open: %w", err)
	}
	return &Store{cfg: cfg, conn: conn}, nil
}

// Database is the database the store uses.
func (s *Store) Database() string { return s.cfg.Database }

// Ping checks that a server answers and the database exists.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	return mapErr(ctx, "ping", s.conn.Ping(ctx))
}

const insertDecisions = `INSERT INTO decisions (decision_id, tenant_id, session_id, event_id, node_id, outcome, score,
 reason_codes, policy_id, policy_version, document_type, issuing_country, applicant_country,
 screening_list_versions, screening_hit_list_versions, screening_hits, submitted_at, decided_at, latency_ms)`

const insertChecks = `INSERT INTO decision_checks (decision_id, tenant_id, decided_at, check_kind, status, score,
 latency_ms, attempts, reason_codes)`

// Write implements analytics.Sink. The check rows are inserted before the
// decision rows, each table in one batch; a failed Write may have inserted
// some of them, and its retry adds no duplicates to the reports.
func (s *Store) Write(ctx context.Context, rows []analytics.Decision) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	if err := analytics.ValidateRows(rows); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("clickhousestore: write: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	rows = analytics.Dedupe(rows)
	norm := make([]analytics.Decision, len(rows))
	nChecks := 0
	for i, r := range rows {
		norm[i] = analytics.Normalize(r)
		nChecks += len(r.Checks)
	}
	if len(s.cfg.InsertSettings) > 0 {
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings(s.cfg.InsertSettings)))
	}
	if nChecks > 0 {
		err := s.insert(ctx, insertChecks, func(b chdriver.Batch) error {
			for _, d := range norm {
				for _, c := range d.Checks {
					if err := b.Append(d.DecisionID, d.TenantID, d.DecidedAt, c.Kind, c.Status, c.Score,
						c.LatencyMS, c.Attempts, c.ReasonCodes); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return s.insert(ctx, insertDecisions, func(b chdriver.Batch) error {
		for _, d := range norm {
			if err := b.Append(d.DecisionID, d.TenantID, d.SessionID, d.EventID, d.NodeID, d.Outcome, d.Score,
				d.ReasonCodes, d.PolicyID, d.PolicyVersion, d.DocumentType, d.IssuingCountry, d.ApplicantCountry,
				d.ListVersions, d.HitListVersions, uint32(d.ScreeningHits), d.SubmittedAt, d.DecidedAt, d.LatencyMS); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) insert(ctx context.Context, query string, fill func(chdriver.Batch) error) error {
	table := strings.Fields(query)[2]
	b, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return mapErr(ctx, "insert into "+table, err)
	}
	if err := fill(b); err != nil {
		_ = b.Abort()
		return mapErr(ctx, "append to "+table, err)
	}
	return mapErr(ctx, "insert into "+table, b.Send())
}

// Report implements analytics.Reporter.
func (s *Store) Report(ctx context.Context, name string, p analytics.Params) (*analytics.Table, error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	info, rp, err := analytics.Resolve(name, p)
	if err != nil {
		return nil, err
	}
	query, args := ReportSQL(name, rp)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(ctx, "report "+name, err)
	}
	defer rows.Close()
	t := analytics.NewTable(info)
	for rows.Next() {
		dest := analytics.ScanDest(info)
		if err := rows.Scan(dest...); err != nil {
			return nil, mapErr(ctx, "report "+name, err)
		}
		t.Rows = append(t.Rows, analytics.ScannedRow(dest))
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(ctx, "report "+name, err)
	}
	return t, nil
}

// Close implements analytics.Sink: it waits for calls in flight and closes
// the connections.
func (s *Store) Close() error { return s.gate.Close(s.conn.Close) }

// Server error codes (ClickHouse ErrorCodes) that mean "not migrated" and
// "try again".
var (
	notMigratedCodes = map[int32]bool{
		16: true, // NO_SUCH_COLUMN_IN_TABLE
		60: true, // UNKNOWN_TABLE
		81: true, // UNKNOWN_DATABASE
	}
	unavailableCodes = map[int32]bool{
		159: true, // TIMEOUT_EXCEEDED
		164: true, // READONLY
		202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
		203: true, // NO_FREE_CONNECTION
		209: true, // SOCKET_TIMEOUT
		210: true, // NETWORK_ERROR
		241: true, // MEMORY_LIMIT_EXCEEDED
		242: true, // TABLE_IS_READ_ONLY
		252: true, // TOO_MANY_PARTS
		285: true, // TOO_FEW_LIVE_REPLICAS
		286: true, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
		319: true, // UNKNOWN_STATUS_OF_INSERT
		394: true, // QUERY_WAS_CANCELLED
		425: true, // SYSTEM_ERROR
		999: true, // KEEPER_EXCEPTION
	}
)

// mapErr classifies a driver error: the caller's context first (cancelled:
// context.Canceled; deadline: ErrUnavailable and DeadlineExceeded), then
// server exceptions by code, then connection errors (ErrUnavailable).
func mapErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("clickhousestore: %s: %w: %w (%v)", op, analytics.ErrUnavailable, cerr, err)
		}
		return fmt.Errorf("clickhousestore: %s: %w (%v)", op, cerr, err)
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch {
		case notMigratedCodes[ex.Code]:
			return fmt.Errorf("clickhousestore: %s: %w: %w", op, analytics.ErrNotMigrated, err)
		case unavailableCodes[ex.Code]:
			return fmt.Errorf("clickhousestore: %s: %w: %w", op, analytics.ErrUnavailable, err)
		}
		return fmt.Errorf("clickhousestore: %s: %w", op, err)
	}
	if connectionError(err) {
		return fmt.Errorf("clickhousestore: %s: %w: %w", op, analytics.ErrUnavailable, err)
	}
	return fmt.Errorf("clickhousestore: %s: %w", op, err)
}

func connectionError(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, clickhouse.ErrAcquireConnTimeout),
		errors.Is(err, clickhouse.ErrConnectionClosed):
		return true
	}
	return false
}
