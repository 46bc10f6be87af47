package mockupstream

import (
	"github.com/tidwall/gjson"
)

// OpenAI Chat Completions and legacy Completions. Bodies are built with
// append (jsonx.go) because this is the load-test path.

const toolCallID = "call_mock_1"

// openaiTurn reads a Chat Completions request. It is also used for Cohere
// v2 chat, whose messages and tools have the same shape.
func openaiTurn(body []byte, model string) turn {
	r := gjson.GetManyBytes(body, "stream", "tools.0.function.name", "functions.0.name", "messages")
	t := turn{model: model, stream: r[0].Bool(), tool: r[1].String()}
	if t.tool == "" {
		t.tool = r[2].String()
	}
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
	if role := last.Get("role").Str; role == "tool" || role == "function" {
		t.afterTool, t.toolResult = true, textOf(last.Get("content"))
	}
	return t
}

func (s *Server) openaiChat(c *call) {
	t := openaiTurn(c.body, c.model)
	a := s.answer(&t)
	id := c.id("chatcmpl-mock-")
	if t.stream {
		s.openaiChatStream(c, &a, id, gjson.GetBytes(c.body, "stream_options.include_usage").Bool())
		return
	}
	b := make([]byte, 0, 384+len(a.text))
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"chat.completion","created":`...)
	b = appendInt(b, int(s.created))
	b = append(b, `,"model":`...)
	b = appendStr(b, c.model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant",`...)
	if a.toolName != "" {
		b = append(b, `"content":null,"tool_calls":[{"id":"`+toolCallID+`","type":"function","function":{"name":`...)
		b = appendStr(b, a.toolName)
		b = append(b, `,"arguments":`...)
		b = appendStr(b, toolArgs)
		b = append(b, `}}]},"logprobs":null,"finish_reason":"tool_calls"}]`...)
	} else {
		b = append(b, `"content":`...)
		b = appendStr(b, a.text)
		b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"stop"}]`...)
	}
	b = append(b, `,"usage":`...)
	b = appendUsage(b, &a)
	b = append(b, `,"system_fingerprint":"fp_mock"}`...)
	c.send(b, "application/json")
}

// openaiChatStream emits chat.completion.chunk events: a role chunk, one
// chunk per piece, a finish chunk, the usage chunk when include_usage asked
// for it (then every chunk carries "usage":null, as OpenAI does), [DONE].
func (s *Server) openaiChatStream(c *call, a *answer, id string, includeUsage bool) {
	pre := make([]byte, 0, 160)
	pre = append(pre, `{"id":"`...)
	pre = append(pre, id...)
	pre = append(pre, `","object":"chat.completion.chunk","created":`...)
	pre = appendInt(pre, int(s.created))
	pre = append(pre, `,"model":`...)
	pre = appendStr(pre, c.model)
	pre = append(pre, `,"system_fingerprint":"fp_mock","choices":[`...)

	chunk := make([]byte, 0, 512)
	const open = `{"index":0,"delta":`
	const cont = `,"logprobs":null,"finish_reason":null}`
	emit := func(delta []byte) bool {
		chunk = append(chunk[:0], pre...)
		chunk = append(chunk, open...)
		chunk = append(chunk, delta...)
		if includeUsage {
			chunk = append(chunk, `],"usage":null}`...)
		} else {
			chunk = append(chunk, `]}`...)
		}
		return c.sse("", chunk)
	}

	c.startStream("text/event-stream")
	pieces, finish := a.pieces, "stop"
	var first, piece []byte
	if a.toolName != "" {
		pieces, finish = toolArgPieces, "tool_calls"
		first = append(first, `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"`+toolCallID+`","type":"function","function":{"name":`...)
		first = appendStr(first, a.toolName)
		first = append(first, `,"arguments":""}}]}`+cont...)
	} else {
		first = append(first, `{"role":"assistant","content":"","refusal":null}`+cont...)
	}
	if !emit(first) {
		return
	}
	for i, p := range pieces {
		if !c.gap(i, len(pieces)) {
			return
		}
		piece = piece[:0]
		if a.toolName != "" {
			piece = append(piece, `{"tool_calls":[{"index":0,"function":{"arguments":`...)
			piece = appendStr(piece, p)
			piece = append(piece, `}}]}`+cont...)
		} else {
			piece = append(piece, `{"content":`...)
			piece = appendStr(piece, p)
			piece = append(piece, `}`+cont...)
		}
		if !emit(piece) {
			return
		}
	}
	if !emit([]byte(`{},"logprobs":null,"finish_reason":"` + finish + `"}`)) {
		return
	}
	if includeUsage {
		chunk = append(chunk[:0], pre...)
		chunk = append(chunk, `],"usage":`...)
		chunk = appendUsage(chunk, a)
		chunk = append(chunk, '}')
		if !c.sse("", chunk) {
			return
		}
	}
	if c.sse("", []byte("[DONE]")) {
		c.end()
	}
}

// openaiCompletions serves the legacy /v1/completions (text_completion).
func (s *Server) openaiCompletions(c *call) {
	prompt := gjson.GetBytes(c.body, "prompt")
	txt := textOf(prompt)
	t := turn{model: c.model, lastUser: txt, promptChars: len(txt)}
	a := s.answer(&t)
	id := c.id("cmpl-mock-")
	pre := make([]byte, 0, 128)
	pre = append(pre, `{"id":"`...)
	pre = append(pre, id...)
	pre = append(pre, `","object":"text_completion","created":`...)
	pre = appendInt(pre, int(s.created))
	pre = append(pre, `,"model":`...)
	pre = appendStr(pre, c.model)
	pre = append(pre, `,"choices":[{"text":`...)

	if !gjson.GetBytes(c.body, "stream").Bool() {
		b := append(pre, appendStr(nil, a.text)...)
		b = append(b, `,"index":0,"logprobs":null,"finish_reason":"stop"}],"usage":`...)
		b = appendUsage(b, &a)
		c.send(append(b, '}'), "application/json")
		return
	}
	c.startStream("text/event-stream")
	for i, p := range a.pieces {
		if !c.gap(i, len(a.pieces)) {
			return
		}
		b := append(append([]byte(nil), pre...), appendStr(nil, p)...)
		b = append(b, `,"index":0,"logprobs":null,"finish_reason":null}]}`...)
		if !c.sse("", b) {
			return
		}
	}
	b := append(append([]byte(nil), pre...), `"","index":0,"logprobs":null,"finish_reason":"stop"}],"usage":`...)
	b = appendUsage(b, &a)
	if c.sse("", append(b, '}')) && c.sse("", []byte("[DONE]")) {
		c.end()
	}
}

// mockModels are advertised by GET /v1/models, fault controls included, so
// a gateway's model discovery sees them.
var mockModels = []string{"mock-model", "echo", "fail-400", "fail-401", "fail-429", "fail-500", "hang", "slow-100", "reset", "drop-midstream", "flaky-50", "mock-embed"}

func (s *Server) modelsBody() []byte {
	data := make([]obj, 0, len(mockModels))
	for _, m := range mockModels {
		data = append(data, obj{"id": m, "object": "model", "created": s.created, "owned_by": "mockupstream"})
	}
	return mustJSON(obj{"object": "list", "data": data})
}

func (s *Server) openaiModels(c *call) { c.send(s.models, "application/json") }
