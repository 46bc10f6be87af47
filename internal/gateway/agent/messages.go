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

func (messagesDialect) final(ans []byte, r *run, u schema.Usage) ([]byte, error) {
	ans, err := sjson.SetBytes(ans, "weir.agent_calls", r.callSummaries())
	if err != nil || !gjson.GetBytes(ans, "usage").Exists() {
		return ans, err
	}
	ans, err = sjson.SetBytes(ans, "usage.input_tokens", u.PromptTokens)
	if err != nil {
		return nil, err
	}
	return sjson.SetBytes(ans, "usage.output_tokens", u.CompletionTokens)
}

func (messagesDialect) stopsInBand() bool { return false }
