package gateway

import (
	"bytes"
	"io"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/jsonstr"
	"github.com/weir-gateway/weir/internal/relay"
)

// idleReader cancels the upstream request when no byte arrives for the idle period.
type idleReader struct {
	r     io.Reader
	idle  time.Duration
	timer *time.Timer
}

func newIdleReader(r io.Reader, idle time.Duration, onIdle func()) *idleReader {
	return &idleReader{r: r, idle: idle, timer: time.AfterFunc(idle, onIdle)}
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.idle)
	}
	return n, err
}

func (ir *idleReader) stop() { ir.timer.Stop() }

// writeStreamError ends a broken stream with an error event the caller's SDK raises, instead of a hang or a
// silent truncation.
func writeStreamError(w relay.Sink, req *Request, cause error) {
	msg := jsonstr.Append(nil, "the upstream stream ended abnormally: "+cause.Error())
	var b []byte
	switch ev, ok := w.(StreamErrorEventer); {
	case ok:
		b = ev.StreamErrorEvent(msg)
	case req.Dialect == dialects.Anthropic:
		b = append([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"), msg...)
		b = append(b, "}}\n\n"...)
	default:
		b = append([]byte(`data: {"error":{"message":`), msg...)
		b = append(b, `,"type":"api_error","code":"upstream_stream_error"}}`+"\n\n"...)
	}
	_, _ = w.Write(b)
	_ = w.Flush()
}

// StreamErrorEventer is a sink a layer sets (Try.SetSink) whose stream has an error event of its own (a
// Responses API pass-through): when a relayed stream breaks, the core asks it rather than knowing the operation.
type StreamErrorEventer interface {
	// StreamErrorEvent is the whole event (SSE framing included) saying the stream broke; msg is a JSON string.
	StreamErrorEvent(msg []byte) []byte
}

// tailWriter forwards everything and keeps the last bytes, where a large JSON answer's usage is.
type tailWriter struct {
	w    io.Writer
	keep int
	tail []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.remember(p)
	return t.w.Write(p)
}

func (t *tailWriter) remember(p []byte) {
	t.tail = append(t.tail, p...)
	if len(t.tail) > 2*t.keep {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-t.keep:]...)
	}
}

// usageObject finds the last "usage" member in the tail and returns it wrapped as {"usage":...}.
func (t *tailWriter) usageObject() []byte {
	i := bytes.LastIndex(t.tail, []byte(`"usage"`))
	if i < 0 {
		return nil
	}
	frag := append([]byte("{"), t.tail[i:]...)
	r := gjson.GetBytes(frag, "usage")
	if !r.Exists() {
		return nil
	}
	return append(append([]byte(`{"usage":`), r.Raw...), '}')
}
