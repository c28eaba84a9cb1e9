package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openekyc/ekyc/config"
	"github.com/openekyc/ekyc/node"
	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/audit"
	"github.com/openekyc/ekyc/store/keys"
	"github.com/openekyc/ekyc/store/review"
)

func runCLIStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestReviewerCreateCLI(t *testing.T) {
	dir := adminEnv(t)
	ctx := context.Background()
	const pass = "a long passphrase 42"

	code, out, errs := runCLIStdin(t, pass+"\n", "reviewer", "create", "-tenant", "demo", "-username", "alice", "-role", "senior_reviewer", "-actor", "op-1")
	require.Equal(t, 0, code, errs)
	require.Contains(t, out, "reviewer alice created")
	require.NotContains(t, out+errs, pass, "the password is never echoed")

	// Refusals: short password, unknown role, unknown tenant, a second alice,
	// no subcommand.
	code, _, errs = runCLIStdin(t, "short\n", "reviewer", "create", "-tenant", "demo", "-username", "bob")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "at least 12 characters")
	code, _, _ = runCLIStdin(t, pass+"\n", "reviewer", "create", "-tenant", "demo", "-username", "bob", "-role", "root")
	require.Equal(t, 2, code)
	code, _, errs = runCLIStdin(t, pass+"\n", "reviewer", "create", "-tenant", "nobody", "-username", "bob")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "unknown tenant")
	code, _, _ = runCLIStdin(t, pass+"\n", "reviewer", "create", "-tenant", "demo", "-username", "alice")
	require.NotZero(t, code, "usernames are unique per tenant")
	code, _, _ = runCLIStdin(t, "", "reviewer")
	require.Equal(t, 2, code)

	// The reviewer logs in with that password, with the role given; the
	// password is not on disk; the creation is audited.
	cfg, err := config.Load("", os.Environ())
	require.NoError(t, err)
	master, err := keys.FileMaster(cfg.MasterKeyFile)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, node.KeyringDir(cfg), master)
	require.NoError(t, err)
	st, err := review.Open(ctx, node.ReviewDir(cfg), ring)
	require.NoError(t, err)
	r, err := st.Authenticate(ctx, "demo", "alice", pass)
	require.NoError(t, err)
	require.Equal(t, rv.RoleSenior, r.Role)
	_, err = st.Authenticate(ctx, "demo", "alice", "a long passphrase 43")
	require.Error(t, err)
	require.NoError(t, st.Close())
	require.NoError(t, ring.Close())
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "review"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte(pass)), "password in %s", p)
		return nil
	}))
	lg, err := audit.Open(ctx, filepath.Join(dir, "audit"))
	require.NoError(t, err)
	defer lg.Close()
	es, err := lg.List(ctx, "demo", 0)
	require.NoError(t, err)
	var created []audit.Entry
	for _, e := range es {
		if e.Action == "review.reviewer_created" {
			created = append(created, e)
		}
	}
	require.Len(t, created, 1)
	require.Equal(t, "op-1", created[0].Actor)
	require.Equal(t, r.ID, created[0].Subject)
}
