package review

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	rv "github.com/openekyc/ekyc/services/review"
	"github.com/openekyc/ekyc/store/keys"
)

const pw = "correct horse battery staple 42"

func TestReviewers(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	r, err := s.CreateReviewer(ctx, "acme", "  Alice@Example.test ", pw, rv.RoleReviewer)
	require.NoError(t, err)
	require.Equal(t, "alice@example.test", r.Username)
	require.Equal(t, rv.RoleReviewer, r.Role)
	require.Equal(t, t0, r.CreatedAt)
	require.True(t, strings.HasPrefix(r.ID, "rvw_"))
	require.Equal(t, rv.Actor{ID: r.ID, Tenant: "acme", Role: rv.RoleReviewer}, r.Actor())

	_, err = s.CreateReviewer(ctx, "acme", "ALICE@example.test", pw, rv.RoleAdmin)
	require.ErrorIs(t, err, ErrExists)
	other, err := s.CreateReviewer(ctx, "globex", "alice@example.test", "another password 99", rv.RoleAdmin)
	require.NoError(t, err, "usernames are per tenant")

	for name, call := range map[string]func() error{
		"short password": func() error { _, err := s.CreateReviewer(ctx, "acme", "bob", "short", rv.RoleReviewer); return err },
		"long password": func() error {
			_, err := s.CreateReviewer(ctx, "acme", "bob", strings.Repeat("p", MaxPasswordLen+1), rv.RoleReviewer)
			return err
		},
		"empty username": func() error { _, err := s.CreateReviewer(ctx, "acme", " ", pw, rv.RoleReviewer); return err },
		"control chars":  func() error { _, err := s.CreateReviewer(ctx, "acme", "bo\nb", pw, rv.RoleReviewer); return err },
		"bad role":       func() error { _, err := s.CreateReviewer(ctx, "acme", "bob", pw, "root"); return err },
		"no tenant":      func() error { _, err := s.CreateReviewer(ctx, "", "bob", pw, rv.RoleReviewer); return err },
	} {
		require.ErrorIs(t, call(), ErrInvalid, name)
	}

	got, err := s.Reviewer(ctx, "acme", r.ID)
	require.NoError(t, err)
	require.Equal(t, r, got)
	_, err = s.Reviewer(ctx, "globex", r.ID)
	require.ErrorIs(t, err, ErrNotFound, "another tenant's reviewer")
	list, err := s.Reviewers(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []Reviewer{r}, list)
	list, err = s.Reviewers(ctx, "globex")
	require.NoError(t, err)
	require.Equal(t, []Reviewer{other}, list)

	up, err := s.SetRole(ctx, "acme", r.ID, rv.RoleSenior)
	require.NoError(t, err)
	require.Equal(t, rv.RoleSenior, up.Role)
	_, err = s.SetRole(ctx, "globex", r.ID, rv.RoleAdmin)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.SetRole(ctx, "acme", r.ID, "root")
	require.ErrorIs(t, err, ErrInvalid)
	_, err = s.SetDisabled(ctx, "globex", r.ID, true)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	r, err := s.CreateReviewer(ctx, "acme", "alice", pw, rv.RoleReviewer)
	require.NoError(t, err)

	got, err := s.Authenticate(ctx, "acme", "ALICE", pw)
	require.NoError(t, err)
	require.Equal(t, r, got)

	for name, c := range map[string]struct{ tenant, user, pass string }{
		"wrong password":    {"acme", "alice", pw + "!"},
		"empty password":    {"acme", "alice", ""},
		"unknown user":      {"acme", "mallory", pw},
		"other tenant":      {"globex", "alice", pw},
		"invalid username":  {"acme", "", pw},
		"huge password":     {"acme", "alice", strings.Repeat("x", MaxPasswordLen+1)},
		"tenant as prefix":  {"acm", "alice", pw},
		"username as infix": {"acme", "alic", pw},
	} {
		t.Run(name, func(t *testing.T) {
			before := s.hashes.Load()
			_, err := s.Authenticate(ctx, c.tenant, c.user, c.pass)
			require.ErrorIs(t, err, ErrUnauthenticated)
			require.Equal(t, before+1, s.hashes.Load(), "every refusal spends one password hash")
		})
	}

	_, err = s.SetDisabled(ctx, "acme", r.ID, true)
	require.NoError(t, err)
	_, err = s.Authenticate(ctx, "acme", "alice", pw)
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, err = s.SetDisabled(ctx, "acme", r.ID, false)
	require.NoError(t, err)
	_, err = s.Authenticate(ctx, "acme", "alice", pw)
	require.NoError(t, err)

	require.NoError(t, s.SetPassword(ctx, "acme", r.ID, "a brand new passphrase"))
	_, err = s.Authenticate(ctx, "acme", "alice", pw)
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, err = s.Authenticate(ctx, "acme", "alice", "a brand new passphrase")
	require.NoError(t, err)
	require.ErrorIs(t, s.SetPassword(ctx, "acme", r.ID, "short"), ErrInvalid)
}

func TestPasswordHashFormat(t *testing.T) {
	ctx := context.Background()
	s := newEnv(t).store
	h1, err := s.hashPassword(ctx, pw)
	require.NoError(t, err)
	h2, err := s.hashPassword(ctx, pw)
	require.NoError(t, err)
	require.NotEqual(t, h1, h2, "random salt")
	require.True(t, strings.HasPrefix(h1, "$argon2id$v=19$m=64,t=1,p=1$"), h1)
	ok, err := s.verifyPassword(ctx, h1, pw)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.verifyPassword(ctx, h1, pw+"x")
	require.NoError(t, err)
	require.False(t, ok)

	parts := strings.Split(h1, "$")
	for name, bad := range map[string]string{
		"empty":       "",
		"bcrypt":      "$2b$10$abcdefghijklmnopqrstuu",
		"argon2i":     strings.Replace(h1, "argon2id", "argon2i", 1),
		"version":     strings.Replace(h1, "v=19", "v=16", 1),
		"huge memory": strings.Join([]string{"", parts[1], parts[2], "m=99999999,t=1,p=1", parts[4], parts[5]}, "$"),
		"bad base64":  strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short hash":  strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
	} {
		_, err := s.verifyPassword(ctx, bad, pw)
		require.ErrorIs(t, err, ErrCorrupt, name)
	}
	// The defaults are what the docs say, and valid.
	require.Equal(t, Argon2Params{Time: 3, MemoryKiB: 65536, Threads: 2, KeyLen: 32, SaltLen: 16}, DefaultArgon2)
	require.NoError(t, DefaultArgon2.validate())
}

func TestLoginSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WithLoginTTL(time.Hour))
	s := e.store
	r, err := s.CreateReviewer(ctx, "acme", "alice", pw, rv.RoleReviewer)
	require.NoError(t, err)
	g, err := s.CreateReviewer(ctx, "globex", "alice", pw, rv.RoleAdmin)
	require.NoError(t, err)

	tok, csrf, exp, err := s.NewLoginSession(ctx, r)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Hour), exp)
	require.Len(t, tok, 43)
	require.NotEqual(t, tok, csrf)

	l, err := s.LoginSession(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, r, l.Reviewer)
	require.Equal(t, exp, l.Expiry)
	require.True(t, VerifyCSRF(l, csrf))
	require.False(t, VerifyCSRF(l, tok))
	require.False(t, VerifyCSRF(l, ""))
	require.False(t, VerifyCSRF(l, csrf[:len(csrf)-1]))
	require.False(t, VerifyCSRF(Login{}, csrf))

	// Tenant isolation: globex's Alice has her own session; a Reviewer
	// value naming acme's id under globex (or a made-up id) gets none.
	gtok, gcsrf, _, err := s.NewLoginSession(ctx, g)
	require.NoError(t, err)
	gl, err := s.LoginSession(ctx, gtok)
	require.NoError(t, err)
	require.Equal(t, "globex", gl.Reviewer.Tenant)
	require.False(t, VerifyCSRF(gl, csrf), "a CSRF token of another session")
	require.True(t, VerifyCSRF(gl, gcsrf))
	forged := r
	forged.Tenant = "globex"
	_, _, _, err = s.NewLoginSession(ctx, forged)
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, _, _, err = s.NewLoginSession(ctx, Reviewer{ID: "rvw_nobody", Tenant: "acme"})
	require.ErrorIs(t, err, ErrUnauthenticated)

	for _, bad := range []string{"", "nope", tok + "x", strings.Repeat("a", 500)} {
		_, err := s.LoginSession(ctx, bad)
		require.ErrorIs(t, err, ErrUnauthenticated)
	}

	// A role change applies to the open session at once.
	_, err = s.SetRole(ctx, "acme", r.ID, rv.RoleSenior)
	require.NoError(t, err)
	l, err = s.LoginSession(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, rv.RoleSenior, l.Reviewer.Role)

	// Expiry, by the injected clock.
	e.clock.add(time.Hour - time.Nanosecond)
	_, err = s.LoginSession(ctx, tok)
	require.NoError(t, err)
	e.clock.add(time.Nanosecond)
	_, err = s.LoginSession(ctx, tok)
	require.ErrorIs(t, err, ErrUnauthenticated)

	// Logout.
	tok2, _, _, err := s.NewLoginSession(ctx, r)
	require.NoError(t, err)
	require.NoError(t, s.Logout(ctx, tok2))
	_, err = s.LoginSession(ctx, tok2)
	require.ErrorIs(t, err, ErrUnauthenticated)
	require.NoError(t, s.Logout(ctx, "unknown"))

	// Disabling ends sessions for good; so does a password change.
	tok3, _, _, err := s.NewLoginSession(ctx, r)
	require.NoError(t, err)
	_, err = s.SetDisabled(ctx, "acme", r.ID, true)
	require.NoError(t, err)
	_, err = s.LoginSession(ctx, tok3)
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, _, _, err = s.NewLoginSession(ctx, r)
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, err = s.SetDisabled(ctx, "acme", r.ID, false)
	require.NoError(t, err)
	_, err = s.LoginSession(ctx, tok3)
	require.ErrorIs(t, err, ErrUnauthenticated, "re-enabling does not revive old sessions")
	tok4, _, _, err := s.NewLoginSession(ctx, r)
	require.NoError(t, err)
	require.NoError(t, s.SetPassword(ctx, "acme", r.ID, "a brand new passphrase"))
	_, err = s.LoginSession(ctx, tok4)
	require.ErrorIs(t, err, ErrUnauthenticated)
}

func TestPurgeExpiredLogins(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, WithLoginTTL(time.Hour))
	s := e.store
	r, err := s.CreateReviewer(ctx, "acme", "alice", pw, rv.RoleReviewer)
	require.NoError(t, err)
	for range 3 {
		_, _, _, err := s.NewLoginSession(ctx, r)
		require.NoError(t, err)
	}
	e.clock.add(30 * time.Minute)
	fresh, _, _, err := s.NewLoginSession(ctx, r)
	require.NoError(t, err)
	e.clock.add(30 * time.Minute)
	n, err := s.PurgeExpiredLogins(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = s.PurgeExpiredLogins(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = s.LoginSession(ctx, fresh)
	require.NoError(t, err)
}

// TestSecretsNotOnDisk: neither the password nor the login and CSRF tokens
// are in any file of the store, while the stored hashes and the username
// are (so the scan does see what is written).
func TestSecretsNotOnDisk(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	s := e.store
	secret := "Pa55word-MARKER-zq81v"
	r, err := s.CreateReviewer(ctx, "acme", "marker-user", secret, rv.RoleAdmin)
	require.NoError(t, err)
	_, err = s.Authenticate(ctx, "acme", "marker-user", secret)
	require.NoError(t, err)
	require.NoError(t, s.SetPassword(ctx, "acme", r.ID, secret+"-2"))
	tok, csrf, _, err := s.NewLoginSession(ctx, r)
	require.NoError(t, err)
	_, err = s.LoginSession(ctx, tok)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	require.True(t, filesContain(t, e.dir, []byte("marker-user")))
	require.True(t, filesContain(t, e.dir, []byte("$argon2id$v=19$")))
	for _, needle := range []string{secret, tok, csrf} {
		require.False(t, filesContain(t, e.dir, []byte(needle)), "secret on disk")
	}
}

// BenchmarkAuthenticateDefaultArgon2 measures one login with the default
// parameters (the cost docs/review.md quotes).
func BenchmarkAuthenticateDefaultArgon2(b *testing.B) {
	ctx := context.Background()
	mk := make([]byte, 32)
	_, err := rand.Read(mk)
	require.NoError(b, err)
	master, err := keys.NewMaster(mk)
	require.NoError(b, err)
	ring, err := keys.Open(ctx, b.TempDir(), master)
	require.NoError(b, err)
	defer ring.Close()
	s, err := Open(ctx, b.TempDir(), ring)
	require.NoError(b, err)
	defer s.Close()
	_, err = s.CreateReviewer(ctx, "acme", "alice", pw, rv.RoleReviewer)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, "acme", "alice", pw); err != nil {
			b.Fatal(err)
		}
	}
}
