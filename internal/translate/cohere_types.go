package translate

import (
	"encoding/json"

	"github.com/weir-gateway/weir/internal/schema"
)

// Cohere Chat v2 wire types. v2 deliberately mirrors OpenAI's messages and tools, so most fields copy across.

type cohereRequest struct {
	Model            string          `json:"model"`
	Messages         []cohereMessage `json:"messages"`
	Tools            []schema.Tool   `json:"tools,omitempty"`
	ToolChoice       string          `json:"tool_choice,omitempty"` // REQUIRED | NONE
	Stream           bool            `json:"stream,omitempty"`
	MaxTokens        int64           `json:"max_tokens,omitempty"`
	Temperature      *float64        `json:"temperature,omitempty"`
	P                *float64        `json:"p,omitempty"`
	K                *int64          `json:"k,omitempty"`
	StopSequences    []string        `json:"stop_sequences,omitempty"`
	Seed             *int64          `json:"seed,omitempty"`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty"`
	ResponseFormat   json.RawMessage `json:"response_format,omitempty"`
	Thinking         json.RawMessage `json:"thinking,omitempty"`
	Logprobs         bool            `json:"logprobs,omitempty"`
}

type cohereMessage struct {
	Role       string            `json:"role"`
	Content    json.RawMessage   `json:"content,omitempty"`
	ToolCalls  []schema.ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string            `json:"tool_call_id,omitempty"`
	ToolPlan   string            `json:"tool_plan,omitempty"`
}

type cohereResponse struct {
	ID           string `json:"id"`
	FinishReason string `json:"finish_reason"`
	Message      struct {
		Role    string `json:"role"`
		Content []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			Thinking string `json:"thinking"`
		} `json:"content"`
		ToolCalls []schema.ToolCall `json:"tool_calls"`
		ToolPlan  string            `json:"tool_plan"`
	} `json:"message"`
	Usage *cohereUsage `json:"usage"`
}

type cohereUsage struct {
	BilledUnits struct {
		InputTokens  float64 `json:"input_tokens"`
		OutputTokens float64 `json:"output_tokens"`
	} `json:"billed_units"`
	Tokens struct {
		InputTokens  float64 `json:"input_tokens"`
		OutputTokens float64 `json:"output_tokens"`
	} `json:"tokens"`
	CachedTokens float64 `json:"cached_tokens"`
}

// toUsage prefers the raw token counts; billed units (which leave out the chat template) are the fallback.
func (u *cohereUsage) toUsage() schema.Usage {
	if u == nil {
		return schema.Usage{}
	}
	in, out := int64(u.Tokens.InputTokens), int64(u.Tokens.OutputTokens)
	if in == 0 && out == 0 {
		in, out = int64(u.BilledUnits.InputTokens), int64(u.BilledUnits.OutputTokens)
	}
	return schema.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out, CachedTokens: int64(u.CachedTokens)}
}

func finishFromCohere(s string) string {
	switch s {
	case "MAX_TOKENS":
		return "length"
	case "TOOL_CALL":
		return "tool_calls"
	default: // COMPLETE, STOP_SEQUENCE, ERROR, TIMEOUT
		return "stop"
	}
}
