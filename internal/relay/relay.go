// Package relay copies upstream answers to the caller when no translation is needed: the bytes go through as
// they arrive, and the token usage is read from them on the way.
package relay

import (
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// Sink is where an answer goes: the caller's HTTP response, seen through a small interface so the pipeline can
// be driven without net/http in tests and benchmarks.
type Sink interface {
	Header() http.Header
	WriteHeader(status int)
	Write(p []byte) (int, error)
	// Flush sends buffered bytes to the caller now.
	Flush() error
}

// OpenAIUsage reads the usage object of an OpenAI-dialect JSON answer (chat, completions, embeddings, and
// responses, whose names differ).
func OpenAIUsage(body []byte) schema.Usage {
	u := gjson.Get(unsafeString(body), "usage") // read within this call only: no copy needed
	if !u.Exists() || u.Type == gjson.Null {
		return schema.Usage{}
	}
	return usageFrom(u)
}

func usageFrom(u gjson.Result) schema.Usage {
	var out schema.Usage
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens", "input_tokens":
			out.PromptTokens = v.Int()
		case "completion_tokens", "output_tokens":
			out.CompletionTokens = v.Int()
		case "total_tokens":
			out.TotalTokens = v.Int()
		case "prompt_tokens_details", "input_tokens_details":
			out.CachedTokens = v.Get("cached_tokens").Int()
		case "completion_tokens_details", "output_tokens_details":
			out.ReasoningTokens = v.Get("reasoning_tokens").Int()
		}
		return true
	})
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}
