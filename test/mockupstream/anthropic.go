package mockupstream

import (
	"encoding/json"

	"github.com/tidwall/gjson"
)

// Anthropic Messages: native /v1/messages, Vertex rawPredict and
// streamRawPredict, and Bedrock invoke (anthropic_version in the body
// instead of a model). All three share the reply; only the framing differs.

const anthropicToolID = "toolu_mock_1"

func anthropicTurn(body []byte, model string) turn {
	r := gjson.GetManyBytes(body, "stream", "tools.0.name", "system", "messages")
	t := turn{model: model, stream: r[0].Bool(), tool: r[1].String(), promptChars: len(textOf(r[2]))}
	var last gjson.Result
	r[3].ForEach(func(_, m gjson.Result) bool {
		txt := textOf(m.Get("content"))
		t.promptChars += len(txt)
		if m.Get("role").Str == "user" {
			t.lastUser = txt
		}
		last = m
		return true
	})
	last.Get("content").ForEach(func(_, b gjson.Result) bool {
		if b.Get("type").Str == "tool_result" {
			t.afterTool, t.toolResult = true, textOf(b.Get("content"))
		}
		return true
	})
	return t
}

// anthropicMessages serves the native API and Vertex's raw predict verbs.
func (s *Server) anthropicMessages(c *call) {
	t := anthropicTurn(c.body, c.model)
	if c.action == "streamRawPredict" {
		t.stream = true
	}
	a := s.answer(&t)
	if !t.stream {
		c.send(s.anthropicMessage(c, &a), "application/json")
		return
	}
	c.startStream("text/event-stream")
	if s.anthropicStream(c, &a, c.sse) {
		c.end()
	}
}

func (s *Server) anthropicCountTokens(c *call) {
	t := anthropicTurn(c.body, c.model)
	c.send(mustJSON(obj{"input_tokens": tokens(t.promptChars)}), "application/json")
}

func anthropicContent(a *answer) []any {
	if a.toolName != "" {
		return []any{obj{"type": "tool_use", "id": anthropicToolID, "name": a.toolName, "input": json.RawMessage(toolArgs)}}
	}
	return []any{obj{"type": "text", "text": a.text}}
}

func anthropicStop(a *answer) string {
	if a.toolName != "" {
		return "tool_use"
	}
	return "end_turn"
}

func (s *Server) anthropicMessage(c *call, a *answer) []byte {
	return mustJSON(obj{
		"id": c.id("msg_mock_"), "type": "message", "role": "assistant", "model": c.model,
		"content": anthropicContent(a), "stop_reason": anthropicStop(a), "stop_sequence": nil,
		"usage": obj{"input_tokens": a.in, "output_tokens": a.out},
	})
}

// anthropicStream emits message_start, content_block_start, ping,
// content_block_delta..., content_block_stop, message_delta (with usage),
// message_stop through emit (SSE, or Bedrock chunk events). It reports
// whether the whole sequence was sent.
func (s *Server) anthropicStream(c *call, a *answer, emit func(string, []byte) bool) bool {
	ev := func(typ string, f obj) bool {
		f["type"] = typ
		return emit(typ, mustJSON(f))
	}
	msg := obj{
		"id": c.id("msg_mock_"), "type": "message", "role": "assistant", "model": c.model,
		"content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": obj{"input_tokens": a.in, "output_tokens": 1},
	}
	block, pieces, deltaType, field := obj{"type": "text", "text": ""}, a.pieces, "text_delta", "text"
	if a.toolName != "" {
		block = obj{"type": "tool_use", "id": anthropicToolID, "name": a.toolName, "input": obj{}}
		pieces, deltaType, field = toolArgPieces, "input_json_delta", "partial_json"
	}
	if !ev("message_start", obj{"message": msg}) ||
		!ev("content_block_start", obj{"index": 0, "content_block": block}) ||
		!ev("ping", obj{}) {
		return false
	}
	for i, p := range pieces {
		if !c.gap(i, len(pieces)) || !ev("content_block_delta", obj{"index": 0, "delta": obj{"type": deltaType, field: p}}) {
			return false
		}
	}
	return ev("content_block_stop", obj{"index": 0}) &&
		ev("message_delta", obj{"delta": obj{"stop_reason": anthropicStop(a), "stop_sequence": nil}, "usage": obj{"output_tokens": a.out}}) &&
		ev("message_stop", obj{})
}
