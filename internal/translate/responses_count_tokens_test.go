package translate

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
)

const countReq = `{"model":"alias","instructions":"be brief","input":[{"role":"user","content":"weather in Paris?"}],
	"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}],
	"max_output_tokens":99,"temperature":0.5,"store":true}`

func TestResponsesCountTokensRequestAnthropic(t *testing.T) {
	history := []json.RawMessage{json.RawMessage(`{"type":"message","role":"user","content":[{"type":"input_text","text":"my name is Ada"}]}`),
		json.RawMessage(`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hello Ada"}]}`)}
	b, err := ResponsesCountTokensRequest(dialects.Anthropic, []byte(countReq), "claude-sonnet-4-5", history, false)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	r := gjson.ParseBytes(b)
	if r.Get("model").Str != "claude-sonnet-4-5" || r.Get("system").String() == "" || r.Get("tools.0.name").Str != "get_weather" ||
		r.Get("messages.#").Int() != 3 || r.Get("messages.0.content").String() == "" {
		t.Fatalf("count_tokens body %s", b)
	}
	for _, refused := range []string{"max_tokens", "temperature", "stream", "store"} {
		if r.Get(refused).Exists() {
			t.Errorf("%s is not accepted by count_tokens: %s", refused, b)
		}
	}
}

func TestResponsesCountTokensRequestGemini(t *testing.T) {
	b, err := ResponsesCountTokensRequest(dialects.Gemini, []byte(countReq), "gemini-2.5-flash", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	r := gjson.ParseBytes(b)
	g := r.Get("generateContentRequest")
	if !json.Valid(b) || g.Get("model").Str != "models/gemini-2.5-flash" || g.Get("contents.#").Int() != 1 ||
		g.Get("systemInstruction").String() == "" || g.Get("tools.0.functionDeclarations.0.name").Str != "get_weather" ||
		g.Get("generationConfig").Exists() || len(r.Map()) != 1 {
		t.Fatalf("gemini countTokens body %s", b)
	}
	// Vertex AI: the same fields at the top level, no model.
	b, err = ResponsesCountTokensRequest(dialects.Gemini, []byte(countReq), "tunedModels/x", nil, false)
	r = gjson.ParseBytes(b)
	if err != nil || !json.Valid(b) || r.Get("generateContentRequest").Exists() || r.Get("model").Exists() || r.Get("contents.#").Int() != 1 {
		t.Fatalf("vertex countTokens body %s %v", b, err)
	}
	if geminiModelName("tunedModels/x") != "tunedModels/x" {
		t.Fatal("a tuned model name was prefixed")
	}
}

func TestResponsesCountTokensRequestErrors(t *testing.T) {
	if _, err := ResponsesCountTokensRequest(dialects.Cohere, []byte(countReq), "m", nil, false); err == nil {
		t.Fatal("cohere has no token counting")
	}
	var re *RequestError
	_, err := ResponsesCountTokensRequest(dialects.Anthropic, []byte(`{"model":"m","input":"x","tools":[{"type":"web_search"}]}`), "m", nil, false)
	if !errors.As(err, &re) {
		t.Fatalf("a built-in tool: %v", err)
	}
}

func TestCountTokensResult(t *testing.T) {
	cases := []struct {
		d    dialects.Dialect
		body string
		want int64
		err  bool
	}{
		{dialects.Anthropic, `{"input_tokens":42}`, 42, false},
		{dialects.Anthropic, `{"type":"error"}`, 0, true},
		{dialects.Gemini, `{"totalTokens":7,"promptTokensDetails":[]}`, 7, false},
		{dialects.Gemini, `{}`, 0, false},
		{dialects.Gemini, `not json`, 0, true},
	}
	for _, c := range cases {
		n, err := CountTokensResult(c.d, []byte(c.body))
		if n != c.want || (err != nil) != c.err {
			t.Errorf("CountTokensResult(%s, %s) = %d, %v", c.d, c.body, n, err)
		}
	}
}
