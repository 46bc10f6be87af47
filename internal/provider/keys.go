package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"slices"
)

// Key is one upstream API key with its share of traffic and optional model restriction.
type Key struct {
	Value  string
	Weight int
	Models []string // empty: every model
	// Hint is the key's last four characters, the only part ever logged.
	Hint string
	// ID names the key stably without revealing it: the first 12 hex characters of the SHA-256 of its value. It
	// survives restarts and reordering, so a remembered upstream object can be sent back with the key that made it.
	ID string
}

// KeyID returns the ID of a key value: the first 12 hex characters of its SHA-256.
func KeyID(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:6])
}

// Allows reports whether the key may be used for model.
func (k *Key) Allows(model string) bool {
	return len(k.Models) == 0 || slices.Contains(k.Models, model)
}

// KeySet chooses among a provider's keys by weight. It is immutable after construction, so Pick needs no lock.
type KeySet struct {
	keys       []Key
	total      int
	restricted bool // some key has a model list: Pick must filter
}

// NewKeySet builds a KeySet from configured keys, skipping empty values (an unset ${VAR}).
func NewKeySet(cfg []KeyConfig) *KeySet {
	ks := &KeySet{}
	for _, k := range cfg {
		if k.Value == "" {
			continue
		}
		w := k.Weight
		if w <= 0 {
			w = 1
		}
		ks.keys = append(ks.keys, Key{Value: k.Value, Weight: w, Models: k.Models, Hint: MaskKey(k.Value), ID: KeyID(k.Value)})
		ks.total += w
		ks.restricted = ks.restricted || len(k.Models) > 0
	}
	return ks
}

// ByID returns the key whose ID is id, or nil (e.g. the key was removed from the configuration).
func (ks *KeySet) ByID(id string) *Key {
	if id == "" {
		return nil
	}
	for i := range ks.keys {
		if ks.keys[i].ID == id {
			return &ks.keys[i]
		}
	}
	return nil
}

// Keys lists the usable keys, in configured order. The slice is the set's own: do not change it.
func (ks *KeySet) Keys() []Key { return ks.keys }

// Len is the number of usable keys.
func (ks *KeySet) Len() int { return len(ks.keys) }

// Pick returns a key allowed for model, chosen at random in proportion to weight; nil when none allows it.
func (ks *KeySet) Pick(model string) *Key {
	switch {
	case len(ks.keys) == 0:
		return nil
	case len(ks.keys) == 1:
		if ks.keys[0].Allows(model) {
			return &ks.keys[0]
		}
		return nil
	case !ks.restricted:
		n := rand.IntN(ks.total)
		for i := range ks.keys {
			if n -= ks.keys[i].Weight; n < 0 {
				return &ks.keys[i]
			}
		}
	}
	total := 0
	for i := range ks.keys {
		if ks.keys[i].Allows(model) {
			total += ks.keys[i].Weight
		}
	}
	if total == 0 {
		return nil
	}
	n := rand.IntN(total)
	for i := range ks.keys {
		if !ks.keys[i].Allows(model) {
			continue
		}
		if n -= ks.keys[i].Weight; n < 0 {
			return &ks.keys[i]
		}
	}
	return nil
}

// MaskKey is what may be shown of a key: its last four characters ("…" alone for a key of four or fewer).
func MaskKey(v string) string {
	if len(v) <= 4 {
		return "…"
	}
	return "…" + v[len(v)-4:]
}

// HintOf is k's hint for the request log, "" when a call used no key.
func HintOf(k *Key) string {
	if k == nil {
		return ""
	}
	return k.Hint
}
