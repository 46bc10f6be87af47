package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/catalog"
	"github.com/weir-gateway/weir/internal/liveproviders"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	"github.com/weir-gateway/weir/internal/secret"
)

// newLiveFixture is the admin API over a real engine, with a configured provider "cfg" behind the alias "smart",
// and stored providers routed by a liveproviders source on the fixture's store.
func newLiveFixture(t *testing.T) *adminFixture {
	t.Helper()
	c, err := secret.ParseKey(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
providers:
  - {name: cfg, type: openai, base_url: "http://127.0.0.1:1/v1", models: [m1], keys: [{value: sk-config-key-9fQz}]}
models:
  - {name: smart, targets: [{provider: cfg, model: m1, weight: 3}], fallbacks: [cfg/m2]}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	eng, err := gateway.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	f := newAdminFixtureWith(t, Config{Cipher: c, Engine: eng, Models: catalog.New(eng).List})
	live := liveproviders.New(f.st, c, eng, slog.New(slog.DiscardHandler))
	if err := live.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.a.c.Live = live
	return f
}

func TestAdminConfiguredProvidersAreReadOnly(t *testing.T) {
	f := newLiveFixture(t)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/providers", `{"name":"cfg","type":"openai","config":{"base_url":"http://127.0.0.1:2/v1"}}`},
		{"PUT", "/api/providers/cfg", `{"type":"openai","config":{"base_url":"http://127.0.0.1:2/v1"}}`},
		{"DELETE", "/api/providers/cfg", ""},
	} {
		code, m, raw := f.do(r.method, r.path, "", r.body)
		if e, _ := m["error"].(map[string]any); code != 409 || e["code"] != "provider_configured" {
			t.Errorf("%s %s: %d %s", r.method, r.path, code, raw)
		}
	}
	if _, err := f.st.Providers().Get(context.Background(), "cfg"); err == nil {
		t.Error("a provider named like a configured one was stored")
	}
}

func TestAdminRefusesAProviderThatCannotServe(t *testing.T) {
	f := newLiveFixture(t)
	tests := []struct{ body, param string }{
		{`{"name":"x","type":"openai","config":{"base_url":"ftp://nowhere"}}`, "config.base_url"},
		{`{"name":"x","type":"openai","config":{"base_url":"http://127.0.0.1:2/v1","colour":"red"}}`, "config.colour"},
		{`{"name":"x","type":"no-such-type"}`, "type"},
	}
	for _, tt := range tests {
		code, m, raw := f.do("POST", "/api/providers", "", tt.body)
		if p, _ := errParam(m); code != 400 || p != tt.param {
			t.Errorf("%s: %d %s, want 400 at %s", tt.body, code, raw, tt.param)
		}
	}
	if list, _ := f.st.Providers().List(context.Background()); len(list) != 0 {
		t.Errorf("stored anyway: %v", list)
	}
}

// wireList decodes GET /api/providers.
func wireList(t *testing.T, raw string) map[string][]wireProvider {
	t.Helper()
	var l struct{ Data []wireProvider }
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatal(err)
	}
	out := map[string][]wireProvider{}
	for _, p := range l.Data {
		out[p.Name] = append(out[p.Name], p)
	}
	return out
}

func TestAdminListsEveryProviderWithItsState(t *testing.T) {
	f := newLiveFixture(t)
	if code, _, raw := f.do("POST", "/api/providers", "", `{"name":"eu","type":"openai","config":{"base_url":"http://127.0.0.1:2/v1"},
		"keys":[{"id":"main","value":"sk-stored-abcd"}]}`); code != 201 || !strings.Contains(raw, `"status":"active"`) || !strings.Contains(raw, `"masked":"…abcd"`) {
		t.Fatalf("create: %d %s", code, raw)
	}
	_, _, raw := f.do("GET", "/api/providers", "", "")
	if strings.Contains(raw, "sk-stored") || strings.Contains(raw, "sk-config") {
		t.Fatalf("a key leaks: %s", raw)
	}
	got := wireList(t, raw)
	tests := []struct{ name, source, masked string }{
		{"cfg", sourceConfig, "…9fQz"},
		{"eu", sourceAPI, "…abcd"},
	}
	for _, tt := range tests {
		ps := got[tt.name]
		if len(ps) != 1 {
			t.Fatalf("%s listed %d times in %s", tt.name, len(ps), raw)
		}
		p := ps[0]
		if p.Source != tt.source || p.Status != "active" || len(p.Keys) != 1 || p.Keys[0].Masked != tt.masked {
			t.Errorf("%s: %+v", tt.name, p)
		}
		if p.Health == nil || p.Health.State != "closed" || p.Pool == nil || p.Pool.Concurrency == 0 || p.Usage == nil {
			t.Errorf("%s: no live figures: %s", tt.name, raw)
		}
	}
	code, _, one := f.do("GET", "/api/providers/cfg", "", "")
	if code != 200 || !strings.Contains(one, `"source":"config"`) || !strings.Contains(one, `"base_url":"http://127.0.0.1:1/v1"`) {
		t.Errorf("GET /api/providers/cfg: %d %s", code, one)
	}
	if code, _, _ := f.do("DELETE", "/api/providers/eu", "", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if _, _, raw := f.do("GET", "/api/providers", "", ""); wireList(t, raw)["eu"] != nil {
		t.Errorf("still listed after delete: %s", raw)
	}
}

func TestAdminModels(t *testing.T) {
	f := newLiveFixture(t)
	code, _, raw := f.do("GET", "/api/models", "", "")
	var got struct {
		Aliases []wireAlias
		Models  []wireModel
	}
	if err := json.Unmarshal([]byte(raw), &got); code != 200 || err != nil {
		t.Fatalf("%d %s %v", code, raw, err)
	}
	if len(got.Aliases) != 1 {
		t.Fatalf("aliases: %s", raw)
	}
	a := got.Aliases[0]
	if a.Name != "smart" || a.Strategy != "weighted" || len(a.Targets) != 1 || a.Targets[0] != (wireAliasTarget{"cfg", "m1", 3, "closed"}) ||
		len(a.Fallbacks) != 1 || a.Fallbacks[0] != "cfg/m2" {
		t.Errorf("alias: %+v", a)
	}
	if len(got.Models) != 1 || got.Models[0] != (wireModel{"cfg/m1", "cfg", sourceConfig}) {
		t.Errorf("models: %+v", got.Models)
	}
}
