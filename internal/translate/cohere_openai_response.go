package translate

// Cohere Chat v2 response → hub (OpenAI) chat completion.
//
// text content → content, thinking content and tool_plan → reasoning_content, tool_calls copied (ids kept);
// finish_reason COMPLETE/STOP_SEQUENCE → stop, MAX_TOKENS → length, TOOL_CALL → tool_calls; usage from tokens
// (billed_units as fallback).

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

func decodeCohereResponse(body []byte) (*schema.ChatResponse, error) {
	var in cohereResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	msg := schema.Message{Role: "assistant", ToolCalls: in.Message.ToolCalls}
	var text, reasoning strings.Builder
	for _, c := range in.Message.Content {
		switch c.Type {
		case "text":
			text.WriteString(c.Text)
		case "thinking":
			reasoning.WriteString(c.Thinking)
		}
	}
	reasoning.WriteString(in.Message.ToolPlan)
	msg.ReasoningContent = reasoning.String()
	for i := range msg.ToolCalls {
		if msg.ToolCalls[i].Type == "" {
			msg.ToolCalls[i].Type = "function"
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		msg.Content = schema.TextContent(text.String())
	} else {
		msg.Content = json.RawMessage("null")
	}
	id := in.ID
	if id == "" {
		id = newID("chatcmpl-")
	}
	return &schema.ChatResponse{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(),
		Choices: []schema.Choice{{Message: msg, FinishReason: finishFromCohere(in.FinishReason)}},
		Usage:   schema.NewChatUsage(in.Usage.toUsage()),
	}, nil
}
