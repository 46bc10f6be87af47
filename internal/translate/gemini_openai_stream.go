package translate

// Gemini streamGenerateContent?alt=sse (upstream) → hub stream events.
//
// Every SSE data is a whole GenerateContentResponse. First one → meta (responseId); text parts → text, thought
// parts → reasoning; each functionCall part arrives complete, so it becomes a tool start with a synthesized id
// (see geminiCallID) followed by its full arguments; finishReason → finish (tool_calls when functions were
// called); usageMetadata → usage; {"error":…} → error. Gemini sends no end marker: the stream closes at End.

import (
	"strings"

	"github.com/tidwall/gjson"
)

type geminiParser struct {
	sse   sseReader
	evs   []event
	meta  bool
	nTool int
	id    string
	fn    func(event, data []byte) error
	emit  func([]event) error
}

func (p *geminiParser) feed(b []byte, emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.feed(b, p.fn)
}

func (p *geminiParser) finish(emit func([]event) error) error {
	p.emit = emit
	if p.fn == nil {
		p.fn = p.onEvent
	}
	return p.sse.finish(p.fn)
}

func (p *geminiParser) onEvent(_, data []byte) error {
	root := gjson.ParseBytes(data)
	if !root.IsObject() {
		return nil
	}
	evs := p.evs[:0]
	if e := root.Get("error"); e.Exists() {
		evs = append(evs, event{kind: evError, errType: e.Get("status").String(), text: e.Get("message").String()})
		p.evs = evs
		return p.emit(evs)
	}
	if u := root.Get("usageMetadata"); u.IsObject() {
		gu := geminiUsage{
			PromptTokenCount: u.Get("promptTokenCount").Int(), CandidatesTokenCount: u.Get("candidatesTokenCount").Int(),
			TotalTokenCount: u.Get("totalTokenCount").Int(), CachedContentTokenCount: u.Get("cachedContentTokenCount").Int(),
			ThoughtsTokenCount: u.Get("thoughtsTokenCount").Int(),
		}
		evs = append(evs, event{kind: evUsage, usage: gu.toUsage()})
	}
	if !p.meta {
		p.meta = true
		p.id = root.Get("responseId").String()
		evs = append(evs, event{kind: evMeta, id: p.id})
	}
	c := root.Get("candidates.0")
	c.Get("content.parts").ForEach(func(_, part gjson.Result) bool {
		if fc := part.Get("functionCall"); fc.IsObject() {
			name := fc.Get("name").String()
			args := "{}"
			if a := fc.Get("args"); a.IsObject() {
				args = compactJSON([]byte(a.Raw))
			}
			id := geminiCallID(fc.Get("id").String(), p.id, p.nTool, name, args, part.Get("thoughtSignature").String())
			evs = append(evs, event{kind: evToolStart, index: p.nTool, id: id, name: name}, event{kind: evToolArgs, index: p.nTool, text: args})
			p.nTool++
			return true
		}
		if t := part.Get("text"); t.Type == gjson.String && t.Str != "" {
			if part.Get("thought").Bool() {
				evs = append(evs, event{kind: evReasoning, text: t.Str})
			} else {
				evs = append(evs, event{kind: evText, text: t.Str})
			}
		}
		return true
	})
	if f := c.Get("finishReason").String(); f != "" && !strings.HasSuffix(f, "UNSPECIFIED") {
		evs = append(evs, event{kind: evFinish, text: finishFromGemini(f, p.nTool > 0)})
	} else if root.Get("promptFeedback.blockReason").String() != "" {
		evs = append(evs, event{kind: evFinish, text: "content_filter"})
	}
	p.evs = evs
	if len(evs) == 0 {
		return nil
	}
	return p.emit(evs)
}
