package mockupstream

import (
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"
)

// Running an OpenAI batch: every input line is answered as its endpoint
// would answer it, with fixed usage (batchIn prompt tokens, batchOut
// completion tokens for chat and completions, none for embeddings), and
// written to the output file; a line whose model is fail-<status> gets that
// error response and goes to the error file instead.

// run answers every line and writes the output and error files.
func (b *batch) run(c *call, a *account) {
	var out, errs []byte
	for _, line := range b.lines {
		reqID, _ := c.newID("req_mock")
		lineID, _ := c.newID("batch_req_mock")
		model := line.Get("body.model").String()
		status, body := http.StatusOK, any(nil)
		if f := parseFault(model); f.status != 0 {
			typ, code := openaiErrorType(f.status)
			status = f.status
			body = obj{"error": obj{"message": "mock: injected failure " + strconv.Itoa(f.status), "type": typ, "param": nil, "code": code}}
		} else {
			var in, o int
			body, in, o = c.s.batchAnswer(c, trimV1(b.endpoint), model, line.Get("body"))
			b.in, b.out = b.in+in, b.out+o
		}
		res := mustJSON(obj{"id": lineID, "custom_id": line.Get("custom_id").String(),
			"response": obj{"status_code": status, "request_id": reqID, "body": body}, "error": nil})
		if status == http.StatusOK {
			b.completed++
			out = append(append(out, res...), '\n')
		} else {
			b.failed++
			errs = append(append(errs, res...), '\n')
		}
	}
	if b.completed > 0 {
		b.outputFileID = a.addFile(c, b.id+"_output.jsonl", "batch_output", out).id
	}
	if b.failed > 0 {
		b.errorFileID = a.addFile(c, b.id+"_error.jsonl", "batch_output", errs).id
	}
}

// batchAnswer is the response body of one batch line and its token usage.
func (s *Server) batchAnswer(c *call, endpoint, model string, body gjson.Result) (any, int, int) {
	switch endpoint {
	case "/embeddings":
		inputs := embedInputs(body.Get("input"))
		dims := int(body.Get("dimensions").Int())
		data := make([]any, len(inputs))
		for i, in := range inputs {
			data[i] = obj{"object": "embedding", "index": i, "embedding": vector(in, dims)}
		}
		return obj{"object": "list", "data": data, "model": model,
			"usage": obj{"prompt_tokens": batchIn, "total_tokens": batchIn}}, batchIn, 0
	case "/completions":
		txt := textOf(body.Get("prompt"))
		t := turn{model: model, lastUser: txt, promptChars: len(txt)}
		a := s.answer(&t)
		choice := obj{"text": a.text, "index": 0, "logprobs": nil, "finish_reason": "stop"}
		return obj{"id": c.id("cmpl-mock-"), "object": "text_completion", "created": s.created, "model": model,
			"choices": []any{choice}, "usage": batchUsage()}, batchIn, batchOut
	}
	t := openaiTurn([]byte(body.Raw), model)
	a := s.answer(&t)
	msg, finish := obj{"role": "assistant", "content": a.text, "refusal": nil}, "stop"
	if a.toolName != "" {
		msg = obj{"role": "assistant", "content": nil, "tool_calls": []any{obj{"id": toolCallID, "type": "function",
			"function": obj{"name": a.toolName, "arguments": toolArgs}}}}
		finish = "tool_calls"
	}
	choice := obj{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}
	return obj{"id": c.id("chatcmpl-mock-"), "object": "chat.completion", "created": s.created, "model": model,
		"choices": []any{choice}, "usage": batchUsage(), "system_fingerprint": "fp_mock"}, batchIn, batchOut
}

func batchUsage() obj {
	return obj{"prompt_tokens": batchIn, "completion_tokens": batchOut, "total_tokens": batchIn + batchOut}
}
