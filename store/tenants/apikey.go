package tenants

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"strings"
)

// The key format: keyPrefix + id + "_" + secret.
const (
	keyPrefix    = "ekyc_"
	keyIDBytes   = 10 // 16 base32 characters
	secretBytes  = 32 // 52 base32 characters
	keyIDChars   = 16
	secretChars  = 52
	apiKeyLength = len(keyPrefix) + keyIDChars + 1 + secretChars
	hashDomain   = "ekyc-api-key-v1\x00"
)

// b32 is lower-case base32 without padding: the characters a-z and 2-7,
// which survive copy and paste, URLs and headers, and contain no '_'.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomToken returns n random bytes from r as lower-case base32.
func randomToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	defer clear(b)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("tenants: random: %w", err)
	}
	return b32.EncodeToString(b), nil
}

// newAPIKey returns a fresh key id and the full key.
func newAPIKey(r io.Reader) (id, full string, err error) {
	if r == nil {
		r = rand.Reader
	}
	if id, err = randomToken(r, keyIDBytes); err != nil {
		return "", "", err
	}
	secret, err := randomToken(r, secretBytes)
	if err != nil {
		return "", "", err
	}
	return id, keyPrefix + id + "_" + secret, nil
}

// isToken reports whether s is n characters of the b32 alphabet.
func isToken(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// ValidKeyID reports whether id has the shape of a key id.
func ValidKeyID(id string) bool { return isToken(id, keyIDChars) }

// parseAPIKey splits a full key into its id and secret; ok is false for
// anything not of the exact format.
func parseAPIKey(full string) (id, secret string, ok bool) {
	if len(full) != apiKeyLength || !strings.HasPrefix(full, keyPrefix) {
		return "", "", false
	}
	rest := full[len(keyPrefix):]
	id, secret = rest[:keyIDChars], rest[keyIDChars+1:]
	if rest[keyIDChars] != '_' || !isToken(id, keyIDChars) || !isToken(secret, secretChars) {
		return "", "", false
	}
	return id, secret, true
}

// hashSecret is the stored hash of a key's secret, bound to its id.
func hashSecret(id, secret string) []byte {
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// displayPrefix is the non-secret start of a key.
func displayPrefix(id string) string { return keyPrefix + id }
