package translate

// Upstream error bodies → the caller's error JSON, keeping the upstream message.
//
// Upstream shapes read: OpenAI {"error":{"message","type","code"}}, Anthropic {"type":"error","error":{"type",
// "message"}}, Gemini {"error":{"code","message","status"}}, Bedrock {"message"} (or "Message"), Cohere
// {"message"}. Anything unreadable keeps its raw text (capped) as the message. The error type is derived from the
// HTTP status in the caller's vocabulary, because upstream type names mean nothing to the other dialect's clients.

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// ErrorBody maps an upstream error body (dialect out, with its HTTP status) into the caller's dialect error JSON.
func ErrorBody(in, out Dialect, status int, body []byte) []byte {
	msg, upstreamCode := upstreamError(out, body)
	if msg == "" {
		msg = http.StatusText(status)
		if msg == "" {
			msg = "upstream error"
		}
	}
	if in == Anthropic {
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": anthropicErrorType(status), "message": msg}})
		return b
	}
	var code any
	switch {
	case status == http.StatusTooManyRequests:
		code = "rate_limit_exceeded"
	case upstreamCode != "":
		code = upstreamCode
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": openaiErrorType(status), "code": code}})
	return b
}

func upstreamError(out Dialect, body []byte) (msg, code string) {
	if !gjson.ValidBytes(body) {
		return rawMessage(body), ""
	}
	root := gjson.ParseBytes(body)
	switch out {
	case OpenAI:
		msg, code = root.Get("error.message").String(), root.Get("error.code").String()
	case Anthropic:
		msg, code = root.Get("error.message").String(), root.Get("error.type").String()
	case Gemini:
		msg, code = root.Get("error.message").String(), root.Get("error.status").String()
	case Bedrock:
		msg = root.Get("message").String()
		if msg == "" {
			msg = root.Get("Message").String()
		}
	case Cohere:
		msg = root.Get("message").String()
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

func openaiErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

func anthropicErrorType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound:
		return "not_found_error"
	case status == http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status == http.StatusServiceUnavailable || status == 529:
		return "overloaded_error"
	case status == http.StatusGatewayTimeout:
		return "timeout_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

// streamErrorType turns an upstream in-stream error type into the caller's vocabulary.
func streamErrorType(caller Dialect, upstream string) string {
	t := strings.ToLower(upstream)
	switch {
	case strings.Contains(t, "throttl"), strings.Contains(t, "rate_limit"), strings.Contains(t, "resource_exhausted"):
		return "rate_limit_error"
	case strings.Contains(t, "overload"), strings.Contains(t, "unavailable"):
		if caller == Anthropic {
			return "overloaded_error"
		}
		return "server_error"
	case strings.Contains(t, "validation"), strings.Contains(t, "invalid"):
		return "invalid_request_error"
	}
	if caller == Anthropic {
		return "api_error"
	}
	return "server_error"
}
