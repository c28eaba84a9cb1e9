package tenants_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/services/intake"
	"github.com/openekyc/ekyc/store/tenants"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func keyring(t *testing.T) *envelope.Keyring {
	t.Helper()
	k, err := envelope.LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "master.key"))
	require.NoError(t, err)
	return k
}

func open(t *testing.T, dir string, opts ...tenants.Option) *tenants.Store {
	t.Helper()
	s, err := tenants.Open(context.Background(), dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func withTenant(t *testing.T, s *tenants.Store, id string) {
	t.Helper()
	require.NoError(t, s.CreateTenant(context.Background(), tenants.Tenant{ID: id, Name: "Tenant " + id}))
}

// dirBytes concatenates every file under dir.
func dirBytes(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		all = append(all, b...)
		return nil
	})
	require.NoError(t, err)
	return all
}

// onDiskForms are the ways a secret could be stored: as text, as base64 of
// the text (a []byte field in JSON), and as the random bytes it encodes.
func onDiskForms(t *testing.T, sec string) [][]byte {
	t.Helper()
	forms := [][]byte{[]byte(sec), []byte(base64.StdEncoding.EncodeToString([]byte(sec)))}
	if tail := sec[strings.LastIndexByte(sec, '_')+1:]; len(tail) == 52 {
		raw, err := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).DecodeString(tail)
		require.NoError(t, err)
		forms = append(forms, raw, []byte(base64.StdEncoding.EncodeToString(raw)))
	}
	return forms
}

func TestTenantIDPatternMatchesIntake(t *testing.T) {
	require.Equal(t, intake.TenantIDPattern.String(), tenants.TenantIDPattern.String())
}

func TestTenants(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := open(t, t.TempDir(), tenants.WithClock(clk.Now))

	require.NoError(t, s.CreateTenant(ctx, tenants.Tenant{ID: "zeta", Name: "Zeta Ltd", RetentionDays: 30, WebhookURL: "https://zeta.example/hook"}))
	clk.Advance(time.Minute)
	require.NoError(t, s.CreateTenant(ctx, tenants.Tenant{ID: "acme", Name: "Acme"}))
	err := s.CreateTenant(ctx, tenants.Tenant{ID: "acme", Name: "Other"})
	require.ErrorIs(t, err, tenants.ErrExists)

	got, err := s.Tenant(ctx, "zeta")
	require.NoError(t, err)
	require.Equal(t, tenants.Tenant{ID: "zeta", Name: "Zeta Ltd", RetentionDays: 30, WebhookURL: "https://zeta.example/hook", CreatedAt: clk.Now().Add(-time.Minute)}, got)
	_, err = s.Tenant(ctx, "nobody")
	require.ErrorIs(t, err, tenants.ErrNotFound)

	clk.Advance(time.Hour)
	require.NoError(t, s.UpdateTenant(ctx, tenants.Tenant{ID: "zeta", Name: "Zeta plc", RetentionDays: 90}))
	got, err = s.Tenant(ctx, "zeta")
	require.NoError(t, err)
	require.Equal(t, "Zeta plc", got.Name)
	require.Equal(t, 90, got.RetentionDays)
	require.Empty(t, got.WebhookURL)
	require.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), got.CreatedAt, "UpdateTenant keeps CreatedAt")
	require.ErrorIs(t, s.UpdateTenant(ctx, tenants.Tenant{ID: "nobody", Name: "x"}), tenants.ErrNotFound)

	all, err := s.Tenants(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "acme", all[0].ID)
	require.Equal(t, "zeta", all[1].ID)
}

func TestTenantValidation(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for name, tn := range map[string]tenants.Tenant{
		"empty id":        {Name: "x"},
		"upper-case id":   {ID: "Acme", Name: "x"},
		"slash in id":     {ID: "a/b", Name: "x"},
		"long id":         {ID: strings.Repeat("a", 64), Name: "x"},
		"no name":         {ID: "acme"},
		"blank name":      {ID: "acme", Name: "  "},
		"control in name": {ID: "acme", Name: "a\nb"},
		"long name":       {ID: "acme", Name: strings.Repeat("n", tenants.MaxNameLen+1)},
		"negative days":   {ID: "acme", Name: "x", RetentionDays: -1},
		"relative url":    {ID: "acme", Name: "x", WebhookURL: "/hook"},
		"ftp url":         {ID: "acme", Name: "x", WebhookURL: "ftp://h/x"},
		"url with creds":  {ID: "acme", Name: "x", WebhookURL: "https://u:p@h/x"},
	} {
		err := s.CreateTenant(ctx, tn)
		require.ErrorIs(t, err, tenants.ErrInvalid, name)
	}
	all, err := s.Tenants(ctx)
	require.NoError(t, err)
	require.Empty(t, all)
}

func TestKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	dir := t.TempDir()
	s := open(t, dir, tenants.WithClock(clk.Now))
	withTenant(t, s, "acme")

	secret, k, err := s.CreateKey(ctx, "acme", "ci", tenants.ScopeWrite, tenants.ScopeRead, tenants.ScopeWrite)
	require.NoError(t, err)
	require.Regexp(t, `^ekyc_[a-z2-7]{16}_[a-z2-7]{52}$`, secret)
	require.True(t, strings.HasPrefix(secret, k.Prefix+"_"))
	require.Equal(t, "ekyc_"+k.ID, k.Prefix)
	require.Equal(t, []tenants.Scope{tenants.ScopeRead, tenants.ScopeWrite}, k.Scopes, "deduplicated, weakest first")
	require.Equal(t, "acme", k.Tenant)
	require.Equal(t, clk.Now(), k.CreatedAt)
	require.True(t, k.Active())

	got, err := s.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, k, got)

	clk.Advance(time.Second) // Keys lists oldest first
	secret2, k2, err := s.CreateKey(ctx, "acme", "admin", tenants.ScopeAdmin)
	require.NoError(t, err)
	require.NotEqual(t, k.ID, k2.ID)
	require.NotEqual(t, secret, secret2)

	clk.Advance(time.Minute)
	require.NoError(t, s.RevokeKey(ctx, "acme", k.ID))
	_, err = s.Authenticate(ctx, secret)
	require.ErrorIs(t, err, tenants.ErrUnauthenticated)
	_, err = s.Authenticate(ctx, secret2)
	require.NoError(t, err, "revoking one key leaves the others")

	clk.Advance(time.Minute)
	require.NoError(t, s.RevokeKey(ctx, "acme", k.ID), "revoking twice is a no-op")
	keys, err := s.Keys(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, k.ID, keys[0].ID)
	require.Equal(t, clk.Now().Add(-time.Minute), keys[0].RevokedAt, "first revocation time kept")
	require.False(t, keys[0].Allows(tenants.ScopeRead))
	require.True(t, keys[1].Active())

	require.ErrorIs(t, s.RevokeKey(ctx, "acme", "aaaaaaaaaaaaaaaa"), tenants.ErrNotFound)
	require.ErrorIs(t, s.RevokeKey(ctx, "acme", "not-a-key-id"), tenants.ErrInvalid)
	_, _, err = s.CreateKey(ctx, "nobody", "ci", tenants.ScopeRead)
	require.ErrorIs(t, err, tenants.ErrNotFound)
	_, err = s.Keys(ctx, "nobody")
	require.ErrorIs(t, err, tenants.ErrNotFound)

	// Keys survive a restart.
	require.NoError(t, s.Close())
	_, err = s.Authenticate(ctx, secret2)
	require.ErrorIs(t, err, tenants.ErrClosed)
	s = open(t, dir, tenants.WithClock(clk.Now))
	got, err = s.Authenticate(ctx, secret2)
	require.NoError(t, err)
	require.Equal(t, k2, got)
	_, err = s.Authenticate(ctx, secret)
	require.ErrorIs(t, err, tenants.ErrUnauthenticated)
}

func TestAuthenticateRejectsWithOneError(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	withTenant(t, s, "acme")
	secret, k, err := s.CreateKey(ctx, "acme", "ci", tenants.ScopeRead)
	require.NoError(t, err)
	revoked, rk, err := s.CreateKey(ctx, "acme", "old", tenants.ScopeRead)
	require.NoError(t, err)
	require.NoError(t, s.RevokeKey(ctx, "acme", rk.ID))

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	other := "ekyc_" + strings.Repeat("a", 16) + secret[len("ekyc_")+16:]
	for name, bad := range map[string]string{
		"empty":              "",
		"prefix only":        "ekyc_",
		"display prefix":     k.Prefix,
		"wrong secret":       flip(secret, len(secret)-1),
		"wrong first char":   flip(secret, len(k.Prefix)+1),
		"unknown key id":     other,
		"truncated":          secret[:len(secret)-1],
		"extended":           secret + "a",
		"upper case":         strings.ToUpper(secret),
		"wrong separator":    k.Prefix + "-" + secret[len(k.Prefix)+1:],
		"wrong scheme":       "ekyk" + secret[4:],
		"bearer prefix":      "Bearer " + secret,
		"revoked":            revoked,
		"non-alphabet chars": k.Prefix + "_" + strings.Repeat("1", 52),
	} {
		_, err := s.Authenticate(ctx, bad)
		require.Equal(t, tenants.ErrUnauthenticated, err, name)
	}
	got, err := s.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)
}

func TestScopes(t *testing.T) {
	cases := []struct {
		have               []tenants.Scope
		read, write, admin bool
	}{
		{[]tenants.Scope{tenants.ScopeRead}, true, false, false},
		{[]tenants.Scope{tenants.ScopeWrite}, true, true, false},
		{[]tenants.Scope{tenants.ScopeAdmin}, true, true, true},
		{[]tenants.Scope{tenants.ScopeRead, tenants.ScopeAdmin}, true, true, true},
	}
	for _, c := range cases {
		k := tenants.Key{Scopes: c.have}
		require.Equal(t, c.read, k.Allows(tenants.ScopeRead), c.have)
		require.Equal(t, c.write, k.Allows(tenants.ScopeWrite), c.have)
		require.Equal(t, c.admin, k.Allows(tenants.ScopeAdmin), c.have)
		require.False(t, k.Allows("root"), c.have)
		k.RevokedAt = time.Now()
		require.False(t, k.Allows(tenants.ScopeRead), "revoked key allows nothing")
	}

	sc, err := tenants.ParseScopes(" write, read ,write")
	require.NoError(t, err)
	require.Equal(t, []tenants.Scope{tenants.ScopeRead, tenants.ScopeWrite}, sc)
	_, err = tenants.ParseScopes("read,root")
	require.ErrorIs(t, err, tenants.ErrInvalid)
	_, err = tenants.ParseScopes(" , ")
	require.ErrorIs(t, err, tenants.ErrInvalid)

	ctx := context.Background()
	s := open(t, t.TempDir())
	withTenant(t, s, "acme")
	_, _, err = s.CreateKey(ctx, "acme", "none")
	require.ErrorIs(t, err, tenants.ErrInvalid)
	_, _, err = s.CreateKey(ctx, "acme", "bad", "superuser")
	require.ErrorIs(t, err, tenants.ErrInvalid)
	_, _, err = s.CreateKey(ctx, "acme", "", tenants.ScopeRead)
	require.ErrorIs(t, err, tenants.ErrInvalid)
	secret, _, err := s.CreateKey(ctx, "acme", "w", tenants.ScopeWrite)
	require.NoError(t, err)
	k, err := s.Authenticate(ctx, secret)
	require.NoError(t, err)
	require.True(t, k.Allows(tenants.ScopeRead))
	require.True(t, k.Allows(tenants.ScopeWrite))
	require.False(t, k.Allows(tenants.ScopeAdmin))
}

func TestKeysAreTenantScoped(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	withTenant(t, s, "acme")
	withTenant(t, s, "globex")
	// "acme-2" shares a prefix with "acme": its keys must not show up in acme's list.
	withTenant(t, s, "acme-2")
	secretA, ka, err := s.CreateKey(ctx, "acme", "a", tenants.ScopeAdmin)
	require.NoError(t, err)
	_, kb, err := s.CreateKey(ctx, "globex", "b", tenants.ScopeRead)
	require.NoError(t, err)
	_, ka2, err := s.CreateKey(ctx, "acme-2", "c", tenants.ScopeRead)
	require.NoError(t, err)

	require.ErrorIs(t, s.RevokeKey(ctx, "globex", ka.ID), tenants.ErrNotFound)
	_, err = s.Key(ctx, "globex", ka.ID)
	require.ErrorIs(t, err, tenants.ErrNotFound)
	got, err := s.Authenticate(ctx, secretA)
	require.NoError(t, err, "another tenant's revoke did nothing")
	require.Equal(t, "acme", got.Tenant)

	keys, err := s.Keys(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, ka.ID, keys[0].ID)
	keys, err = s.Keys(ctx, "globex")
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, kb.ID, keys[0].ID)
	keys, err = s.Keys(ctx, "acme-2")
	require.NoError(t, err)
	require.Len(t, keys, 1)
	require.Equal(t, ka2.ID, keys[0].ID)
}

// TestSecretsNotOnDisk: neither an API key's secret nor a webhook secret
// appears in any Pebble file (WAL, sstables, manifest), before or after a
// flush.
func TestSecretsNotOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, tenants.WithSealer(keyring(t)))
	require.NoError(t, s.CreateTenant(ctx, tenants.Tenant{ID: "acme", Name: "Acme Positive Control"}))
	var secrets []string
	for i := range 3 {
		full, _, err := s.CreateKey(ctx, "acme", "k"+string(rune('0'+i)), tenants.ScopeWrite)
		require.NoError(t, err)
		secrets = append(secrets, full, full[len(full)-52:]) // the full key and the secret part alone
		wh, err := s.RotateWebhookSecret(ctx, "acme")
		require.NoError(t, err)
		secrets = append(secrets, wh, strings.TrimPrefix(wh, "whsec_"))
	}
	check := func(stage string) {
		all := dirBytes(t, dir)
		// Positive control: the scan does see what is stored in the clear.
		require.True(t, bytes.Contains(all, []byte("Acme Positive Control")), stage)
		for _, sec := range secrets {
			for _, form := range onDiskForms(t, sec) {
				require.False(t, bytes.Contains(all, form), "%s: a secret is on disk", stage)
			}
		}
	}
	check("WAL")
	require.NoError(t, s.Close())
	// Flush the memtable into an sstable and compact, without block
	// compression: Pebble compresses the bottom levels with zstd, whose
	// entropy-coded literals would hide plaintext from a byte scan (the
	// positive control below would not find the tenant name either).
	opts := &pebble.Options{}
	for i := range opts.Levels {
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	db, err := pebble.Open(dir, opts)
	require.NoError(t, err)
	require.NoError(t, db.Flush())
	require.NoError(t, db.Compact(ctx, []byte{0}, []byte{0xff}, true))
	require.NoError(t, db.Close())
	check("sstables")
}

func TestWebhookSecretRotation(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	dir := t.TempDir()
	kr := keyring(t)
	s := open(t, dir, tenants.WithSealer(kr), tenants.WithClock(clk.Now), tenants.WithWebhookOverlap(time.Hour))
	withTenant(t, s, "acme")
	withTenant(t, s, "globex")

	got, err := s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, got)

	s1, err := s.RotateWebhookSecret(ctx, "acme")
	require.NoError(t, err)
	require.Regexp(t, `^whsec_[a-z2-7]{52}$`, s1)
	got, err = s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{s1}, got)

	clk.Advance(time.Minute)
	s2, err := s.RotateWebhookSecret(ctx, "acme")
	require.NoError(t, err)
	require.NotEqual(t, s1, s2)
	got, err = s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{s2, s1}, got, "both valid during the overlap, current first")

	// A third rotation within the overlap drops the oldest: at most two.
	s3, err := s.RotateWebhookSecret(ctx, "acme")
	require.NoError(t, err)
	got, err = s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{s3, s2}, got)

	// The overlap ends.
	clk.Advance(time.Hour)
	got, err = s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{s3}, got)

	// Other tenants are unaffected.
	got, err = s.WebhookSecrets(ctx, "globex")
	require.NoError(t, err)
	require.Empty(t, got)

	// Without an overlap limit the previous secret stays until retired, across a restart.
	require.NoError(t, s.Close())
	s = open(t, dir, tenants.WithSealer(kr), tenants.WithClock(clk.Now), tenants.WithWebhookOverlap(0))
	s4, err := s.RotateWebhookSecret(ctx, "acme")
	require.NoError(t, err)
	clk.Advance(365 * 24 * time.Hour)
	got, err = s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{s4, s3}, got)
	require.NoError(t, s.RetireWebhookSecret(ctx, "acme"))
	got, err = s.WebhookSecrets(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{s4}, got)
	require.NoError(t, s.RetireWebhookSecret(ctx, "acme"), "nothing to retire is fine")

	_, err = s.RotateWebhookSecret(ctx, "nobody")
	require.ErrorIs(t, err, tenants.ErrNotFound)
	_, err = s.WebhookSecrets(ctx, "nobody")
	require.ErrorIs(t, err, tenants.ErrNotFound)

	// Another master key cannot open them.
	require.NoError(t, s.Close())
	s = open(t, dir, tenants.WithSealer(keyring(t)))
	_, err = s.WebhookSecrets(ctx, "acme")
	require.ErrorIs(t, err, tenants.ErrCorrupt)
	require.ErrorIs(t, err, envelope.ErrWrongKey)

	// No sealer, no webhook secrets.
	require.NoError(t, s.Close())
	s = open(t, dir)
	_, err = s.RotateWebhookSecret(ctx, "acme")
	require.ErrorIs(t, err, tenants.ErrNoSealer)
	_, err = s.WebhookSecrets(ctx, "acme")
	require.ErrorIs(t, err, tenants.ErrNoSealer)
}

func TestOpenLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	_, err := tenants.Open(context.Background(), dir)
	require.ErrorIs(t, err, tenants.ErrLocked)
}

// TestOpenLockedByOtherProcess: a second process (this test binary, run
// as a helper) holds the directory; Open says so with ErrLocked.
func TestOpenLockedByOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "TENANTS_HOLD_LOCK="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "holding\n", line)

	_, err = tenants.Open(context.Background(), dir)
	require.ErrorIs(t, err, tenants.ErrLocked)

	stdin.Close()
	require.NoError(t, cmd.Wait())
	s, err := tenants.Open(context.Background(), dir)
	require.NoError(t, err, "free once the other process is gone")
	require.NoError(t, s.Close())
}

// TestHelperHoldLock is the helper process of TestOpenLockedByOtherProcess.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("TENANTS_HOLD_LOCK")
	if dir == "" {
		t.Skip("helper process")
	}
	s, err := tenants.Open(context.Background(), dir)
	require.NoError(t, err)
	os.Stdout.WriteString("holding\n")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
	require.NoError(t, s.Close())
}
