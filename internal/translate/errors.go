package translate

// Upstream error bodies → the caller's error JSON, keeping the upstream message.
//
// Each dialect's codec reads its own error shape (errorMessage) and renders its callers' (errorBody). Anything
// unreadable keeps its raw text (capped) as the message. The error type is derived from the HTTP status in the
// caller's vocabulary, because upstream type names mean nothing to the other dialect's clients.

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
)

// ErrorBody maps an upstream error body (dialect out, with its HTTP status) into the caller's dialect error JSON.
// A caller dialect without a codec gets the hub's (OpenAI's) shape.
func ErrorBody(in, out dialects.Dialect, status int, body []byte) []byte {
	msg, upstreamCode := upstreamError(codecs[out], body)
	if msg == "" {
		msg = http.StatusText(status)
		if msg == "" {
			msg = "upstream error"
		}
	}
	ci := codecs[in]
	if ci == nil || ci.errorBody == nil {
		ci = codecs[dialects.OpenAI]
	}
	return ci.errorBody(status, msg, upstreamCode)
}

func upstreamError(co *codec, body []byte) (msg, code string) {
	if !gjson.ValidBytes(body) {
		return rawMessage(body), ""
	}
	root := gjson.ParseBytes(body)
	if co != nil && co.errorMessage != nil {
		msg, code = co.errorMessage(root)
	}
	if msg == "" { // a dialect answering in another's shape (proxies, gateways in front of the provider)
		for _, p := range []string{"error.message", "message", "Message", "error"} {
			if r := root.Get(p); r.Type == gjson.String && r.Str != "" {
				return r.Str, code
			}
		}
		return rawMessage(body), code
	}
	return msg, code
}

func rawMessage(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 1024 {
		s = s[:1024]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// statusErrorType names the error an HTTP status means, in the gateway's vocabulary (OpenAI's names, and
// "overloaded" for a 503 or 529), which AnthropicError also takes.
func statusErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == http.StatusServiceUnavailable || status == 529:
		return "overloaded"
	case status == http.StatusGatewayTimeout:
		return "timeout_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

// streamErrorType turns an upstream in-stream error type into the caller's vocabulary.
func streamErrorType(caller dialects.Dialect, upstream string) string {
	t := strings.ToLower(upstream)
	switch {
	case strings.Contains(t, "throttl"), strings.Contains(t, "rate_limit"), strings.Contains(t, "resource_exhausted"):
		return "rate_limit_error"
	case strings.Contains(t, "overload"), strings.Contains(t, "unavailable"):
		if caller == dialects.Anthropic {
			return "overloaded_error"
		}
		return "server_error"
	case strings.Contains(t, "validation"), strings.Contains(t, "invalid"):
		return "invalid_request_error"
	}
	if caller == dialects.Anthropic {
		return "api_error"
	}
	return "server_error"
}
