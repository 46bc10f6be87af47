package translate

// Anthropic Messages SSE (upstream) → hub stream events.
//
// message_start → meta (+ input usage); content_block_start tool_use → tool start with the next OpenAI tool index;
// text_delta / thinking_delta / input_json_delta → text / reasoning / tool argument fragments (signature_delta
// and redacted thinking are Anthropic-only and dropped); message_delta → finish reason + output usage;
// message_stop → done; error → error. ping is ignored.

import (
	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// maxBlocks bounds the block-index table against hostile indices.
const maxBlocks = 4096

type anthropicParser struct {
	sse   sseReader
	evs   []event
	tools []int // Anthropic block index → hub tool index (+1; 0 = not a tool block)
	nTool int
	fn    func(event, data []byte) error
	emit  func([]event) error
}

func (p *anthropicParser) feed(b []byte, emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.feed(b, p.fn)
}

func (p *anthropicParser) finish(emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.finish(p.fn)
}

func anthropicStreamUsage(u gjson.Result) schema.Usage {
	in := u.Get("input_tokens").Int()
	cr := u.Get("cache_read_input_tokens").Int()
	cw := u.Get("cache_creation_input_tokens").Int()
	var prompt int64
	if in != 0 || cr != 0 || cw != 0 {
		prompt = in + cr + cw
	}
	return schema.Usage{PromptTokens: prompt, CompletionTokens: u.Get("output_tokens").Int(), CachedTokens: cr}
}

func (p *anthropicParser) onEvent(_, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	evs := p.evs[:0]
	switch typ := gjson.GetBytes(data, "type").Str; typ {
	case "content_block_delta":
		d := gjson.GetBytes(data, "delta")
		switch d.Get("type").Str {
		case "text_delta":
			evs = append(evs, event{kind: evText, text: d.Get("text").String()})
		case "thinking_delta":
			evs = append(evs, event{kind: evReasoning, text: d.Get("thinking").String()})
		case "input_json_delta":
			if ti := p.toolIndex(gjson.GetBytes(data, "index").Int()); ti >= 0 {
				evs = append(evs, event{kind: evToolArgs, index: ti, text: d.Get("partial_json").String()})
			}
		}
	case "content_block_start":
		cb := gjson.GetBytes(data, "content_block")
		switch cb.Get("type").Str {
		case "text":
			if t := cb.Get("text").String(); t != "" {
				evs = append(evs, event{kind: evText, text: t})
			}
		case "thinking":
			if t := cb.Get("thinking").String(); t != "" {
				evs = append(evs, event{kind: evReasoning, text: t})
			}
		case "tool_use":
			bi := gjson.GetBytes(data, "index").Int()
			if bi >= 0 && bi < maxBlocks {
				for int64(len(p.tools)) <= bi {
					p.tools = append(p.tools, 0)
				}
				p.tools[bi] = p.nTool + 1
				evs = append(evs, event{kind: evToolStart, index: p.nTool, id: cb.Get("id").String(), name: cb.Get("name").String()})
				p.nTool++
			}
		}
	case "message_start":
		m := gjson.GetBytes(data, "message")
		evs = append(evs, event{kind: evUsage, usage: anthropicStreamUsage(m.Get("usage"))})
		evs = append(evs, event{kind: evMeta, id: m.Get("id").String()})
	case "message_delta":
		evs = append(evs, event{kind: evUsage, usage: anthropicStreamUsage(gjson.GetBytes(data, "usage"))})
		if sr := gjson.GetBytes(data, "delta.stop_reason"); sr.Type == gjson.String {
			evs = append(evs, event{kind: evFinish, text: finishFromAnthropic(sr.Str)})
		}
	case "message_stop":
		evs = append(evs, event{kind: evDone})
	case "error":
		e := gjson.GetBytes(data, "error")
		evs = append(evs, event{kind: evError, errType: e.Get("type").String(), text: e.Get("message").String()})
	}
	p.evs = evs
	if len(evs) == 0 {
		return nil
	}
	return p.emit(evs)
}

func (p *anthropicParser) toolIndex(block int64) int {
	if block < 0 || block >= int64(len(p.tools)) || p.tools[block] == 0 {
		return -1
	}
	return p.tools[block] - 1
}
