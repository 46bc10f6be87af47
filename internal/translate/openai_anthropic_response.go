package translate

// Hub (OpenAI) chat completion → Anthropic Messages response, for Anthropic callers.
//
// Only the first choice is kept (Anthropic has one). reasoning_content → a thinking block with an empty signature
// (there is none to give); content → one text block; tool_calls → tool_use blocks (invalid argument JSON becomes
// {}); finish_reason stop → end_turn, length → max_tokens, tool_calls → tool_use, content_filter → refusal.

import (
	"encoding/json"
	"strings"

	"github.com/weir-gateway/weir/internal/schema"
)

func encodeAnthropicResponse(resp *schema.ChatResponse) ([]byte, error) {
	out := anthropicResponse{ID: anthropicMsgID(resp.ID), Type: "message", Role: "assistant", Model: resp.Model, Content: []anthropicBlock{}}
	stop := "end_turn"
	if len(resp.Choices) > 0 {
		c := &resp.Choices[0]
		if c.Message.ReasoningContent != "" {
			out.Content = append(out.Content, anthropicBlock{Type: "thinking", Thinking: ptr(c.Message.ReasoningContent), Signature: ptr("")})
		}
		if t := c.Message.Text(); t != "" {
			out.Content = append(out.Content, anthropicBlock{Type: "text", Text: t})
		} else if c.Message.Refusal != nil && *c.Message.Refusal != "" {
			out.Content = append(out.Content, anthropicBlock{Type: "text", Text: *c.Message.Refusal})
		}
		for _, tc := range c.Message.ToolCalls {
			out.Content = append(out.Content, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: argsObject(tc.Function.Arguments)})
		}
		stop = stopToAnthropic(c.FinishReason)
	}
	out.StopReason = &stop
	out.Usage = anthropicUsageFrom(resp.Usage.ToUsage())
	return json.Marshal(&out)
}

// anthropicMsgID gives foreign ids the msg_ prefix Anthropic clients expect to see.
func anthropicMsgID(id string) string {
	if id == "" {
		return newID("msg_")
	}
	if strings.HasPrefix(id, "msg_") {
		return id
	}
	return "msg_" + id
}
