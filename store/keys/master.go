package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/openekyc/ekyc/internal/envelope"
)

// Master wraps and unwraps tenant keys. It is the root of the hierarchy:
// FileMaster keeps it in a key file; a KMS (or HSM) client implements the
// same three calls, and the raw root key then never enters this process.
//
// Wrap and Unwrap must authenticate aad: the Ring passes the tenant id and
// the key version, so a wrapped tenant key copied to another tenant or
// version does not unwrap. Unwrap of a value that fails authentication
// must return an error (the Ring reports it as ErrCorrupt).
type Master interface {
	// ID is a stable, non-secret identifier of the key (a digest prefix,
	// a KMS key name). The Ring stores it next to every wrapped tenant key
	// and refuses to open a directory whose keys another master wrapped.
	ID() string
	Wrap(ctx context.Context, key, aad []byte) ([]byte, error)
	Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// fileMaster is a Master held in memory, loaded from a key file.
type fileMaster struct {
	aead cipher.AEAD
	id   string
}

// FileMaster loads the 32-byte master key at path, creating the file (mode
// 0600, directory 0700) with fresh random bytes when it does not exist;
// the file format and checks are internal/envelope's (LoadOrCreateKeyFile),
// so <data_dir>/keys/master.key can serve both. Its ID is "file:" and the
// hex of the first 8 bytes of SHA-256("ekyc-master-key-id" ‖ key).
func FileMaster(path string) (Master, error) {
	key, err := envelope.LoadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("keys: master key: %w", err)
	}
	defer clear(key)
	return NewMaster(key)
}

// NewMaster returns a Master for a 32-byte key held by the caller (the
// bytes are copied into the cipher; the caller may clear its slice).
func NewMaster(key []byte) (Master, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("keys: %w: master key is %d bytes, want %d", ErrInvalidArgument, len(key), keySize)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte("ekyc-master-key-id"))
	h.Write(key)
	return &fileMaster{aead: aead, id: "file:" + hex.EncodeToString(h.Sum(nil)[:8])}, nil
}

func (m *fileMaster) ID() string { return m.id }

// Wrap returns nonce (12) ‖ AES-256-GCM(key, aad).
func (m *fileMaster) Wrap(ctx context.Context, key, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(key)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("keys: random: %w", err)
	}
	return m.aead.Seal(out, out[:nonceSize], key, aad), nil
}

// Unwrap reverses Wrap.
func (m *fileMaster) Unwrap(ctx context.Context, wrapped, aad []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(wrapped) < nonceSize+tagSize {
		return nil, ErrCorrupt
	}
	key, err := m.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return gcm, nil
}
