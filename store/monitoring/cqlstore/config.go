package cqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gocql/gocql"

	"github.com/openekyc/ekyc/store/monitoring"
	sessionscql "github.com/openekyc/ekyc/store/sessions/cqlstore"
)

// Table is the name of the monitored subjects' table in the keyspace.
const Table = "monitoring_subjects"

// Config is the sessions store's CQL configuration (hosts, keyspace,
// consistencies, timeouts, replication, credentials): the monitoring table
// lives beside the sessions table, in the same keyspace, and a node builds
// one Config for both. Keyspace, ReplicationFactor, DataCenters and
// DisableTablets are used by Migrate only when it creates the keyspace.
type Config = sessionscql.Config

// withDefaults validates cfg and fills in the defaults with the sessions
// store's rules, under monitoring's error.
func withDefaults(cfg Config) (Config, error) {
	v, err := cfg.Validate()
	if err != nil {
		return cfg, fmt.Errorf("monitoring cqlstore: %w: %w", monitoring.ErrInvalidArgument, err)
	}
	return v, nil
}

// connect creates a session, giving up when ctx is done.
func connect(ctx context.Context, cfg Config) (*gocql.Session, error) {
	s, err := sessionscql.Connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("monitoring %w", err)
	}
	return s, nil
}

// createKeyspaceCQL is the sessions store's statement, so that whichever
// of the two migrations runs first creates the same keyspace.
func createKeyspaceCQL(cfg Config) string { return sessionscql.CreateKeyspaceStatement(cfg) }

// createTableCQL is the statement that creates the subjects table. The
// partition is (tenant, bucket): a tenant's subjects are spread over
// Buckets partitions (see Bucket), each sorted by session id.
func createTableCQL(keyspace string) string {
	return "CREATE TABLE IF NOT EXISTS " + keyspace + "." + Table + ` (
	tenant_id text,
	bucket smallint,
	session_id text,
	record blob,
	PRIMARY KEY ((tenant_id, bucket), session_id)
) WITH CLUSTERING ORDER BY (session_id ASC)
  AND comment = 'eKYC ongoing monitoring subjects: record is envelope-encrypted (query, known hits, enrolment time)'`
}

// Migrate creates the keyspace (if it does not exist; an existing keyspace
// keeps its replication settings) and the subjects table. It is idempotent
// and independent of the sessions store's Migrate; `ekyc migrate` should
// call both.
func Migrate(ctx context.Context, cfg Config) error {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return err
	}
	s, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, stmt := range []string{createKeyspaceCQL(cfg), createTableCQL(cfg.Keyspace)} {
		if err := s.Query(stmt).WithContext(ctx).Exec(); err != nil {
			return fmt.Errorf("monitoring cqlstore: migrate: %s: %w", firstLine(stmt), err)
		}
	}
	if err := s.AwaitSchemaAgreement(ctx); err != nil {
		return fmt.Errorf("monitoring cqlstore: migrate: await schema agreement: %w", err)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ErrNotMigrated explains a failing probe of the table in Open.
var ErrNotMigrated = errors.New("monitoring cqlstore: table missing or not readable (has `ekyc migrate` run?)")
