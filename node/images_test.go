package node

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestImageLoader(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "images")
	l, err := newImageLoader(root, 16)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.jpg"), []byte("jpegbytes"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("nope"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(dir, "secret"), filepath.Join(root, "link.jpg")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "big.jpg"), make([]byte, 17), 0o600))
	ctx := context.Background()

	b, err := l.Load(ctx, "t", "file://a.jpg")
	require.NoError(t, err)
	require.Equal(t, "jpegbytes", string(b))
	b, err = l.Load(ctx, "t", "file://"+filepath.Join(root, "a.jpg"))
	require.NoError(t, err)
	require.Equal(t, "jpegbytes", string(b))
	b, err = l.Load(ctx, "t", "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString([]byte("xyz")))
	require.NoError(t, err)
	require.Equal(t, "xyz", string(b))

	for _, bad := range []string{"file://../secret", "file://link.jpg", "file://big.jpg", "file://missing.jpg",
		"https://example.test/a.jpg", "data:image/jpeg,raw", "data:image/jpeg;base64,!!!",
		"data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(make([]byte, 40))} {
		_, err := l.Load(ctx, "t", bad)
		require.True(t, errors.Is(err, ErrImageRef), "%s: %v", bad, err)
	}
	off, err := newImageLoader("", 16)
	require.NoError(t, err)
	_, err = off.Load(ctx, "t", "file://a.jpg")
	require.ErrorIs(t, err, ErrImageRef)
}
