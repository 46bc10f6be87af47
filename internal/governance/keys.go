package governance

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
)

// KeyPrefix starts every virtual key, so keys are recognisable in logs and by secret scanners.
const KeyPrefix = "wk-"

// keyChars is the number of base62 characters after the prefix: 43 × log2(62) ≈ 256 bits of entropy.
const keyChars = 43

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// KeyHash is SHA-256 of a virtual key's secret.
//
// Why a plain fast hash, not bcrypt/argon2: slow KDFs exist to stop offline guessing of low-entropy human
// passwords. A virtual key is 256 random bits, so guessing it from its hash is infeasible at any hash speed,
// while a slow KDF would cost milliseconds (and, for argon2, megabytes) on every request. SHA-256 also lets the
// lookup be an exact map read by hash instead of a scan.
type KeyHash [sha256.Size]byte

// HashKey hashes a secret without allocating for secrets up to 128 bytes.
func HashKey(secret string) KeyHash {
	var buf [128]byte
	if len(secret) <= len(buf) {
		return sha256.Sum256(append(buf[:0], secret...))
	}
	return sha256.Sum256([]byte(secret))
}

// Equal compares in constant time.
func (h KeyHash) Equal(o KeyHash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// GenerateKey returns a new random virtual key: "wk-" + 43 base62 characters.
func GenerateKey() (string, error) {
	var b strings.Builder
	b.Grow(len(KeyPrefix) + keyChars)
	b.WriteString(KeyPrefix)
	var buf [64]byte
	for b.Len() < len(KeyPrefix)+keyChars {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", err
		}
		for _, c := range buf {
			// Rejection sampling: 248 = 4×62, so bytes below it map uniformly.
			if c < 248 && b.Len() < len(KeyPrefix)+keyChars {
				b.WriteByte(base62[c%62])
			}
		}
	}
	return b.String(), nil
}

// ErrMalformedKey is returned for a secret that cannot be a virtual key.
var ErrMalformedKey = errors.New("malformed virtual key")

// MinSeededKeyChars is the shortest secret accepted after the prefix when an operator seeds a key's value.
// Generated keys carry 43 base62 characters (256 bits); seeded ones are the operator's choice but must not be
// trivially guessable.
const MinSeededKeyChars = 16

// ValidateKeyFormat checks a seeded secret: the prefix, then at least MinSeededKeyChars of base62, '-' or '_'.
func ValidateKeyFormat(secret string) error {
	rest, ok := strings.CutPrefix(secret, KeyPrefix)
	if !ok || len(rest) < MinSeededKeyChars {
		return ErrMalformedKey
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c != '-' && c != '_' && strings.IndexByte(base62, c) < 0 {
			return ErrMalformedKey
		}
	}
	return nil
}

// keyHint is a display-safe fragment: prefix, four characters, an ellipsis and the last four.
func keyHint(secret string) string {
	if len(secret) < len(KeyPrefix)+12 {
		return KeyPrefix + "…"
	}
	return secret[:len(KeyPrefix)+4] + "…" + secret[len(secret)-4:]
}
