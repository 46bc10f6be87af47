package gateway

import (
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/schema"
)

// TestCutUsage: an answer cut after it began is charged the prompt and the output relayed, never nothing.
func TestCutUsage(t *testing.T) {
	body := []byte(`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"` + strings.Repeat("x", 396) + `"}]}`)
	chat := &Request{Body: body}
	tests := []struct {
		name string
		req  *Request
		out  Outcome
		want schema.Usage
	}{
		{"no usage report: prompt estimate and counted text", chat, Outcome{Text: 400},
			schema.Usage{PromptTokens: 118, CompletionTokens: 100, TotalTokens: 218}},
		{"nothing relayed yet: the prompt", chat, Outcome{}, schema.Usage{PromptTokens: 118, TotalTokens: 118}},
		{"Anthropic's message_start: its prompt, the counted output", chat,
			Outcome{Usage: schema.Usage{PromptTokens: 7, CompletionTokens: 1, TotalTokens: 8}, Text: 41},
			schema.Usage{PromptTokens: 7, CompletionTokens: 11, TotalTokens: 18}},
		{"a full report stands", chat, Outcome{Usage: schema.Usage{PromptTokens: 7, CompletionTokens: 90, TotalTokens: 97}, Text: 40},
			schema.Usage{PromptTokens: 7, CompletionTokens: 90, TotalTokens: 97}},
	}
	for _, tc := range tests {
		if got := cutUsage(tc.req.Body, &tc.out); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
