package translate

import (
	"encoding/json"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

type responseGolden struct {
	Body  json.RawMessage `json:"body"`
	Usage schema.Usage    `json:"usage"`
}

func TestChatResponseGolden(t *testing.T) {
	for _, out := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic, dialects.Gemini, dialects.Bedrock, dialects.Cohere} {
		for _, in := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic} {
			if in == out {
				continue
			}
			t.Run(string(out+"_"+in), func(t *testing.T) {
				body, u, err := ChatResponse(in, out, readFixture(t, string(out)+"_chat_response.json"), "caller-model")
				if err != nil {
					t.Fatal(err)
				}
				goldenJSON(t, string("golden/response_"+out+"_"+in+".json"), mustJSON(t, responseGolden{Body: body, Usage: u}))
			})
		}
	}
}

// TestAnthropicResponseRoundTrip: Anthropic answer → OpenAI caller → back to Anthropic keeps ids, text, stop
// reason and usage (cache reads included).
func TestAnthropicResponseRoundTrip(t *testing.T) {
	orig := readFixture(t, "anthropic_chat_response.json")
	oa, u1, err := ChatResponse(dialects.OpenAI, dialects.Anthropic, orig, "m")
	if err != nil {
		t.Fatal(err)
	}
	back, u2, err := ChatResponse(dialects.Anthropic, dialects.OpenAI, oa, "m")
	if err != nil {
		t.Fatal(err)
	}
	if u1 != u2 || u1.PromptTokens != 160 || u1.CachedTokens != 50 || u1.CompletionTokens != 30 {
		t.Errorf("usage %+v / %+v", u1, u2)
	}
	for _, p := range []string{"id", "content.1.text", "content.2.id", "content.2.name", "content.2.input.city", "stop_reason", "usage.output_tokens", "usage.cache_read_input_tokens"} {
		if a, b := gjson.GetBytes(orig, p).String(), gjson.GetBytes(back, p).String(); a != b {
			t.Errorf("%s: %q became %q", p, a, b)
		}
	}
	// Anthropic's input_tokens excluded cache reads but included nothing else; writes become plain input.
	if g := gjson.GetBytes(back, "usage.input_tokens").Int(); g != 110 {
		t.Errorf("input_tokens %d", g)
	}
}

func TestChatResponseSameDialect(t *testing.T) {
	orig := readFixture(t, "openai_chat_response.json")
	b, u, err := ChatResponse(dialects.OpenAI, dialects.OpenAI, orig, "x")
	if err != nil || string(b) != string(orig) || u.TotalTokens != 190 || u.CachedTokens != 50 {
		t.Fatalf("%v %+v", err, u)
	}
	if _, _, err := ChatResponse(dialects.OpenAI, dialects.Anthropic, []byte("not json"), "x"); err == nil {
		t.Fatal("want error on garbage")
	}
}
