package agent

import (
	"encoding/json"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// messagesDialect is POST /v1/messages (Anthropic).
type messagesDialect struct{}

func (messagesDialect) toolDef(name, description string, schema json.RawMessage) json.RawMessage {
	return mustJSON(map[string]any{"name": name, "description": description, "input_schema": schema})
}

func (messagesDialect) calls(ans []byte) []toolCall {
	var out []toolCall
	gjson.GetBytes(ans, "content").ForEach(func(_, c gjson.Result) bool {
		if c.Get("type").Str == "tool_use" {
			out = append(out, toolCall{id: c.Get("id").Str, name: c.Get("name").Str, args: argsOf(c.Get("input"))})
		}
		return true
	})
	return out
}

func (messagesDialect) appendTurn(body, ans []byte, calls []toolCall, results []toolResult) ([]byte, error) {
	assistant := []byte(`{"role":"assistant","content":` + gjson.GetBytes(ans, "content").Raw + `}`)
	blocks := make([]any, len(calls))
	for i, c := range calls {
		blocks[i] = map[string]any{"type": "tool_result", "tool_use_id": c.id, "content": results[i].text, "is_error": results[i].isError}
	}
	user := mustJSON(map[string]any{"role": "user", "content": blocks})
	return appendItems(body, "messages", assistant, user)
}

func (messagesDialect) final(ans []byte, _ *run, u schema.Usage) ([]byte, error) {
	if !gjson.GetBytes(ans, "usage").Exists() {
		return ans, nil
	}
	ans, err := sjson.SetBytes(ans, "usage.input_tokens", u.PromptTokens)
	if err != nil {
		return nil, err
	}
	return sjson.SetBytes(ans, "usage.output_tokens", u.CompletionTokens)
}

func (messagesDialect) stopsInBand() bool { return false }

// events replays a message as Anthropic's stream: message_start, each content block whole, message_delta with
// the stop reason and usage, message_stop.
func (messagesDialect) events(body []byte) []byte {
	r := gjson.ParseBytes(body)
	start, _ := sjson.SetRawBytes(body, "content", []byte("[]"))
	start, _ = sjson.SetBytes(start, "stop_reason", nil)
	var b []byte
	b = sse(b, "message_start", mustJSON(map[string]any{"type": "message_start", "message": json.RawMessage(start)}))
	for i, c := range r.Get("content").Array() {
		empty := json.RawMessage(c.Raw)
		var delta any
		switch c.Get("type").Str {
		case "text":
			empty, _ = sjson.SetBytes(empty, "text", "")
			delta = map[string]any{"type": "text_delta", "text": c.Get("text").Str}
		case "tool_use":
			empty, _ = sjson.SetRawBytes(empty, "input", []byte("{}"))
			delta = map[string]any{"type": "input_json_delta", "partial_json": c.Get("input").Raw}
		}
		b = sse(b, "content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": i, "content_block": empty}))
		if delta != nil {
			b = sse(b, "content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": i, "delta": delta}))
		}
		b = sse(b, "content_block_stop", mustJSON(map[string]any{"type": "content_block_stop", "index": i}))
	}
	b = sse(b, "message_delta", mustJSON(map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": r.Get("stop_reason").Value(), "stop_sequence": r.Get("stop_sequence").Value()},
		"usage": map[string]any{"output_tokens": r.Get("usage.output_tokens").Int()}}))
	return sse(b, "message_stop", []byte(`{"type":"message_stop"}`))
}
