// Package secret encrypts provider API keys at rest with AES-256-GCM.
//
// The key is 32 random bytes given as base64 (WEIR_ENCRYPTION_KEY, as `openssl rand -base64 32` prints) or in a
// file. There is deliberately no password-based KDF: argon2/scrypt exist to stretch low-entropy passphrases, and
// cost real memory (Bifrost's argon2 derivation holds 64 MiB) and start-up time. A uniformly random 256-bit key
// is already full-strength key material, so stretching it adds nothing; we refuse anything that is not exactly
// 32 bytes instead of guessing.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvKey is the environment variable holding the base64 key.
const EnvKey = "WEIR_ENCRYPTION_KEY"

// version prefixes every ciphertext so the format (algorithm, nonce size) can change later.
const version byte = 1

// ErrWrongKey means data was encrypted under a different key (or was tampered with).
var ErrWrongKey = errors.New("secret: wrong encryption key (or corrupted data)")

// Cipher encrypts and decrypts with one key. Safe for concurrent use.
type Cipher struct {
	aead cipher.AEAD
}

// New makes a Cipher from a raw 32-byte key.
func New(key []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: key must be 32 bytes (AES-256), got %d; make one with `openssl rand -base64 32`", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead}, nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padding optional, surrounding space ignored).
func ParseKey(b64 string) (*Cipher, error) {
	s := strings.TrimSpace(b64)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			return New(key)
		}
	}
	return nil, errors.New("secret: encryption key is not valid base64; make one with `openssl rand -base64 32`")
}

// Load returns the Cipher from WEIR_ENCRYPTION_KEY if set, else from keyFile (base64 text, or exactly 32 raw
// bytes). It returns (nil, nil) when neither is configured: the caller then refuses to store provider keys.
func Load(keyFile string) (*Cipher, error) {
	if v := os.Getenv(EnvKey); v != "" {
		c, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKey, err)
		}
		return c, nil
	}
	if keyFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if len(data) == 32 {
		if c, err := New(data); err == nil && !isBase64Text(data) {
			return c, nil
		}
	}
	c, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", keyFile, err)
	}
	return c, nil
}

func isBase64Text(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("+/=-_\n\r ", c) >= 0) {
			return false
		}
	}
	return true
}

// GenerateKey returns a new random key in base64, for `weir keys generate` style helpers.
func GenerateKey() string {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.StdEncoding.EncodeToString(k[:])
}

// Encrypt seals plaintext: version byte ‖ random 96-bit nonce ‖ GCM ciphertext+tag. aad (may be nil) is
// authenticated, not stored: decrypt with the same aad.
func (c *Cipher) Encrypt(plaintext, aad []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+c.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, err
	}
	return c.aead.Seal(out, out[1:1+ns], plaintext, aad), nil
}

// Decrypt opens what Encrypt sealed; a different key or tampering gives ErrWrongKey.
func (c *Cipher) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	if len(ciphertext) < 1+ns+c.aead.Overhead() {
		return nil, errors.New("secret: ciphertext too short")
	}
	if ciphertext[0] != version {
		return nil, fmt.Errorf("secret: unknown ciphertext version %d", ciphertext[0])
	}
	pt, err := c.aead.Open(nil, ciphertext[1:1+ns], ciphertext[1+ns:], aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return pt, nil
}

// EncryptString and DecryptString are conveniences for API keys.
func (c *Cipher) EncryptString(s string) ([]byte, error) { return c.Encrypt([]byte(s), nil) }

// DecryptString decrypts to a string.
func (c *Cipher) DecryptString(ct []byte) (string, error) {
	pt, err := c.Decrypt(ct, nil)
	return string(pt), err
}
