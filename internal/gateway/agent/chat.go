package agent

import (
	"encoding/json"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// chatDialect is POST /v1/chat/completions.
type chatDialect struct{}

func (chatDialect) toolDef(name, description string, schema json.RawMessage) json.RawMessage {
	return mustJSON(map[string]any{"type": "function", "function": map[string]any{
		"name": name, "description": description, "parameters": schema}})
}

func (chatDialect) calls(ans []byte) []toolCall {
	var out []toolCall
	gjson.GetBytes(ans, "choices.0.message.tool_calls").ForEach(func(_, c gjson.Result) bool {
		out = append(out, toolCall{id: c.Get("id").Str, name: c.Get("function.name").Str, args: argsOf(c.Get("function.arguments"))})
		return true
	})
	return out
}

func (chatDialect) appendTurn(body, ans []byte, calls []toolCall, results []toolResult) ([]byte, error) {
	items := [][]byte{[]byte(gjson.GetBytes(ans, "choices.0.message").Raw)}
	for i, c := range calls {
		items = append(items, mustJSON(map[string]any{"role": "tool", "tool_call_id": c.id, "content": results[i].text}))
	}
	return appendItems(body, "messages", items...)
}

func (chatDialect) final(ans []byte, _ *run, u schema.Usage) ([]byte, error) {
	if !gjson.GetBytes(ans, "usage").Exists() {
		return ans, nil
	}
	return sjson.SetBytes(ans, "usage", map[string]int64{"prompt_tokens": u.PromptTokens,
		"completion_tokens": u.CompletionTokens, "total_tokens": u.PromptTokens + u.CompletionTokens})
}

func (chatDialect) stopsInBand() bool { return false }

// events replays a chat completion as chunks: the message, then the finish reason and usage, then [DONE].
func (chatDialect) events(body []byte) []byte {
	r := gjson.ParseBytes(body)
	base := map[string]any{"id": r.Get("id").Str, "object": "chat.completion.chunk", "created": r.Get("created").Int(),
		"model": r.Get("model").Str}
	msg := r.Get("choices.0.message")
	delta := map[string]any{"role": "assistant", "content": msg.Get("content").Value()}
	if tc := msg.Get("tool_calls"); tc.IsArray() {
		var calls []any
		for i, c := range tc.Array() {
			calls = append(calls, map[string]any{"index": i, "id": c.Get("id").Str, "type": "function",
				"function": map[string]any{"name": c.Get("function.name").Str, "arguments": c.Get("function.arguments").Str}})
		}
		delta["tool_calls"] = calls
	}
	var b []byte
	base["choices"] = []any{map[string]any{"index": 0, "delta": delta, "finish_reason": nil}}
	b = sse(b, "", mustJSON(base))
	base["choices"] = []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": r.Get("choices.0.finish_reason").Value()}}
	if u := r.Get("usage"); u.Exists() {
		base["usage"] = json.RawMessage(u.Raw)
	}
	b = sse(b, "", mustJSON(base))
	return sse(b, "", []byte("[DONE]"))
}
