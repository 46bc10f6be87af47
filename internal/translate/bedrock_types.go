package translate

import (
	"encoding/json"

	"github.com/weir-gateway/weir/internal/schema"
)

// Bedrock Converse wire types.

type bedrockRequest struct {
	Messages                     []bedrockMessage   `json:"messages"`
	System                       []bedrockBlock     `json:"system,omitempty"`
	InferenceConfig              *bedrockInference  `json:"inferenceConfig,omitempty"`
	ToolConfig                   *bedrockToolConfig `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields json.RawMessage    `json:"additionalModelRequestFields,omitempty"`
}

type bedrockMessage struct {
	Role    string         `json:"role"`
	Content []bedrockBlock `json:"content"`
}

type bedrockBlock struct {
	Text             *string            `json:"text,omitempty"`
	Image            *bedrockMedia      `json:"image,omitempty"`
	Document         *bedrockMedia      `json:"document,omitempty"`
	ToolUse          *bedrockToolUse    `json:"toolUse,omitempty"`
	ToolResult       *bedrockToolResult `json:"toolResult,omitempty"`
	ReasoningContent *bedrockReasoning  `json:"reasoningContent,omitempty"`
}

type bedrockMedia struct {
	Format string        `json:"format"`
	Name   string        `json:"name,omitempty"`
	Source bedrockSource `json:"source"`
}

type bedrockSource struct {
	Bytes      string `json:"bytes,omitempty"`
	S3Location *struct {
		URI string `json:"uri"`
	} `json:"s3Location,omitempty"`
}

type bedrockToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type bedrockToolResult struct {
	ToolUseID string         `json:"toolUseId"`
	Content   []bedrockBlock `json:"content"`
	Status    string         `json:"status,omitempty"`
}

type bedrockReasoning struct {
	ReasoningText *struct {
		Text      string `json:"text"`
		Signature string `json:"signature,omitempty"`
	} `json:"reasoningText,omitempty"`
	RedactedContent string `json:"redactedContent,omitempty"`
}

type bedrockInference struct {
	MaxTokens     int64    `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type bedrockToolConfig struct {
	Tools      []bedrockTool   `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type bedrockTool struct {
	ToolSpec bedrockToolSpec `json:"toolSpec"`
}

type bedrockToolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	InputSchema struct {
		JSON json.RawMessage `json:"json"`
	} `json:"inputSchema"`
}

type bedrockResponse struct {
	Output struct {
		Message bedrockMessage `json:"message"`
	} `json:"output"`
	StopReason string       `json:"stopReason"`
	Usage      bedrockUsage `json:"usage"`
}

type bedrockUsage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens,omitempty"`
}

// toUsage: like Anthropic, Bedrock's inputTokens leave out cache reads and writes.
func (u bedrockUsage) toUsage() schema.Usage {
	p := u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens
	return schema.Usage{PromptTokens: p, CompletionTokens: u.OutputTokens, TotalTokens: p + u.OutputTokens, CachedTokens: u.CacheReadInputTokens}
}

func finishFromBedrock(s string) string {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	default:
		return "stop"
	}
}

// bedrockImageFormat maps a MIME type to Converse's image format enum.
func bedrockImageFormat(mime string) (string, bool) {
	switch mime {
	case "image/png":
		return "png", true
	case "image/jpeg", "image/jpg":
		return "jpeg", true
	case "image/gif":
		return "gif", true
	case "image/webp":
		return "webp", true
	}
	return "", false
}
