package translate

// Gemini generateContent response → hub (OpenAI) chat completion.
//
// First candidate only. text parts → content, thought parts → reasoning_content, functionCall → tool_calls with a
// synthesized stable id (carrying the thoughtSignature, see geminiCallID); finishReason STOP → stop (tool_calls
// when the answer calls functions), MAX_TOKENS → length, safety family → content_filter; a blocked prompt →
// content_filter with empty content. usageMetadata: thoughts count into completion and reasoning tokens,
// cachedContentTokenCount → cached tokens.

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

func decodeGeminiResponse(body []byte) (*schema.ChatResponse, error) {
	var in geminiResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	msg := schema.Message{Role: "assistant"}
	finish := "stop"
	if len(in.Candidates) > 0 {
		c := &in.Candidates[0]
		var text, reasoning strings.Builder
		for i, p := range c.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				args := compactJSON(p.FunctionCall.Args)
				id := geminiCallID(p.FunctionCall.ID, in.ResponseID, i, p.FunctionCall.Name, args, p.ThoughtSignature)
				msg.ToolCalls = append(msg.ToolCalls, schema.ToolCall{ID: id, Type: "function", Function: schema.FunctionCall{Name: p.FunctionCall.Name, Arguments: args}})
			case p.Thought:
				reasoning.WriteString(p.Text)
			default:
				text.WriteString(p.Text)
			}
		}
		msg.ReasoningContent = reasoning.String()
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = schema.TextContent(text.String())
		} else {
			msg.Content = json.RawMessage("null")
		}
		finish = finishFromGemini(c.FinishReason, len(msg.ToolCalls) > 0)
	} else {
		msg.Content = schema.TextContent("")
		if in.PromptFeedback != nil && in.PromptFeedback.BlockReason != "" {
			finish = "content_filter"
		}
	}
	id := in.ResponseID
	if id == "" {
		id = newID("chatcmpl-")
	}
	return &schema.ChatResponse{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: in.ModelVersion,
		Choices: []schema.Choice{{Message: msg, FinishReason: finish}},
		Usage:   schema.NewChatUsage(in.UsageMetadata.toUsage()),
	}, nil
}
