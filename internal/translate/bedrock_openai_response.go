package translate

// Bedrock Converse response → hub (OpenAI) chat completion.
//
// text → content, reasoningContent.reasoningText → reasoning_content, toolUse → tool_calls (ids kept);
// stopReason end_turn/stop_sequence → stop, max_tokens → length, tool_use → tool_calls,
// guardrail_intervened/content_filtered → content_filter; usage with cache reads/writes folded into prompt tokens.

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

func decodeBedrockResponse(body []byte) (*schema.ChatResponse, error) {
	var in bedrockResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	msg := schema.Message{Role: "assistant"}
	var text, reasoning strings.Builder
	for _, b := range in.Output.Message.Content {
		switch {
		case b.Text != nil:
			text.WriteString(*b.Text)
		case b.ToolUse != nil:
			msg.ToolCalls = append(msg.ToolCalls, schema.ToolCall{ID: b.ToolUse.ToolUseID, Type: "function", Function: schema.FunctionCall{Name: b.ToolUse.Name, Arguments: compactJSON(b.ToolUse.Input)}})
		case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
			reasoning.WriteString(b.ReasoningContent.ReasoningText.Text)
		}
	}
	msg.ReasoningContent = reasoning.String()
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		msg.Content = schema.TextContent(text.String())
	} else {
		msg.Content = json.RawMessage("null")
	}
	return &schema.ChatResponse{
		ID: newID("chatcmpl-"), Object: "chat.completion", Created: time.Now().Unix(),
		Choices: []schema.Choice{{Message: msg, FinishReason: finishFromBedrock(in.StopReason)}},
		Usage:   schema.NewChatUsage(in.Usage.toUsage()),
	}, nil
}
