package translate

// The OpenAI dialect: the hub itself, a caller dialect and a provider dialect. Upstream errors read as
// {"error":{"message","type","code"}}; embeddings pass through with the model pinned.

import (
	"encoding/json"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

func init() {
	register(dialects.OpenAI, &codec{
		encodeRequest: func(req *schema.ChatRequest, w warnings) ([]byte, warnings, error) {
			b, err := encodeOpenAIRequest(req, &w)
			return b, w, err
		},
		decodeResponse: decodeOpenAIResponse,
		newParser:      func() parser { return &openaiParser{} },
		errorMessage: func(root gjson.Result) (string, string) {
			return root.Get("error.message").String(), root.Get("error.code").String()
		},
		embeddingsRequest: func(body []byte, model string) ([]byte, error) {
			return sjson.SetBytes(body, "model", model)
		},
		embeddingsVectors: openaiEmbeddingsVectors,

		decodeRequest: func(body []byte, out dialects.Dialect) (*schema.ChatRequest, warnings, error) {
			var w warnings
			req, err := decodeOpenAIRequest(body, out, &w)
			return req, w, err
		},
		encodeResponse: func(resp *schema.ChatResponse) ([]byte, error) { return json.Marshal(resp) },
		newSink: func(model string, includeUsage bool, usage *schema.Usage) sink {
			return newOpenAISink(model, includeUsage, usage)
		},
		errorBody: openaiErrorBody,
	})
}

func openaiEmbeddingsVectors(root gjson.Result, b64 bool) (vecs []gjson.Result, u schema.Usage, asIs bool) {
	u.PromptTokens = root.Get("usage.prompt_tokens").Int()
	u.TotalTokens = root.Get("usage.total_tokens").Int()
	if !b64 || root.Get("data.0.embedding").Type == gjson.String {
		return nil, u, true // already in the shape the caller asked for
	}
	for _, d := range root.Get("data").Array() {
		vecs = append(vecs, d.Get("embedding"))
	}
	return vecs, u, false
}

// openaiErrorBody renders {"error":{"message","type","code"}}; code is always present, null when unknown, as
// OpenAI's own errors have it.
func openaiErrorBody(status int, msg, upstreamCode string) []byte {
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

// openaiErrorType is the gateway's name for status, except that OpenAI calls every 5xx a server_error.
func openaiErrorType(status int) string {
	if status >= 500 {
		return "server_error"
	}
	return statusErrorType(status)
}
