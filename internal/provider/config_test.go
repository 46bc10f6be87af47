package provider_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/provider"
	_ "github.com/weir-gateway/weir/internal/provider/anthropic"
	_ "github.com/weir-gateway/weir/internal/provider/bedrock"
	_ "github.com/weir-gateway/weir/internal/provider/cohere"
	_ "github.com/weir-gateway/weir/internal/provider/gemini"
	_ "github.com/weir-gateway/weir/internal/provider/mock"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	_ "github.com/weir-gateway/weir/internal/provider/vertex"
)

// doc is the part of a config file internal/config hands to provider entries.
type doc struct {
	Providers []provider.Config `yaml:"providers"`
}

func parse(t *testing.T, src string) (*doc, confkit.Problems) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatal(err)
	}
	if ps := confkit.Check(root.Content[0], reflect.TypeFor[doc]()); len(ps) > 0 {
		return nil, ps
	}
	var d doc
	if err := root.Content[0].Decode(&d); err != nil {
		t.Fatal(err)
	}
	return &d, nil
}

// Each type accepts its own settings and refuses every other field, at its path.
func TestSettingsAreTheTypes(t *testing.T) {
	const good = `
providers:
  - {name: a, type: anthropic, api_version: "2023-06-01", keys: [{value: k}]}
  - {name: b, type: bedrock, region: us-east-1, access_key_id: AKID, secret_access_key: s, session_token: t}
  - {name: c, type: cohere, keys: [{value: k}]}
  - {name: g, type: gemini, api_version: v1, keys: [{value: k}]}
  - {name: m, type: mock, mock: {latency: 10ms, chunks: 2, chunk_delay: 1ms}}
  - {name: o, type: openai, endpoints: [chat]}
  - {name: z, type: azure, base_url: "https://x.openai.azure.com", api_version: "2025-04-01-preview", deployments: {gpt-4o: prod}, keys: [{value: k}]}
`
	d, ps := parse(t, good)
	if ps != nil {
		t.Fatal(ps)
	}
	for i, c := range d.Providers {
		if _, err := provider.Build(i, c); err != nil {
			t.Errorf("providers[%d] (%s): %v", i, c.Type, err)
		}
	}
	if b := d.Providers[1]; b.Name != "b" || b.Settings == nil || len(b.Settings.Content) != 8 {
		t.Fatalf("bedrock entry %+v: the shared fields decode into Common, the rest stays for the type", b)
	}

	const bad = `
providers:
  - {name: a, type: anthropic, region: us-east-1, keys: [{value: k}]}
  - {name: b, type: bedrock, region: us-east-1, project: p, credentials_file: f, api_version: v1, deployments: {}}
  - {name: c, type: cohere, api_version: v1}
  - {name: g, type: gemini, project: p}
  - {name: m, type: mock, mock: {latency: soon, colour: red}}
  - {name: o, type: groq, api_version: "1", deployments: {a: b}, mock: {}}
  - {name: v, type: vertex, region: us-central1, access_key_id: A}
  - {name: x, type: nosuchtype, bogus_field: 1, timeout: 1s}
  - {name: k, type: cohere, keys: [{value: k, wieght: 2}], bogus: 1, timeout: later}
`
	_, ps = parse(t, bad)
	want := []string{
		"providers[0].region: unknown field",
		"providers[1].project: unknown field",
		"providers[1].credentials_file: unknown field",
		"providers[1].api_version: unknown field",
		"providers[1].deployments: unknown field",
		"providers[2].api_version: unknown field",
		"providers[3].project: unknown field",
		`providers[4].mock.latency: "soon" is not a duration (use e.g. 500ms, 30s, 5m)`,
		"providers[4].mock.colour: unknown field",
		"providers[5].api_version: unknown field",
		"providers[5].deployments: unknown field",
		"providers[5].mock: unknown field",
		"providers[6].access_key_id: unknown field",
		`providers[7].type: unknown provider type "nosuchtype" (known: [anthropic azure bedrock cerebras cohere deepseek fireworks gemini groq mistral mock ollama openai openrouter perplexity together vertex vllm xai])`,
		"providers[7].bogus_field: unknown field",
		// In the order written, shared fields and settings alike.
		"providers[8].keys[0].wieght: unknown field",
		"providers[8].bogus: unknown field",
		`providers[8].timeout: "later" is not a duration (use e.g. 500ms, 30s, 5m)`,
	}
	if got := ps.Error(); got != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// Build decodes the settings strictly too, for entries made without the document check (tests, the default).
func TestBuildChecksSettings(t *testing.T) {
	settings := &yaml.Node{}
	if err := yaml.Unmarshal([]byte("{region: eu-west-1}"), settings); err != nil {
		t.Fatal(err)
	}
	c := provider.Config{Common: provider.Common{Name: "a", Type: "anthropic", Keys: []provider.KeyConfig{{Value: "k"}}},
		Settings: settings.Content[0]}
	_, err := provider.Build(3, c)
	var ps confkit.Problems
	if !errors.As(err, &ps) || ps.Error() != "providers[3].region: unknown field" {
		t.Fatalf("got %v", err)
	}
	// No settings at all (the zero-config default's entries) is every setting unset.
	if _, err := provider.Build(0, provider.Config{Common: provider.Common{Name: "m", Type: "mock"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Build(1, provider.Config{Common: provider.Common{Name: "n", Type: "nope"}}); err == nil ||
		!strings.HasPrefix(err.Error(), `providers[1].type: unknown provider type "nope" (known: [anthropic azure bedrock`) {
		t.Fatalf("unknown type: %v", err)
	}
}

// An entry is written back as one mapping, so `config` output reads like the file.
func TestConfigMarshal(t *testing.T) {
	d, ps := parse(t, "providers:\n  - {name: b, type: bedrock, region: us-east-1, timeout: 2s}\n")
	if ps != nil {
		t.Fatal(ps)
	}
	out, err := yaml.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"name: b\n", "type: bedrock\n", "timeout: 2s\n", "region: us-east-1\n"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("marshalled %q lacks %q", out, w)
		}
	}
	again, ps := parse(t, string(out))
	if ps != nil || again.Providers[0].Timeout != d.Providers[0].Timeout || again.Providers[0].Settings.Content[1].Value != "us-east-1" {
		t.Fatalf("round trip: %+v %v", again, ps)
	}
}
