package agent

import (
	"encoding/json"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

// dialect is what the loop needs of a route's conversation shape. The loop works in the caller's dialect; the
// engine translates each model call to the provider's.
type dialect interface {
	// toolDef is one MCP tool as the dialect's function tool.
	toolDef(name, description string, schema json.RawMessage) json.RawMessage
	// calls are the tool calls of a model's answer.
	calls(ans []byte) []toolCall
	// appendTurn adds the model's turn and the tool results to the request's conversation.
	appendTurn(body, ans []byte, calls []toolCall, results []toolResult) ([]byte, error)
	// final is the answer the caller gets: the last answer with the request's usage (and the dialect's record
	// of the tool calls).
	final(ans []byte, r *run, u schema.Usage) ([]byte, error)
	// stopsInBand: the depth limit is reported inside a normal answer (else as an error).
	stopsInBand() bool
	// wire is the dialect's family, for its error events.
	wire() dialects.Dialect
}

// appendItems appends raw JSON values to the array at path of body.
func appendItems(body []byte, path string, items ...[]byte) ([]byte, error) {
	var err error
	for _, it := range items {
		if body, err = sjson.SetRawBytes(body, path+".-1", it); err != nil {
			return nil, err
		}
	}
	return body, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// sse is one server-sent event.
func sse(b []byte, event string, data []byte) []byte {
	if event != "" {
		b = append(b, "event: "+event+"\n"...)
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// argsOf is a call's arguments as JSON: a string of JSON (OpenAI) or an object (Anthropic).
func argsOf(v gjson.Result) json.RawMessage {
	if v.Type == gjson.String {
		return json.RawMessage(v.Str)
	}
	return json.RawMessage(v.Raw)
}
