// Package envelope encrypts records at rest with AES-256-GCM envelope
// encryption: every sealed record gets its own random 256-bit data key,
// which encrypts the record (AES-256-GCM) and is itself wrapped with
// AES-256-GCM by a master key. Only the wrapped data key is stored.
//
// The master key is 32 random bytes in a key file (LoadOrCreateKeyFile:
// <data_dir>/keys/master.key, created with mode 0600 on first use). This is
// the interim key source: issue 8 replaces it with the tenant key hierarchy
// (a key-encryption key per tenant under a KMS-held root), behind the same
// Seal/Open calls.
//
// Sealed format (version 1):
//
//	0x01 | key id (8) | wrap nonce (12) | wrapped data key (32+16) | data nonce (12) | ciphertext+tag
//
// The key id is the first 8 bytes of SHA-256("ekyc-envelope-key-id" ‖
// master key): it tells a wrong master key (ErrWrongKey) from a damaged
// record (ErrCorrupt) without revealing the key. The caller's associated
// data (aad, e.g. the record's store key) is authenticated by both GCM
// layers, so a sealed value moved to another record does not open.
package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the size of the master key and of the data keys (AES-256).
const KeySize = 32

const (
	version1  = 1
	keyIDLen  = 8
	nonceLen  = 12
	tagLen    = 16
	wrappedLn = KeySize + tagLen
	headerLen = 1 + keyIDLen + nonceLen + wrappedLn + nonceLen
)

var (
	// ErrCorrupt reports a sealed value that is truncated, of an unknown
	// format, or fails authentication (tampered, or sealed with another
	// aad).
	ErrCorrupt = errors.New("envelope: corrupt or tampered value")
	// ErrWrongKey reports a value sealed under another master key.
	ErrWrongKey = errors.New("envelope: sealed under another master key")
	// ErrBadKeyFile reports a key file of the wrong size or too open
	// permissions.
	ErrBadKeyFile = errors.New("envelope: bad key file")
)

// Keyring seals and opens values under one master key. Safe for concurrent
// use.
type Keyring struct {
	kek   cipher.AEAD
	keyID [keyIDLen]byte
	rand  io.Reader
	// prk is HKDF-Extract of the master key: the root of DeriveKey.
	prk []byte
}

// New returns a Keyring for a 32-byte master key.
func New(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("%w: master key is %d bytes, want %d", ErrBadKeyFile, len(master), KeySize)
	}
	kek, err := newGCM(master)
	if err != nil {
		return nil, err
	}
	k := &Keyring{kek: kek, rand: rand.Reader}
	h := sha256.New()
	h.Write([]byte("ekyc-envelope-key-id"))
	h.Write(master)
	copy(k.keyID[:], h.Sum(nil))
	if k.prk, err = hkdf.Extract(sha256.New, master, []byte("ekyc-envelope-derive-v1")); err != nil {
		return nil, err
	}
	return k, nil
}

// DeriveKey returns a 32-byte secret for purpose, derived from the master
// key with HKDF-SHA256: the same master key and purpose give the same
// secret on every node, different purposes give independent secrets, and
// the secret reveals nothing of the master key. It is for MAC keys shared
// by the nodes of a deployment (session tokens), never for the envelope's
// own encryption.
func (k *Keyring) DeriveKey(purpose string) ([]byte, error) {
	return hkdf.Expand(sha256.New, k.prk, purpose, KeySize)
}

// LoadOrCreateKeyFile reads the master key from path, creating the file
// (and its directory, mode 0700) with 32 fresh random bytes and mode 0600
// when it does not exist. An existing file must hold exactly 32 bytes and
// must not be readable or writable by group or others.
//
// Creation is atomic: the key is written to a temporary file, synced, and
// linked into place; of two processes racing to create it, one wins and
// both use its key.
func LoadOrCreateKeyFile(path string) (*Keyring, error) {
	key, err := LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return New(key)
}

// LoadOrCreateKey is LoadOrCreateKeyFile without the Keyring: it returns
// the 32 raw key bytes of the key file at path, creating the file as
// LoadOrCreateKeyFile does. The caller owns the slice and should clear it
// once the key is expanded (store/keys.FileMaster does).
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(path); err != nil {
			return nil, err
		}
		key, err = readKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrBadKeyFile, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v; it must be accessible to its owner only (chmod 600)", ErrBadKeyFile, path, fi.Mode().Perm())
	}
	key := make([]byte, KeySize+1)
	n, err := io.ReadFull(f, key)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("envelope: read %s: %w", path, err)
	}
	if n != KeySize {
		clear(key)
		return nil, fmt.Errorf("%w: %s must hold exactly %d bytes", ErrBadKeyFile, path, KeySize)
	}
	return key[:KeySize], nil
}

func createKeyFile(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("envelope: create key directory: %w", err)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("envelope: generate master key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".master-key-*")
	if err != nil {
		return fmt.Errorf("envelope: create key file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the link, or on failure
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("envelope: create key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return fmt.Errorf("envelope: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("envelope: sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("envelope: close key file: %w", err)
	}
	// Link fails if path exists: a concurrent creator won, use its key.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("envelope: install key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the new directory entry durable
		d.Close()
	}
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return gcm, nil
}

// wrapAAD binds a wrapped data key to the format, the master key and the
// caller's aad.
func (k *Keyring) wrapAAD(aad []byte) []byte {
	out := make([]byte, 0, 1+keyIDLen+len(aad)+8)
	out = append(out, "dek"...)
	out = append(out, version1)
	out = append(out, k.keyID[:]...)
	return append(out, aad...)
}

// Seal encrypts plaintext under a fresh data key; aad is authenticated but
// not stored (Open needs the same aad).
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	dek := make([]byte, KeySize)
	defer clear(dek)
	out := make([]byte, headerLen, headerLen+len(plaintext)+tagLen)
	out[0] = version1
	copy(out[1:], k.keyID[:])
	wrapNonce := out[1+keyIDLen : 1+keyIDLen+nonceLen]
	dataNonce := out[headerLen-nonceLen : headerLen]
	for _, b := range [][]byte{dek, wrapNonce, dataNonce} {
		if _, err := io.ReadFull(k.rand, b); err != nil {
			return nil, fmt.Errorf("envelope: random: %w", err)
		}
	}
	k.kek.Seal(out[1+keyIDLen+nonceLen:1+keyIDLen+nonceLen], wrapNonce, dek, k.wrapAAD(aad))
	data, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	return data.Seal(out, dataNonce, plaintext, aad), nil
}

// Open decrypts a value sealed by Seal with the same aad.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < headerLen+tagLen || sealed[0] != version1 {
		return nil, ErrCorrupt
	}
	if !bytes.Equal(sealed[1:1+keyIDLen], k.keyID[:]) {
		return nil, ErrWrongKey
	}
	wrapNonce := sealed[1+keyIDLen : 1+keyIDLen+nonceLen]
	wrapped := sealed[1+keyIDLen+nonceLen : headerLen-nonceLen]
	dek, err := k.kek.Open(nil, wrapNonce, wrapped, k.wrapAAD(aad))
	if err != nil {
		return nil, ErrCorrupt
	}
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	pt, err := data.Open(nil, sealed[headerLen-nonceLen:headerLen], sealed[headerLen:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return pt, nil
}
