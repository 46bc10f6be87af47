package api

import (
	"net/http"
	"strconv"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/httpx"
)

type anthropicError struct {
	Type  string             `json:"type"`
	Error anthropicErrorBody `json:"error"`
}

type anthropicErrorBody struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// anthropicTypes maps the gateway's error types to the names Anthropic's SDKs know.
var anthropicTypes = map[string]string{
	gateway.TypeInvalidRequest: "invalid_request_error",
	gateway.TypeAuthentication: "authentication_error",
	gateway.TypePermission:     "permission_error",
	gateway.TypeNotFound:       "not_found_error",
	gateway.TypeRateLimit:      "rate_limit_error",
	gateway.TypeOverloaded:     "overloaded_error",
	gateway.TypeTimeout:        "timeout_error",
	gateway.TypeAPI:            "api_error",
}

// writeAnthropicError writes e as Anthropic does: {"type":"error","error":{"type","message"}}.
func writeAnthropicError(w http.ResponseWriter, e *gateway.Error) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+999_999_999)/1_000_000_000), 10))
	}
	if e.Raw != nil {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_, _ = w.Write(e.Raw)
		return
	}
	typ, ok := anthropicTypes[e.Type]
	if !ok {
		typ = "api_error"
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		typ = "request_too_large"
	}
	httpx.WriteJSON(w, e.Status, anthropicError{Type: "error", Error: anthropicErrorBody{Type: typ, Message: e.Message}})
}
