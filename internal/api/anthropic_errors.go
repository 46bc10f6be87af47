package api

import (
	"net/http"
	"strconv"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/translate"
)

// writeAnthropicError writes e as Anthropic does: {"type":"error","error":{"type","message"}}, rendered by
// translate.AnthropicError, the one renderer of that shape.
func writeAnthropicError(w http.ResponseWriter, e *gateway.Error) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+999_999_999)/1_000_000_000), 10))
	}
	body := e.Raw
	if body == nil {
		body = translate.AnthropicError(e.Status, e.Type, e.Message)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
