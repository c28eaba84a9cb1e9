package sealed_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/openekyc/ekyc/internal/envelope"
	"github.com/openekyc/ekyc/store/sessions"
	"github.com/openekyc/ekyc/store/sessions/pebblestore"
	"github.com/openekyc/ekyc/store/sessions/sealed"
	"github.com/openekyc/ekyc/store/sessions/sessionstest"
)

var errShredded = errors.New("test: key destroyed")

// keySealer is a real AES-256-GCM sealer (internal/envelope) whose aad
// binds tenant and session, with per-session shredding.
type keySealer struct {
	k        *envelope.Keyring
	mu       sync.Mutex
	shredded map[string]bool
}

func newKeySealer(t *testing.T) *keySealer {
	key := make([]byte, envelope.KeySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	k, err := envelope.New(key)
	require.NoError(t, err)
	return &keySealer{k: k, shredded: map[string]bool{}}
}

func bind(tenant, session string, aad []byte) []byte {
	return append([]byte(tenant+"\x00"+session+"\x00"), aad...)
}

func (s *keySealer) Seal(_ context.Context, tenant, session string, p, aad []byte) ([]byte, error) {
	return s.k.Seal(p, bind(tenant, session, aad))
}

func (s *keySealer) Open(_ context.Context, tenant, session string, c, aad []byte) ([]byte, error) {
	s.mu.Lock()
	gone := s.shredded[tenant+"/"+session]
	s.mu.Unlock()
	if gone {
		return nil, errShredded
	}
	return s.k.Open(c, bind(tenant, session, aad))
}

func (s *keySealer) shred(tenant, session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shredded[tenant+"/"+session] = true
}

func open(t *testing.T, dir string, ks *keySealer) *sealed.Store {
	inner, err := pebblestore.Open(dir)
	require.NoError(t, err)
	s := sealed.New(inner, ks, sealed.ShreddedIs(errShredded))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	sessionstest.Run(t, func(t *testing.T) sessions.Store { return open(t, t.TempDir(), newKeySealer(t)) })
}

// TestNoPlaintextAtRest: the applicant's name, address and document data
// are in no file the store writes; Get gives them back.
func TestNoPlaintextAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ks := newKeySealer(t)
	s := open(t, dir, ks)
	st := sessionstest.FullState("tenant-1", "session-1")
	want := proto.CloneOf(st)
	require.NoError(t, s.Put(ctx, st, 0))
	require.Equal(t, int64(1), st.GetVersion())
	require.NotNil(t, st.GetRequest(), "the caller's state keeps its request")
	got, err := s.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	want.Version = 1
	require.True(t, proto.Equal(want, got), "got %v", got)
	require.NoError(t, s.Close())

	secrets := []string{"Eriksson-Ünal", "Anna María", "1 Main St", "1990-02-28"}
	for _, m := range st.GetRequest().GetDocument().GetMrzLines() {
		secrets = append(secrets, m)
	}
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		n += len(b)
		for _, s := range secrets {
			require.False(t, bytes.Contains(b, []byte(s)), "%q in plaintext in %s", s, p)
		}
		return nil
	}))
	require.Positive(t, n)

	// The inner store holds the sealed form only.
	inner, err := pebblestore.Open(dir)
	require.NoError(t, err)
	defer inner.Close()
	raw, err := inner.Get(ctx, "tenant-1", "session-1")
	require.NoError(t, err)
	require.Nil(t, raw.GetRequest())
	require.NotEmpty(t, raw.GetSealedRequest())
}

// TestShredded: after the session's key is destroyed, Get returns the
// record (status, decision) without the request; another session is
// untouched; a sealed request moved to another session does not open.
func TestShredded(t *testing.T) {
	ctx := context.Background()
	ks := newKeySealer(t)
	s := open(t, t.TempDir(), ks)
	for _, id := range []string{"a", "b"} {
		require.NoError(t, s.Put(ctx, sessionstest.FullState("t", id), 0))
	}
	ks.shred("t", "a")
	got, err := s.Get(ctx, "t", "a")
	require.NoError(t, err)
	require.Nil(t, got.GetRequest())
	require.NotNil(t, got.GetDecision())
	got, err = s.Get(ctx, "t", "b")
	require.NoError(t, err)
	require.Equal(t, "Eriksson-Ünal", got.GetRequest().GetApplicant().GetSurname())

	// Swap: b's sealed request stored under c fails authentication.
	inner := s.Inner()
	rawB, err := inner.Get(ctx, "t", "b")
	require.NoError(t, err)
	c := proto.CloneOf(rawB)
	c.SessionId = "c"
	c.Version = 0
	require.NoError(t, inner.Put(ctx, c, 0))
	_, err = s.Get(ctx, "t", "c")
	require.Error(t, err)
	require.NotErrorIs(t, err, errShredded)

	// A state written without its request (as the eraser does) keeps the
	// decision and no sealed bytes.
	got.Request = nil
	require.NoError(t, s.Put(ctx, got, got.GetVersion()))
	rawB, err = inner.Get(ctx, "t", "b")
	require.NoError(t, err)
	require.Empty(t, rawB.GetSealedRequest())
	require.NotNil(t, rawB.GetDecision())
}
