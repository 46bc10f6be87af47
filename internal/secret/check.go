package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/weir-gateway/weir/internal/store"
)

// MetaKeyCheck is the meta row holding the key check value.
const MetaKeyCheck = "encryption_key_check"

// checkMarker is what the key check value encrypts. Decrypting it back proves the configured key is the one
// the stored provider keys were written with — before anything is read or, worse, written under a wrong key
// (which would leave a store half in one key and half in another).
var checkMarker = []byte("weir encryption key check v1")

// CheckValue encrypts the marker under c.
func (c *Cipher) CheckValue() ([]byte, error) { return c.Encrypt(checkMarker, nil) }

// Matches reports whether kcv was made by this key.
func (c *Cipher) Matches(kcv []byte) bool {
	pt, err := c.Decrypt(kcv, nil)
	return err == nil && bytes.Equal(pt, checkMarker)
}

// ErrKeyMismatch is returned at start when the configured key is not the store's.
var ErrKeyMismatch = errors.New("secret: " + EnvKey + " does not match the key the stored provider keys were encrypted with; " +
	"set the original key, or re-encrypt with `weir keys rotate-encryption`")

// Bind checks c against the store's key check value, recording one if the store has none yet (first start).
// Call it at start, before any provider key is decrypted or written.
func Bind(ctx context.Context, meta store.MetaStore, c *Cipher) error {
	kcv, err := c.CheckValue()
	if err != nil {
		return err
	}
	stored, err := meta.PutIfAbsent(ctx, MetaKeyCheck, kcv)
	if err != nil {
		return fmt.Errorf("secret: record key check: %w", err)
	}
	if stored {
		return nil
	}
	existing, err := meta.Get(ctx, MetaKeyCheck)
	if err != nil {
		return fmt.Errorf("secret: read key check: %w", err)
	}
	if !c.Matches(existing) {
		return ErrKeyMismatch
	}
	return nil
}

// Rotate re-encrypts every provider key from oldC to newC and then records newC's check value. It refuses to
// start unless oldC matches the store. The key rewrite is one transaction; if the process dies between it and
// the check-value update, running Rotate again completes it (ciphertexts already under newC are kept).
func Rotate(ctx context.Context, st store.Store, oldC, newC *Cipher) (int, error) {
	kcv, err := st.Meta().Get(ctx, MetaKeyCheck)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return 0, err
	case !oldC.Matches(kcv) && !newC.Matches(kcv):
		return 0, fmt.Errorf("secret: rotate: the old key does not match the store: %w", ErrKeyMismatch)
	}
	n, err := st.Providers().ReplaceCiphertexts(ctx, func(ct []byte) ([]byte, error) {
		pt, err := oldC.Decrypt(ct, nil)
		if err != nil {
			if _, err2 := newC.Decrypt(ct, nil); err2 == nil {
				return ct, nil // already rotated by an interrupted earlier run
			}
			return nil, err
		}
		return newC.Encrypt(pt, nil)
	})
	if err != nil {
		return 0, fmt.Errorf("secret: rotate: %w", err)
	}
	newKCV, err := newC.CheckValue()
	if err != nil {
		return n, err
	}
	if err := st.Meta().Put(ctx, MetaKeyCheck, newKCV); err != nil {
		return n, fmt.Errorf("secret: rotate: keys re-encrypted but check value not updated (run again): %w", err)
	}
	return n, nil
}
