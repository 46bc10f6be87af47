package translate

import (
	"io"
	"testing"

	"github.com/weir-gateway/weir/internal/dialects"
)

func BenchmarkChatRequestOpenAIToAnthropic(b *testing.B) {
	body := readFixture(b, "openai_chat_request.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ChatRequest(dialects.OpenAI, dialects.Anthropic, body, "claude-sonnet-4-5", true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChatResponseAnthropicToOpenAI(b *testing.B) {
	body := readFixture(b, "anthropic_chat_response.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ChatResponse(dialects.OpenAI, dialects.Anthropic, body, "claude"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamAnthropicToOpenAI(b *testing.B) {
	src := readFixture(b, "anthropic_stream.txt")
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		st, _ := NewStream(dialects.OpenAI, dialects.Anthropic, "claude", true)
		// Feed in network-sized pieces, as the gateway's reads would.
		for i := 0; i < len(src); i += 256 {
			if err := st.Feed(src[i:min(i+256, len(src))], io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.End(io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}
