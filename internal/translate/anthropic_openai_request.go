package translate

// Anthropic Messages request (caller) → hub (OpenAI) chat request.
//
// | Anthropic parameter          | hub                                                                   |
// |------------------------------|-----------------------------------------------------------------------|
// | system (string or blocks)    | leading system message                                                |
// | image base64 / url           | image_url data: URL / URL                                             |
// | document base64              | file part with file_data                                              |
// | tool_use / tool_result       | assistant tool_calls / tool messages (ids kept), results first        |
// | tool_result with images      | text kept, images dropped with a warning (tool messages are text)     |
// | thinking / redacted_thinking | assistant reasoning_content / dropped                                 |
// | tool_choice auto/any/tool/none | "auto"/"required"/named/"none"; disable_parallel_tool_use → parallel_tool_calls false |
// | thinking.budget_tokens       | reasoning_effort low/medium/high                                      |
// | stop_sequences, top_k        | stop, top_k (the encoder decides whether the target keeps top_k)      |
// | metadata.user_id             | user                                                                  |
// | cache_control                | dropped with a warning (other dialects cache implicitly or not at all) |
// | server tools (web_search…)   | RequestError: only the Anthropic API runs them                        |
// | document url / other blocks  | RequestError                                                          |

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/schema"
)

var knownAnthropicParams = map[string]bool{
	"model": true, "max_tokens": true, "system": true, "messages": true, "temperature": true, "top_p": true,
	"top_k": true, "stop_sequences": true, "stream": true, "tools": true, "tool_choice": true, "thinking": true,
	"metadata": true,
}

func decodeAnthropicRequest(body []byte, w *warnings) (*schema.ChatRequest, error) {
	var in anthropicRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, reqErr("", "invalid request: %v", err)
	}
	if len(in.Messages) == 0 {
		return nil, reqErr("messages", "at least one message is required")
	}
	gjson.ParseBytes(body).ForEach(func(k, _ gjson.Result) bool {
		if !knownAnthropicParams[k.Str] {
			w.add("%s: parameter has no equivalent outside anthropic, dropped", k.Str)
		}
		return true
	})
	req := &schema.ChatRequest{Temperature: in.Temperature, TopP: in.TopP, TopK: in.TopK, Stop: in.StopSequences}
	if in.MaxTokens > 0 {
		req.MaxCompletionTokens = ptr(in.MaxTokens)
	}
	cached := false
	if sys, err := anthropicSystemText(in.System, &cached); err != nil {
		return nil, err
	} else if sys != "" {
		req.Messages = append(req.Messages, schema.Message{Role: "system", Content: schema.TextContent(sys)})
	}
	for i := range in.Messages {
		msgs, err := hubMessages(&in.Messages[i], i, &cached, w)
		if err != nil {
			return nil, err
		}
		req.Messages = append(req.Messages, msgs...)
	}
	if cached {
		w.add("cache_control: prompt-cache breakpoints dropped")
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			return nil, reqErr("tools", "tools[%d]: server tool %q only runs on the anthropic API", i, t.Type)
		}
		req.Tools = append(req.Tools, schema.Tool{Type: "function", Function: schema.ToolFunction{Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
	}
	if tc := in.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			req.ToolChoice = json.RawMessage(`"auto"`)
		case "any":
			req.ToolChoice = json.RawMessage(`"required"`)
		case "none":
			req.ToolChoice = json.RawMessage(`"none"`)
		case "tool":
			req.ToolChoice, _ = json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
		default:
			return nil, reqErr("tool_choice", "unknown type %q", tc.Type)
		}
		if tc.DisableParallelToolUse {
			req.ParallelToolCalls = ptr(false)
		}
	}
	if in.Thinking != nil && in.Thinking.Type == "enabled" {
		req.ReasoningEffort = budgetEffort(in.Thinking.BudgetTokens)
		req.ThinkingBudget = in.Thinking.BudgetTokens
	}
	if in.Metadata != nil {
		req.User = in.Metadata.UserID
	}
	return req, nil
}

func anthropicSystemText(raw json.RawMessage, cached *bool) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var c anthropicContent
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", reqErr("system", "expected a string or text blocks")
	}
	var parts []string
	for _, b := range c {
		if len(b.CacheControl) > 0 {
			*cached = true
		}
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n\n"), nil
}

// hubMessages converts one Anthropic turn. A user turn may carry tool results and fresh input together; the tool
// messages must come first so they directly follow the assistant's tool calls, as OpenAI requires.
func hubMessages(m *anthropicMessage, i int, cached *bool, w *warnings) ([]schema.Message, error) {
	var out []schema.Message
	var parts []schema.ContentPart
	var calls []schema.ToolCall
	var reasoning strings.Builder
	for _, b := range m.Content {
		if len(b.CacheControl) > 0 {
			*cached = true
		}
		switch b.Type {
		case "text":
			parts = append(parts, schema.ContentPart{Type: "text", Text: b.Text})
		case "image":
			if b.Source == nil {
				return nil, reqErr("messages", "messages[%d]: image without source", i)
			}
			switch b.Source.Type {
			case "base64":
				parts = append(parts, schema.ContentPart{Type: "image_url", ImageURL: &schema.ImageURL{URL: "data:" + b.Source.MediaType + ";base64," + b.Source.Data}})
			case "url":
				parts = append(parts, schema.ContentPart{Type: "image_url", ImageURL: &schema.ImageURL{URL: b.Source.URL}})
			default:
				return nil, reqErr("messages", "messages[%d]: image source %q not supported outside anthropic", i, b.Source.Type)
			}
		case "document":
			if b.Source == nil || b.Source.Type != "base64" {
				return nil, reqErr("messages", "messages[%d]: only base64 documents can leave anthropic", i)
			}
			f, _ := json.Marshal(map[string]string{"file_data": "data:" + b.Source.MediaType + ";base64," + b.Source.Data, "filename": b.Title})
			parts = append(parts, schema.ContentPart{Type: "file", File: f})
		case "tool_use":
			calls = append(calls, schema.ToolCall{ID: b.ID, Type: "function", Function: schema.FunctionCall{Name: b.Name, Arguments: compactJSON(b.Input)}})
		case "tool_result":
			text, dropped := toolResultText(b.Content)
			if dropped {
				w.add("messages[%d]: non-text tool_result content dropped", i)
			}
			if b.IsError && text == "" {
				text = "error"
			}
			out = append(out, schema.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: schema.TextContent(text)})
		case "thinking":
			if b.Thinking != nil {
				reasoning.WriteString(*b.Thinking)
			}
		case "redacted_thinking":
			// Encrypted for Anthropic only; nobody else can read it.
		default:
			return nil, reqErr("messages", "messages[%d]: content block %q not supported outside anthropic", i, b.Type)
		}
	}
	if len(parts) == 0 && len(calls) == 0 && reasoning.Len() == 0 {
		return out, nil
	}
	msg := schema.Message{Role: m.Role, ToolCalls: calls, ReasoningContent: reasoning.String()}
	switch {
	case len(parts) == 1 && parts[0].Type == "text":
		msg.Content = schema.TextContent(parts[0].Text)
	case len(parts) > 0:
		msg.Content, _ = json.Marshal(parts)
	case m.Role == "assistant":
		msg.Content = json.RawMessage("null")
	default:
		msg.Content = schema.TextContent("")
	}
	return append(out, msg), nil
}

// toolResultText flattens tool_result content (a string or blocks) to text; dropped reports non-text blocks.
func toolResultText(raw json.RawMessage) (text string, dropped bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var c anthropicContent
	if err := json.Unmarshal(raw, &c); err != nil {
		return string(raw), false
	}
	var b strings.Builder
	for _, blk := range c {
		if blk.Type == "text" {
			b.WriteString(blk.Text)
		} else {
			dropped = true
		}
	}
	return b.String(), dropped
}
