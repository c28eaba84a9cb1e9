package cqlstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"

	"github.com/openekyc/ekyc/store/sessions"
)

// Table is the name of the sessions table in the keyspace.
const Table = "sessions"

// Config configures Open and Migrate.
type Config struct {
	// Hosts are the contact points, "host" or "host:port" (default port 9042).
	Hosts []string
	// Keyspace holds the sessions table: lower case letters, digits and
	// underscores, starting with a letter, at most 48 characters.
	Keyspace string

	// Consistency of reads and of the commit phase of the LWT writes. The
	// zero value (ANY, which reads cannot use) selects LOCAL_QUORUM.
	Consistency gocql.Consistency
	// SerialConsistency of the Paxos phase of the LWT writes and of the
	// linearizable reads after a lost or unknown write: gocql.Serial (the
	// default, linearizable across data centers: session actors may run in
	// any data center) or gocql.LocalSerial (when the writers of a session
	// are confined to one data center).
	SerialConsistency gocql.SerialConsistency

	// Timeout of one request (default: gocql's, 11s). Keep it longer than the
	// server's cas_contention_timeout and write_request_timeout so that a
	// slow write is reported by the server (with a write type) rather than
	// by a client timeout.
	Timeout time.Duration
	// ConnectTimeout of the initial connection (default: gocql's).
	ConnectTimeout time.Duration
	// LocalDC, if set, routes requests to the hosts of this data center
	// first; requests are token aware in any case.
	LocalDC string

	// ReplicationFactor of the keyspace Migrate creates with SimpleStrategy
	// (default 1, for development; use 3 in production). Ignored when
	// DataCenters is set.
	ReplicationFactor int
	// DataCenters, if set, makes Migrate create the keyspace with
	// NetworkTopologyStrategy and these replication factors per data center.
	DataCenters map[string]int
	// DisableTablets makes Migrate create the keyspace with
	// "tablets = {'enabled': false}": ScyllaDB only, for versions that do not
	// support lightweight transactions on tablet keyspaces. Apache Cassandra
	// rejects the option.
	DisableTablets bool

	// Username and Password, if set, authenticate with
	// PasswordAuthenticator.
	Username string
	Password string
}

var keyspaceRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// Validate returns cfg with its defaults filled in, or an error wrapping
// sessions.ErrInvalidArgument. Every store sharing the keyspace (sessions,
// monitoring) applies these rules.
func (cfg Config) Validate() (Config, error) { return cfg.withDefaults() }

// Connect opens a gocql session for a validated cfg, giving up when ctx
// ends. The session has no keyspace (statements name it), so Migrate can
// connect before the keyspace exists.
func Connect(ctx context.Context, cfg Config) (*gocql.Session, error) { return connect(ctx, cfg) }

// CreateKeyspaceStatement is the statement that creates the keyspace of a
// validated cfg (if it does not exist), shared by every store's Migrate.
func CreateKeyspaceStatement(cfg Config) string { return createKeyspaceCQL(cfg) }

// withDefaults validates cfg and fills in the defaults.
func (cfg Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return cfg, fmt.Errorf("cqlstore: %w: %s", sessions.ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	if len(cfg.Hosts) == 0 {
		return bad("no hosts")
	}
	if slices.Contains(cfg.Hosts, "") {
		return bad("empty host")
	}
	if !keyspaceRE.MatchString(cfg.Keyspace) {
		return bad("keyspace %q: want lower case letters, digits and _, starting with a letter, at most 48", cfg.Keyspace)
	}
	if cfg.Consistency == gocql.Any {
		cfg.Consistency = gocql.LocalQuorum
	}
	if cfg.Consistency.IsSerial() {
		return bad("consistency %v is a serial consistency: set SerialConsistency", cfg.Consistency)
	}
	switch cfg.SerialConsistency {
	case 0:
		cfg.SerialConsistency = gocql.Serial
	case gocql.Serial, gocql.LocalSerial:
	default:
		return bad("serial consistency %v: want SERIAL or LOCAL_SERIAL", cfg.SerialConsistency)
	}
	if cfg.Timeout < 0 || cfg.ConnectTimeout < 0 {
		return bad("negative timeout")
	}
	if cfg.ReplicationFactor < 0 {
		return bad("negative replication factor %d", cfg.ReplicationFactor)
	}
	if cfg.ReplicationFactor == 0 {
		cfg.ReplicationFactor = 1
	}
	for dc, rf := range cfg.DataCenters {
		if dc == "" || rf <= 0 {
			return bad("data center %q: replication factor %d", dc, rf)
		}
	}
	return cfg, nil
}

// cluster returns the gocql configuration. keyspace is left unset: the
// statements name it, so that Migrate can connect before it exists.
func (cfg Config) cluster() *gocql.ClusterConfig {
	c := gocql.NewCluster(cfg.Hosts...)
	c.Consistency = cfg.Consistency
	c.SerialConsistency = cfg.SerialConsistency
	if cfg.Timeout > 0 {
		c.Timeout = cfg.Timeout
		c.WriteTimeout = cfg.Timeout
	}
	if cfg.ConnectTimeout > 0 {
		c.ConnectTimeout = cfg.ConnectTimeout
	}
	fallback := gocql.RoundRobinHostPolicy()
	if cfg.LocalDC != "" {
		fallback = gocql.DCAwareRoundRobinPolicy(cfg.LocalDC)
	}
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(fallback)
	// Schema events are not needed (Migrate waits for schema agreement
	// itself), and scylladb/gocql v1.14.4 can dereference the token-aware
	// policy's nil metadata when a debounced keyspace event is flushed while
	// a session is closing (tokenAwareHostPolicy.updateReplicas).
	c.Events.DisableSchemaEvents = true
	if cfg.Username != "" || cfg.Password != "" {
		c.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Username, Password: cfg.Password}
	}
	return c
}

// connect creates a session, giving up when ctx is done.
func connect(ctx context.Context, cfg Config) (*gocql.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		s   *gocql.Session
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := cfg.cluster().CreateSession()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("cqlstore: connect to %v: %w", cfg.Hosts, r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, fmt.Errorf("cqlstore: connect to %v: %w", cfg.Hosts, ctx.Err())
	}
}

// cqlString quotes s as a CQL string literal.
func cqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// createKeyspaceCQL is the statement that creates the keyspace of cfg
// (validated).
func createKeyspaceCQL(cfg Config) string {
	var repl string
	if len(cfg.DataCenters) > 0 {
		parts := []string{"'class': 'NetworkTopologyStrategy'"}
		for _, dc := range slices.Sorted(maps.Keys(cfg.DataCenters)) {
			parts = append(parts, cqlString(dc)+": "+strconv.Itoa(cfg.DataCenters[dc]))
		}
		repl = "{" + strings.Join(parts, ", ") + "}"
	} else {
		repl = "{'class': 'SimpleStrategy', 'replication_factor': " + strconv.Itoa(cfg.ReplicationFactor) + "}"
	}
	stmt := "CREATE KEYSPACE IF NOT EXISTS " + cfg.Keyspace + " WITH replication = " + repl + " AND durable_writes = true"
	if cfg.DisableTablets {
		stmt += " AND tablets = {'enabled': false}"
	}
	return stmt
}

// createTableCQL is the statement that creates the sessions table.
func createTableCQL(keyspace string) string {
	return "CREATE TABLE IF NOT EXISTS " + keyspace + "." + Table + ` (
	tenant_id text,
	session_id text,
	version bigint,
	status text,
	state blob,
	updated_at timestamp,
	PRIMARY KEY ((tenant_id, session_id))
) WITH comment = 'eKYC session state: ekyc.v1.SessionState, compare-and-set on version (LWT)'`
}

// Migrate creates the keyspace and the sessions table if they do not exist
// (an existing keyspace keeps its replication settings). It is idempotent;
// `ekyc migrate` calls it.
func Migrate(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
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
			return fmt.Errorf("cqlstore: migrate: %s: %w", firstLine(stmt), err)
		}
	}
	if err := s.AwaitSchemaAgreement(ctx); err != nil {
		return fmt.Errorf("cqlstore: migrate: await schema agreement: %w", err)
	}
	return nil
}

// DropKeyspace drops the keyspace of cfg if it exists. For tests and tools:
// it deletes every session.
func DropKeyspace(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	s, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Query("DROP KEYSPACE IF EXISTS " + cfg.Keyspace).WithContext(ctx).Exec(); err != nil {
		return fmt.Errorf("cqlstore: drop keyspace %s: %w", cfg.Keyspace, err)
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// errNotMigrated explains a failing probe of the table.
var errNotMigrated = errors.New("table missing or not readable (has `ekyc migrate` run?)")
