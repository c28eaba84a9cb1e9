package clickhousestore

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

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
		return nil, fmt.Errorf("clickhousestore: %w", err)
	}
	return ms, nil
}

// MigrationsTable records the applied migrations.
const MigrationsTable = "schema_migrations"

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS ` + MigrationsTable + ` (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version`

// Migrate implements analytics.Store: it creates the database if needed,
// then applies the migrations not recorded in schema_migrations, in
// version order, recording each after its statements ran. Every statement
// is CREATE ... IF NOT EXISTS, so two processes migrating at once, or a
// migration interrupted half-way and run again, end in the same schema.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	migrations, err := Migrations()
	if err != nil {
		return err
	}
	if err := createDatabase(ctx, s.cfg); err != nil {
		return err
	}
	if err := s.conn.Exec(ctx, createMigrationsTable); err != nil {
		return mapErr(ctx, "create "+MigrationsTable, err)
	}
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return mapErr(ctx, fmt.Sprintf("migration %04d_%s statement %d", m.Version, m.Name, i+1), err)
			}
		}
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+MigrationsTable+" (version, name, applied_at)")
		if err != nil {
			return mapErr(ctx, "record migration", err)
		}
		if err := b.Append(uint32(m.Version), m.Name, time.Now().UTC().Truncate(time.Second)); err != nil {
			_ = b.Abort()
			return mapErr(ctx, "record migration", err)
		}
		if err := b.Send(); err != nil {
			return mapErr(ctx, "record migration", err)
		}
	}
	return nil
}

// appliedVersions reads schema_migrations.
func (s *Store) appliedVersions(ctx context.Context) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM "+MigrationsTable)
	if err != nil {
		return nil, mapErr(ctx, "read "+MigrationsTable, err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, mapErr(ctx, "read "+MigrationsTable, err)
		}
		out[int(v)] = true
	}
	return out, mapErr(ctx, "read "+MigrationsTable, rows.Err())
}

// SchemaVersion returns the highest applied migration version (0 if
// none), or ErrNotMigrated if the database or the migrations table does
// not exist.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.gate.Enter(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return 0, err
	}
	v := 0
	for k := range applied {
		v = max(v, k)
	}
	return v, nil
}

// adminExec runs one statement on a connection to the server's default
// database (the store's database may not exist yet).
func adminExec(ctx context.Context, cfg Config, what, stmt string) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	conn, err := clickhouse.Open(cfg.options(""))
	if err != nil {
		return fmt.Errorf("clickhousestore: %s: %w", what, err)
	}
	defer conn.Close()
	return mapErr(ctx, what, conn.Exec(ctx, stmt))
}

func createDatabase(ctx context.Context, cfg Config) error {
	return adminExec(ctx, cfg, "create database", "CREATE DATABASE IF NOT EXISTS `"+cfg.Database+"`")
}

// DropDatabase drops cfg's database and everything in it (tests, and
// starting over in development).
func DropDatabase(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	return adminExec(ctx, cfg, "drop database", "DROP DATABASE IF EXISTS `"+cfg.Database+"`")
}
