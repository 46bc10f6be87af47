package gateway

import (
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/jsonstr"
)

// rewriteModel appends to dst the body with its "model" value replaced by model. Every other byte is kept, so
// fields the gateway does not know reach the upstream untouched.
func rewriteModel(dst, body []byte, e *essentials, model string) []byte {
	start := e.model.Index
	end := start + len(e.model.Raw)
	if e.model.Str == model || start <= 0 || end > len(body) {
		return append(dst, body...)
	}
	dst = append(dst, body[:start]...)
	dst = jsonstr.Append(dst, model)
	return append(dst, body[end:]...)
}

var streamOptionsUsage = []byte(`"stream_options":{"include_usage":true},`)

// askForUsage makes a streaming body request the usage chunk, so every stream can be metered even when the
// caller did not ask for usage (the relay then withholds that chunk from the caller).
func askForUsage(body []byte, e *essentials) []byte {
	if e.includeUsage {
		return body
	}
	if e.hasStreamOpt {
		if b, err := sjson.SetBytes(body, "stream_options.include_usage", true); err == nil {
			return b
		}
		return body
	}
	// Insert the member right after the opening brace; the body is a validated object.
	i := 0
	for i < len(body) && body[i] != '{' {
		i++
	}
	out := make([]byte, 0, len(body)+len(streamOptionsUsage))
	out = append(out, body[:i+1]...)
	out = append(out, streamOptionsUsage...)
	return append(out, body[i+1:]...)
}
