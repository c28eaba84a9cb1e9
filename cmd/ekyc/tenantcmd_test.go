package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/tenants"
)

// adminEnv points the configuration at a fresh data directory.
func adminEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("EKYC_DATA_DIR", dir)
	t.Setenv("EKYC_POLICIES_DIR", filepath.Join("..", "..", "deploy", "policies"))
	return dir
}

// runCLI runs one command in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func jsonLines[T any](t *testing.T, s string) []T {
	t.Helper()
	var out []T
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var v T
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		out = append(out, v)
	}
	return out
}

func TestTenantKeyWebhookCLI(t *testing.T) {
	dir := adminEnv(t)
	ctx := context.Background()

	code, out, errs := runCLI(t, "tenant", "create", "-id", "acme", "-name", "Acme Corp", "-retention-days", "30", "-webhook-url", "https://acme.example/hook", "-actor", "op-7")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "acme")
	code, _, errs = runCLI(t, "tenant", "create", "-id", "acme", "-name", "Again")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "already exists")
	code, _, errs = runCLI(t, "tenant", "create", "-id", "Bad/Id", "-name", "x")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "tenant id")
	require.Equal(t, 0, first(runCLI(t, "tenant", "create", "-id", "globex", "-name", "Globex")))
	code, _, errs = runCLI(t, "tenant", "update", "-id", "globex", "-retention-days", "7")
	require.Equal(t, 0, code, errs)

	code, out, errs = runCLI(t, "tenant", "list")
	require.Equal(t, 0, code, errs)
	ts := jsonLines[tenants.Tenant](t, out)
	require.Len(t, ts, 2)
	require.Equal(t, "acme", ts[0].ID)
	require.Equal(t, 30, ts[0].RetentionDays)
	require.Equal(t, "Globex", ts[1].Name, "update keeps the fields not given")
	require.Equal(t, 7, ts[1].RetentionDays)

	// key create prints the key alone on stdout, the warning on stderr.
	code, out, errs = runCLI(t, "key", "create", "-tenant", "acme", "-name", "ci", "-scopes", "read,write")
	require.Equal(t, 0, code, errs)
	secret := strings.TrimSpace(out)
	require.Regexp(t, `^ekyc_[a-z2-7]{16}_[a-z2-7]{52}$`, secret)
	require.Contains(t, errs, "shown once")
	require.NotContains(t, errs, secret)
	code, _, errs = runCLI(t, "key", "create", "-tenant", "acme", "-name", "x", "-scopes", "root")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "unknown scope")
	code, _, errs = runCLI(t, "key", "create", "-tenant", "nobody", "-name", "x")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "not found")

	code, out, errs = runCLI(t, "key", "list", "-tenant", "acme")
	require.Equal(t, 0, code, errs)
	require.NotContains(t, out, secret[len(secret)-52:], "the secret is never listed")
	keys := jsonLines[tenants.Key](t, out)
	require.Len(t, keys, 1)
	k := keys[0]
	require.Equal(t, []tenants.Scope{tenants.ScopeRead, tenants.ScopeWrite}, k.Scopes)
	require.True(t, strings.HasPrefix(secret, k.Prefix+"_"))

	// The key authenticates against the store the CLI wrote.
	st, err := tenants.Open(ctx, filepath.Join(dir, "tenants"))
	require.NoError(t, err)
	got, err := st.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)
	require.True(t, got.Allows(tenants.ScopeWrite))
	require.False(t, got.Allows(tenants.ScopeAdmin))

	// While the store is held (as by a running node), the CLI says so.
	code, _, errs = runCLI(t, "key", "list", "-tenant", "acme")
	require.Equal(t, 1, code)
	require.Contains(t, errs, "in use by another process")
	require.Contains(t, errs, "stop the node")
	require.NoError(t, st.Close())

	// Revocation is tenant-scoped.
	code, _, errs = runCLI(t, "key", "revoke", "-tenant", "globex", "-id", k.ID)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "not found")
	code, _, errs = runCLI(t, "key", "revoke", "-tenant", "acme", "-id", k.ID)
	require.Equal(t, 0, code, errs)
	st, err = tenants.Open(ctx, filepath.Join(dir, "tenants"))
	require.NoError(t, err)
	_, err = st.Authenticate(ctx, secret)
	require.ErrorIs(t, err, tenants.ErrUnauthenticated)
	require.NoError(t, st.Close())

	// Webhook secret: printed once, readable to the node through the master key.
	code, out, errs = runCLI(t, "webhook-secret", "rotate", "-tenant", "acme")
	require.Equal(t, 0, code, errs)
	wh := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(wh, "whsec_"), wh)
	require.Contains(t, errs, "shown once")
	kr, err := envelope.LoadOrCreateKeyFile(filepath.Join(dir, "keys", "master.key"))
	require.NoError(t, err)
	st, err = tenants.Open(ctx, filepath.Join(dir, "tenants"), tenants.WithSealer(kr))
	require.NoError(t, err)
	secrets, err := st.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{wh}, secrets)
	require.NoError(t, st.Close())
	require.Equal(t, 0, first(runCLI(t, "webhook-secret", "retire", "-tenant", "acme")))

	// Every change is in the audit log, newest first, without names or secrets.
	code, out, errs = runCLI(t, "audit", "list", "-tenant", "acme")
	require.Equal(t, 0, code, errs)
	entries := jsonLines[audit.Entry](t, out)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		require.Equal(t, "acme", e.Tenant)
	}
	require.Equal(t, []string{
		audit.ActionWebhookSecretRetired, audit.ActionWebhookSecretRotated, audit.ActionKeyRevoked,
		audit.ActionKeyCreated, audit.ActionTenantCreated,
	}, actions)
	require.Equal(t, k.ID, entries[2].Subject)
	require.Equal(t, k.ID, entries[3].Subject)
	require.Equal(t, "read,write", entries[3].Details["scopes"])
	require.Equal(t, "op-7", entries[4].Actor)
	require.NotContains(t, out, "Acme Corp")
	require.NotContains(t, out, secret[len(secret)-52:])
	require.NotContains(t, out, wh)

	code, out, errs = runCLI(t, "audit", "list", "-limit", "2")
	require.Equal(t, 0, code, errs)
	require.Len(t, jsonLines[audit.Entry](t, out), 2)

	code, out, errs = runCLI(t, "audit", "verify")
	require.Equal(t, 0, code, errs)
	require.Regexp(t, `^ok: 7 entries, head [0-9a-f]{64}\n$`, out)

	// Usage errors.
	require.Equal(t, 2, first(runCLI(t, "tenant")))
	require.Equal(t, 2, first(runCLI(t, "tenant", "delete")))
	require.Equal(t, 2, first(runCLI(t, "key", "list", "-tenant", "acme", "extra")))
	require.Equal(t, 2, first(runCLI(t, "webhook-secret", "show")))
}

func first(code int, _, _ string) int { return code }

// TestTenantRotateKeyCLI: rotating a tenant's key keeps its sealed data
// readable (only the data keys are re-wrapped) and is audited.
func TestTenantRotateKeyCLI(t *testing.T) {
	dir := adminEnv(t)
	ctx := context.Background()
	master, err := keys.FileMaster(filepath.Join(dir, "keys", "master.key"))
	require.NoError(t, err)
	ring, err := keys.Open(ctx, filepath.Join(dir, "keys", "ring"), master)
	require.NoError(t, err)
	sealed, err := ring.Seal(ctx, "acme", "s-1", []byte("passport scan"), nil)
	require.NoError(t, err)
	v, err := ring.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.NoError(t, ring.Close())

	code, out, errs := runCLI(t, "tenant", "rotate-key", "-tenant", "acme", "-actor", "op-1")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "acme")

	ring, err = keys.Open(ctx, filepath.Join(dir, "keys", "ring"), master)
	require.NoError(t, err)
	defer ring.Close()
	v2, err := ring.TenantVersion(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, v+1, v2)
	plain, err := ring.Open(ctx, "acme", "s-1", sealed, nil)
	require.NoError(t, err)
	require.Equal(t, "passport scan", string(plain))

	code, out, errs = runCLI(t, "audit", "list", "-tenant", "acme")
	require.Equal(t, 0, code, errs)
	es := jsonLines[audit.Entry](t, out)
	require.Equal(t, "tenant.key_rotated", es[0].Action)
	require.Equal(t, "op-1", es[0].Actor)

	code, _, _ = runCLI(t, "tenant", "rotate-key", "-tenant", "Bad/Id")
	require.Equal(t, 2, code)
}
