package pricing

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/weir-gateway/weir/internal/schema"
)

func TestParseUSD(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
	}{
		{"0", 0},
		{"1", USD},
		{"0.01", Cent},
		{"1.5e-07", 150},
		{"2.5e-6", 2500},
		{"0.0000000004", 0}, // rounds half up: 0.4 nano -> 0
		{"0.0000000005", 1},
		{"100", 100 * USD},
	} {
		got, err := ParseUSD(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseUSD(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if _, err := ParseUSD("-1"); err == nil {
		t.Error("negative accepted")
	}
	if FromUSD(0.01) != Cent || FromUSD(0.1) != 100*MicroUSD*1000 || FromUSD(100) != 100*USD {
		t.Errorf("FromUSD: %d %d %d", FromUSD(0.01), FromUSD(0.1), FromUSD(100))
	}
	if s := Money(150).String(); s != "$0.00000015" {
		t.Errorf("String = %s", s)
	}
}

func TestLookup(t *testing.T) {
	tb := Builtin()
	for _, tc := range []struct{ in, key string }{
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"openai/gpt-4o-mini", "gpt-4o-mini"},
		{"OpenAI/GPT-4o-mini", "gpt-4o-mini"},
		{"anthropic/claude-sonnet-4-20250514", "claude-sonnet-4-20250514"},
		{"gemini/gemini-2.5-flash", "gemini/gemini-2.5-flash"},
		{"google/gemini-2.5-flash", "gemini/gemini-2.5-flash"},
		{"gemini-2.5-flash", "gemini/gemini-2.5-flash"},
		{"groq/llama-3.1-8b-instant", "groq/llama-3.1-8b-instant"},
		{"bedrock/amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0"},
		{"cohere/command-r", "command-r"},
		{"deepseek/deepseek-chat", "deepseek/deepseek-chat"},
		{"xai/grok-3-mini", "xai/grok-3-mini"},
		{"mistral/mistral-small-latest", "mistral/mistral-small-latest"},
		{"mock/mock-model", "mock-model"},
		{"my-mock-instance/echo", "echo"},
	} {
		p, ok := tb.Lookup(tc.in)
		if !ok || p.Key != tc.key {
			got := "<none>"
			if ok {
				got = p.Key
			}
			t.Errorf("Lookup(%q) = %s, want %s", tc.in, got, tc.key)
		}
	}
	if _, ok := tb.Lookup("no-such-model"); ok {
		t.Error("unknown model found")
	}
}

func TestCost(t *testing.T) {
	tb := Builtin()
	for _, tc := range []struct {
		model string
		u     schema.Usage
		want  Money
	}{
		// 1000 in * 150 nano + 500 out * 600 nano = 150,000 + 300,000
		{"gpt-4o-mini", schema.Usage{PromptTokens: 1000, CompletionTokens: 500}, 450_000},
		// 400 cached at 75 nano + 600 fresh at 150 nano
		{"gpt-4o-mini", schema.Usage{PromptTokens: 1000, CachedTokens: 400}, 30_000 + 90_000},
		// 7.5 nano/token cached rate is fractional: 1 token rounds to 8 (half up), 2 tokens exactly 15
		{"gemini-2.0-flash-lite", schema.Usage{PromptTokens: 1}, 75},
		{"amazon.nova-micro-v1:0", schema.Usage{PromptTokens: 1, CachedTokens: 1}, 9},
		{"amazon.nova-micro-v1:0", schema.Usage{PromptTokens: 2, CachedTokens: 2}, 18},
		{"unknown", schema.Usage{PromptTokens: 1000}, 0},
		{"mock-model", schema.Usage{PromptTokens: 10, CompletionTokens: 20}, 10*1000 + 20*2000},
	} {
		if got := tb.Cost(tc.model, tc.u); got != tc.want {
			t.Errorf("Cost(%s, %+v) = %d, want %d", tc.model, tc.u, got, tc.want)
		}
	}
}

// A million small charges must sum exactly: integer nano-dollars, not float64.
func TestMillionChargesSumExactly(t *testing.T) {
	tb := Builtin()
	u := schema.Usage{PromptTokens: 7, CompletionTokens: 3}
	one := tb.Cost("gpt-4o-mini", u) // 7*150 + 3*600 = 2850 nano
	if one != 2850 {
		t.Fatalf("one charge = %d", one)
	}
	var total Money
	var f float64
	for range 1_000_000 {
		total += tb.Cost("gpt-4o-mini", u)
		f += one.USDFloat()
	}
	if total != 2850*1_000_000 || total.String() != "$2.85" {
		t.Fatalf("total = %d (%s)", total, total)
	}
	if f == 2.85 {
		t.Log("float64 happened to be exact this time")
	} else {
		t.Logf("float64 accumulation drifted to %.17g (why Money is an integer)", f)
	}
}

func TestLoadOverride(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	if err := os.WriteFile(path, []byte(`{
	  "gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "mode": "chat"},
	  "acme/house-model": {"litellm_provider": "acme", "input_cost_per_token": 0.000003, "output_cost_per_token": 0.000004}
	}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := NewRegistry()
	if err := r.Load(path); err != nil {
		t.Fatal(err)
	}
	if got := r.Cost("openai/gpt-4o-mini", schema.Usage{PromptTokens: 1}); got != 1000 {
		t.Errorf("override not applied: %d", got)
	}
	// No cache rate in the override: cached tokens bill at the input rate.
	if got := r.Cost("gpt-4o-mini", schema.Usage{PromptTokens: 1, CachedTokens: 1}); got != 1000 {
		t.Errorf("cache fallback: %d", got)
	}
	if got := r.Cost("acme/house-model", schema.Usage{CompletionTokens: 2}); got != 8000 {
		t.Errorf("new model: %d", got)
	}
	if _, ok := r.Lookup("claude-3-5-haiku-20241022"); !ok {
		t.Error("built-ins lost after merge")
	}
	if err := os.WriteFile(path, []byte(`{"x": {"input_cost_per_token": "abc"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Load(path); err == nil {
		t.Error("bad file accepted")
	}
	if r.Table().Len() != Builtin().Len()+1 {
		t.Error("failed load replaced the table")
	}
}

func TestUnitPrices(t *testing.T) {
	tab := Builtin()
	cases := []struct {
		model string
		u     schema.Usage
		want  Money
	}{
		{"openai/dall-e-3", schema.Usage{Images: 2}, FromUSD(0.08)},
		{"whisper-1", schema.Usage{AudioMillis: 61_500}, FromUSD(0.00615)},
		{"tts-1", schema.Usage{Characters: 1000}, FromUSD(0.015)},
		{"cohere/rerank-v3.5", schema.Usage{Queries: 3}, FromUSD(0.006)},
		{"gpt-image-1", schema.Usage{PromptTokens: 100, CompletionTokens: 1000, Images: 1}, FromUSD(0.0405)},
	}
	for _, c := range cases {
		p, ok := tab.Lookup(c.model)
		if !ok {
			t.Fatalf("%s: no price", c.model)
		}
		if got := p.Cost(c.u); got != c.want {
			t.Errorf("%s %+v: %s, want %s", c.model, c.u, got, c.want)
		}
	}
	over, err := Parse([]byte(`{"my-tts": {"litellm_provider": "openai", "input_cost_per_character": "bad"}}`))
	if err == nil {
		t.Fatalf("a bad unit price parsed: %+v", over)
	}
}

// TestCostSaturatesWithoutWrapping: a usage so large that its price saturates stays at the top of the range;
// rounding it to nano-dollars must not wrap it negative (admission would then reserve nothing).
func TestCostSaturatesWithoutWrapping(t *testing.T) {
	p := &Price{InputPico: 150_000, OutputPico: 600_000}
	prev := Money(0)
	for _, n := range []int64{1, 1 << 20, 1 << 40, math.MaxInt64 / 600_000, math.MaxInt64 / 2, math.MaxInt64} {
		c := p.Cost(schema.Usage{PromptTokens: 10, CompletionTokens: n})
		if c < prev {
			t.Fatalf("cost of %d completion tokens is %d, below a smaller usage's %d", n, c, prev)
		}
		prev = c
	}
	if prev != MaxMoney {
		t.Errorf("saturated cost %d, want MaxMoney", prev)
	}
}
