package envelope

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k, err := LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "keys", "master.key"))
	require.NoError(t, err)
	pt := []byte("Anna Maria Eriksson 1985-08-12")
	a, err := k.Seal(pt, []byte("record-1"))
	require.NoError(t, err)
	b, err := k.Seal(pt, []byte("record-1"))
	require.NoError(t, err)
	require.NotEqual(t, a, b, "a fresh data key and nonces per seal")
	require.False(t, bytes.Contains(a, pt))

	got, err := k.Open(a, []byte("record-1"))
	require.NoError(t, err)
	require.Equal(t, pt, got)

	_, err = k.Open(a, []byte("record-2"))
	require.ErrorIs(t, err, ErrCorrupt, "bound to its aad")
	for i := range a {
		c := bytes.Clone(a)
		c[i] ^= 0x01
		_, err := k.Open(c, []byte("record-1"))
		require.Error(t, err, "byte %d flipped", i)
	}
	_, err = k.Open(a[:len(a)-1], []byte("record-1"))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = k.Open(nil, nil)
	require.ErrorIs(t, err, ErrCorrupt)

	other, err := New(bytes.Repeat([]byte{7}, KeySize))
	require.NoError(t, err)
	_, err = other.Open(a, []byte("record-1"))
	require.ErrorIs(t, err, ErrWrongKey)
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	k1, err := LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.EqualValues(t, KeySize, fi.Size())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	sealed, err := k1.Seal([]byte("x"), nil)
	require.NoError(t, err)
	k2, err := LoadOrCreateKeyFile(path) // the same key again
	require.NoError(t, err)
	got, err := k2.Open(sealed, nil)
	require.NoError(t, err)
	require.Equal(t, []byte("x"), got)

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = LoadOrCreateKeyFile(path)
	require.ErrorIs(t, err, ErrBadKeyFile)

	short := filepath.Join(t.TempDir(), "short.key")
	require.NoError(t, os.WriteFile(short, []byte("too short"), 0o600))
	_, err = LoadOrCreateKeyFile(short)
	require.ErrorIs(t, err, ErrBadKeyFile)
}

func TestKeyFileConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	const n = 8
	rings := make([]*Keyring, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rings[i], errs[i] = LoadOrCreateKeyFile(path)
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, rings[0].keyID, rings[i].keyID, "every creator ends up with the one installed key")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")
}

func TestDeriveKey(t *testing.T) {
	master := bytes.Repeat([]byte{3}, KeySize)
	a, err := New(master)
	require.NoError(t, err)
	b, err := New(bytes.Clone(master))
	require.NoError(t, err)
	ka, err := a.DeriveKey("gateway-session-token")
	require.NoError(t, err)
	kb, err := b.DeriveKey("gateway-session-token")
	require.NoError(t, err)
	require.Len(t, ka, KeySize)
	require.Equal(t, ka, kb, "same master and purpose: same key on every node")
	require.NotEqual(t, master, ka)
	other, err := a.DeriveKey("something-else")
	require.NoError(t, err)
	require.NotEqual(t, ka, other, "purposes are separated")
	c, err := New(bytes.Repeat([]byte{4}, KeySize))
	require.NoError(t, err)
	kc, err := c.DeriveKey("gateway-session-token")
	require.NoError(t, err)
	require.NotEqual(t, ka, kc, "another master key derives another key")
}
