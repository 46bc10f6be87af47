package translate

// OpenAI chat.completion.chunk SSE (upstream) → Responses API SSE events, for /v1/responses callers.
//
// Every event is `event: <type>` + `data: {…,"type":<type>,"sequence_number":n}` with n counting from 0. Sequence:
//
//	response.created, response.in_progress                    (status in_progress, empty output)
//	reasoning:  output_item.added, reasoning_summary_part.added, reasoning_summary_text.delta…,
//	            reasoning_summary_text.done, reasoning_summary_part.done, output_item.done
//	text:       output_item.added, content_part.added, output_text.delta…, output_text.done,
//	            content_part.done, output_item.done
//	tool call:  output_item.added, function_call_arguments.delta…, function_call_arguments.done, output_item.done
//	response.completed | response.incomplete (finish_reason length / content_filter) | response.failed
//
// A new kind of output closes the open items first; tool calls stay open together (chat may interleave their
// argument fragments) and close in output order. An upstream error or a broken upstream (End with a cause) writes
// an `error` event followed by response.failed. There is no [DONE] line.

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

// ResponsesStream turns a chat-completions SSE stream (OpenAI dialect) into Responses API SSE events.
type ResponsesStream interface {
	// Feed takes the next raw upstream bytes (any split) and writes Responses events to w.
	Feed(p []byte, w io.Writer) error
	// End is called at upstream EOF, or with the cause when the upstream broke, and closes the caller's stream.
	End(w io.Writer, cause error) error
	// Usage is the token usage reported so far.
	Usage() schema.Usage
	// Output is the finished output items, for storing the conversation.
	Output() []json.RawMessage
	// Response is the final response object (as in the terminal event), nil until the stream has ended.
	Response() []byte
}

// NewResponsesStream returns the translator for a chat-completions stream answering the Responses request req,
// reported to the caller as response respID of model.
func NewResponsesStream(respID, model string, req []byte) ResponsesStream {
	return &responsesStream{id: respID, model: model, req: req, created: time.Now().Unix(), cur: -1}
}

// respItem is one output item being streamed.
type respItem struct {
	kind   evKind // evText (message), evReasoning, evToolStart (function call)
	id     string
	callID string
	name   string
	text   []byte // text, reasoning text or arguments so far
	open   bool
}

type responsesStream struct {
	id, model string
	req       []byte
	created   int64

	p       openaiParser
	usage   schema.Usage
	seq     int64
	started bool
	done    bool
	finish  string

	items []*respItem // in output order
	cur   int         // index of the open message or reasoning item, -1 none
	tools []int       // chat tool index → items index (+1; 0 = none)

	output []json.RawMessage
	final  []byte
	buf    []byte
	w      io.Writer
	emitF  func([]event) error
	werr   error
}

func (s *responsesStream) Usage() schema.Usage       { return s.usage }
func (s *responsesStream) Output() []json.RawMessage { return s.output }
func (s *responsesStream) Response() []byte          { return s.final }

func (s *responsesStream) Feed(p []byte, w io.Writer) error {
	if s.done {
		return nil
	}
	s.w = w
	if s.emitF == nil {
		s.emitF = s.emit
	}
	return s.p.feed(p, s.emitF)
}

func (s *responsesStream) End(w io.Writer, cause error) error {
	if s.done {
		return nil
	}
	s.w = w
	if s.emitF == nil {
		s.emitF = s.emit
	}
	if cause == nil {
		if err := s.p.finish(s.emitF); err != nil {
			cause = err
		}
	}
	if s.done {
		return s.werr
	}
	s.start()
	if cause != nil {
		s.fail("server_error", causeMessage(cause))
	} else {
		s.complete()
	}
	s.flush()
	return s.werr
}

func (s *responsesStream) emit(evs []event) error {
	for i := range evs {
		ev := &evs[i]
		if ev.kind == evUsage {
			mergeUsage(&s.usage, ev.usage)
			continue
		}
		if s.done {
			break
		}
		s.start()
		switch ev.kind {
		case evText, evReasoning:
			s.delta(ev.kind, ev.text)
		case evToolStart:
			s.toolStart(ev.index, ev.id, ev.name)
		case evToolArgs:
			s.toolArgs(ev.index, ev.text)
		case evFinish:
			s.finish = ev.text
		case evDone:
			s.complete()
		case evError:
			s.fail(streamErrorType(dialects.OpenAI, ev.errType), ev.text)
		}
	}
	s.flush()
	return s.werr
}

// flush writes what the events of one upstream chunk produced, in one write.
func (s *responsesStream) flush() {
	if len(s.buf) == 0 || s.werr != nil {
		s.buf = s.buf[:0]
		return
	}
	_, s.werr = s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if s.werr == nil {
		flush(s.w)
	}
}

// ev starts an event of type typ; the caller appends the remaining members and calls end.
func (s *responsesStream) ev(typ string) []byte {
	b := append(s.buf, "event: "...)
	b = append(b, typ...)
	b = append(b, "\ndata: {\"type\":\""...)
	b = append(b, typ...)
	b = append(b, `","sequence_number":`...)
	b = appendInt(b, s.seq)
	s.seq++
	return b
}

func (s *responsesStream) end(b []byte) { s.buf = append(b, "}\n\n"...) }

// itemRef appends item_id and output_index.
func itemRef(b []byte, id string, idx int) []byte {
	b = append(b, `,"item_id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"output_index":`...)
	return strconv.AppendInt(b, int64(idx), 10)
}

func (s *responsesStream) snapshot(b []byte, status, incomplete string, usage *schema.Usage, code, msg string) []byte {
	return responseObject(b, &responseMeta{
		id: s.id, created: s.created, model: s.model, status: status, incomplete: incomplete, req: s.req,
		output: s.output, usage: usage, errCode: code, errMsg: msg,
	})
}

func (s *responsesStream) start() {
	if s.started {
		return
	}
	s.started = true
	for _, typ := range []string{"response.created", "response.in_progress"} {
		b := append(s.ev(typ), `,"response":`...)
		b = s.snapshot(b, "in_progress", "", nil, "", "")
		s.end(b)
	}
}

// open adds an output item and announces it.
func (s *responsesStream) open(it *respItem) int {
	it.open = true
	s.items = append(s.items, it)
	idx := len(s.items) - 1
	b := append(s.ev("response.output_item.added"), `,"output_index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	b = append(b, `,"item":`...)
	switch it.kind {
	case evText:
		b = append(b, `{"id":`...)
		b = appendJSONString(b, it.id)
		b = append(b, `,"type":"message","status":"in_progress","role":"assistant","content":[]}`...)
		s.end(b)
		b = itemRef(s.ev("response.content_part.added"), it.id, idx)
		b = append(b, `,"content_index":0,"part":`...)
		b = outputTextPart(b, "")
	case evReasoning:
		b = reasoningItem(b, it.id, "")
		s.end(b)
		b = itemRef(s.ev("response.reasoning_summary_part.added"), it.id, idx)
		b = append(b, `,"summary_index":0,"part":`...)
		b = summaryTextPart(b, "")
	default:
		b = functionCallItem(b, it.id, "in_progress", it.callID, it.name, "")
	}
	s.end(b)
	return idx
}

// closeItem finishes output item idx: its done events and the finished item in Output.
func (s *responsesStream) closeItem(idx int) {
	it := s.items[idx]
	if !it.open {
		return
	}
	it.open = false
	text := string(it.text)
	var item []byte
	switch it.kind {
	case evText:
		b := itemRef(s.ev("response.output_text.done"), it.id, idx)
		b = append(b, `,"content_index":0,"text":`...)
		b = appendJSONString(b, text)
		b = append(b, `,"logprobs":[]`...)
		s.end(b)
		b = itemRef(s.ev("response.content_part.done"), it.id, idx)
		b = append(b, `,"content_index":0,"part":`...)
		b = outputTextPart(b, text)
		s.end(b)
		status := "completed"
		if st, _ := responseStatus(s.finish); st == "incomplete" {
			status = "incomplete"
		}
		item = messageItem(nil, it.id, status, text, "")
	case evReasoning:
		b := itemRef(s.ev("response.reasoning_summary_text.done"), it.id, idx)
		b = append(b, `,"summary_index":0,"text":`...)
		b = appendJSONString(b, text)
		s.end(b)
		b = itemRef(s.ev("response.reasoning_summary_part.done"), it.id, idx)
		b = append(b, `,"summary_index":0,"part":`...)
		b = summaryTextPart(b, text)
		s.end(b)
		item = reasoningItem(nil, it.id, text)
	default:
		b := itemRef(s.ev("response.function_call_arguments.done"), it.id, idx)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, it.name)
		b = append(b, `,"arguments":`...)
		b = appendJSONString(b, text)
		s.end(b)
		item = functionCallItem(nil, it.id, "completed", it.callID, it.name, text)
	}
	b := append(s.ev("response.output_item.done"), `,"output_index":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	b = append(b, `,"item":`...)
	b = append(b, item...)
	s.end(b)
	s.output = append(s.output, item)
}

// closeAll closes every open item in output order.
func (s *responsesStream) closeAll() {
	for i := range s.items {
		s.closeItem(i)
	}
	s.cur = -1
}

func (s *responsesStream) delta(kind evKind, text string) {
	if text == "" {
		return
	}
	if s.cur < 0 || s.items[s.cur].kind != kind || !s.items[s.cur].open {
		s.closeAll()
		prefix := "msg_"
		if kind == evReasoning {
			prefix = "rs_"
		}
		s.cur = s.open(&respItem{kind: kind, id: newID(prefix)})
	}
	it := s.items[s.cur]
	it.text = append(it.text, text...)
	var b []byte
	if kind == evText {
		b = itemRef(s.ev("response.output_text.delta"), it.id, s.cur)
		b = append(b, `,"content_index":0,"delta":`...)
		b = appendJSONString(b, text)
		b = append(b, `,"logprobs":[]`...)
	} else {
		b = itemRef(s.ev("response.reasoning_summary_text.delta"), it.id, s.cur)
		b = append(b, `,"summary_index":0,"delta":`...)
		b = appendJSONString(b, text)
	}
	s.end(b)
}

func (s *responsesStream) toolStart(index int, callID, name string) {
	if index < 0 || index >= maxBlocks {
		return
	}
	if s.cur >= 0 { // text or reasoning before the tool calls is finished
		s.closeItem(s.cur)
		s.cur = -1
	}
	for len(s.tools) <= index {
		s.tools = append(s.tools, 0)
	}
	if s.tools[index] != 0 {
		return
	}
	if callID == "" {
		callID = newID("call_")
	}
	s.tools[index] = s.open(&respItem{kind: evToolStart, id: newID("fc_"), callID: callID, name: name}) + 1
}

func (s *responsesStream) toolArgs(index int, args string) {
	if args == "" || index < 0 || index >= maxBlocks {
		return
	}
	if index >= len(s.tools) || s.tools[index] == 0 { // fragments without an announced call: open one anyway
		s.toolStart(index, "", "")
	}
	idx := s.tools[index] - 1
	it := s.items[idx]
	if !it.open {
		return
	}
	it.text = append(it.text, args...)
	b := itemRef(s.ev("response.function_call_arguments.delta"), it.id, idx)
	b = append(b, `,"delta":`...)
	b = appendJSONString(b, args)
	s.end(b)
}

// complete closes the open items and writes the terminal response event.
func (s *responsesStream) complete() {
	s.closeAll()
	s.done = true
	status, reason := responseStatus(s.finish)
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	usage := s.usage
	s.final = s.snapshot(nil, status, reason, &usage, "", "")
	b := append(s.ev(typ), `,"response":`...)
	b = append(b, s.final...)
	s.end(b)
}

// fail writes an error event and response.failed; items already finished stay in the output.
func (s *responsesStream) fail(code, msg string) {
	s.done = true
	if code == "" {
		code = "server_error"
	}
	b := append(s.ev("error"), `,"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"param":null`...)
	s.end(b)
	usage := s.usage
	s.final = s.snapshot(nil, "failed", "", &usage, code, msg)
	b = append(s.ev("response.failed"), `,"response":`...)
	b = append(b, s.final...)
	s.end(b)
}
