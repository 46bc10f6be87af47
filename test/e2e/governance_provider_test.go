package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// providerLimitGateway runs two mock upstreams behind providers "primary" and "secondary", and the alias
// "smart" that tries primary first (secondary has weight 0: a standby) without retries, with the given
// governance section.
func providerLimitGateway(t *testing.T, primaryOpts mockupstream.Options, governance string) (primary, secondary *mockupstream.Server, g *gateway) {
	t.Helper()
	primary, pURL := startUpstream(t, primaryOpts)
	secondary, sURL := startUpstream(t, mockupstream.Options{})
	g = startGateway(t, fmt.Sprintf(`
server:
  data_dir: %s
providers:
  - {name: primary, type: openai, base_url: %s/v1, keys: [{value: k}], timeout: 5s}
  - {name: secondary, type: openai, base_url: %s/v1, keys: [{value: k}], timeout: 5s}
models:
  - name: smart
    targets:
      - {provider: primary, model: mock-model, weight: 1}
      - {provider: secondary, model: mock-model, weight: 0}
    retries: {max: 0}
%s`, t.TempDir(), pURL, sURL, governance))
	return primary, secondary, g
}

// TestGovernanceProviderRPMSkipsTarget: requests without a virtual key through an alias; once the first
// target's provider is at its rpm the second serves (200), and once both are, the caller gets a 429 naming both
// providers and their limits, with Retry-After.
func TestGovernanceProviderRPMSkipsTarget(t *testing.T) {
	primary, secondary, g := providerLimitGateway(t, mockupstream.Options{}, `
governance:
  providers:
    - { name: primary, rate_limits: { rpm: 2 } }
    - { name: secondary, rate_limits: { rpm: 3 }, budget: { max_usd: 500, reset: 1M } }
`)
	c := client(g)
	for i, want := range []string{"primary", "primary", "secondary", "secondary", "secondary"} {
		resp, err := chatOnce(c, "smart")
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if got := resp.Header.Get("X-Weir-Provider"); got != want {
			t.Fatalf("request %d answered by %q, want %q", i+1, got, want)
		}
	}
	_, err := chatOnce(c, "smart")
	code, e := apiStatus(t, err)
	if code != 429 || e.Code != "rate_limit_exceeded" || !strings.Contains(e.Message, "provider primary: rpm 2") ||
		!strings.Contains(e.Message, "provider secondary: rpm 3") {
		t.Fatalf("both over: %d %v", code, err)
	}
	if h := e.Response.Header; h.Get("Retry-After") == "" || h.Get("x-ratelimit-limit-requests") != "3" || h.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("429 headers: %v", h)
	}
	if p, s := chatHits(primary), chatHits(secondary); p != 2 || s != 3 {
		t.Fatalf("upstream hits: primary %d, secondary %d; want 2 and 3", p, s)
	}

	// The admin API shows the provider levels (loopback, no admin token configured).
	code, m := adminCall(t, g, "GET", "/api/usage?provider=secondary", "", "")
	if code != 200 {
		t.Fatalf("usage: %d %v", code, m)
	}
	seen := map[string]map[string]any{}
	for _, u := range m["usage"].([]any) {
		u := u.(map[string]any)
		seen[u["metric"].(string)] = u
	}
	if seen["rpm"] == nil || seen["rpm"]["used"] != 3.0 {
		t.Fatalf("secondary rpm usage: %v", m)
	}
	if sp := seen["spend/1M"]; sp == nil || sp["spent_usd"] == nil || sp["spent_usd"] == 0.0 {
		t.Fatalf("secondary spend: %v", m)
	}
}

// TestGovernanceProviderBudgetSkipsTarget: a keyed caller (virtual key as the SDK's api_key) through an alias;
// the first target's provider crosses its $ budget with one answer, so the next requests (streaming included)
// are served by the second target, and the key is charged for them as usual.
func TestGovernanceProviderBudgetSkipsTarget(t *testing.T) {
	// 2000 completion tokens × $0.000002 = $0.004 an answer, over a $0.001 budget after the first; max_tokens 1
	// keeps the first estimate inside it.
	primary, secondary, g := providerLimitGateway(t, mockupstream.Options{Chunks: 1000}, `
client:
  enforce_governance_header: true
governance:
  providers:
    - { name: primary, budget: { max_usd: 0.001, reset: 1d } }
  virtual_keys:
    - { id: app, value: `+vk(40)+`, models: [smart], budget: { max_usd: 10, reset: 1d } }
`)
	c := client(g, option.WithAPIKey(vk(40)))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "smart", MaxTokens: openai.Int(1),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}
	var first *http.Response
	if _, err := c.Chat.Completions.New(ctx, params, option.WithResponseInto(&first)); err != nil {
		t.Fatalf("first request: %v", err)
	}
	if got := first.Header.Get("X-Weir-Provider"); got != "primary" {
		t.Fatalf("first request answered by %q", got)
	}
	var second *http.Response
	if _, err := c.Chat.Completions.New(ctx, params, option.WithResponseInto(&second)); err != nil {
		t.Fatalf("second request: %v", err)
	}
	if got := second.Header.Get("X-Weir-Provider"); got != "secondary" {
		t.Fatalf("second request answered by %q", got)
	}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n == 0 {
		t.Fatalf("stream: %d chunks, %v", n, err)
	}
	if p, s := chatHits(primary), chatHits(secondary); p != 1 || s != 2 {
		t.Fatalf("upstream hits: primary %d, secondary %d; want 1 and 2", p, s)
	}

	code, m := adminCall(t, g, "GET", "/api/usage?provider=primary", "", "")
	if code != 200 {
		t.Fatalf("usage: %d %v", code, m)
	}
	raw, _ := json.Marshal(m)
	u := m["usage"].([]any)[0].(map[string]any)
	if u["metric"] != "spend/1d" || u["remaining_usd"] != 0.0 || u["spent_usd"].(float64) < 0.004 {
		t.Fatalf("primary spend: %s", raw)
	}
	// The key paid for all three answers.
	ku := usageOf(t, g, "app", "")
	if s := ku["key:app spend/1d"]; s == nil || s["spent_usd"].(float64) < 0.004 {
		t.Fatalf("key spend: %v", ku)
	}
}
