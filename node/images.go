package node

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrImageRef is returned for image references the node cannot read.
var ErrImageRef = errors.New("node: unreadable image reference")

// imageLoader reads the bytes behind an ImageRef URI. It accepts
// `data:<type>;base64,<bytes>` and `file://<path>` with the path inside the
// configured images directory (never outside it: no traversal, no symlink
// escape), and `blob:` references to the encrypted blob store (images
// uploaded through the gateway), read and decrypted by blobs.
type imageLoader struct {
	root     string // absolute, symlinks resolved; "" disables file://
	maxBytes int64
	blobs    func(ctx context.Context, tenant, uri string) ([]byte, error) // nil: no blob store
}

func newImageLoader(dir string, maxBytes int64) (*imageLoader, error) {
	l := &imageLoader{maxBytes: maxBytes}
	if dir == "" {
		return l, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return nil, err
	}
	l.root = abs
	return l, nil
}

// Load reads the image behind uri for a request of tenant: a blob: reference
// must name the tenant's own blob (another tenant's is refused).
func (l *imageLoader) Load(ctx context.Context, tenant, uri string) ([]byte, error) {
	switch {
	case strings.HasPrefix(uri, "blob:"):
		if l.blobs == nil {
			return nil, fmt.Errorf("%w: no blob store", ErrImageRef)
		}
		return l.blobs(ctx, tenant, uri)
	case strings.HasPrefix(uri, "data:"):
		meta, payload, ok := strings.Cut(strings.TrimPrefix(uri, "data:"), ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, fmt.Errorf("%w: data URI must be base64", ErrImageRef)
		}
		if int64(base64.StdEncoding.DecodedLen(len(payload))) > l.maxBytes {
			return nil, fmt.Errorf("%w: image larger than %d bytes", ErrImageRef, l.maxBytes)
		}
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, fmt.Errorf("%w: bad base64", ErrImageRef)
		}
		return b, nil
	case strings.HasPrefix(uri, "file://"):
		if l.root == "" {
			return nil, fmt.Errorf("%w: file:// images are disabled (images.dir is empty)", ErrImageRef)
		}
		p := strings.TrimPrefix(uri, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(l.root, p)
		}
		real, err := filepath.EvalSymlinks(filepath.Clean(p))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrImageRef, errors.Unwrap(err))
		}
		if rel, err := filepath.Rel(l.root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, fmt.Errorf("%w: path outside the images directory", ErrImageRef)
		}
		f, err := os.Open(real)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrImageRef, errors.Unwrap(err))
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, l.maxBytes+1))
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > l.maxBytes {
			return nil, fmt.Errorf("%w: image larger than %d bytes", ErrImageRef, l.maxBytes)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("%w: unsupported scheme (want data:, file:// or blob:)", ErrImageRef)
	}
}
