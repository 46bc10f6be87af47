package provider

import (
	"math"
	"strings"
	"testing"
)

func TestKeySetPick(t *testing.T) {
	ks := NewKeySet([]KeyConfig{
		{Value: "sk-aaaa1111", Weight: 3},
		{Value: "", Weight: 5}, // an unset ${VAR}: skipped
		{Value: "sk-bbbb2222", Weight: 1, Models: []string{"gpt-4o-mini"}},
	})
	if ks.Len() != 2 {
		t.Fatalf("len %d, want 2 (the empty key is skipped)", ks.Len())
	}
	const n = 200_000
	counts := map[string]int{}
	for range n {
		counts[ks.Pick("gpt-4o-mini").Value]++
	}
	// 3:1 among the keys allowed for gpt-4o-mini
	if share := float64(counts["sk-aaaa1111"]) / n; math.Abs(share-0.75) > 0.01 {
		t.Fatalf("weighted share %.3f, want 0.75±0.01 (%v)", share, counts)
	}
	// only the unrestricted key may serve another model
	for range 1000 {
		if k := ks.Pick("gpt-4o"); k == nil || k.Value != "sk-aaaa1111" {
			t.Fatalf("gpt-4o picked %+v", k)
		}
	}
	if h := ks.Pick("gpt-4o").Hint; h != "…1111" {
		t.Fatalf("hint %q: only the last four characters may be logged", h)
	}
}

func TestKeySetNoneAllowed(t *testing.T) {
	ks := NewKeySet([]KeyConfig{{Value: "k1", Models: []string{"a"}}})
	if ks.Pick("b") != nil {
		t.Fatal("a key restricted to model a served model b")
	}
	if NewKeySet(nil).Pick("x") != nil {
		t.Fatal("an empty key set picked a key")
	}
}

func BenchmarkKeySetPick(b *testing.B) {
	ks := NewKeySet([]KeyConfig{{Value: "a", Weight: 3}, {Value: "b", Weight: 1}})
	b.ReportAllocs()
	for b.Loop() {
		_ = ks.Pick("m")
	}
}

func TestKeyID(t *testing.T) {
	ks := NewKeySet([]KeyConfig{{Value: "sk-first-secret-value"}, {Value: ""}, {Value: "sk-second-secret-value", Weight: 2}})
	a, b := ks.keys[0], ks.keys[1]
	// sha256("sk-first-secret-value"), first 12 hex characters: stable across restarts and key order.
	if want := KeyID("sk-first-secret-value"); a.ID != want || len(a.ID) != 12 {
		t.Fatalf("ID %q, want %q (12 hex characters)", a.ID, want)
	}
	if a.ID != "fafda79c61d4" {
		t.Fatalf("ID %q changed: remembered objects would lose their key", a.ID)
	}
	if a.ID == b.ID || strings.Contains(a.Value, a.ID) || strings.Contains(a.ID, "secret") {
		t.Fatalf("IDs %q %q must differ and not reveal the value", a.ID, b.ID)
	}
	reordered := NewKeySet([]KeyConfig{{Value: "sk-second-secret-value"}, {Value: "sk-first-secret-value"}})
	for _, id := range []string{a.ID, b.ID} {
		k1, k2 := ks.ByID(id), reordered.ByID(id)
		if k1 == nil || k2 == nil || k1.Value != k2.Value {
			t.Fatalf("ByID(%s) = %+v / %+v", id, k1, k2)
		}
	}
	if k := ks.ByID(b.ID); k == nil || k.Weight != 2 || k != &ks.keys[1] {
		t.Fatalf("ByID returned %+v, want the set's own key", k)
	}
	// A key removed from the configuration is not found; nor is "" (a provider without keys).
	removed := NewKeySet([]KeyConfig{{Value: "sk-second-secret-value"}})
	if removed.ByID(a.ID) != nil || ks.ByID("") != nil || NewKeySet(nil).ByID(a.ID) != nil {
		t.Fatal("ByID found a key that is not in the set")
	}
	if ks.Pick("m").ID == "" {
		t.Fatal("picked key has no ID")
	}
}
