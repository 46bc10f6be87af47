package agent

import (
	"encoding/json"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
)

// messagesStream relays a streamed messages request's model calls as one Anthropic message stream: the first
// turn's message_start, then every turn's text (and thinking) blocks as they arrive, renumbered into one
// sequence of content blocks; the tool_use blocks Weir runs are not sent; the last turn's tool_use blocks (the
// caller's own, or held for approval), a message_delta with the last stop reason and the request's usage, and
// message_stop end it.
type messagesStream struct {
	callerStream
	started bool
	next    int // the caller's next content block index
	// the turn being read
	local  map[int]int // the turn's block index → the caller's, for relayed blocks
	blocks []msgBlock
	stop   gjson.Result
	seq    gjson.Result
	fail   bool
}

type msgBlock struct {
	kind     string // text, tool_use, or another block type (relayed, not kept)
	text     []byte // text, or tool input JSON
	id, name string
}

func (m *messagesStream) turn() {
	m.local, m.blocks, m.stop, m.seq, m.fail = map[int]int{}, nil, gjson.Result{}, gjson.Result{}, false
}

func (m *messagesStream) event(name, data []byte) error {
	ev, typ, ok := typedEvent(name, data)
	if !ok {
		return nil
	}
	switch typ {
	case "message_start":
		if m.started {
			return nil
		}
		m.started = true
		return m.write(sse(nil, "message_start", data))
	case "content_block_start":
		i := int(ev.Get("index").Int())
		for len(m.blocks) <= i {
			m.blocks = append(m.blocks, msgBlock{})
		}
		cb := ev.Get("content_block")
		b := &m.blocks[i]
		b.kind, b.id, b.name = cb.Get("type").Str, cb.Get("id").Str, cb.Get("name").Str
		if b.kind == "tool_use" {
			return nil // kept until the turn ends: run by Weir, or sent at the end
		}
		m.local[i] = m.next
		m.next++
		return m.relay("content_block_start", data, m.local[i])
	case "content_block_delta", "content_block_stop":
		i := int(ev.Get("index").Int())
		if i < len(m.blocks) && typ == "content_block_delta" {
			b := &m.blocks[i]
			if b.kind == "tool_use" {
				b.text = append(b.text, ev.Get("delta.partial_json").Str...)
			} else {
				b.text = append(b.text, ev.Get("delta.text").Str...)
			}
		}
		if ci, ok := m.local[i]; ok {
			return m.relay(typ, data, ci)
		}
		return nil
	case "message_delta":
		m.stop, m.seq = ev.Get("delta.stop_reason"), ev.Get("delta.stop_sequence")
		return nil
	case "error":
		m.fail = true
		return m.write(sse(nil, "error", data))
	}
	return nil // ping, message_stop
}

func (m *messagesStream) relay(name string, data []byte, index int) error {
	d, err := sjson.SetBytes(data, "index", index)
	if err != nil {
		return nil
	}
	return m.write(sse(nil, name, d))
}

func (m *messagesStream) answer() []byte {
	content := []any{}
	for _, b := range m.blocks {
		switch b.kind {
		case "text":
			content = append(content, map[string]any{"type": "text", "text": string(b.text)})
		case "tool_use":
			content = append(content, map[string]any{"type": "tool_use", "id": b.id, "name": b.name,
				"input": json.RawMessage(nonEmptyArgs(b.text))})
		}
	}
	return mustJSON(map[string]any{"type": "message", "role": "assistant", "content": content,
		"stop_reason": m.stop.Value(), "stop_sequence": m.seq.Value()})
}

func (m *messagesStream) broken() bool { return m.fail }

func (m *messagesStream) end(r *run, ans answer) (gateway.Outcome, error) {
	if err, done := endEarly(&m.callerStream, r, ans, dialects.Anthropic); done {
		return *m.out, err
	}
	if !m.started {
		start := map[string]any{"type": "message", "id": newID("msg_"), "role": "assistant", "content": []any{},
			"model": gjson.GetBytes(r.req.Body, "model").Str, "stop_reason": nil, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": r.out.Usage.PromptTokens, "output_tokens": 0}}
		_ = m.write(sse(nil, "message_start", mustJSON(map[string]any{"type": "message_start", "message": start})))
	}
	for _, b := range m.blocks {
		if b.kind != "tool_use" {
			continue
		}
		i := m.next
		m.next++
		_ = m.write(sse(nil, "content_block_start", mustJSON(map[string]any{"type": "content_block_start", "index": i,
			"content_block": map[string]any{"type": "tool_use", "id": b.id, "name": b.name, "input": map[string]any{}}})))
		_ = m.write(sse(nil, "content_block_delta", mustJSON(map[string]any{"type": "content_block_delta", "index": i,
			"delta": map[string]any{"type": "input_json_delta", "partial_json": string(nonEmptyArgs(b.text))}})))
		_ = m.write(sse(nil, "content_block_stop", mustJSON(map[string]any{"type": "content_block_stop", "index": i})))
	}
	u := r.out.Usage
	_ = m.write(sse(nil, "message_delta", mustJSON(map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": m.stop.Value(), "stop_sequence": m.seq.Value()},
		"usage": map[string]any{"input_tokens": u.PromptTokens, "output_tokens": u.CompletionTokens},
		"weir":  map[string]any{"agent_calls": r.callSummaries()}})))
	_ = m.write(sse(nil, "message_stop", []byte(`{"type":"message_stop"}`)))
	return *m.out, m.err
}

func (messagesDialect) wire() dialects.Dialect { return dialects.Anthropic }
