package relay

import (
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/jsonstr"
)

// EndWithError ends a broken stream of dialect d with an error event the caller's SDK raises, instead of a
// hang or a silent truncation.
func EndWithError(w Sink, d dialects.Dialect, cause error) {
	msg := jsonstr.Append(nil, "the upstream stream ended abnormally: "+cause.Error())
	var b []byte
	switch ev, ok := w.(StreamErrorEventer); {
	case ok:
		b = ev.StreamErrorEvent(msg)
	case d == dialects.Anthropic:
		b = append([]byte("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"), msg...)
		b = append(b, "}}\n\n"...)
	default:
		b = append([]byte(`data: {"error":{"message":`), msg...)
		b = append(b, `,"type":"api_error","code":"upstream_stream_error"}}`+"\n\n"...)
	}
	_, _ = w.Write(b)
	_ = w.Flush()
}

// StreamErrorEventer is a sink whose stream has an error event of its own (a Responses API pass-through, set by
// its layer with gateway.Try.SetSink): when a relayed stream breaks, EndWithError asks it rather than knowing
// the operation.
type StreamErrorEventer interface {
	// StreamErrorEvent is the whole event (SSE framing included) saying the stream broke; msg is a JSON string.
	StreamErrorEvent(msg []byte) []byte
}
