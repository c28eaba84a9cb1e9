package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultsValidate(t *testing.T) {
	cfg, err := Load("", nil)
	require.NoError(t, err)
	require.Equal(t, "pebble", cfg.Store.Backend)
	require.Equal(t, filepath.Join("data", "sessions"), cfg.Store.Pebble.Dir)
	require.NotEmpty(t, cfg.NodeID)
}

func TestSampleConfigLoads(t *testing.T) {
	cfg, err := Load("../deploy/ekyc.yaml", nil)
	require.NoError(t, err)
	require.Equal(t, "demo", cfg.Tenants[0].ID)
}

func TestYAMLAndEnvOverride(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte("kafka:\n  partitions: 3\n  commit_interval: 250ms\nchecks:\n  retries: 1\n"), 0o600))
	cfg, err := Load(p, []string{
		"EKYC_KAFKA_BROKERS=a:9092, b:9092",
		"EKYC_CHECKS_TIMEOUT=2s",
		"EKYC_STORE_BACKEND=cql",
		"EKYC_STORE_CQL_HOSTS=127.0.0.1:9042",
		"PATH=/bin",
		"EKYC_CACHE_DIR=/tmp/c", "EKYC_KAFKA_HEAP=512m", "EKYC_TRITON_GRPC_PORT=1", "EKYC_TEST_CQL=x",
	})
	require.NoError(t, err)
	require.Equal(t, []string{"a:9092", "b:9092"}, cfg.Kafka.Brokers)
	require.EqualValues(t, 3, cfg.Kafka.Partitions)
	require.Equal(t, 250*time.Millisecond, cfg.Kafka.CommitInterval.D())
	require.Equal(t, 2*time.Second, cfg.Checks.Timeout.D())
	require.Equal(t, 1, cfg.Checks.Retries)
	require.Equal(t, "cql", cfg.Store.Backend)
}

func TestInvalidConfigsAreRejectedWithClearErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		yaml string
		env  []string
		want string
	}{
		"unknown key":       {yaml: "kafka:\n  brokerz: [x]\n", want: "brokerz"},
		"bad duration":      {yaml: "checks:\n  timeout: soon\n", want: "soon"},
		"bad provider":      {env: []string{"EKYC_CLUSTER_PROVIDER=zookeeper"}, want: "cluster.provider"},
		"etcd endpoints":    {env: []string{"EKYC_CLUSTER_PROVIDER=etcd"}, want: "cluster.etcd.endpoints"},
		"bad backend":       {env: []string{"EKYC_STORE_BACKEND=mysql"}, want: "store.backend"},
		"cql hosts":         {env: []string{"EKYC_STORE_BACKEND=cql"}, want: "store.cql.hosts"},
		"unknown env":       {env: []string{"EKYC_KAFKA_BROKER=x"}, want: "unknown environment variable EKYC_KAFKA_BROKER"},
		"bad int env":       {env: []string{"EKYC_KAFKA_PARTITIONS=many"}, want: "EKYC_KAFKA_PARTITIONS"},
		"tenant id":         {yaml: "tenants:\n  - {id: 'Bad/Tenant', default_policy: default}\n", want: "tenant id"},
		"timeouts":          {env: []string{"EKYC_CLUSTER_REQUEST_TIMEOUT=1s"}, want: "request_timeout"},
		"list via env":      {env: []string{"EKYC_TENANTS=demo"}, want: "cannot be set from the environment"},
		"analytics backend": {env: []string{"EKYC_ANALYTICS_BACKEND=postgres"}, want: "analytics.backend"},
		"clickhouse addr":   {env: []string{"EKYC_ANALYTICS_BACKEND=clickhouse"}, want: "analytics.clickhouse.addr"},
		"vectors backend":   {env: []string{"EKYC_VECTORS_BACKEND=faiss"}, want: "vectors.backend"},
		"milvus address":    {env: []string{"EKYC_VECTORS_BACKEND=milvus"}, want: "vectors.milvus.address"},
		"one-sided consortium": {yaml: "tenants:\n  - {id: a, default_policy: default, dedup: {consortium: [b]}}\n  - {id: b, default_policy: default}\n",
			want: "a consortium is mutual"},
		"unknown consortium tenant": {yaml: "tenants:\n  - {id: a, default_policy: default, dedup: {consortium: [zz]}}\n", want: "unknown tenant"},
		"negative retention_days":   {yaml: "tenants:\n  - {id: a, default_policy: default, retention_days: -1}\n", want: "retention_days"},
		"retention_days too large":  {yaml: "tenants:\n  - {id: a, default_policy: default, retention_days: 36501}\n", want: "retention_days"},
		"negative default_days":     {env: []string{"EKYC_RETENTION_DEFAULT_DAYS=-1"}, want: "default_days"},
		"rate limit without burst":  {yaml: "tenants:\n  - {id: a, default_policy: default, rate_limit: {rps: 5}}\n", want: "rate_limit"},
		"session token ttl":         {env: []string{"EKYC_GATEWAY_SESSION_TOKEN_TTL=48h"}, want: "gateway.session_token_ttl"},
		"cors origin with path":     {env: []string{"EKYC_GATEWAY_CORS_ORIGINS=https://shop.example/checkout"}, want: "gateway.cors_origins"},
		"cors wildcard":             {env: []string{"EKYC_GATEWAY_CORS_ORIGINS=*"}, want: "gateway.cors_origins"},
		"demo without api":          {env: []string{"EKYC_DEMO_ENABLED=true", "EKYC_GATEWAY_LISTEN="}, want: "demo.enabled needs the API"},
		"demo screening":            {env: []string{"EKYC_DEMO_ENABLED=true", "EKYC_DEMO_CHECKS=face,screening"}, want: "demo.checks"},
		"demo check twice":          {env: []string{"EKYC_DEMO_ENABLED=true", "EKYC_DEMO_CHECKS=face,face"}, want: "demo.checks"},
		"demo tenant":               {env: []string{"EKYC_DEMO_ENABLED=true", "EKYC_DEMO_TENANT=Bad Tenant"}, want: "demo.tenant"},
	} {
		t.Run(name, func(t *testing.T) {
			p := ""
			if tc.yaml != "" {
				p = filepath.Join(t.TempDir(), "c.yaml")
				require.NoError(t, os.WriteFile(p, []byte(tc.yaml), 0o600))
			}
			_, err := Load(p, tc.env)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestEveryKeyIsDocumented keeps README.md's configuration table in step with the struct.
func TestEveryKeyIsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	sample, err := os.ReadFile("../deploy/ekyc.yaml")
	require.NoError(t, err)
	for _, k := range Keys() {
		require.Contains(t, string(readme), "`"+k[0]+"`", "README.md does not document key %s", k[0])
		if k[0] != "tenants" {
			require.Contains(t, string(readme), k[1], "README.md does not name env var %s", k[1])
		}
		last := k[0][strings.LastIndex(k[0], ".")+1:]
		require.Contains(t, string(sample), last+":", "deploy/ekyc.yaml does not show key %s", k[0])
	}
}

func TestClusterSampleConfigsLoad(t *testing.T) {
	for _, n := range []string{"1", "2", "3"} {
		cfg, err := Load("../deploy/cluster3/node-"+n+".yaml", nil)
		require.NoError(t, err)
		require.Equal(t, "etcd", cfg.Cluster.Provider)
		require.Equal(t, "cql", cfg.Store.Backend)
		require.Len(t, cfg.Kafka.Brokers, 3)
	}
}

func TestWithDataDir(t *testing.T) {
	a := t.TempDir()
	cfg, err := Load("", []string{"EKYC_DATA_DIR=" + a, "EKYC_IMAGES_DIR=/srv/images"})
	require.NoError(t, err)
	b := t.TempDir()
	moved, err := cfg.WithDataDir(b)
	require.NoError(t, err)
	require.Equal(t, b, moved.DataDir)
	require.Equal(t, filepath.Join(b, "sessions"), moved.Store.Pebble.Dir)
	require.Equal(t, filepath.Join(b, "vectors"), moved.Vectors.Dir)
	require.Equal(t, filepath.Join(b, "keys", "master.key"), moved.MasterKeyFile)
	require.Equal(t, "file://"+filepath.ToSlash(filepath.Join(b, "blobs")), moved.Blobs.URL)
	require.Equal(t, "/srv/images", moved.Images.Dir, "an explicit path stays")
	require.Equal(t, filepath.Join(a, "sessions"), cfg.Store.Pebble.Dir, "the original is unchanged")
}
