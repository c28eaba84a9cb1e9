package node_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/node"
	"github.com/openekyc/ekyc/store/audit"
)

// TestPolicyChangesAreAudited: the decision policies a node starts with are
// audit entries, once per change: loaded, changed in place (same version,
// other content: also a warning), removed; a restart with the same files
// records nothing; the chain verifies.
func TestPolicyChangesAreAudited(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := testConfig(t)
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "deploy", "policies", "default.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "default.yaml"), src, 0o600))
	strict := strings.Replace(string(src), "id: default", "id: strict", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strict.yaml"), []byte(strict), 0o600))
	cfg.Policies.Dir = dir
	ver := regexp.MustCompile(`(?m)^version: (\d+)$`).FindStringSubmatch(string(src))
	require.NotNil(t, ver)
	def, str := "default@"+ver[1], "strict@"+ver[1]

	policyEntries := func() []audit.Entry {
		t.Helper()
		lg, err := audit.Open(ctx, filepath.Join(cfg.DataDir, "audit"))
		require.NoError(t, err)
		defer lg.Close()
		_, err = lg.Verify(ctx)
		require.NoError(t, err)
		es, err := lg.List(ctx, "", 1000)
		require.NoError(t, err)
		var out []audit.Entry
		for i := len(es) - 1; i >= 0; i-- { // oldest first
			if strings.HasPrefix(es[i].Action, "policy.") {
				out = append(out, es[i])
			}
		}
		return out
	}
	start := func() {
		t.Helper()
		n, err := node.Start(ctx, cfg, node.WithLogger(quietLogger()))
		require.NoError(t, err)
		n.Close(true)
	}

	start()
	es := policyEntries()
	require.Len(t, es, 2)
	for _, e := range es {
		require.Equal(t, "policy.loaded", e.Action)
		require.Equal(t, "node", e.Actor)
		require.Empty(t, e.Tenant, "node-wide")
		require.Len(t, e.Details["digest"], 64)
	}
	require.ElementsMatch(t, []string{es[0].Subject, es[1].Subject}, []string{def, str})

	start()
	require.Len(t, policyEntries(), 2, "an unchanged restart records nothing")

	// strict is edited in place (same version), default is removed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "strict.yaml"), []byte(strings.Replace(strict, "description: >-", "description: >-\n  Edited in place.", 1)), 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, "default.yaml")))
	cfg.Tenants[0].DefaultPolicy = "strict"
	start()
	es = policyEntries()[2:]
	require.Len(t, es, 2)
	byAction := map[string]audit.Entry{}
	for _, e := range es {
		byAction[e.Action] = e
	}
	require.Equal(t, str, byAction["policy.changed"].Subject)
	require.NotEqual(t, byAction["policy.changed"].Details["digest"], byAction["policy.changed"].Details["previous_digest"])
	require.Equal(t, def, byAction["policy.removed"].Subject)
}
