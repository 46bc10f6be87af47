package mockupstream

import (
	"github.com/tidwall/gjson"
)

// OpenAI Responses API: POST /v1/responses, JSON or typed SSE events, each
// carrying a sequence_number; the stream ends with response.completed (no
// [DONE] sentinel).

func responsesTurn(body []byte, model string) turn {
	r := gjson.GetManyBytes(body, "stream", "input", "instructions", "tools")
	t := turn{model: model, stream: r[0].Bool(), promptChars: len(r[2].String())}
	r[3].ForEach(func(_, tool gjson.Result) bool {
		if tool.Get("type").Str != "function" {
			return true
		}
		t.tool = tool.Get("name").String()
		if t.tool == "" { // tolerate the Chat Completions nesting
			t.tool = tool.Get("function.name").String()
		}
		return t.tool == ""
	})
	if r[1].Type == gjson.String {
		t.lastUser, t.promptChars = r[1].Str, t.promptChars+len(r[1].Str)
		return t
	}
	var last gjson.Result
	r[1].ForEach(func(_, item gjson.Result) bool {
		last = item
		switch item.Get("type").Str {
		case "function_call_output":
			t.promptChars += len(textOf(item.Get("output")))
		case "function_call":
			t.promptChars += len(item.Get("arguments").Str)
		default:
			txt := textOf(item.Get("content"))
			t.promptChars += len(txt)
			if item.Get("role").Str == "user" {
				t.lastUser = txt
			}
		}
		return true
	})
	if last.Get("type").Str == "function_call_output" {
		t.afterTool, t.toolResult = true, textOf(last.Get("output"))
	}
	return t
}

func (s *Server) responses(c *call) {
	t := responsesTurn(c.body, c.model)
	a := s.answer(&t)
	rs := &respState{id: c.id("resp_mock_"), msgID: c.id("msg_mock_"), model: c.model, created: s.created}
	if !t.stream {
		c.send(mustJSON(rs.response("completed", []any{rs.item(&a, "completed")}, &a)), "application/json")
		return
	}
	s.responsesStream(c, rs, &a)
}

type respState struct {
	id, msgID, model string
	created          int64
	seq              int
}

func (rs *respState) response(status string, output []any, a *answer) obj {
	var usage any
	if a != nil {
		usage = obj{
			"input_tokens":          a.in,
			"input_tokens_details":  obj{"cached_tokens": 0},
			"output_tokens":         a.out,
			"output_tokens_details": obj{"reasoning_tokens": 0},
			"total_tokens":          a.total(),
		}
	}
	return obj{
		"id": rs.id, "object": "response", "created_at": rs.created, "status": status,
		"model": rs.model, "output": output, "usage": usage, "error": nil,
		"incomplete_details": nil, "parallel_tool_calls": true, "tool_choice": "auto",
		"text": obj{"format": obj{"type": "text"}},
	}
}

// item is the output item; in_progress items are empty, as when announced.
func (rs *respState) item(a *answer, status string) obj {
	done := status == "completed"
	if a.toolName != "" {
		args := ""
		if done {
			args = toolArgs
		}
		return obj{"type": "function_call", "id": "fc_mock_1", "call_id": toolCallID,
			"name": a.toolName, "arguments": args, "status": status}
	}
	content := []any{}
	if done {
		content = append(content, textPart(a.text))
	}
	return obj{"type": "message", "id": rs.msgID, "status": status, "role": "assistant", "content": content}
}

func textPart(text string) obj {
	return obj{"type": "output_text", "text": text, "annotations": []any{}}
}

func (s *Server) responsesStream(c *call, rs *respState, a *answer) {
	ev := func(typ string, f obj) bool {
		f["type"], f["sequence_number"] = typ, rs.seq
		rs.seq++
		return c.sse(typ, mustJSON(f))
	}
	c.startStream("text/event-stream")
	if !ev("response.created", obj{"response": rs.response("in_progress", []any{}, nil)}) ||
		!ev("response.in_progress", obj{"response": rs.response("in_progress", []any{}, nil)}) ||
		!ev("response.output_item.added", obj{"output_index": 0, "item": rs.item(a, "in_progress")}) {
		return
	}
	itemID := rs.msgID
	pieces, deltaEv := a.pieces, "response.output_text.delta"
	if a.toolName != "" {
		itemID, pieces, deltaEv = "fc_mock_1", toolArgPieces, "response.function_call_arguments.delta"
	} else if !ev("response.content_part.added", obj{"item_id": itemID, "output_index": 0, "content_index": 0, "part": textPart("")}) {
		return
	}
	for i, p := range pieces {
		if !c.gap(i, len(pieces)) {
			return
		}
		f := obj{"item_id": itemID, "output_index": 0, "delta": p}
		if a.toolName == "" {
			f["content_index"], f["logprobs"] = 0, []any{}
		}
		if !ev(deltaEv, f) {
			return
		}
	}
	if a.toolName != "" {
		if !ev("response.function_call_arguments.done", obj{"item_id": itemID, "output_index": 0, "arguments": toolArgs}) {
			return
		}
	} else if !ev("response.output_text.done", obj{"item_id": itemID, "output_index": 0, "content_index": 0, "text": a.text, "logprobs": []any{}}) ||
		!ev("response.content_part.done", obj{"item_id": itemID, "output_index": 0, "content_index": 0, "part": textPart(a.text)}) {
		return
	}
	done := rs.item(a, "completed")
	if ev("response.output_item.done", obj{"output_index": 0, "item": done}) &&
		ev("response.completed", obj{"response": rs.response("completed", []any{done}, a)}) {
		c.end()
	}
}
