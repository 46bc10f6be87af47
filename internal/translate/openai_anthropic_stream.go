package translate

// Hub stream events → Anthropic Messages SSE, for Anthropic callers.
//
// Sequence: message_start (usage.input_tokens as known so far), then per block content_block_start /
// content_block_delta (text_delta, thinking_delta, input_json_delta) / content_block_stop, with a new block
// whenever the kind of content or the tool call changes, then message_delta (stop_reason, full usage — input
// tokens included, since most upstreams only report them at the end) and message_stop. An upstream error or a
// broken stream becomes `event: error`.

import (
	"io"
	"strconv"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

const (
	blockNone byte = iota
	blockText
	blockThinking
	blockTool
)

type anthropicSink struct {
	model string
	id    string
	usage *schema.Usage

	buf      []byte
	started  bool
	done     bool
	open     byte // kind of the open block, blockNone if none
	openTool int  // hub tool index of the open tool block
	next     int  // index of the next Anthropic content block
	stop     string
	sawTool  bool
}

func newAnthropicSink(model string, usage *schema.Usage) *anthropicSink {
	return &anthropicSink{model: model, usage: usage}
}

func (s *anthropicSink) closed() bool { return s.done }

func (s *anthropicSink) event(name string) []byte {
	b := append(s.buf[:0], "event: "...)
	b = append(b, name...)
	return append(b, "\ndata: "...)
}

func (s *anthropicSink) send(w io.Writer, b []byte) error {
	b = append(b, '\n', '\n')
	s.buf = b
	_, err := w.Write(b)
	return err
}

func (s *anthropicSink) start(w io.Writer) error {
	if s.started {
		return nil
	}
	s.started = true
	u := anthropicUsageFrom(*s.usage)
	b := s.event("message_start")
	b = append(b, `{"type":"message_start","message":{"id":`...)
	b = appendJSONString(b, anthropicMsgID(s.id))
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, s.model)
	b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	b = appendInt(b, u.InputTokens)
	if u.CacheReadInputTokens > 0 {
		b = append(b, `,"cache_read_input_tokens":`...)
		b = appendInt(b, u.CacheReadInputTokens)
	}
	b = append(b, `,"output_tokens":0}}}`...)
	return s.send(w, b)
}

func (s *anthropicSink) closeBlock(w io.Writer) error {
	if s.open == blockNone {
		return nil
	}
	s.open = blockNone
	b := s.event("content_block_stop")
	b = append(b, `{"type":"content_block_stop","index":`...)
	b = strconv.AppendInt(b, int64(s.next-1), 10)
	b = append(b, '}')
	return s.send(w, b)
}

// openBlock starts a block of the given kind; blockJSON is the content_block object.
func (s *anthropicSink) openBlock(w io.Writer, kind byte, blockJSON []byte) error {
	if err := s.closeBlock(w); err != nil {
		return err
	}
	b := s.event("content_block_start")
	b = append(b, `{"type":"content_block_start","index":`...)
	b = strconv.AppendInt(b, int64(s.next), 10)
	b = append(b, `,"content_block":`...)
	b = append(b, blockJSON...)
	b = append(b, '}')
	s.open = kind
	s.next++
	return s.send(w, b)
}

func (s *anthropicSink) delta(w io.Writer, typ, field, text string) error {
	b := s.event("content_block_delta")
	b = append(b, `{"type":"content_block_delta","index":`...)
	b = strconv.AppendInt(b, int64(s.next-1), 10)
	b = append(b, `,"delta":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, field...)
	b = append(b, `":`...)
	b = appendJSONString(b, text)
	b = append(b, `}}`...)
	return s.send(w, b)
}

func (s *anthropicSink) write(w io.Writer, ev *event) error {
	switch ev.kind {
	case evMeta:
		if s.id == "" {
			s.id = ev.id
		}
		return s.start(w)
	case evError:
		return s.fail(w, streamErrorType(dialects.Anthropic, ev.errType), ev.text)
	case evDone:
		return s.close(w)
	case evFinish:
		s.stop = stopToAnthropic(ev.text)
		return nil
	}
	if err := s.start(w); err != nil {
		return err
	}
	switch ev.kind {
	case evText:
		if ev.text == "" {
			return nil
		}
		if s.open != blockText {
			if err := s.openBlock(w, blockText, []byte(`{"type":"text","text":""}`)); err != nil {
				return err
			}
		}
		return s.delta(w, "text_delta", "text", ev.text)
	case evReasoning:
		if ev.text == "" {
			return nil
		}
		if s.open != blockThinking {
			if err := s.openBlock(w, blockThinking, []byte(`{"type":"thinking","thinking":"","signature":""}`)); err != nil {
				return err
			}
		}
		return s.delta(w, "thinking_delta", "thinking", ev.text)
	case evToolStart:
		s.sawTool = true
		blk := append([]byte(`{"type":"tool_use","id":`), nil...)
		blk = appendJSONString(blk, ev.id)
		blk = append(blk, `,"name":`...)
		blk = appendJSONString(blk, ev.name)
		blk = append(blk, `,"input":{}}`...)
		if err := s.openBlock(w, blockTool, blk); err != nil {
			return err
		}
		s.openTool = ev.index
		return nil
	case evToolArgs:
		// Anthropic blocks cannot interleave; fragments for a tool block already closed have nowhere to go.
		if ev.text == "" || s.open != blockTool || s.openTool != ev.index {
			return nil
		}
		return s.delta(w, "input_json_delta", "partial_json", ev.text)
	}
	return nil
}

func (s *anthropicSink) close(w io.Writer) error {
	if err := s.start(w); err != nil {
		return err
	}
	if err := s.closeBlock(w); err != nil {
		return err
	}
	s.done = true
	stop := s.stop
	if stop == "" {
		stop = "end_turn"
		if s.sawTool {
			stop = "tool_use"
		}
	}
	u := anthropicUsageFrom(*s.usage)
	b := s.event("message_delta")
	b = append(b, `{"type":"message_delta","delta":{"stop_reason":`...)
	b = appendJSONString(b, stop)
	b = append(b, `,"stop_sequence":null},"usage":{"input_tokens":`...)
	b = appendInt(b, u.InputTokens)
	if u.CacheReadInputTokens > 0 {
		b = append(b, `,"cache_read_input_tokens":`...)
		b = appendInt(b, u.CacheReadInputTokens)
	}
	b = append(b, `,"output_tokens":`...)
	b = appendInt(b, u.OutputTokens)
	b = append(b, "}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}"...)
	return s.send(w, b)
}

func (s *anthropicSink) fail(w io.Writer, errType, msg string) error {
	s.done = true
	if errType == "" {
		errType = "api_error"
	}
	b := s.event("error")
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendJSONString(b, errType)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `}}`...)
	return s.send(w, b)
}

func (s *anthropicSink) end(w io.Writer, cause error) error {
	if cause != nil {
		return s.fail(w, "api_error", causeMessage(cause))
	}
	return s.close(w)
}
