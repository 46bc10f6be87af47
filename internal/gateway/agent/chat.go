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

func (chatDialect) final(ans []byte, r *run, u schema.Usage) ([]byte, error) {
	ans, err := sjson.SetBytes(ans, "weir.agent_calls", r.callSummaries())
	if err != nil || !gjson.GetBytes(ans, "usage").Exists() {
		return ans, err
	}
	return sjson.SetBytes(ans, "usage", map[string]int64{"prompt_tokens": u.PromptTokens,
		"completion_tokens": u.CompletionTokens, "total_tokens": u.PromptTokens + u.CompletionTokens})
}

func (chatDialect) stopsInBand() bool { return false }
