package translate

// OpenAI Responses API input_tokens request → the target's own token-counting request, so that
// POST /v1/responses/input_tokens can be served by targets without the Responses API:
//
// | target               | endpoint                          | body                                               |
// |----------------------|-----------------------------------|----------------------------------------------------|
// | Anthropic (+ Claude   | /v1/messages/count_tokens         | model, messages, system, tools, tool_choice,       |
// | on Vertex)           |                                   | thinking of the Messages request                   |
// | Gemini (AI Studio)   | models/{m}:countTokens            | {generateContentRequest: {model, contents,         |
// |                      |                                   | systemInstruction, tools, toolConfig}}             |
// | Gemini on Vertex AI  | …/models/{m}:countTokens          | contents, systemInstruction, tools                 |
//
// The Responses request goes through the hub (ResponsesToChat) and the existing encoder for the target, then
// keeps only the fields the counting endpoint accepts: Anthropic refuses max_tokens there, for example.

import (
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
)

// ResponsesCountTokensRequest converts the body of a Responses API input_tokens request (a Responses create
// request) to the body of the target's token-counting endpoint for model. history holds earlier turns' items (from
// previous_response_id). For Gemini, wrap puts the request under "generateContentRequest" with its model, as the
// Gemini API wants (Vertex AI takes the fields at the top level). Caller mistakes are *RequestError.
func ResponsesCountTokensRequest(out dialects.Dialect, body []byte, model string, history []json.RawMessage, wrap bool) ([]byte, error) {
	co := codecs[out]
	if co == nil || co.countTokensRequest == nil {
		return nil, fmt.Errorf("translate: the %s dialect has no token-counting request", out)
	}
	chat, _, err := ResponsesToChat(body, model, history)
	if err != nil {
		return nil, err
	}
	full, _, err := ChatRequest(dialects.OpenAI, out, chat, model, false)
	if err != nil {
		return nil, err
	}
	return co.countTokensRequest(gjson.ParseBytes(full), model, wrap), nil
}

// appendFields appends the members fields of root that are set and not null, comma-separated, to b; after says
// b already holds a member, so the first one appended needs a comma too.
func appendFields(b []byte, root gjson.Result, fields []string, after bool) []byte {
	first := !after
	for _, f := range fields {
		v := root.Get(f)
		if !v.Exists() || v.Type == gjson.Null {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, f)
		b = append(b, ':')
		b = append(b, v.Raw...)
	}
	return b
}

// CountTokensResult reads the input token count from the answer of a token-counting endpoint of dialect out:
// Anthropic's input_tokens, Gemini's totalTokens.
func CountTokensResult(out dialects.Dialect, body []byte) (int64, error) {
	co := codecs[out]
	if co == nil || co.countTokensResult == nil {
		return 0, fmt.Errorf("translate: the %s dialect has no token count", out)
	}
	return co.countTokensResult(body)
}
