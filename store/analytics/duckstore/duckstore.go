// Package duckstore is the embedded implementation of analytics.Store: a
// DuckDB database in one file (github.com/duckdb/duckdb-go/v2, the DuckDB
// library linked into the binary), the default when no ClickHouse is
// configured.
//
// Tables (migrations/*.sql, applied by Open): decisions and decision_checks
// with the same columns as ClickHouse's, primary keys decision_id and
// (decision_id, check_kind). Write appends each batch through DuckDB's
// appender into INSERT ... ON CONFLICT DO NOTHING, in one transaction, so a
// redelivered decision is stored once. Writes are serialised within the
// process; reports run concurrently with them on snapshots.
//
// One process opens the file at a time (DuckDB locks it); DuckDB keeps a
// write-ahead log next to it (<file>.wal) until a checkpoint, and Close
// checkpoints.
package duckstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/openekyc/ekyc/store/analytics"
	"github.com/openekyc/ekyc/store/analytics/internal/gate"
	"github.com/openekyc/ekyc/store/analytics/internal/sqlfiles"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change: migrations/NNNN_name.sql.
type Migration = sqlfiles.Migration

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	ms, err := sqlfiles.Read(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("duckstore: %w", err)
	}
	return ms, nil
}

// FileName is the conventional name of the database file under a node's
// data directory: <data_dir>/analytics/decisions.duckdb.
const FileName = "decisions.duckdb"

// Option configures Open.
type Option func(*options)

type options struct {
	threads     int
	memoryLimit string
}

// WithThreads caps DuckDB's worker threads (default: the number of CPUs).
func WithThreads(n int) Option { return func(o *options) { o.threads = n } }

// WithMemoryLimit caps DuckDB's memory, in DuckDB's syntax ("1GB",
// "512MB"; default: 80% of the machine's memory).
func WithMemoryLimit(limit string) Option { return func(o *options) { o.memoryLimit = limit } }

// Store is an analytics.Store over a DuckDB file. It is safe for
// concurrent use.
type Store struct {
	path string
	db   *sql.DB
	conn *sql.Conn // the writer's connection (writes are serialised on it)
	wmu  sync.Mutex
	gate gate.Gate
}

var _ analytics.Store = (*Store)(nil)

// Open opens (creating it and its directory if needed) the database file at
// path and migrates it.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" {
		return nil, fmt.Errorf("duckstore: %w: empty path", analytics.ErrInvalidArgument)
	}
	if o.threads < 0 {
		return nil, fmt.Errorf("duckstore: %w: negative threads", analytics.ErrInvalidArgument)
	}
	if o.memoryLimit != "" && !memoryLimitOK(o.memoryLimit) {
		return nil, fmt.Errorf("duckstore: %w: memory limit %q (want e.g. 512MB, 2GB)", analytics.ErrInvalidArgument, o.memoryLimit)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("duckstore: %w", err)
	}
	connector, err := duckdb.NewConnector(path, func(execer driver.ExecerContext) error {
		for _, stmt := range initStatements(o) {
			if _, err := execer.ExecContext(context.Background(), stmt, nil); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("duckstore: open %s: %w", path, err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("duckstore: open %s: %w", path, mapErr(ctx, err))
	}
	s := &Store{path: path, db: db, conn: conn}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func initStatements(o options) []string {
	var out []string
	if o.threads > 0 {
		out = append(out, fmt.Sprintf("SET threads = %d", o.threads))
	}
	if o.memoryLimit != "" {
		out = append(out, fmt.Sprintf("SET memory_limit = '%s'", o.memoryLimit))
	}
	return out
}

func memoryLimitOK(s string) bool {
	num := strings.TrimRight(s, "KMGTBkmgtib")
	if num == "" || len(num) == len(s) {
		return false
	}
	for _, r := range num {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Migrate implements analytics.Store (Open already migrated).
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	return s.migrate(ctx)
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL
)`

// migrate applies the missing migrations, each in a transaction with its
// record in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if _, err := s.conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("duckstore: migrate: %w", mapErr(ctx, err))
	}
	for _, m := range ms {
		err := s.inTx(ctx, func() error {
			var n int
			if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range m.Statements {
				if _, err := s.conn.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			_, err := s.conn.ExecContext(ctx, "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
				m.Version, m.Name, time.Now().UTC().Truncate(time.Second))
			return err
		})
		if err != nil {
			return fmt.Errorf("duckstore: migration %04d_%s: %w", m.Version, m.Name, mapErr(ctx, err))
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.gate.Enter(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	var v sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("duckstore: schema version: %w", mapErr(ctx, err))
	}
	return int(v.Int64), nil
}

// inTx runs fn in a transaction on the writer's connection (the caller
// holds wmu).
func (s *Store) inTx(ctx context.Context, fn func() error) error {
	if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	if err := fn(); err != nil {
		// A rollback with a cancelled ctx would not run: use a fresh one.
		_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

// Write implements analytics.Sink: the batch is inserted in one
// transaction; rows whose decision id is stored already are skipped (ON
// CONFLICT DO NOTHING), as are check rows whose (decision id, kind) is.
func (s *Store) Write(ctx context.Context, rows []analytics.Decision) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	if err := analytics.ValidateRows(rows); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("duckstore: write: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	rows = analytics.Dedupe(rows)
	now := time.Now().UTC().Truncate(time.Second)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.inTx(ctx, func() error {
		return s.conn.Raw(func(dc any) error {
			if err := appendRows(ctx, dc, "decisions", func(a *duckdb.Appender) error {
				for _, r := range rows {
					d := analytics.Normalize(r)
					if err := a.AppendRow(d.DecisionID, d.TenantID, d.SessionID, d.EventID, d.NodeID, d.Outcome, d.Score,
						d.ReasonCodes, d.PolicyID, d.PolicyVersion, d.DocumentType, d.IssuingCountry, d.ApplicantCountry,
						d.ListVersions, d.HitListVersions, uint32(d.ScreeningHits), d.SubmittedAt, d.DecidedAt, d.LatencyMS, now); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
			return appendRows(ctx, dc, "decision_checks", func(a *duckdb.Appender) error {
				for _, r := range rows {
					decided := analytics.TruncateTime(r.DecidedAt)
					for _, c := range analytics.Normalize(r).Checks {
						if err := a.AppendRow(r.DecisionID, r.TenantID, decided, c.Kind, c.Status, c.Score,
							c.LatencyMS, c.Attempts, c.ReasonCodes, now); err != nil {
							return err
						}
					}
				}
				return nil
			})
		})
	})
	if err != nil {
		return fmt.Errorf("duckstore: write: %w", mapErr(ctx, err))
	}
	return nil
}

// appendRows appends rows to a temporary table shaped like table (all its
// columns, in order) and inserts them with ON CONFLICT DO NOTHING when the
// appender closes.
func appendRows(ctx context.Context, dc any, table string, fill func(*duckdb.Appender) error) error {
	conn, ok := dc.(driver.Conn)
	if !ok {
		return fmt.Errorf("unexpected driver connection %T", dc)
	}
	a, err := duckdb.NewTableAppender(conn, "INSERT INTO "+table+" SELECT * FROM appended_data ON CONFLICT DO NOTHING",
		"", "", table, nil)
	if err != nil {
		return err
	}
	if err := fill(a); err != nil {
		_ = a.Clear()
		_ = a.Close()
		return err
	}
	return a.CloseWithCancel(ctx)
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
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("duckstore: report %s: %w", name, mapErr(ctx, err))
	}
	defer rows.Close()
	t := analytics.NewTable(info)
	for rows.Next() {
		dest := analytics.ScanDest(info)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("duckstore: report %s: %w", name, mapErr(ctx, err))
		}
		t.Rows = append(t.Rows, analytics.ScannedRow(dest))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckstore: report %s: %w", name, mapErr(ctx, err))
	}
	return t, nil
}

// Close implements analytics.Sink: it waits for calls in flight,
// checkpoints the write-ahead log into the file and closes it.
func (s *Store) Close() error {
	return s.gate.Close(func() error {
		_, cerr := s.conn.ExecContext(context.Background(), "CHECKPOINT")
		return errors.Join(cerr, s.conn.Close(), s.db.Close())
	})
}

// mapErr returns the caller's context error when the context ended (a
// cancelled statement reports "INTERRUPT"), else err.
func mapErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
