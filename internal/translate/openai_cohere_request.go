package translate

// Hub (OpenAI) chat request → Cohere Chat v2 request.
//
// | OpenAI parameter            | Cohere v2                                                              |
// |-----------------------------|------------------------------------------------------------------------|
// | messages                    | same roles; developer → system; content strings or text/image_url parts |
// | assistant tool_calls / tool | tool_calls / role tool with tool_call_id (ids kept)                    |
// | tools                       | tools (same shape)                                                     |
// | tool_choice                 | auto → omitted, required → REQUIRED, none → NONE, named → REQUIRED with only that tool offered |
// | max_(completion_)tokens, temperature, top_p→p, top_k→k, stop→stop_sequences, seed, penalties | same |
// | response_format             | json_object (+json_schema)                                             |
// | reasoning_effort            | thinking for *-reasoning models ("none" → disabled), else dropped     |
// | n > 1                       | RequestError                                                           |
// | input_audio, file parts     | RequestError                                                           |
// | parallel_tool_calls, logit_bias, user, metadata | dropped, warning                                   |

import (
	"encoding/json"
	"strings"

	"github.com/weir-gateway/weir/internal/schema"
)

func encodeCohereRequest(req *schema.ChatRequest, w *warnings) ([]byte, error) {
	if req.N != nil && *req.N > 1 {
		return nil, reqErr("n", "cohere returns a single choice; n must be 1")
	}
	out := cohereRequest{
		Model: req.Model, Stream: req.Stream, MaxTokens: req.MaxOutputTokens(), Temperature: req.Temperature,
		P: req.TopP, K: req.TopK, StopSequences: req.Stop, Seed: req.Seed, FrequencyPenalty: req.FrequencyPenalty,
		PresencePenalty: req.PresencePenalty, Tools: req.Tools,
	}
	for i := range req.Messages {
		m, err := cohereMessageFrom(&req.Messages[i], i)
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, m)
	}
	tc, err := parseToolChoice(req.ToolChoice)
	if err != nil {
		return nil, err
	}
	switch tc.Mode {
	case "required":
		out.ToolChoice = "REQUIRED"
	case "none":
		out.ToolChoice = "NONE"
	case "function":
		// Cohere cannot name a tool, but requiring a call while offering only that tool means the same.
		out.ToolChoice = "REQUIRED"
		out.Tools = nil
		for _, t := range req.Tools {
			if t.Function.Name == tc.Name {
				out.Tools = append(out.Tools, t)
			}
		}
		if len(out.Tools) == 0 {
			return nil, reqErr("tool_choice", "function %q is not among the tools", tc.Name)
		}
	}
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		f := map[string]any{"type": "json_object"}
		if rf.Type == "json_schema" && rf.JSONSchema != nil && len(rf.JSONSchema.Schema) > 0 {
			f["json_schema"] = rf.JSONSchema.Schema
		}
		out.ResponseFormat, _ = json.Marshal(f)
	}
	if req.ReasoningEffort != "" {
		if strings.Contains(req.Model, "reasoning") {
			if budget, ok := thinkingBudget(req); ok {
				out.Thinking, _ = json.Marshal(map[string]any{"type": "enabled", "token_budget": budget})
			} else {
				out.Thinking = json.RawMessage(`{"type":"disabled"}`)
			}
		} else {
			w.add("reasoning_effort: cohere model %s does not reason, dropped", req.Model)
		}
	}
	if req.Logprobs != nil && *req.Logprobs {
		out.Logprobs = true
	}
	if req.ParallelToolCalls != nil {
		w.add("parallel_tool_calls: not supported by cohere, dropped")
	}
	if len(req.LogitBias) > 0 {
		w.add("logit_bias: not supported by cohere, dropped")
	}
	if req.User != "" {
		w.add("user: not supported by cohere, dropped")
	}
	if len(req.Metadata) > 0 {
		w.add("metadata: not supported by cohere, dropped")
	}
	return json.Marshal(&out)
}

func cohereMessageFrom(m *schema.Message, i int) (cohereMessage, error) {
	out := cohereMessage{Role: m.Role, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID}
	switch m.Role {
	case "system", "developer":
		out.Role = "system"
		out.Content = schema.TextContent(m.Text())
	case "tool", "function":
		out.Role = "tool"
		out.Content = schema.TextContent(m.Text())
	case "assistant":
		if t := m.Text(); t != "" {
			out.Content = schema.TextContent(t)
		}
		if len(m.ToolCalls) > 0 && m.ReasoningContent != "" {
			out.ToolPlan = m.ReasoningContent // Cohere's tool_plan is the reasoning that led to the calls
		}
	case "user":
		parts, err := m.Parts()
		if err != nil {
			return out, reqErr("messages", "messages[%d].content: %v", i, err)
		}
		for _, p := range parts {
			if p.Type != "text" && p.Type != "image_url" {
				return out, reqErr("messages", "messages[%d]: content part %q not supported by cohere", i, p.Type)
			}
		}
		out.Content = m.Content
	default:
		return out, reqErr("messages", "messages[%d]: unknown role %q", i, m.Role)
	}
	return out, nil
}
