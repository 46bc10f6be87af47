package gateway

import (
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/jsonstr"
	"github.com/weir-gateway/weir/internal/relay"
)

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
