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
	"strings"

	"github.com/tidwall/gjson"
)

var countTokensFields = map[Dialect][]string{
	Anthropic: {"model", "messages", "system", "tools", "tool_choice", "thinking"},
	Gemini:    {"contents", "systemInstruction", "tools", "toolConfig"},
}

// ResponsesCountTokensRequest converts the body of a Responses API input_tokens request (a Responses create
// request) to the body of the target's token-counting endpoint for model. history holds earlier turns' items (from
// previous_response_id). For Gemini, wrap puts the request under "generateContentRequest" with its model, as the
// Gemini API wants (Vertex AI takes the fields at the top level). Caller mistakes are *RequestError.
func ResponsesCountTokensRequest(out Dialect, body []byte, model string, history []json.RawMessage, wrap bool) ([]byte, error) {
	fields, ok := countTokensFields[out]
	if !ok {
		return nil, fmt.Errorf("translate: the %s dialect has no token-counting request", out)
	}
	chat, _, err := ResponsesToChat(body, model, history)
	if err != nil {
		return nil, err
	}
	full, _, err := ChatRequest(OpenAI, out, chat, model, false)
	if err != nil {
		return nil, err
	}
	root := gjson.ParseBytes(full)
	b := make([]byte, 0, len(full)+64)
	b = append(b, '{')
	if out == Gemini && wrap {
		b = append(b, `"generateContentRequest":{"model":`...)
		b = appendJSONString(b, geminiModelName(model))
	}
	first := !(out == Gemini && wrap)
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
	if out == Gemini && wrap {
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// geminiModelName is "models/{model}" unless the model already names its collection.
func geminiModelName(model string) string {
	if strings.HasPrefix(model, "models/") || strings.HasPrefix(model, "tunedModels/") {
		return model
	}
	return "models/" + model
}

// CountTokensResult reads the input token count from the answer of a token-counting endpoint of dialect out:
// Anthropic's input_tokens, Gemini's totalTokens.
func CountTokensResult(out Dialect, body []byte) (int64, error) {
	field := "input_tokens"
	if out == Gemini {
		field = "totalTokens"
	}
	v := gjson.GetBytes(body, field)
	if v.Type != gjson.Number {
		if out == Gemini && !v.Exists() && gjson.ValidBytes(body) && gjson.ParseBytes(body).IsObject() {
			return 0, nil // Gemini leaves totalTokens out when it is zero
		}
		return 0, fmt.Errorf("translate: the %s token count has no %s", out, field)
	}
	return v.Int(), nil
}
