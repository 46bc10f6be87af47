package translate

// Anthropic Messages response → hub (OpenAI) chat completion.
//
// text blocks → content (concatenated); thinking → reasoning_content (signature dropped: OpenAI has no place for
// it); tool_use → tool_calls with ids kept; stop_reason end_turn/stop_sequence/pause_turn → stop, max_tokens →
// length, tool_use → tool_calls, refusal → content_filter; usage input+cache → prompt_tokens, cache reads → cached.

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

func decodeAnthropicResponse(body []byte) (*schema.ChatResponse, error) {
	var in anthropicResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	var text, reasoning strings.Builder
	msg := schema.Message{Role: "assistant"}
	for _, b := range in.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			if b.Thinking != nil {
				reasoning.WriteString(*b.Thinking)
			}
		case "tool_use":
			msg.ToolCalls = append(msg.ToolCalls, schema.ToolCall{ID: b.ID, Type: "function", Function: schema.FunctionCall{Name: b.Name, Arguments: compactJSON(b.Input)}})
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		msg.Content = schema.TextContent(text.String())
	} else {
		msg.Content = json.RawMessage("null")
	}
	msg.ReasoningContent = reasoning.String()
	finish := "stop"
	if in.StopReason != nil {
		finish = finishFromAnthropic(*in.StopReason)
	}
	u := in.Usage.toUsage()
	return &schema.ChatResponse{
		ID:      in.ID,
		Object:  "chat.completion",
		Created: time.Now().Unix(),
		Model:   in.Model,
		Choices: []schema.Choice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:   schema.NewChatUsage(u),
	}, nil
}
