package translate

// Hub request decoding (OpenAI caller) and encoding (OpenAI provider).
//
// | parameter                        | OpenAI provider                                               |
// |----------------------------------|---------------------------------------------------------------|
// | top_k (from Anthropic callers)   | dropped with a warning: OpenAI rejects unknown arguments      |
// | reasoning_effort                 | kept for o-series/gpt-5 models, else dropped with a warning   |
// | stream                           | stream_options.include_usage forced on so usage is accounted  |

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

// knownOpenAIParams are the request members the hub understands; anything else is reported when translating to
// another dialect, because it cannot be carried there.
var knownOpenAIParams = map[string]bool{
	"model": true, "messages": true, "max_tokens": true, "max_completion_tokens": true, "temperature": true,
	"top_p": true, "n": true, "stop": true, "stream": true, "stream_options": true, "tools": true,
	"tool_choice": true, "parallel_tool_calls": true, "response_format": true, "reasoning_effort": true,
	"presence_penalty": true, "frequency_penalty": true, "seed": true, "user": true, "logprobs": true,
	"top_logprobs": true, "logit_bias": true, "metadata": true, "top_k": true,
}

func decodeOpenAIRequest(body []byte, out dialects.Dialect, w *warnings) (*schema.ChatRequest, error) {
	req := new(schema.ChatRequest)
	if err := json.Unmarshal(body, req); err != nil {
		return nil, reqErr("", "invalid request: %v", err)
	}
	if len(req.Messages) == 0 {
		return nil, reqErr("messages", "at least one message is required")
	}
	gjson.ParseBytes(body).ForEach(func(k, _ gjson.Result) bool {
		if !knownOpenAIParams[k.Str] {
			w.add("%s: parameter not supported by %s, dropped", k.Str, out)
		}
		return true
	})
	return req, nil
}

// openaiReasoningModel guesses whether an OpenAI model accepts reasoning_effort; others reject it with a 400.
func openaiReasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	return strings.HasPrefix(m, "o1") || strings.HasPrefix(m, "o3") || strings.HasPrefix(m, "o4") ||
		strings.HasPrefix(m, "gpt-5") || strings.HasPrefix(m, "gpt-oss")
}

func encodeOpenAIRequest(req *schema.ChatRequest, w *warnings) ([]byte, error) {
	if req.TopK != nil {
		w.add("top_k: not supported by openai, dropped")
		req.TopK = nil
	}
	if req.ReasoningEffort != "" && !openaiReasoningModel(req.Model) {
		w.add("reasoning_effort: model %s does not reason, dropped", req.Model)
		req.ReasoningEffort = ""
	}
	if req.Stream {
		// The gateway needs usage to account the request, so ask for it whatever the caller said.
		req.StreamOptions = &schema.StreamOptions{IncludeUsage: true}
	} else {
		req.StreamOptions = nil
	}
	return json.Marshal(req)
}

// sameDialectRequest only pins model and stream: the body is otherwise already in the right dialect.
func sameDialectRequest(body []byte, model string, stream bool) ([]byte, error) {
	b, err := sjson.SetBytes(body, "model", model)
	if err != nil {
		return nil, err
	}
	if stream {
		return sjson.SetBytes(b, "stream", true)
	}
	return sjson.DeleteBytes(b, "stream")
}

func decodeOpenAIResponse(body []byte) (*schema.ChatResponse, error) {
	resp := new(schema.ChatResponse)
	if err := json.Unmarshal(body, resp); err != nil {
		return nil, err
	}
	return resp, nil
}
