package agent

import (
	"encoding/json"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

// responsesDialect is POST /v1/responses: its own mcp tool, and the mcp_list_tools, mcp_call and
// mcp_approval_request output items OpenAI shows.
type responsesDialect struct{}

func (responsesDialect) toolDef(name, description string, schema json.RawMessage) json.RawMessage {
	return mustJSON(map[string]any{"type": "function", "name": name, "description": description, "parameters": schema})
}

func (responsesDialect) calls(ans []byte) []toolCall {
	var out []toolCall
	gjson.GetBytes(ans, "output").ForEach(func(_, it gjson.Result) bool {
		if it.Get("type").Str == "function_call" {
			out = append(out, toolCall{id: it.Get("call_id").Str, name: it.Get("name").Str, args: argsOf(it.Get("arguments"))})
		}
		return true
	})
	return out
}

// appendTurn makes input a list (a string is one user message), then adds the answer's output items and a
// function_call_output per call.
func (responsesDialect) appendTurn(body, ans []byte, calls []toolCall, results []toolResult) ([]byte, error) {
	if in := gjson.GetBytes(body, "input"); !in.IsArray() {
		list := "[]"
		if in.Exists() {
			list = string(mustJSON([]any{map[string]any{"role": "user", "content": in.Value()}}))
		}
		var err error
		if body, err = sjson.SetRawBytes(body, "input", []byte(list)); err != nil {
			return nil, err
		}
	}
	var items [][]byte
	gjson.GetBytes(ans, "output").ForEach(func(_, it gjson.Result) bool {
		items = append(items, []byte(it.Raw))
		return true
	})
	for i, c := range calls {
		items = append(items, mustJSON(map[string]any{"type": "function_call_output", "call_id": c.id, "output": results[i].text}))
	}
	return appendItems(body, "input", items...)
}

// final puts the MCP items before the model's last output: one mcp_list_tools per server, one mcp_call per call
// Weir ran, one mcp_approval_request per call held for approval (in place of its function_call).
func (responsesDialect) final(ans []byte, r *run, u schema.Usage) ([]byte, error) {
	items := r.listItems()
	pending := map[string]bool{}
	for _, rec := range r.records {
		if rec.pending {
			pending[rec.call.id] = true
		}
		items = append(items, rec.item())
	}
	gjson.GetBytes(ans, "output").ForEach(func(_, it gjson.Result) bool {
		if it.Get("type").Str == "function_call" && (pending[it.Get("call_id").Str] || r.stopped && r.tools[it.Get("name").Str] != nil) {
			return true // shown as its mcp_approval_request; or, past the depth limit, never run
		}
		items = append(items, json.RawMessage(it.Raw))
		return true
	})
	out, err := sjson.SetBytes(ans, "output", items)
	if err != nil {
		return nil, err
	}
	if r.stopped {
		out, _ = sjson.SetBytes(out, "status", "incomplete")
		out, _ = sjson.SetBytes(out, "incomplete_details", map[string]any{"reason": "max_tool_calls"})
	}
	if gjson.GetBytes(out, "usage").Exists() {
		out, _ = sjson.SetBytes(out, "usage.input_tokens", u.PromptTokens)
		out, _ = sjson.SetBytes(out, "usage.output_tokens", u.CompletionTokens)
		out, _ = sjson.SetBytes(out, "usage.total_tokens", u.PromptTokens+u.CompletionTokens)
	}
	return out, nil
}

// listItems are the mcp_list_tools items, one per server label.
func (r *run) listItems() []any {
	var items []any
	seen := map[string]bool{}
	for _, s := range r.specs {
		if seen[s.label] {
			continue
		}
		seen[s.label] = true
		tools := []any{}
		for _, o := range r.order {
			if o.tool.Server == s.label {
				tools = append(tools, map[string]any{"name": o.name, "description": o.tool.Def.Description,
					"input_schema": inputSchema(o.tool.Def), "annotations": o.tool.Def.Annotations})
			}
		}
		id := r.listIDs[s.label]
		if id == "" {
			id = newID("mcpl_")
		}
		items = append(items, map[string]any{"type": "mcp_list_tools", "id": id, "server_label": s.label, "tools": tools})
	}
	return items
}

// item is the record's output item: an mcp_approval_request, or an mcp_call (in progress until it has a result).
func (rec *callRecord) item() map[string]any {
	args := string(rec.call.args)
	if rec.pending {
		return map[string]any{"type": "mcp_approval_request", "id": rec.itemID, "server_label": rec.tool.tool.Server,
			"name": rec.tool.name, "arguments": args}
	}
	item := map[string]any{"type": "mcp_call", "id": rec.itemID, "server_label": rec.tool.tool.Server,
		"name": rec.tool.name, "arguments": args, "output": rec.output, "error": nil, "status": "completed", "approval_request_id": nil}
	if rec.approve != "" {
		item["approval_request_id"] = rec.approve
	}
	if rec.errText != "" {
		item["output"], item["error"], item["status"] = nil, rec.errText, "failed"
	}
	return item
}

func (responsesDialect) stopsInBand() bool { return true }

func (responsesDialect) wire() dialects.Dialect { return dialects.OpenAI }
