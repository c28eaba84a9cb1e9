package clickhousestore

import (
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/openekyc/ekyc/store/analytics"
)

// Config configures Open.
type Config struct {
	// Addr are the servers' native-protocol addresses, "host:port" (the
	// native port, 9000 by default; deploy/local/clickhouse.sh uses 29000).
	// The HTTP protocol is not used: Debian's 18.16 cannot serve this
	// driver over HTTP.
	Addr []string
	// Database holds the tables (default "ekyc"): letters, digits and
	// underscores, starting with a letter or underscore. Migrate creates
	// it.
	Database string
	// Username and Password authenticate (default user "default", no
	// password).
	Username string
	Password string

	// DialTimeout bounds opening a connection (default 5s), ReadTimeout a
	// server response (default 60s).
	DialTimeout time.Duration
	ReadTimeout time.Duration
	// MaxOpenConns bounds the connection pool (default 8).
	MaxOpenConns int

	// InsertSettings are ClickHouse settings sent with every insert, e.g.
	// {"async_insert": 1, "wait_for_async_insert": 1} on current servers
	// (see docs/analytics.md). Unknown settings fail the insert: 18.16 has
	// no async inserts.
	InsertSettings map[string]any

	// Logger receives the driver's warnings (server exceptions, an old
	// server version); nil discards them.
	Logger *slog.Logger
}

// DefaultDatabase is the database of a Config without one.
const DefaultDatabase = "ekyc"

var databaseRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func (cfg Config) withDefaults() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return cfg, fmt.Errorf("clickhousestore: %w: %s", analytics.ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	if len(cfg.Addr) == 0 {
		return bad("no server address")
	}
	for _, a := range cfg.Addr {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			return bad("address %q is not host:port", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return bad("address %q has no valid port", a)
		}
	}
	cfg.Addr = slices.Clone(cfg.Addr)
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if !databaseRE.MatchString(cfg.Database) {
		return bad("database name %q: want letters, digits and underscores, starting with a letter or underscore, at most 64", cfg.Database)
	}
	if cfg.DialTimeout < 0 || cfg.ReadTimeout < 0 || cfg.MaxOpenConns < 0 {
		return bad("negative timeout or pool size")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = time.Minute
	}
	if cfg.MaxOpenConns == 0 {
		cfg.MaxOpenConns = 8
	}
	for k := range cfg.InsertSettings {
		if !settingRE.MatchString(k) {
			return bad("setting name %q", k)
		}
	}
	return cfg, nil
}

var settingRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// options are the driver options for database db ("" = the server's
// default database).
func (cfg Config) options(db string) *clickhouse.Options {
	return &clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     cfg.Addr,
		Auth: clickhouse.Auth{
			Database: db,
			Username: cfg.Username,
			Password: cfg.Password,
		},
		DialTimeout:     cfg.DialTimeout,
		ReadTimeout:     cfg.ReadTimeout,
		MaxOpenConns:    cfg.MaxOpenConns,
		MaxIdleConns:    min(cfg.MaxOpenConns, 4),
		ConnMaxLifetime: time.Hour,
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		Logger:          cfg.Logger,
	}
}
