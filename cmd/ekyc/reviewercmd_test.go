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

func TestReviewerCLI(t *testing.T) {
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

	// list, set-role, disable/enable and password, each audited.
	code, out, errs = runCLIStdin(t, "", "reviewer", "list", "-tenant", "demo")
	require.Equal(t, 0, code, errs)
	ls := jsonLines[map[string]any](t, out)
	require.Len(t, ls, 1)
	require.Equal(t, "alice", ls[0]["username"])
	require.Equal(t, "senior_reviewer", ls[0]["role"])
	require.Equal(t, false, ls[0]["disabled"])
	require.NotContains(t, out, "argon2", "no password material listed")
	code, _, errs = runCLIStdin(t, "", "reviewer", "set-role", "-tenant", "demo", "-username", "alice", "-role", "admin")
	require.Equal(t, 0, code, errs)
	code, _, errs = runCLIStdin(t, "", "reviewer", "set-role", "-tenant", "demo", "-username", "nobody", "-role", "admin")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "no reviewer")
	code, _, errs = runCLIStdin(t, "", "reviewer", "disable", "-tenant", "demo", "-username", "alice")
	require.Equal(t, 0, code, errs)
	require.Error(t, authenticates(t, "alice", pass), "a disabled reviewer cannot log in")
	code, _, errs = runCLIStdin(t, "", "reviewer", "enable", "-tenant", "demo", "-username", "alice")
	require.Equal(t, 0, code, errs)
	require.NoError(t, authenticates(t, "alice", pass))
	const pass2 = "another long passphrase"
	code, _, errs = runCLIStdin(t, pass2+"\n", "reviewer", "password", "-tenant", "demo", "-username", "alice")
	require.Equal(t, 0, code, errs)
	require.Error(t, authenticates(t, "alice", pass), "the old password no longer works")
	require.NoError(t, authenticates(t, "alice", pass2))
	code, _, _ = runCLIStdin(t, "", "reviewer", "fire", "-tenant", "demo")
	require.Equal(t, 2, code)

	// The reviewer logs in with its password, with the role given; the
	// password is not on disk; every change is audited.
	r, err := login(t, "alice", pass2)
	require.NoError(t, err)
	require.Equal(t, rv.RoleAdmin, r.Role)
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "review"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.False(t, bytes.Contains(b, []byte(pass)) || bytes.Contains(b, []byte(pass2)), "password in %s", p)
		return nil
	}))
	lg, err := audit.Open(ctx, filepath.Join(dir, "audit"))
	require.NoError(t, err)
	defer lg.Close()
	es, err := lg.List(ctx, "demo", 0)
	require.NoError(t, err)
	var actions []string
	for i := len(es) - 1; i >= 0; i-- {
		if strings.HasPrefix(es[i].Action, "review.reviewer_") {
			require.Equal(t, r.ID, es[i].Subject)
			actions = append(actions, es[i].Action)
		}
	}
	require.Equal(t, []string{"review.reviewer_created", "review.reviewer_role_set", "review.reviewer_disabled",
		"review.reviewer_enabled", "review.reviewer_password_set"}, actions)
	require.Equal(t, "op-1", es[len(es)-1].Actor, "the creation names the -actor")
}

// login opens the review store (node stopped, as the CLI does) and logs
// username in.
func login(t *testing.T, username, password string) (review.Reviewer, error) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load("", os.Environ())
	require.NoError(t, err)
	master, err := keys.FileMaster(cfg.MasterKeyFile)
	require.NoError(t, err)
	ring, err := keys.Open(ctx, node.KeyringDir(cfg), master)
	require.NoError(t, err)
	defer ring.Close()
	st, err := review.Open(ctx, node.ReviewDir(cfg), ring)
	require.NoError(t, err)
	defer st.Close()
	return st.Authenticate(ctx, "demo", username, password)
}

// authenticates is login's error.
func authenticates(t *testing.T, username, password string) error {
	t.Helper()
	_, err := login(t, username, password)
	return err
}
