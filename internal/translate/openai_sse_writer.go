package translate

// Hub stream events → OpenAI chat.completion.chunk SSE, for OpenAI callers.
//
// Sequence: a role chunk ({"role":"assistant","content":""}), content / reasoning_content / tool_calls deltas (id,
// type and name on a tool call's first delta, then argument fragments by index), one chunk with finish_reason,
// then — when the caller asked for stream_options.include_usage — a usage chunk with "choices":[], then
// `data: [DONE]`. An upstream error becomes `data: {"error":{…}}` and ends the stream.

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

type openaiSink struct {
	model        string
	id           string
	created      int64
	includeUsage bool
	usage        *schema.Usage

	prefix   []byte // `data: {"id":…,"model":…,"choices":[` shared by every chunk
	buf      []byte
	started  bool // role chunk written
	finished bool // finish_reason chunk written
	done     bool
}

func newOpenAISink(model string, includeUsage bool, usage *schema.Usage) *openaiSink {
	return &openaiSink{model: model, includeUsage: includeUsage, usage: usage, created: time.Now().Unix()}
}

func (s *openaiSink) closed() bool { return s.done }

func (s *openaiSink) head() []byte {
	if s.prefix == nil {
		if s.id == "" {
			s.id = newID("chatcmpl-")
		}
		b := append(make([]byte, 0, 128), `data: {"id":`...)
		b = appendJSONString(b, s.id)
		b = append(b, `,"object":"chat.completion.chunk","created":`...)
		b = appendInt(b, s.created)
		b = append(b, `,"model":`...)
		b = appendJSONString(b, s.model)
		b = append(b, `,"choices":[`...)
		s.prefix = b
	}
	return append(s.buf[:0], s.prefix...)
}

// chunk writes one choice chunk; delta is the already-encoded delta object.
func (s *openaiSink) chunk(w io.Writer, b []byte, finish string) error {
	if finish == "" {
		b = append(b, `,"finish_reason":null}]}`...)
	} else {
		b = append(b, `,"finish_reason":`...)
		b = appendJSONString(b, finish)
		b = append(b, `}]}`...)
	}
	b = append(b, '\n', '\n')
	s.buf = b
	_, err := w.Write(b)
	return err
}

func (s *openaiSink) delta() []byte {
	return append(s.head(), `{"index":0,"delta":`...)
}

func (s *openaiSink) start(w io.Writer) error {
	if s.started {
		return nil
	}
	s.started = true
	b := append(s.delta(), `{"role":"assistant","content":""}`...)
	return s.chunk(w, b, "")
}

func (s *openaiSink) write(w io.Writer, ev *event) error {
	if ev.kind == evMeta {
		if s.id == "" && ev.id != "" {
			s.id = ev.id
		}
		return s.start(w)
	}
	if ev.kind == evError {
		return s.fail(w, streamErrorType(dialects.OpenAI, ev.errType), ev.text)
	}
	if ev.kind == evDone {
		return s.close(w)
	}
	if err := s.start(w); err != nil {
		return err
	}
	b := s.delta()
	switch ev.kind {
	case evText:
		if ev.text == "" {
			return nil
		}
		b = append(b, `{"content":`...)
		b = appendJSONString(b, ev.text)
		b = append(b, '}')
	case evReasoning:
		if ev.text == "" {
			return nil
		}
		b = append(b, `{"reasoning_content":`...)
		b = appendJSONString(b, ev.text)
		b = append(b, '}')
	case evToolStart:
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(ev.index), 10)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, ev.id)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, ev.name)
		b = append(b, `,"arguments":""}}]}`...)
	case evToolArgs:
		if ev.text == "" {
			return nil
		}
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(ev.index), 10)
		b = append(b, `,"function":{"arguments":`...)
		b = appendJSONString(b, ev.text)
		b = append(b, `}}]}`...)
	case evFinish:
		if s.finished {
			return nil
		}
		s.finished = true
		b = append(b, `{}`...)
		return s.chunk(w, b, ev.text)
	default:
		return nil
	}
	return s.chunk(w, b, "")
}

// close ends a complete stream: finish chunk if the upstream sent none, usage chunk, [DONE].
func (s *openaiSink) close(w io.Writer) error {
	if err := s.start(w); err != nil {
		return err
	}
	if !s.finished {
		s.finished = true
		if err := s.chunk(w, append(s.delta(), `{}`...), "stop"); err != nil {
			return err
		}
	}
	s.done = true
	b := s.buf[:0]
	if s.includeUsage {
		u, _ := json.Marshal(schema.NewChatUsage(*s.usage))
		b = append(s.head(), `],"usage":`...)
		b = append(b, u...)
		b = append(b, "}\n\n"...)
	}
	b = append(b, "data: [DONE]\n\n"...)
	s.buf = b
	_, err := w.Write(b)
	return err
}

func (s *openaiSink) fail(w io.Writer, errType, msg string) error {
	s.done = true
	if errType == "" {
		errType = "server_error"
	}
	b := append(s.buf[:0], `data: {"error":{"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, errType)
	b = append(b, `,"code":null}}`...)
	b = append(b, '\n', '\n')
	s.buf = b
	_, err := w.Write(b)
	return err
}

func (s *openaiSink) end(w io.Writer, cause error) error {
	if cause != nil {
		return s.fail(w, "server_error", causeMessage(cause))
	}
	return s.close(w)
}
