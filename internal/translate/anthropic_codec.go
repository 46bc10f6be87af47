package translate

// The Anthropic Messages dialect: a caller dialect and a provider dialect (Anthropic, and Claude on Vertex AI).
// Upstream errors read as {"type":"error","error":{"type","message"}}; token counting is /v1/messages/count_tokens.

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

func init() {
	register(dialects.Anthropic, &codec{
		encodeRequest: func(req *schema.ChatRequest, w warnings) ([]byte, warnings, error) {
			b, err := encodeAnthropicRequest(req, &w)
			return b, w, err
		},
		decodeResponse: decodeAnthropicResponse,
		newParser:      func() parser { return &anthropicParser{} },
		errorMessage: func(root gjson.Result) (string, string) {
			return root.Get("error.message").String(), root.Get("error.type").String()
		},
		countTokensRequest: anthropicCountTokensRequest,
		countTokensResult:  anthropicCountTokensResult,

		decodeRequest: func(body []byte, _ dialects.Dialect) (*schema.ChatRequest, warnings, error) {
			var w warnings
			req, err := decodeAnthropicRequest(body, &w)
			return req, w, err
		},
		encodeResponse: encodeAnthropicResponse,
		newSink: func(model string, _ bool, usage *schema.Usage) sink {
			return newAnthropicSink(model, usage)
		},
		errorBody: func(status int, msg, _ string) []byte { return AnthropicError(status, statusErrorType(status), msg) },
	})
}

// anthropicErrorTypes maps the gateway's error types (OpenAI's names, and "overloaded") to the names Anthropic's
// SDKs know.
var anthropicErrorTypes = map[string]string{
	"invalid_request_error": "invalid_request_error",
	"authentication_error":  "authentication_error",
	"permission_error":      "permission_error",
	"not_found_error":       "not_found_error",
	"rate_limit_error":      "rate_limit_error",
	"overloaded":            "overloaded_error",
	"timeout_error":         "timeout_error",
	"api_error":             "api_error",
}

type anthropicErrorJSON struct {
	Type  string             `json:"type"`
	Error anthropicErrorPart `json:"error"`
}

type anthropicErrorPart struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// AnthropicError renders an error as Anthropic does: {"type":"error","error":{"type","message"}}. typ is the
// error type in the gateway's vocabulary (OpenAI's names, and "overloaded"); it and status choose Anthropic's
// name (413 is always request_too_large; an unknown type is api_error). It is the one renderer of this shape, for
// translated upstream errors and for the gateway's own.
func AnthropicError(status int, typ, message string) []byte {
	t, ok := anthropicErrorTypes[typ]
	if !ok {
		t = "api_error"
	}
	if status == http.StatusRequestEntityTooLarge {
		t = "request_too_large"
	}
	b, _ := json.Marshal(anthropicErrorJSON{Type: "error", Error: anthropicErrorPart{Type: t, Message: message}})
	return b
}

// anthropicCountFields are the members of a Messages request that /v1/messages/count_tokens accepts; it refuses
// others, max_tokens for one.
var anthropicCountFields = []string{"model", "messages", "system", "tools", "tool_choice", "thinking"}

func anthropicCountTokensRequest(full gjson.Result, _ string, _ bool) []byte {
	b := make([]byte, 0, len(full.Raw)+64)
	b = append(b, '{')
	b = appendFields(b, full, anthropicCountFields, false)
	return append(b, '}')
}

func anthropicCountTokensResult(body []byte) (int64, error) {
	v := gjson.GetBytes(body, "input_tokens")
	if v.Type != gjson.Number {
		return 0, fmt.Errorf("translate: the %s token count has no %s", dialects.Anthropic, "input_tokens")
	}
	return v.Int(), nil
}
