// Package config is the node's configuration: one typed struct, loaded from a
// YAML file, then overridden by EKYC_* environment variables, then validated.
//
// Every key is documented in README.md (a test keeps the two in step). The
// environment name of a key is its YAML path upper-cased and joined with
// underscores: kafka.brokers → EKYC_KAFKA_BROKERS. Lists take comma-separated
// values; durations take Go syntax ("250ms", "5s").
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration that reads "5s" from YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the whole node configuration.
type Config struct {
	NodeID  string `yaml:"node_id"`
	DataDir string `yaml:"data_dir"`
	// MasterKeyFile holds the AES-256 master key that wraps the data keys
	// of everything encrypted at rest (created 0600 when missing). Nodes
	// sharing a CQL store must share it. Default <data_dir>/keys/master.key.
	MasterKeyFile string    `yaml:"master_key_file"`
	Log           Log       `yaml:"log"`
	Admin         Admin     `yaml:"admin"`
	Kafka         Kafka     `yaml:"kafka"`
	Cluster       Cluster   `yaml:"cluster"`
	Store         Store     `yaml:"store"`
	Checks        Checks    `yaml:"checks"`
	Policies      Policies  `yaml:"policies"`
	Inference     Inference `yaml:"inference"`
	Face          Face      `yaml:"face"`
	Images        Images    `yaml:"images"`
	Screening     Screening `yaml:"screening"`
	DBVerify      DBVerify  `yaml:"dbverify"`
	Analytics     Analytics `yaml:"analytics"`
	Vectors       Vectors   `yaml:"vectors"`
	Gateway       Gateway   `yaml:"gateway"`
	Blobs         Blobs     `yaml:"blobs"`
	Webhooks      Webhooks  `yaml:"webhooks"`
	Retention     Retention `yaml:"retention"`
	Review        Review    `yaml:"review"`
	Demo          Demo      `yaml:"demo"`
	Tenants       []Tenant  `yaml:"tenants"`
}

// Review configures the manual review queue (services/review,
// store/review): the SLA of each case priority and how long a reviewer's
// claim on a case lasts. The four-eyes rule is per tenant
// (Tenant.Review).
type Review struct {
	SLA ReviewSLA `yaml:"sla"`
	// ClaimTTL is how long a claim lasts; an expired claim can be taken
	// over by another reviewer.
	ClaimTTL Duration `yaml:"claim_ttl"`
	// SweepInterval: how often the review-queue monitor republishes
	// decisions that did not reach Kafka and measures the queues.
	SweepInterval Duration `yaml:"sweep_interval"`
}

// ReviewSLA is the time a case of each priority may stay undecided.
type ReviewSLA struct {
	Sanctions         Duration `yaml:"sanctions"`
	DuplicateIdentity Duration `yaml:"duplicate_identity"`
	Liveness          Duration `yaml:"liveness"`
	Document          Duration `yaml:"document"`
	Other             Duration `yaml:"other"`
}

// TenantReview is a tenant's four-eyes rule: a second, senior reviewer
// confirms the decisions it names.
type TenantReview struct {
	// FourEyesReject: every REJECT needs confirmation.
	FourEyesReject bool `yaml:"four_eyes_reject"`
	// FourEyesSanctions: every decision on a sanctions (or PEP) case needs
	// confirmation.
	FourEyesSanctions bool `yaml:"four_eyes_sanctions"`
}

// Screening configures the screening check (sanctions and PEP lists).
type Screening struct {
	// Lists are "source=location" entries: source ofac, un, eu, uk or ftm;
	// location a file, a directory (OFAC: sdn.csv, alt.csv, add.csv,
	// sdn_comments.csv) or an http(s) URL (OFAC: the directory's URL).
	// Empty: the node has no screening check (CHECK_UNAVAILABLE).
	Lists []string `yaml:"lists"`
	// Refresh is how often the lists are reloaded (0: never).
	Refresh Duration `yaml:"refresh"`
	// Threshold is the score at or above which a hit counts.
	Threshold float64 `yaml:"threshold"`
	// Media is the adverse-media provider (none when URL is empty).
	Media Media `yaml:"media"`
}

// DBVerify configures the database-verification check (services/dbverify):
// registry connectors, each described by a mapping file. Empty: the node
// has no database check (CHECK_UNAVAILABLE).
type DBVerify struct {
	// Connectors are "name=mapping-file" entries.
	Connectors []string `yaml:"connectors"`
	// Default is the connector of tenants not in Tenants; empty with one
	// connector: that one; empty with several: those tenants have none.
	Default string `yaml:"default"`
	// Tenants are "tenant=connector" entries overriding Default.
	Tenants []string `yaml:"tenants"`
}

// Media configures the adverse-media provider of the screening check
// (services/screening/media protocol).
type Media struct {
	URL       string   `yaml:"url"`
	TokenFile string   `yaml:"token_file"`
	Timeout   Duration `yaml:"timeout"`
	// MinScore is the provider relevance (0..1) from which an article
	// counts.
	MinScore float64 `yaml:"min_score"`
}

// Inference selects the model-serving backend and the batching pools.
type Inference struct {
	Backend   string        `yaml:"backend"` // onnx|triton|none
	ModelsDir string        `yaml:"models_dir"`
	Threads   int           `yaml:"threads"`
	Triton    Triton        `yaml:"triton"`
	Pool      InferencePool `yaml:"pool"`
}

// Triton configures the KServe v2 gRPC client.
type Triton struct {
	Address string `yaml:"address"`
}

// InferencePool configures the batching actors of every model.
type InferencePool struct {
	Batchers  int      `yaml:"batchers"`
	MaxBatch  int      `yaml:"max_batch"`
	MaxDelay  Duration `yaml:"max_delay"`
	QueueSize int      `yaml:"queue_size"`
}

// Face configures the face check.
type Face struct {
	MatchThreshold float64 `yaml:"match_threshold"`
	// DedupThreshold is the cosine similarity at or above which a stored
	// face of another session is a possible duplicate identity (tenants
	// may override it).
	DedupThreshold float64 `yaml:"dedup_threshold"`
}

// Analytics configures the decision-analytics sink: a consumer group on
// the decisions topic feeding the analytics actor, which writes batches to
// the store.
type Analytics struct {
	Backend     string           `yaml:"backend"` // duckdb|clickhouse|none
	Group       string           `yaml:"group"`
	BatchSize   int              `yaml:"batch_size"`
	MaxAge      Duration         `yaml:"max_age"`
	MaxBuffered int              `yaml:"max_buffered"`
	DuckDB      DuckDB           `yaml:"duckdb"`
	ClickHouse  ClickHouseConfig `yaml:"clickhouse"`
}

// DuckDB is the embedded analytics store.
type DuckDB struct {
	Path string `yaml:"path"` // default <data_dir>/analytics/decisions.duckdb
}

// ClickHouseConfig is the ClickHouse analytics store (native protocol).
type ClickHouseConfig struct {
	Addr         []string `yaml:"addr"`
	Database     string   `yaml:"database"`
	Username     string   `yaml:"username"`
	PasswordFile string   `yaml:"password_file"`
	DialTimeout  Duration `yaml:"dial_timeout"`
}

// Vectors configures the face-embedding store used for 1:N deduplication.
type Vectors struct {
	Backend string `yaml:"backend"` // hnsw|milvus|none
	Dir     string `yaml:"dir"`     // hnsw: default <data_dir>/vectors
	Milvus  Milvus `yaml:"milvus"`
}

// Milvus is the Milvus vector store.
type Milvus struct {
	Address    string `yaml:"address"`
	Collection string `yaml:"collection"`
}

// Images configures where the node reads image references from.
type Images struct {
	Dir      string `yaml:"dir"`
	MaxBytes int64  `yaml:"max_bytes"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug|info|warn|error
	Format string `yaml:"format"` // text|json
}

// Admin is the admin HTTP listener (/metrics, /healthz, /readyz).
type Admin struct {
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
}

// TLS turns TLS on for a listener when both files are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// Gateway configures the HTTP API (gateway/).
type Gateway struct {
	// Listen is the API's address; empty disables the API.
	Listen string `yaml:"listen"`
	TLS    TLS    `yaml:"tls"`
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ImageMaxBytes bounds an uploaded image; ImageMinSide and ImageMaxSide
	// bound its width and height in pixels.
	ImageMaxBytes int64 `yaml:"image_max_bytes"`
	ImageMinSide  int   `yaml:"image_min_side"`
	ImageMaxSide  int   `yaml:"image_max_side"`
	// Rate limits (token buckets, per node): requests per second and burst,
	// per tenant and per API key. 0 disables the limit.
	TenantRPS   float64 `yaml:"tenant_rps"`
	TenantBurst int     `yaml:"tenant_burst"`
	KeyRPS      float64 `yaml:"key_rps"`
	KeyBurst    int     `yaml:"key_burst"`
	// SessionTokenTTL is the lifetime of a browser session token (POST
	// /v1/sessions/{id}/token); the token's HMAC key is derived from the
	// master key, so every node sharing it verifies every node's tokens.
	SessionTokenTTL Duration `yaml:"session_token_ttl"`
	// CORSOrigins are the origins whose pages may call the session-token
	// routes from the browser (the web SDK on a tenant's site). Empty:
	// same-origin pages only.
	CORSOrigins []string `yaml:"cors_origins"`
}

// Demo configures the /demo page (demo/): a capture flow through the web
// SDK against this node, creating sessions for one tenant. It creates
// sessions for anyone who reaches the API listener: enable it on local or
// demonstration nodes only.
type Demo struct {
	Enabled bool `yaml:"enabled"`
	// Tenant owns the demo's sessions (a configured tenant or one made
	// with ekyc tenant create).
	Tenant string `yaml:"tenant"`
	// Checks of a demo session: document and/or face (the demo sends no
	// applicant data, which screening and database checks need).
	Checks []string `yaml:"checks"`
	// StartsPerMinute bounds the demo sessions started per minute on this
	// node (429 beyond).
	StartsPerMinute int `yaml:"starts_per_minute"`
}

// Blobs configures the encrypted store of images.
type Blobs struct {
	// URL is a gocloud.dev/blob bucket URL: file:///dir (default
	// file://<data_dir>/blobs) or s3://bucket?region=…&endpoint=….
	URL string `yaml:"url"`
}

// Webhooks configures decision webhooks.
type Webhooks struct {
	// Timeout bounds one delivery attempt.
	Timeout Duration `yaml:"timeout"`
	// Schedule is the delay before each retry; after the last the event is
	// dead-lettered (replayable through the API).
	Schedule []Duration `yaml:"schedule"`
	// PerEndpoint bounds concurrent deliveries to one receiver host.
	PerEndpoint int `yaml:"per_endpoint"`
	// AllowPrivate lets receivers be on loopback or private addresses;
	// multi-tenant deployments set it false (SSRF: a tenant's URL must
	// not reach internal services).
	AllowPrivate bool `yaml:"allow_private"`
}

// MaxRetentionDays bounds retention periods (100 years, as store/tenants).
const MaxRetentionDays = 36500

// Retention configures the erasure of applicants' images and PII.
type Retention struct {
	// Interval between runs of the retention job (0 disables it).
	Interval Duration `yaml:"interval"`
	// DefaultDays is the retention of tenants that set none (0: keep).
	DefaultDays int `yaml:"default_days"`
	// KeepDecisions keeps the decision record (without PII) after erasure,
	// as AML record-keeping requires; false deletes the session state too.
	KeepDecisions bool `yaml:"keep_decisions"`
}

// Kafka configures the streams layer.
type Kafka struct {
	Brokers                 []string      `yaml:"brokers"`
	Embedded                EmbeddedKafka `yaml:"embedded"`
	Group                   string        `yaml:"group"`
	Topics                  Topics        `yaml:"topics"`
	Partitions              int32         `yaml:"partitions"`
	Replication             int16         `yaml:"replication"`
	MaxInFlightPerPartition int           `yaml:"max_in_flight_per_partition"`
	CommitInterval          Duration      `yaml:"commit_interval"`
	SessionTimeout          Duration      `yaml:"session_timeout"`
}

// EmbeddedKafka configures the in-process kfake broker used when no brokers are set.
type EmbeddedKafka struct {
	Port int `yaml:"port"`
}

// Topics names the spine's topics.
type Topics struct {
	Requests  string `yaml:"requests"`
	Decisions string `yaml:"decisions"`
	DLQ       string `yaml:"dlq"`
	// Monitoring receives the MonitoringAlerts of ongoing monitoring.
	Monitoring string `yaml:"monitoring"`
	// ReviewDecisions carries reviewers' final decisions (ReviewDecision,
	// key = session id) to the session actors.
	ReviewDecisions string `yaml:"review_decisions"`
}

// Cluster configures Proto.Actor clustering.
type Cluster struct {
	Name           string   `yaml:"name"`
	Provider       string   `yaml:"provider"` // local|etcd
	Host           string   `yaml:"host"`
	Port           int      `yaml:"port"`
	AdvertisedHost string   `yaml:"advertised_host"`
	Etcd           Etcd     `yaml:"etcd"`
	RequestTimeout Duration `yaml:"request_timeout"`
	PassivateAfter Duration `yaml:"passivate_after"`
}

// Etcd configures the etcd cluster provider.
type Etcd struct {
	Endpoints   []string `yaml:"endpoints"`
	Prefix      string   `yaml:"prefix"`
	DialTimeout Duration `yaml:"dial_timeout"`
}

// Store selects and configures the session store.
type Store struct {
	Backend string `yaml:"backend"` // pebble|cql
	Pebble  Pebble `yaml:"pebble"`
	CQL     CQL    `yaml:"cql"`
}

// Pebble configures the embedded session store.
type Pebble struct {
	Dir string `yaml:"dir"`
}

// CQL configures the ScyllaDB/Cassandra session store.
type CQL struct {
	Hosts             []string `yaml:"hosts"`
	Keyspace          string   `yaml:"keyspace"`
	Consistency       string   `yaml:"consistency"`
	ReplicationFactor int      `yaml:"replication_factor"`
	Timeout           Duration `yaml:"timeout"`
	Username          string   `yaml:"username"`
	Password          string   `yaml:"password"`
}

// Checks configures how the session actor runs checks.
type Checks struct {
	Timeout     Duration `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	MinimumAge  int      `yaml:"minimum_age"`
	NameMatchOK float64  `yaml:"name_match_threshold"`
}

// Policies configures the decision engine.
type Policies struct {
	Dir string `yaml:"dir"`
}

// Tenant is one tenant known to the node.
type Tenant struct {
	ID            string `yaml:"id"`
	DefaultPolicy string `yaml:"default_policy"`
	// Monitoring enrols the tenant's approved, screened applicants in
	// ongoing monitoring: they are re-screened whenever a list version
	// changes, and each new hit is published as a MonitoringAlert.
	Monitoring bool `yaml:"monitoring"`
	// Dedup configures face deduplication for the tenant.
	Dedup Dedup `yaml:"dedup"`
	// Review is the tenant's four-eyes rule for review cases.
	Review TenantReview `yaml:"review"`
	// RetentionDays is how long the tenant's sessions are kept before the
	// retention job erases them; 0: retention.default_days.
	RetentionDays int `yaml:"retention_days"`
	// RateLimit overrides gateway.tenant_rps/tenant_burst for the tenant
	// (both zero: the node's).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// RateLimit is a token bucket: requests per second and burst.
type RateLimit struct {
	RPS   float64 `yaml:"rps"`
	Burst int     `yaml:"burst"`
}

// Dedup is a tenant's face-deduplication setting: its applicants' faces
// are searched among its own (and its consortium's) earlier sessions.
type Dedup struct {
	// Disabled turns the search and the insert off for the tenant.
	Disabled bool `yaml:"disabled"`
	// Threshold overrides face.dedup_threshold (0: the node's).
	Threshold float64 `yaml:"threshold"`
	// Consortium lists other tenants whose faces this tenant's search
	// also covers (each of them must list this tenant too).
	Consortium []string `yaml:"consortium"`
}

// Default returns the embedded-defaults configuration used by `make run`.
func Default() Config {
	return Config{
		NodeID:  "",
		DataDir: "data",
		Log:     Log{Level: "info", Format: "text"},
		Admin:   Admin{Listen: "127.0.0.1:9464"},
		Kafka: Kafka{
			Embedded:                EmbeddedKafka{Port: 19092},
			Group:                   "ekyc-sessions",
			Topics:                  Topics{Requests: "ekyc.verification.requests", Decisions: "ekyc.verification.decisions", DLQ: "ekyc.verification.dlq", Monitoring: "ekyc.monitoring.alerts", ReviewDecisions: "ekyc.review.decisions"},
			Partitions:              8,
			Replication:             1,
			MaxInFlightPerPartition: 64,
			CommitInterval:          Duration(time.Second),
			SessionTimeout:          Duration(15 * time.Second),
		},
		Cluster: Cluster{
			Name: "ekyc", Provider: "local", Host: "127.0.0.1", Port: 0,
			Etcd:           Etcd{Prefix: "/ekyc/cluster", DialTimeout: Duration(5 * time.Second)},
			RequestTimeout: Duration(30 * time.Second),
			PassivateAfter: Duration(2 * time.Minute),
		},
		Store: Store{
			Backend: "pebble",
			CQL:     CQL{Keyspace: "ekyc", Consistency: "LOCAL_QUORUM", ReplicationFactor: 1, Timeout: Duration(5 * time.Second)},
		},
		Checks:   Checks{Timeout: Duration(5 * time.Second), Retries: 2, MinimumAge: 18, NameMatchOK: 0.85},
		Policies: Policies{Dir: "deploy/policies"},
		Inference: Inference{
			Backend: "onnx", Threads: 1,
			Triton: Triton{Address: "127.0.0.1:28001"},
			Pool:   InferencePool{Batchers: 2, MaxBatch: 16, MaxDelay: Duration(2 * time.Millisecond), QueueSize: 256},
		},
		Face: Face{MatchThreshold: 0.65, DedupThreshold: 0.6},
		Analytics: Analytics{Backend: "duckdb", Group: "ekyc-analytics", BatchSize: 1000, MaxAge: Duration(time.Second), MaxBuffered: 20000,
			ClickHouse: ClickHouseConfig{Database: "ekyc", DialTimeout: Duration(5 * time.Second)}},
		Vectors: Vectors{Backend: "hnsw", Milvus: Milvus{Collection: "ekyc_faces"}},
		Gateway: Gateway{Listen: "127.0.0.1:8080", MaxBodyBytes: 1 << 20, ImageMaxBytes: 10 << 20, ImageMinSide: 200, ImageMaxSide: 8000,
			TenantRPS: 200, TenantBurst: 400, KeyRPS: 100, KeyBurst: 200, SessionTokenTTL: Duration(30 * time.Minute)},
		Demo: Demo{Tenant: "demo", Checks: []string{"document", "face"}, StartsPerMinute: 30},
		Webhooks: Webhooks{Timeout: Duration(10 * time.Second), PerEndpoint: 4, AllowPrivate: true,
			Schedule: []Duration{Duration(time.Second), Duration(5 * time.Second), Duration(30 * time.Second), Duration(5 * time.Minute), Duration(30 * time.Minute)}},
		Retention: Retention{Interval: Duration(time.Hour), KeepDecisions: true},
		Review: Review{ClaimTTL: Duration(15 * time.Minute), SweepInterval: Duration(30 * time.Second), SLA: ReviewSLA{
			Sanctions: Duration(5 * time.Minute), DuplicateIdentity: Duration(30 * time.Minute),
			Liveness: Duration(4 * time.Hour), Document: Duration(24 * time.Hour), Other: Duration(24 * time.Hour)}},
		Images:    Images{Dir: "", MaxBytes: 10 << 20},
		Screening: Screening{Refresh: Duration(6 * time.Hour), Threshold: 0.85, Media: Media{Timeout: Duration(3 * time.Second), MinScore: 0.7}},
		Tenants:   []Tenant{{ID: "demo", DefaultPolicy: "default"}},
	}
}

// Load reads path (optional: "" means defaults only), applies environment
// overrides from env (os.Environ() form) and validates.
func Load(path string, env []string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) /* empty file */ {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	if err := cfg.finish(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

var (
	tenantIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// WithDataDir returns c moved to another data directory: every path that
// was derived from the old data_dir (session store, keys, blobs, analytics
// file, vector index, images) is derived again from dir; paths set
// explicitly stay.
func (c Config) WithDataDir(dir string) (Config, error) {
	old := c.DataDir
	under := func(p string) bool {
		rel, err := filepath.Rel(old, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	for _, p := range []*string{&c.Store.Pebble.Dir, &c.MasterKeyFile, &c.Analytics.DuckDB.Path, &c.Vectors.Dir, &c.Images.Dir} {
		if *p != "" && under(*p) {
			*p = ""
		}
	}
	if abs, err := filepath.Abs(filepath.Join(old, "blobs")); err == nil && c.Blobs.URL == "file://"+filepath.ToSlash(abs) {
		c.Blobs.URL = ""
	}
	c.DataDir = dir
	err := c.finish()
	return c, err
}

// finish fills derived defaults and validates.
func (c *Config) finish() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("config: "+format, a...)) }
	if c.NodeID == "" {
		h, _ := os.Hostname()
		c.NodeID = h
	}
	if c.DataDir == "" {
		bad("data_dir is required")
	}
	if c.Store.Pebble.Dir == "" {
		c.Store.Pebble.Dir = filepath.Join(c.DataDir, "sessions")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "keys", "master.key")
	}
	if c.Blobs.URL == "" {
		if abs, err := filepath.Abs(filepath.Join(c.DataDir, "blobs")); err == nil {
			c.Blobs.URL = "file://" + filepath.ToSlash(abs)
		}
	}
	for name, t := range map[string]TLS{"admin.tls": c.Admin.TLS, "gateway.tls": c.Gateway.TLS} {
		if (t.CertFile == "") != (t.KeyFile == "") {
			bad("%s: cert_file and key_file go together", name)
		}
	}
	if c.Gateway.Listen != "" {
		g := c.Gateway
		if g.MaxBodyBytes <= 0 || g.ImageMaxBytes <= 0 {
			bad("gateway: max_body_bytes and image_max_bytes must be > 0")
		}
		if g.ImageMinSide < 1 || g.ImageMaxSide < g.ImageMinSide {
			bad("gateway: want 1 <= image_min_side <= image_max_side")
		}
		if g.TenantRPS < 0 || g.KeyRPS < 0 || (g.TenantRPS > 0 && g.TenantBurst < 1) || (g.KeyRPS > 0 && g.KeyBurst < 1) {
			bad("gateway: rate limits want rps >= 0 and burst >= 1 where rps > 0")
		}
	}
	if c.Webhooks.Timeout <= 0 || c.Webhooks.PerEndpoint < 1 || len(c.Webhooks.Schedule) == 0 {
		bad("webhooks: want timeout > 0, per_endpoint >= 1 and a non-empty schedule")
	}
	for _, d := range c.Webhooks.Schedule {
		if d <= 0 {
			bad("webhooks.schedule: delays must be > 0")
			break
		}
	}
	if c.Retention.Interval < 0 || c.Retention.DefaultDays < 0 || c.Retention.DefaultDays > MaxRetentionDays {
		bad("retention: interval must be >= 0 and default_days between 0 and %d", MaxRetentionDays)
	}
	switch c.Analytics.Backend {
	case "duckdb":
		if c.Analytics.DuckDB.Path == "" {
			c.Analytics.DuckDB.Path = filepath.Join(c.DataDir, "analytics", "decisions.duckdb")
		}
	case "clickhouse":
		if len(c.Analytics.ClickHouse.Addr) == 0 {
			bad("analytics.clickhouse.addr is required with analytics.backend=clickhouse")
		}
	case "none":
	default:
		bad("analytics.backend %q: want duckdb|clickhouse|none", c.Analytics.Backend)
	}
	if c.Analytics.Backend != "none" {
		if c.Analytics.Group == "" {
			bad("analytics.group is required")
		}
		if c.Analytics.BatchSize <= 0 || c.Analytics.MaxBuffered < c.Analytics.BatchSize || c.Analytics.MaxAge <= 0 {
			bad("analytics: want batch_size > 0, max_buffered >= batch_size and max_age > 0")
		}
	}
	switch c.Vectors.Backend {
	case "hnsw":
		if c.Vectors.Dir == "" {
			c.Vectors.Dir = filepath.Join(c.DataDir, "vectors")
		}
	case "milvus":
		if c.Vectors.Milvus.Address == "" {
			bad("vectors.milvus.address is required with vectors.backend=milvus")
		}
		if c.Vectors.Milvus.Collection == "" {
			bad("vectors.milvus.collection is required")
		}
	case "none":
	default:
		bad("vectors.backend %q: want hnsw|milvus|none", c.Vectors.Backend)
	}
	if c.Face.DedupThreshold <= 0 || c.Face.DedupThreshold > 1 {
		bad("face.dedup_threshold %v: want (0, 1]", c.Face.DedupThreshold)
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug|info|warn|error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format %q: want text|json", c.Log.Format)
	}
	if len(c.Kafka.Brokers) == 0 && (c.Kafka.Embedded.Port < 0 || c.Kafka.Embedded.Port > 65535) {
		bad("kafka.embedded.port %d out of range", c.Kafka.Embedded.Port)
	}
	if c.Kafka.Group == "" || c.Kafka.Topics.Requests == "" || c.Kafka.Topics.Decisions == "" || c.Kafka.Topics.DLQ == "" || c.Kafka.Topics.Monitoring == "" ||
		c.Kafka.Topics.ReviewDecisions == "" {
		bad("kafka.group and kafka.topics.{requests,decisions,dlq,monitoring,review_decisions} are required")
	}
	if r := c.Review; r.ClaimTTL <= 0 || r.SweepInterval <= 0 || r.SLA.Sanctions <= 0 || r.SLA.DuplicateIdentity <= 0 || r.SLA.Liveness <= 0 ||
		r.SLA.Document <= 0 || r.SLA.Other <= 0 {
		bad("review: claim_ttl, sweep_interval and every review.sla duration must be > 0")
	}
	if d := c.Gateway.SessionTokenTTL.D(); d <= 0 || d > 24*time.Hour {
		bad("gateway.session_token_ttl must be > 0 and at most 24h")
	}
	for _, o := range c.Gateway.CORSOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad("gateway.cors_origins: %q is not an origin (scheme://host[:port])", o)
		}
	}
	if c.Demo.Enabled {
		if c.Gateway.Listen == "" {
			bad("demo.enabled needs the API (gateway.listen)")
		}
		if !tenantIDRE.MatchString(c.Demo.Tenant) {
			bad("demo.tenant %q is not a valid tenant id", c.Demo.Tenant)
		}
		if c.Demo.StartsPerMinute <= 0 {
			bad("demo.starts_per_minute must be > 0")
		}
		if len(c.Demo.Checks) == 0 {
			bad("demo.checks: at least one of document, face")
		}
		seen := map[string]bool{}
		for _, k := range c.Demo.Checks {
			if (k != "document" && k != "face") || seen[k] {
				bad("demo.checks: %q (want document and/or face, each once)", k)
			}
			seen[k] = true
		}
	}
	if c.Kafka.Partitions < 1 {
		bad("kafka.partitions must be >= 1")
	}
	if c.Kafka.Replication < 1 {
		bad("kafka.replication must be >= 1")
	}
	if c.Kafka.MaxInFlightPerPartition < 1 {
		bad("kafka.max_in_flight_per_partition must be >= 1")
	}
	if c.Kafka.SessionTimeout < Duration(time.Second) {
		bad("kafka.session_timeout must be >= 1s")
	}
	if c.Kafka.CommitInterval <= 0 {
		bad("kafka.commit_interval must be > 0")
	}
	switch c.Cluster.Provider {
	case "local":
	case "etcd":
		if len(c.Cluster.Etcd.Endpoints) == 0 {
			bad("cluster.etcd.endpoints is required with cluster.provider=etcd")
		}
	default:
		bad("cluster.provider %q: want local|etcd", c.Cluster.Provider)
	}
	if c.Cluster.RequestTimeout <= 0 || c.Cluster.PassivateAfter <= 0 {
		bad("cluster.request_timeout and cluster.passivate_after must be > 0")
	}
	switch c.Store.Backend {
	case "pebble":
	case "cql":
		if len(c.Store.CQL.Hosts) == 0 {
			bad("store.cql.hosts is required with store.backend=cql")
		}
	default:
		bad("store.backend %q: want pebble|cql", c.Store.Backend)
	}
	if c.Checks.Timeout <= 0 {
		bad("checks.timeout must be > 0")
	}
	if c.Checks.Retries < 0 {
		bad("checks.retries must be >= 0")
	}
	if c.Checks.NameMatchOK <= 0 || c.Checks.NameMatchOK > 1 {
		bad("checks.name_match_threshold must be in (0,1]")
	}
	if c.Cluster.RequestTimeout.D() <= c.Checks.Timeout.D()*time.Duration(c.Checks.Retries+1) {
		bad("cluster.request_timeout (%s) must exceed checks.timeout × (retries+1)", c.Cluster.RequestTimeout.D())
	}
	switch c.Inference.Backend {
	case "onnx", "none":
	case "triton":
		if c.Inference.Triton.Address == "" {
			bad("inference.triton.address is required with inference.backend=triton")
		}
	default:
		bad("inference.backend %q: want onnx|triton|none", c.Inference.Backend)
	}
	if c.Inference.Threads < 1 {
		bad("inference.threads must be >= 1")
	}
	if p := c.Inference.Pool; p.Batchers < 1 || p.MaxBatch < 1 || p.QueueSize < 1 || p.MaxDelay < 0 {
		bad("inference.pool: batchers, max_batch and queue_size must be >= 1, max_delay >= 0")
	}
	if c.Screening.Threshold <= 0 || c.Screening.Threshold > 1 {
		bad("screening.threshold must be in (0,1]")
	}
	if m := c.Screening.Media; m.URL != "" && !strings.HasPrefix(m.URL, "http://") && !strings.HasPrefix(m.URL, "https://") {
		bad("screening.media.url must be an http(s) URL")
	}
	if c.Screening.Media.MinScore < 0 || c.Screening.Media.MinScore > 1 {
		bad("screening.media.min_score must be in [0,1]")
	}
	if c.Screening.Refresh < 0 {
		bad("screening.refresh must not be negative")
	}
	c.validateDBVerify(bad)
	for _, l := range c.Screening.Lists {
		src, loc, ok := strings.Cut(l, "=")
		switch {
		case !ok || loc == "":
			bad("screening.lists: %q is not source=location", l)
		case src != "ofac" && src != "un" && src != "eu" && src != "uk" && src != "ftm":
			bad("screening.lists: unknown source %q (ofac, un, eu, uk, ftm)", src)
		}
	}
	if c.Face.MatchThreshold <= -1 || c.Face.MatchThreshold >= 1 {
		bad("face.match_threshold must be in (-1,1)")
	}
	if c.Images.Dir == "" {
		c.Images.Dir = filepath.Join(c.DataDir, "images")
	}
	if c.Images.MaxBytes < 1024 {
		bad("images.max_bytes must be >= 1024")
	}
	if c.Policies.Dir == "" {
		bad("policies.dir is required")
	}
	if len(c.Tenants) == 0 {
		bad("at least one tenant is required")
	}
	seen := map[string]bool{}
	for _, t := range c.Tenants {
		if !tenantIDRE.MatchString(t.ID) {
			bad("tenant id %q: want %s", t.ID, tenantIDRE)
		}
		if seen[t.ID] {
			bad("tenant %q listed twice", t.ID)
		}
		seen[t.ID] = true
		if t.DefaultPolicy == "" {
			bad("tenant %q: default_policy is required", t.ID)
		}
		if t.RetentionDays < 0 || t.RetentionDays > MaxRetentionDays {
			bad("tenant %q: retention_days %d: want 0 (retention.default_days) to %d", t.ID, t.RetentionDays, MaxRetentionDays)
		}
		if t.Dedup.Threshold < 0 || t.Dedup.Threshold > 1 {
			bad("tenant %q: dedup.threshold %v: want 0 (the node's) or (0, 1]", t.ID, t.Dedup.Threshold)
		}
		if rl := t.RateLimit; rl.RPS < 0 || rl.Burst < 0 || (rl.RPS > 0) != (rl.Burst > 0) {
			bad("tenant %q: rate_limit: rps and burst are both > 0, or both 0 (the node's gateway.tenant_rps/tenant_burst)", t.ID)
		}
	}
	// A consortium is mutual: a tenant's faces are searched by another only
	// when both list each other.
	byID := map[string]Tenant{}
	for _, t := range c.Tenants {
		byID[t.ID] = t
	}
	for _, t := range c.Tenants {
		for _, o := range t.Dedup.Consortium {
			other, ok := byID[o]
			switch {
			case o == t.ID:
				bad("tenant %q: dedup.consortium lists the tenant itself", t.ID)
			case !ok:
				bad("tenant %q: dedup.consortium names unknown tenant %q", t.ID, o)
			case !slices.Contains(other.Dedup.Consortium, t.ID):
				bad("tenant %q: dedup.consortium names %q, which does not list %q (a consortium is mutual)", t.ID, o, t.ID)
			}
		}
	}
	return errors.Join(errs...)
}

var dbverifyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validateDBVerify checks dbverify: name=file connectors with unique names,
// a default and tenant entries that name a configured connector (and a
// configured tenant). With one connector and no default, it is the default.
func (c *Config) validateDBVerify(bad func(string, ...any)) {
	d := &c.DBVerify
	names := map[string]bool{}
	for _, e := range d.Connectors {
		name, file, ok := strings.Cut(e, "=")
		switch {
		case !ok || file == "":
			bad("dbverify.connectors: %q is not name=mapping-file", e)
		case !dbverifyNameRE.MatchString(name):
			bad("dbverify.connectors: name %q: want %s", name, dbverifyNameRE)
		case names[name]:
			bad("dbverify.connectors: %q listed twice", name)
		}
		names[name] = true
	}
	if d.Default == "" && len(d.Connectors) == 1 {
		d.Default, _, _ = strings.Cut(d.Connectors[0], "=")
	}
	if d.Default != "" && !names[d.Default] {
		bad("dbverify.default: %q is not a configured connector", d.Default)
	}
	tenants := map[string]bool{}
	for _, t := range c.Tenants {
		tenants[t.ID] = true
	}
	seen := map[string]bool{}
	for _, e := range d.Tenants {
		tenant, conn, ok := strings.Cut(e, "=")
		switch {
		case !ok || conn == "":
			bad("dbverify.tenants: %q is not tenant=connector", e)
		case !tenants[tenant]:
			bad("dbverify.tenants: unknown tenant %q", tenant)
		case !names[conn]:
			bad("dbverify.tenants: tenant %q: %q is not a configured connector", tenant, conn)
		case seen[tenant]:
			bad("dbverify.tenants: tenant %q listed twice", tenant)
		}
		seen[tenant] = true
	}
}

// Keys lists every configuration key (dotted YAML path) with its environment name.
func Keys() [][2]string {
	var out [][2]string
	walkKeys(reflect.TypeOf(Config{}), nil, func(path []string, _ reflect.Type) {
		out = append(out, [2]string{strings.Join(path, "."), envName(path)})
	})
	return out
}

func envName(path []string) string { return "EKYC_" + strings.ToUpper(strings.Join(path, "_")) }

func walkKeys(t reflect.Type, prefix []string, fn func(path []string, t reflect.Type)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		path := append(append([]string(nil), prefix...), tag)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration(0)) {
			walkKeys(f.Type, path, fn)
			continue
		}
		fn(path, f.Type)
	}
}

// applyEnv sets fields from EKYC_* variables. Unknown EKYC_ variables are an
// error, so a typo does not silently leave a default in place.
func applyEnv(cfg *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "EKYC_") && !notConfig(k) {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	var errs []error
	root := reflect.ValueOf(cfg).Elem()
	walkKeys(root.Type(), nil, func(path []string, _ reflect.Type) {
		name := envName(path)
		v, ok := vars[name]
		if !ok {
			return
		}
		delete(vars, name)
		field := root
		for _, p := range path {
			field = fieldByTag(field, p)
		}
		if err := setFromString(field, v); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", name, err))
		}
	})
	for k := range vars {
		errs = append(errs, fmt.Errorf("config: unknown environment variable %s", k))
	}
	return errors.Join(errs...)
}

// scriptVars are EKYC_* variables that belong to the tools around the node
// (tests, deploy/local scripts, make models), not to its configuration.
var scriptVars = map[string]bool{
	"EKYC_CONFIG": true, "EKYC_CACHE_DIR": true, "EKYC_MODELS_DIR": true, "EKYC_SANCTIONS_DIR": true,
	"EKYC_KAFKA_HEAP": true, "EKYC_KAFKA_START_TIMEOUT": true, "EKYC_KAFKA_STOP_TIMEOUT": true, "EKYC_KAFKA_VERSION": true,
}

func notConfig(k string) bool {
	for _, p := range []string{"EKYC_TEST_", "EKYC_CASSANDRA_", "EKYC_ETCD_", "EKYC_TRITON_", "EKYC_CLICKHOUSE_", "EKYC_MILVUS_", "EKYC_S3_", "EKYC_WATCHMAN_", "EKYC_BENCH_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return scriptVars[k]
}

func fieldByTag(v reflect.Value, tag string) reflect.Value {
	for i := 0; i < v.NumField(); i++ {
		if strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0] == tag {
			return v.Field(i)
		}
	}
	panic("config: no field " + tag) // unreachable: paths come from walkKeys
}

func setFromString(f reflect.Value, s string) error {
	if f.Type() == reflect.TypeOf(Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		f.SetFloat(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Slice:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		switch f.Type().Elem() {
		case reflect.TypeOf(""):
			f.Set(reflect.ValueOf(parts))
		case reflect.TypeOf(Duration(0)):
			ds := make([]Duration, len(parts))
			for i, p := range parts {
				d, err := time.ParseDuration(p)
				if err != nil {
					return err
				}
				ds[i] = Duration(d)
			}
			f.Set(reflect.ValueOf(ds))
		default:
			return fmt.Errorf("cannot be set from the environment (edit the YAML file)")
		}
	default:
		return fmt.Errorf("unsupported kind %s", f.Kind())
	}
	return nil
}
