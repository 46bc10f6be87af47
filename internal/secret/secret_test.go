package secret

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

func mustKey(t *testing.T) *Cipher {
	t.Helper()
	c, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTripAndWrongKey(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	for _, pt := range []string{"", "sk-live-123", strings.Repeat("x", 4096)} {
		ct, err := a.EncryptString(pt)
		if err != nil {
			t.Fatal(err)
		}
		if pt != "" && strings.Contains(string(ct), pt) {
			t.Fatal("plaintext visible in ciphertext")
		}
		got, err := a.DecryptString(ct)
		if err != nil || got != pt {
			t.Fatalf("round trip %q: %q %v", pt, got, err)
		}
		if _, err := b.DecryptString(ct); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("wrong key: %v", err)
		}
		ct[len(ct)-1] ^= 1
		if _, err := a.DecryptString(ct); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("tampered: %v", err)
		}
	}
	c1, _ := a.EncryptString("same")
	c2, _ := a.EncryptString("same")
	if string(c1) == string(c2) {
		t.Fatal("nonce reused")
	}
	if ct, _ := a.Encrypt([]byte("x"), []byte("provider/openai")); true {
		if _, err := a.Decrypt(ct, []byte("provider/other")); err == nil {
			t.Fatal("aad not bound")
		}
	}
}

func TestParseAndLoadKey(t *testing.T) {
	if _, err := ParseKey(base64.StdEncoding.EncodeToString(make([]byte, 16))); err == nil {
		t.Fatal("16-byte key accepted")
	}
	if _, err := ParseKey("not base64!!"); err == nil {
		t.Fatal("garbage accepted")
	}
	k := GenerateKey()
	dir := t.TempDir()
	f := filepath.Join(dir, "key")
	if err := os.WriteFile(f, []byte(k+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvKey, "")
	c, err := Load(f)
	if err != nil || c == nil {
		t.Fatal(c, err)
	}
	raw := filepath.Join(dir, "raw")
	rawKey := make([]byte, 32)
	rawKey[0] = 0xFF // not base64 text
	os.WriteFile(raw, rawKey, 0o600)
	if c, err := Load(raw); err != nil || c == nil {
		t.Fatal("raw 32-byte file", err)
	}
	if c, err := Load(""); c != nil || err != nil {
		t.Fatal("nothing configured must be (nil, nil)")
	}
	t.Setenv(EnvKey, k)
	c2, err := Load("/nonexistent")
	if err != nil {
		t.Fatal("env must win over the file", err)
	}
	ct, _ := c.EncryptString("x")
	if s, err := c2.DecryptString(ct); err != nil || s != "x" {
		t.Fatal("env and file keys differ")
	}
}

func openStore(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBindDetectsWrongKey(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	a, b := mustKey(t), mustKey(t)
	if err := Bind(ctx, st.Meta(), a); err != nil {
		t.Fatal("first start:", err)
	}
	if err := Bind(ctx, st.Meta(), a); err != nil {
		t.Fatal("same key again:", err)
	}
	if err := Bind(ctx, st.Meta(), b); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("wrong key: %v", err)
	}
	// The check value was not overwritten by the wrong key.
	if err := Bind(ctx, st.Meta(), a); err != nil {
		t.Fatal("original key refused after a wrong-key attempt:", err)
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	oldC, newC, other := mustKey(t), mustKey(t), mustKey(t)
	if err := Bind(ctx, st.Meta(), oldC); err != nil {
		t.Fatal(err)
	}
	var keys []store.ProviderKey
	for _, s := range []string{"sk-1", "sk-2", "sk-3"} {
		ct, _ := oldC.EncryptString(s)
		keys = append(keys, store.ProviderKey{ID: s, Ciphertext: ct})
	}
	if err := st.Providers().Put(ctx, &store.Provider{Name: "openai", Type: "openai", Keys: keys}); err != nil {
		t.Fatal(err)
	}
	if _, err := Rotate(ctx, st, other, newC); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("rotate with a wrong old key: %v", err)
	}
	n, err := Rotate(ctx, st, oldC, newC)
	if err != nil || n != 3 {
		t.Fatalf("rotated %d: %v", n, err)
	}
	p, _ := st.Providers().Get(ctx, "openai")
	for _, k := range p.Keys {
		if s, err := newC.DecryptString(k.Ciphertext); err != nil || s != k.ID {
			t.Fatalf("key %s after rotation: %q %v", k.ID, s, err)
		}
	}
	if err := Bind(ctx, st.Meta(), newC); err != nil {
		t.Fatal("new key refused after rotation:", err)
	}
	if err := Bind(ctx, st.Meta(), oldC); !errors.Is(err, ErrKeyMismatch) {
		t.Fatal("old key still accepted after rotation")
	}
	// Re-running an already completed rotation is harmless.
	if n, err := Rotate(ctx, st, oldC, newC); err != nil || n != 0 {
		t.Fatalf("rerun: %d %v", n, err)
	}
}
