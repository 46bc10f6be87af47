package catalog

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
)

// TestRefreshWhenTheProviderSetChanges: a provider stored after the catalog's first refresh, configured without a model
// list, is listed with what its upstream lists without waiting for the ten-minute refresh; once removed, it is
// not listed.
func TestRefreshWhenTheProviderSetChanges(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"list","data":[{"id":"live-model","object":"model"}]}`))
	}))
	defer upstream.Close()
	noEnv := func(string) (string, bool) { return "", false }
	cfg, err := config.Parse([]byte("providers:\n  - {name: cfg, type: openai, base_url: \"http://127.0.0.1:1/v1\", models: [m1]}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := config.Parse([]byte("providers:\n  - {name: early, type: openai, base_url: \""+upstream.URL+"\"}\n"+
		"  - {name: live, type: openai, base_url: \""+upstream.URL+"\"}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	e, err := gateway.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if failed := e.SetStored(stored.Providers[:1]); len(failed) > 0 {
		t.Fatal(failed)
	}
	c := New(e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)

	ids := func() []string {
		var out []string
		for _, m := range c.List() {
			out = append(out, m.ID)
		}
		return out
	}
	waitFor := func(what string, ok func([]string) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(ids()); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: listed %v", what, ids())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Run's first refresh lists the provider stored before it started.
	waitFor("first refresh", func(l []string) bool { return slices.Equal(l, []string{"cfg/m1", "early/live-model"}) })
	if failed := e.SetStored(stored.Providers); len(failed) > 0 {
		t.Fatal(failed)
	}
	waitFor("after storing", func(l []string) bool { return slices.Contains(l, "live/live-model") })
	e.SetStored(stored.Providers[:1])
	waitFor("after removal", func(l []string) bool { return !slices.Contains(l, "live/live-model") })
}
