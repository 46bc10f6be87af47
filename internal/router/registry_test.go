package router

import "testing"

func TestRegistryForgetDropsOnlyTheProvidersDynamicTargets(t *testing.T) {
	reg := NewRegistry(nil)
	reg.Get("cfg", "m")        // named by an alias: kept
	reg.get("live", "a", true) // a caller's "provider/model"
	reg.get("live", "b", true)
	reg.get("lively", "a", true) // a longer name with the same prefix: kept
	reg.Forget("live")
	tests := []struct {
		provider, model string
		kept            bool
	}{
		{"cfg", "m", true},
		{"live", "a", false},
		{"live", "b", false},
		{"lively", "a", true},
	}
	for _, tt := range tests {
		if got := reg.Lookup(tt.provider, tt.model) != nil; got != tt.kept {
			t.Errorf("%s/%s kept = %v, want %v", tt.provider, tt.model, got, tt.kept)
		}
	}
	if got := reg.dynamic.Load(); got != 1 {
		t.Errorf("dynamic count = %d, want 1 (lively/a)", got)
	}
	if got := reg.SnapshotProvider("lively"); len(got) != 1 || got[0].Provider != "lively" || got[0].Model != "a" {
		t.Errorf("SnapshotProvider(lively) = %+v", got)
	}
}

func TestRegistryDynamicCapIsNotLeaked(t *testing.T) {
	reg := NewRegistry(nil)
	reg.dynamic.Store(maxDynamic)
	if reg.get("p", "over", true); reg.Lookup("p", "over") != nil || reg.dynamic.Load() != maxDynamic {
		t.Fatalf("a target beyond the cap was kept (count %d)", reg.dynamic.Load())
	}
}
