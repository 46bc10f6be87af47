package provider

import (
	"math"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
)

func TestKeySetPick(t *testing.T) {
	ks := NewKeySet([]config.Key{
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
	ks := NewKeySet([]config.Key{{Value: "k1", Models: []string{"a"}}})
	if ks.Pick("b") != nil {
		t.Fatal("a key restricted to model a served model b")
	}
	if NewKeySet(nil).Pick("x") != nil {
		t.Fatal("an empty key set picked a key")
	}
}

func BenchmarkKeySetPick(b *testing.B) {
	ks := NewKeySet([]config.Key{{Value: "a", Weight: 3}, {Value: "b", Weight: 1}})
	b.ReportAllocs()
	for b.Loop() {
		_ = ks.Pick("m")
	}
}
