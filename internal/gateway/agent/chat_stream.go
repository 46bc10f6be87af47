package agent

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/relay"
)

// chatStream relays a streamed chat request's model calls as one chat.completion.chunk stream: the text of every
// turn as it arrives (under the first turn's id), the tool calls Weir runs not at all, the last turn's tool calls
// (the caller's own, or held for approval) and one final chunk with the finish reason and the request's usage,
// then [DONE].
type chatStream struct {
	callerStream
	id, model string
	created   int64
	roleSent  bool
	// the turn being read
	text   []byte
	calls  []chatCallAcc
	finish string
	fail   bool
}

type chatCallAcc struct {
	id, name string
	args     []byte
}

func (c *chatStream) turn() { c.text, c.calls, c.finish, c.fail = c.text[:0], nil, "", false }

func (c *chatStream) chunk(delta map[string]any, finish any, extra map[string]any) []byte {
	ch := map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	for k, v := range extra {
		ch[k] = v
	}
	return sse(nil, "", mustJSON(ch))
}

func (c *chatStream) event(_, data []byte) error {
	if string(data) == "[DONE]" || !gjson.ValidBytes(data) {
		return nil
	}
	ev := gjson.ParseBytes(data)
	if e := ev.Get("error"); e.Exists() {
		c.fail = true
		return c.write(sse(nil, "", data))
	}
	if c.id == "" {
		c.id, c.model, c.created = ev.Get("id").Str, ev.Get("model").Str, ev.Get("created").Int()
	}
	ch := ev.Get("choices.0")
	if f := ch.Get("finish_reason"); f.Type == gjson.String {
		c.finish = f.Str
	}
	ch.Get("delta.tool_calls").ForEach(func(_, tc gjson.Result) bool {
		i := int(tc.Get("index").Int())
		for len(c.calls) <= i {
			c.calls = append(c.calls, chatCallAcc{})
		}
		if id := tc.Get("id").Str; id != "" {
			c.calls[i].id = id
		}
		if n := tc.Get("function.name").Str; n != "" {
			c.calls[i].name = n
		}
		c.calls[i].args = append(c.calls[i].args, tc.Get("function.arguments").Str...)
		return true
	})
	text := ch.Get("delta.content").Str
	if text == "" {
		return nil
	}
	c.text = append(c.text, text...)
	delta := map[string]any{"content": text}
	if !c.roleSent {
		delta["role"], c.roleSent = "assistant", true
	}
	return c.write(c.chunk(delta, nil, nil))
}

func (c *chatStream) answer() []byte {
	msg := map[string]any{"role": "assistant", "content": nil}
	if len(c.text) > 0 {
		msg["content"] = string(c.text)
	}
	if len(c.calls) > 0 {
		var calls []any
		for _, tc := range c.calls {
			args := string(tc.args)
			calls = append(calls, map[string]any{"id": tc.id, "type": "function",
				"function": map[string]any{"name": tc.name, "arguments": args}})
		}
		msg["tool_calls"] = calls
	}
	return mustJSON(map[string]any{"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": c.finish}}})
}

func (c *chatStream) broken() bool { return c.fail }

func (c *chatStream) end(r *run, ans answer) (gateway.Outcome, error) {
	if err, done := endEarly(&c.callerStream, r, ans, dialects.OpenAI); done {
		return *c.out, err
	}
	if len(c.calls) > 0 {
		var calls []any
		for i, tc := range c.calls {
			calls = append(calls, map[string]any{"index": i, "id": tc.id, "type": "function",
				"function": map[string]any{"name": tc.name, "arguments": string(tc.args)}})
		}
		delta := map[string]any{"tool_calls": calls}
		if !c.roleSent {
			delta["role"], c.roleSent = "assistant", true
		}
		_ = c.write(c.chunk(delta, nil, nil))
	}
	u := r.out.Usage
	_ = c.write(c.chunk(map[string]any{}, c.finish, map[string]any{
		"usage": map[string]int64{"prompt_tokens": u.PromptTokens, "completion_tokens": u.CompletionTokens,
			"total_tokens": u.PromptTokens + u.CompletionTokens},
		"weir": map[string]any{"agent_calls": r.callSummaries()}}))
	_ = c.write(sse(nil, "", []byte("[DONE]")))
	return *c.out, c.err
}

// endEarly closes the caller's begun stream when the loop ended on a failure (done true): a model call's error
// answer or the depth limit as the dialect's error event; a broken model stream has already relayed its error.
// (Before anything was sent, finish answers a failure as the unstreamed error it is.)
func endEarly(c *callerStream, r *run, ans answer, d dialects.Dialect) (error, bool) {
	switch {
	case ans.status == http.StatusOK && !r.stopped:
		return nil, false
	case ans.body == nil && ans.status != http.StatusOK: // broken stream, its error relayed
		return c.err, true
	case ans.status != http.StatusOK:
		msg := gjson.GetBytes(ans.body, "error.message").Str
		if msg == "" {
			msg = string(ans.body)
		}
		relay.EndWithError(c.w, d, errors.New(msg))
		return c.err, true
	default:
		relay.EndWithError(c.w, d, errors.New(depthMessage(r)))
		return c.err, true
	}
}

// callSummaries are the calls Weir ran, for the chat and messages streams' weir extension field.
func (r *run) callSummaries() []any {
	out := []any{}
	for _, rec := range r.records {
		s := map[string]any{"name": rec.call.name, "arguments": json.RawMessage(nonEmptyArgs(rec.call.args))}
		switch {
		case rec.pending:
			s["status"] = "approval_required"
		case rec.errText != "":
			s["status"], s["error"] = "failed", rec.errText
		default:
			s["status"] = "completed"
		}
		out = append(out, s)
	}
	return out
}

func nonEmptyArgs(a json.RawMessage) json.RawMessage {
	if len(a) == 0 || !json.Valid(a) {
		return json.RawMessage(`{}`)
	}
	return a
}

func (chatDialect) wire() dialects.Dialect { return dialects.OpenAI }
