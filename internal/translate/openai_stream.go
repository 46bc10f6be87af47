package translate

// OpenAI chat.completion.chunk SSE (upstream) → hub stream events.
//
// First chunk → meta (id); delta.content / delta.reasoning_content (or delta.reasoning, used by several
// OpenAI-compatible servers) → text / reasoning; delta.tool_calls → tool start when a fragment carries id or name,
// argument fragments otherwise; finish_reason → finish; usage → usage; `[DONE]` → done; {"error":…} → error.
// Only choice 0 is followed: other dialects have a single answer.

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/schema"
)

type openaiParser struct {
	sse  sseReader
	evs  []event
	meta bool
	// started marks tool indices already announced: some OpenAI-compatible servers repeat id and name on every
	// fragment, which must not open a new tool call each time.
	started []bool
	fn      func(event, data []byte) error
	emit    func([]event) error
}

func (p *openaiParser) feed(b []byte, emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.feed(b, p.fn)
}

func (p *openaiParser) finish(emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.finish(p.fn)
}

var doneMarker = []byte("[DONE]")

func (p *openaiParser) onEvent(_, data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil
	}
	evs := p.evs[:0]
	if bytes.Equal(data, doneMarker) {
		evs = append(evs, event{kind: evDone})
		p.evs = evs
		return p.emit(evs)
	}
	root := gjson.ParseBytes(data)
	if e := root.Get("error"); e.Exists() {
		evs = append(evs, event{kind: evError, errType: e.Get("type").String(), text: e.Get("message").String()})
		p.evs = evs
		return p.emit(evs)
	}
	if u := root.Get("usage"); u.IsObject() {
		evs = append(evs, event{kind: evUsage, usage: schema.Usage{
			PromptTokens: u.Get("prompt_tokens").Int(), CompletionTokens: u.Get("completion_tokens").Int(),
			TotalTokens: u.Get("total_tokens").Int(), CachedTokens: u.Get("prompt_tokens_details.cached_tokens").Int(),
			ReasoningTokens: u.Get("completion_tokens_details.reasoning_tokens").Int(),
		}})
	}
	if !p.meta {
		p.meta = true
		evs = append(evs, event{kind: evMeta, id: root.Get("id").String()})
	}
	root.Get("choices").ForEach(func(_, c gjson.Result) bool {
		if c.Get("index").Int() != 0 {
			return true
		}
		d := c.Get("delta")
		if r := d.Get("reasoning_content"); r.Type == gjson.String && r.Str != "" {
			evs = append(evs, event{kind: evReasoning, text: r.Str})
		} else if r := d.Get("reasoning"); r.Type == gjson.String && r.Str != "" {
			evs = append(evs, event{kind: evReasoning, text: r.Str})
		}
		if t := d.Get("content"); t.Type == gjson.String && t.Str != "" {
			evs = append(evs, event{kind: evText, text: t.Str})
		}
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			idx := int(tc.Get("index").Int())
			id, name := tc.Get("id").String(), tc.Get("function.name").String()
			if (id != "" || name != "") && p.firstFragment(idx) {
				evs = append(evs, event{kind: evToolStart, index: idx, id: id, name: name})
			}
			if a := tc.Get("function.arguments").String(); a != "" {
				evs = append(evs, event{kind: evToolArgs, index: idx, text: a})
			}
			return true
		})
		if f := c.Get("finish_reason"); f.Type == gjson.String && f.Str != "" {
			evs = append(evs, event{kind: evFinish, text: f.Str})
		}
		return true
	})
	p.evs = evs
	if len(evs) == 0 {
		return nil
	}
	return p.emit(evs)
}

func (p *openaiParser) firstFragment(idx int) bool {
	if idx < 0 || idx >= maxBlocks {
		return false
	}
	for len(p.started) <= idx {
		p.started = append(p.started, false)
	}
	if p.started[idx] {
		return false
	}
	p.started[idx] = true
	return true
}
