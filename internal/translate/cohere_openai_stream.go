package translate

// Cohere Chat v2 SSE (upstream) → hub stream events.
//
// Events are typed by the "type" member of their data (the SSE event name repeats it). message-start → meta;
// content-delta → text (or reasoning for thinking content); tool-plan-delta → reasoning; tool-call-start → tool
// start (+ any initial arguments); tool-call-delta → argument fragment; message-end → finish + usage + done.
// Citations have no OpenAI equivalent and are dropped.

import (
	"github.com/tidwall/gjson"
)

type cohereParser struct {
	sse   sseReader
	evs   []event
	nTool int
	fn    func(event, data []byte) error
	emit  func([]event) error
}

func (p *cohereParser) feed(b []byte, emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.feed(b, p.fn)
}

func (p *cohereParser) finish(emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.finish(p.fn)
}

func (p *cohereParser) onEvent(name, data []byte) error {
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil
	}
	evs := p.evs[:0]
	typ := root.Get("type").String()
	if typ == "" {
		typ = string(name)
	}
	msg := root.Get("delta.message")
	switch typ {
	case "message-start":
		evs = append(evs, event{kind: evMeta, id: root.Get("id").String()})
	case "content-delta":
		if t := msg.Get("content.thinking"); t.Type == gjson.String && t.Str != "" {
			evs = append(evs, event{kind: evReasoning, text: t.Str})
		}
		if t := msg.Get("content.text"); t.Type == gjson.String && t.Str != "" {
			evs = append(evs, event{kind: evText, text: t.Str})
		}
	case "tool-plan-delta":
		if t := msg.Get("tool_plan").String(); t != "" {
			evs = append(evs, event{kind: evReasoning, text: t})
		}
	case "tool-call-start":
		tc := msg.Get("tool_calls")
		evs = append(evs, event{kind: evToolStart, index: p.nTool, id: tc.Get("id").String(), name: tc.Get("function.name").String()})
		if a := tc.Get("function.arguments").String(); a != "" {
			evs = append(evs, event{kind: evToolArgs, index: p.nTool, text: a})
		}
		p.nTool++
	case "tool-call-delta":
		if a := msg.Get("tool_calls.function.arguments").String(); a != "" && p.nTool > 0 {
			evs = append(evs, event{kind: evToolArgs, index: p.nTool - 1, text: a})
		}
	case "message-end":
		d := root.Get("delta")
		if u := d.Get("usage"); u.IsObject() {
			cu := cohereUsage{CachedTokens: u.Get("cached_tokens").Float()}
			cu.Tokens.InputTokens, cu.Tokens.OutputTokens = u.Get("tokens.input_tokens").Float(), u.Get("tokens.output_tokens").Float()
			cu.BilledUnits.InputTokens, cu.BilledUnits.OutputTokens = u.Get("billed_units.input_tokens").Float(), u.Get("billed_units.output_tokens").Float()
			evs = append(evs, event{kind: evUsage, usage: cu.toUsage()})
		}
		if f := d.Get("finish_reason").String(); f == "ERROR" {
			evs = append(evs, event{kind: evError, errType: "server_error", text: "cohere ended the answer with an error"})
		} else {
			evs = append(evs, event{kind: evFinish, text: finishFromCohere(f)}, event{kind: evDone})
		}
	}
	p.evs = evs
	if len(evs) == 0 {
		return nil
	}
	return p.emit(evs)
}
