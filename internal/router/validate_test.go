package router

import (
	"slices"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := ModelConfig{Name: "ok", Targets: []Target{{Provider: "openai", Model: "gpt-4o"}}}
	tests := []struct {
		name   string
		models []ModelConfig
		want   []string
	}{
		{"valid", testModels(), nil},
		{"fallback-only alias", []ModelConfig{ok, {Name: "alias", Fallbacks: []string{"ok"}}}, nil},
		{
			"targets",
			[]ModelConfig{{Name: "a", Targets: []Target{
				{Provider: "openai", Model: "gpt-4o"},
				{Provider: "x", Model: "m", Weight: -1},
				{Model: "m"},
				{Provider: "openai"},
				{Provider: "openai", Model: "gpt-4o"},
			}}},
			[]string{
				`models[0].targets[1].provider: unknown provider "x"`,
				`models[0].targets[1].weight: must not be negative, got -1`,
				`models[0].targets[2].provider: required`,
				`models[0].targets[3].model: required`,
				`models[0].targets[4]: duplicate target "openai/gpt-4o" (also targets[0])`,
			},
		},
		{
			"names and strategy",
			[]ModelConfig{ok, ok, {Targets: ok.Targets, Strategy: "fastest"}, {Name: "empty"}},
			[]string{
				`models[1].name: duplicate model "ok" (also models[0])`,
				`models[2].name: required`,
				`models[2].strategy: unknown strategy "fastest" (want weighted, least-busy, lowest-latency or round-robin)`,
				`models[3].targets: at least one target (or a fallback) required`,
			},
		},
		{
			"fallbacks",
			[]ModelConfig{{Name: "a", Targets: ok.Targets, Fallbacks: []string{"ok-typo", "x/m", "openai/o3", "a"}}},
			[]string{
				`models[0].fallbacks[0]: unknown model "ok-typo" (want a configured model or "provider/model")`,
				`models[0].fallbacks[1]: unknown provider "x" in "x/m"`,
				`models[0].fallbacks[3]: fallback cycle a -> a`,
			},
		},
		{
			"longer cycle reported once",
			[]ModelConfig{
				{Name: "a", Targets: ok.Targets, Fallbacks: []string{"b"}},
				{Name: "b", Targets: ok.Targets, Fallbacks: []string{"c", "d"}},
				{Name: "c", Targets: ok.Targets, Fallbacks: []string{"a"}},
				{Name: "d", Targets: ok.Targets, Fallbacks: []string{"c"}}, // reaches the cycle, is not in it
			},
			[]string{`models[2].fallbacks[0]: fallback cycle a -> b -> c -> a`},
		},
		{
			"retries, timeout, cooldown",
			[]ModelConfig{{
				Name: "a", Targets: ok.Targets, Timeout: -time.Second,
				Retries:  &Retries{Max: -1, Backoff: time.Second, MaxBackoff: time.Millisecond},
				Cooldown: &BreakerConfig{Failures: -1, Ratio: 1.5, MinRequests: -2, Window: -time.Second, Duration: -time.Second},
			}},
			[]string{
				`models[0].retries.max: must not be negative, got -1`,
				`models[0].retries.max_backoff: 1ms is below backoff 1s`,
				`models[0].timeout: must not be negative, got -1s`,
				`models[0].cooldown.failures: must not be negative, got -1`,
				`models[0].cooldown.ratio: must be between 0 and 1, got 1.5`,
				`models[0].cooldown.min_requests: must not be negative, got -2`,
				`models[0].cooldown.window: must not be negative, got -1s`,
				`models[0].cooldown.duration: must not be negative, got -1s`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, err := range Validate(tt.models, providerOK) {
				got = append(got, err.Error())
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("errors:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestValidateNilProviderCheck(t *testing.T) {
	m := []ModelConfig{{Name: "a", Targets: []Target{{Provider: "anything", Model: "m"}}, Fallbacks: []string{"other/x"}}}
	if errs := Validate(m, nil); len(errs) != 0 {
		t.Fatalf("unexpected: %v", errs)
	}
}
