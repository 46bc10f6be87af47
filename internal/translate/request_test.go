package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
)

type requestGolden struct {
	Body     json.RawMessage `json:"body"`
	Warnings []string        `json:"warnings"`
}

func TestChatRequestGolden(t *testing.T) {
	cases := []struct {
		in, out        dialects.Dialect
		fixture, model string
		stream         bool
	}{
		{dialects.OpenAI, dialects.Anthropic, "openai_chat_request.json", "claude-sonnet-4-5", false},
		{dialects.OpenAI, dialects.Gemini, "openai_chat_request.json", "gemini-2.5-flash", false},
		{dialects.OpenAI, dialects.Bedrock, "openai_chat_request.json", "anthropic.claude-sonnet-4-5-v1:0", true},
		{dialects.OpenAI, dialects.Cohere, "openai_chat_request.json", "command-a-03-2025", true},
		{dialects.Anthropic, dialects.OpenAI, "anthropic_chat_request.json", "o4-mini", true},
		{dialects.Anthropic, dialects.Gemini, "anthropic_chat_request.json", "gemini-2.5-pro", false},
		{dialects.Anthropic, dialects.Bedrock, "anthropic_chat_request.json", "anthropic.claude-sonnet-4-5-v1:0", false},
		{dialects.Anthropic, dialects.Cohere, "anthropic_chat_request.json", "command-a-reasoning-08-2025", false},
	}
	for _, c := range cases {
		t.Run(string(c.in)+"_"+string(c.out), func(t *testing.T) {
			body, warns, err := ChatRequest(c.in, c.out, readFixture(t, c.fixture), c.model, c.stream)
			if err != nil {
				t.Fatal(err)
			}
			goldenJSON(t, "golden/request_"+string(c.in)+"_"+string(c.out)+".json", mustJSON(t, requestGolden{Body: body, Warnings: warns}))
		})
	}
}

func TestChatRequestSameDialect(t *testing.T) {
	body, warns, err := ChatRequest(dialects.OpenAI, dialects.OpenAI, readFixture(t, "openai_chat_request.json"), "gpt-4.1", true)
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	if gjson.GetBytes(body, "model").Str != "gpt-4.1" || !gjson.GetBytes(body, "stream").Bool() {
		t.Fatalf("model/stream not pinned: %s", body)
	}
}

// TestOpenAIAnthropicRoundTrip sends an OpenAI request through Anthropic's dialect and back, checking that the
// two-turn tool conversation (ids included) survives.
func TestOpenAIAnthropicRoundTrip(t *testing.T) {
	orig := readFixture(t, "openai_chat_request.json")
	ant, _, err := ChatRequest(dialects.OpenAI, dialects.Anthropic, orig, "claude", false)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := ChatRequest(dialects.Anthropic, dialects.OpenAI, ant, "gpt-4o", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"messages.0.content", "messages.2.tool_calls.0.id", "messages.2.tool_calls.0.function.name",
		"messages.3.tool_call_id", "messages.4.content", "messages.5.content", "tools.0.function.name",
		"temperature", "top_p", "stop.0", "user",
	} {
		a, b := gjson.GetBytes(orig, path), gjson.GetBytes(back, path)
		if a.String() != b.String() {
			t.Errorf("%s: %q became %q\n%s", path, a.String(), b.String(), back)
		}
	}
	if g := gjson.GetBytes(back, "messages.1.content.1.image_url.url").Str; g != "data:image/png;base64,iVBORw0KGgo=" {
		t.Errorf("image lost: %q", g)
	}
	if g := gjson.GetBytes(back, "tool_choice").Str; g != "required" {
		t.Errorf("tool_choice %q", g)
	}
	if g := gjson.GetBytes(back, "max_completion_tokens").Int(); g != 512 {
		t.Errorf("max tokens %d", g)
	}
}

func TestChatRequestErrors(t *testing.T) {
	cases := []struct {
		name        string
		in, out     dialects.Dialect
		body, param string
	}{
		{"strict schema anthropic", dialects.OpenAI, dialects.Anthropic, `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object"}}}}`, "response_format"},
		{"strict schema bedrock", dialects.OpenAI, dialects.Bedrock, `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object"}}}}`, "response_format"},
		{"remote image bedrock", dialects.OpenAI, dialects.Bedrock, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`, "messages"},
		{"n anthropic", dialects.OpenAI, dialects.Anthropic, `{"n":2,"messages":[{"role":"user","content":"hi"}]}`, "n"},
		{"audio anthropic", dialects.OpenAI, dialects.Anthropic, `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages"},
		{"bad tool_choice", dialects.OpenAI, dialects.Gemini, `{"messages":[{"role":"user","content":"hi"}],"tool_choice":"sometimes"}`, "tool_choice"},
		{"server tool", dialects.Anthropic, dialects.OpenAI, `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, "tools"},
		{"unknown gemini tool result", dialects.OpenAI, dialects.Gemini, `{"messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"nope","content":"x"}]}`, "messages"},
		{"no messages", dialects.OpenAI, dialects.Anthropic, `{"messages":[]}`, "messages"},
		{"not json", dialects.OpenAI, dialects.Anthropic, `{`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ChatRequest(c.in, c.out, []byte(c.body), "m", false)
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("want RequestError, got %v", err)
			}
			if re.Param != c.param {
				t.Errorf("param %q, want %q (%v)", re.Param, c.param, re)
			}
		})
	}
	if _, _, err := ChatRequest("gemini", dialects.OpenAI, []byte(`{}`), "m", false); err == nil {
		t.Error("gemini callers are not supported")
	}
}

func TestChatRequestDrops(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"},"temperature":1.5,"presence_penalty":1,"store":true}`
	out, warns, err := ChatRequest(dialects.OpenAI, dialects.Anthropic, []byte(body), "claude", false)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warns, "\n")
	for _, want := range []string{"store", "json_object", "presence_penalty", "clamped"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no warning mentioning %q in %q", want, joined)
		}
	}
	if gjson.GetBytes(out, "temperature").Float() != 1 || gjson.GetBytes(out, "max_tokens").Int() != 4096 {
		t.Errorf("clamp/default max_tokens wrong: %s", out)
	}
	// tool_choice none on Bedrock drops the tools entirely.
	body = `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}`
	out, _, err = ChatRequest(dialects.OpenAI, dialects.Bedrock, []byte(body), "amazon.nova-pro-v1:0", false)
	if err != nil || gjson.GetBytes(out, "toolConfig").Exists() {
		t.Errorf("tools kept for none: %s %v", out, err)
	}
	// reasoning_effort → Anthropic thinking budget with room for the answer.
	body = `{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"medium","temperature":0.2}`
	out, _, err = ChatRequest(dialects.OpenAI, dialects.Anthropic, []byte(body), "claude", false)
	if err != nil || gjson.GetBytes(out, "thinking.budget_tokens").Int() != 8192 || gjson.GetBytes(out, "max_tokens").Int() != 8192+4096 || gjson.GetBytes(out, "temperature").Exists() {
		t.Errorf("thinking mapping: %s %v", out, err)
	}
}

// TestGeminiToolRoundTrip checks that a Gemini function call answered through an OpenAI caller comes back to
// Gemini by name, with its thought signature restored from the synthesized id.
func TestGeminiToolRoundTrip(t *testing.T) {
	resp, _, err := ChatResponse(dialects.OpenAI, dialects.Gemini, readFixture(t, "gemini_chat_response.json"), "gemini")
	if err != nil {
		t.Fatal(err)
	}
	call := gjson.GetBytes(resp, "choices.0.message.tool_calls.0")
	id := call.Get("id").Str
	again, _, _ := ChatResponse(dialects.OpenAI, dialects.Gemini, readFixture(t, "gemini_chat_response.json"), "gemini")
	if id == "" || gjson.GetBytes(again, "choices.0.message.tool_calls.0.id").Str != id {
		t.Fatalf("synthesized id not stable: %q", id)
	}
	req := `{"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":[` + call.Raw + `]},{"role":"tool","tool_call_id":` + mustQuote(id) + `,"content":"21C"}]}`
	out, _, err := ChatRequest(dialects.OpenAI, dialects.Gemini, []byte(req), "gemini", false)
	if err != nil {
		t.Fatal(err)
	}
	if g := gjson.GetBytes(out, "contents.1.parts.0.thoughtSignature").Str; g != "c2ln" {
		t.Errorf("thought signature %q\n%s", g, out)
	}
	if g := gjson.GetBytes(out, "contents.2.parts.0.functionResponse.name").Str; g != "get_weather" {
		t.Errorf("function response name %q\n%s", g, out)
	}
	if g := gjson.GetBytes(out, "contents.2.parts.0.functionResponse.response.result").Str; g != "21C" {
		t.Errorf("function response %q", g)
	}
}

func mustQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
