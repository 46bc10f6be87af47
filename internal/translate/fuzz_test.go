package translate

import (
	"bytes"
	"testing"

	"github.com/weir-gateway/weir/internal/dialects"
)

// Stream decoders must never panic, whatever the upstream sends, and always close the caller's stream.
func fuzzStream(f *testing.F, out dialects.Dialect) {
	f.Add(streamFixture(f, out))
	f.Add([]byte("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":-5}]}}]}\n\n"))
	f.Add([]byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":99999999,\"delta\":{\"type\":\"input_json_delta\"}}\n\n"))
	f.Add([]byte{0, 0, 0, 20, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic} {
			st, err := NewStream(in, out, "m", true)
			if err != nil {
				t.Fatal(err)
			}
			var w bytes.Buffer
			half := len(data) / 2
			if st.Feed(data[:half], &w) == nil {
				_ = st.Feed(data[half:], &w)
			}
			_ = st.End(&w, nil)
			_ = st.Usage()
		}
	})
}

func FuzzStreamOpenAI(f *testing.F)    { fuzzStream(f, dialects.OpenAI) }
func FuzzStreamAnthropic(f *testing.F) { fuzzStream(f, dialects.Anthropic) }
func FuzzStreamGemini(f *testing.F)    { fuzzStream(f, dialects.Gemini) }
func FuzzStreamBedrock(f *testing.F)   { fuzzStream(f, dialects.Bedrock) }
func FuzzStreamCohere(f *testing.F)    { fuzzStream(f, dialects.Cohere) }

func FuzzChatRequest(f *testing.F) {
	f.Add(readFixture(f, "openai_chat_request.json"), true)
	f.Add(readFixture(f, "anthropic_chat_request.json"), false)
	f.Add([]byte(`{"messages":[{"role":"tool","content":[{"type":"image_url"}]}],"tool_choice":{}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		for _, in := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic} {
			for _, out := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic, dialects.Gemini, dialects.Bedrock, dialects.Cohere} {
				_, _, _ = ChatRequest(in, out, body, "anthropic.claude", stream)
			}
		}
		for _, out := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic, dialects.Gemini, dialects.Bedrock, dialects.Cohere} {
			_, _, _ = ChatResponse(dialects.OpenAI, out, body, "m")
			_, _, _ = ChatResponse(dialects.Anthropic, out, body, "m")
			_ = ErrorBody(dialects.Anthropic, out, 500, body)
		}
	})
}
