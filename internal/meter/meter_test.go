package meter

import (
	"encoding/base64"
	"testing"

	"github.com/weir-gateway/weir/internal/schema"
)

func TestMeters(t *testing.T) {
	invokeMetrics := base64.StdEncoding.EncodeToString([]byte(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":7}}`))
	cases := []struct {
		name   string
		meter  func(body, answer []byte) schema.Usage
		body   string
		answer string
		want   schema.Usage
	}{
		{"two images", Images, ``, `{"created":1,"data":[{"b64_json":"x"},{"b64_json":"y"}]}`, schema.Usage{Images: 2}},
		{"gpt-image tokens", Images, ``, `{"data":[{}],"usage":{"input_tokens":10,"output_tokens":1056,"total_tokens":1066}}`,
			schema.Usage{Images: 1, PromptTokens: 10, CompletionTokens: 1056, TotalTokens: 1066}},
		{"speech characters", Speech, `{"input":"héllo wörld","voice":"alloy"}`, ``, schema.Usage{Characters: 11}},
		{"transcription seconds", Audio, ``, `{"text":"x","usage":{"type":"duration","seconds":61.5}}`, schema.Usage{AudioMillis: 61500}},
		{"verbose_json duration", Audio, ``, `{"text":"x","duration":2.25}`, schema.Usage{AudioMillis: 2250}},
		{"transcription tokens", Audio, ``, `{"text":"x","usage":{"type":"tokens","input_tokens":30,"output_tokens":5,"total_tokens":35}}`,
			schema.Usage{PromptTokens: 30, CompletionTokens: 5, TotalTokens: 35}},
		{"cohere rerank", Rerank, ``, `{"results":[],"meta":{"billed_units":{"search_units":2}}}`, schema.Usage{Queries: 2}},
		{"jina rerank", Rerank, ``, `{"results":[],"usage":{"total_tokens":40}}`, schema.Usage{Queries: 1, TotalTokens: 40}},
		{"gemini answer", Gemini, ``, `{"candidates":[],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"thoughtsTokenCount":2}}`,
			schema.Usage{PromptTokens: 5, CompletionTokens: 5, ReasoningTokens: 2, TotalTokens: 10}},
		{"gemini stream array", Gemini, ``, `[{"usageMetadata":{"promptTokenCount":5}},{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}]`,
			schema.Usage{PromptTokens: 5, CompletionTokens: 9, TotalTokens: 14}},
		{"gemini sse tail", Gemini, ``, "ens\":1}}\r\n\r\ndata: {\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":6}}\r\n\r\n",
			schema.Usage{PromptTokens: 4, CompletionTokens: 6, TotalTokens: 10}},
		{"bedrock converse", Bedrock, ``, `{"output":{},"usage":{"inputTokens":8,"outputTokens":4,"totalTokens":12}}`,
			schema.Usage{PromptTokens: 8, CompletionTokens: 4, TotalTokens: 12}},
		{"bedrock invoke (anthropic)", Bedrock, ``, `{"content":[],"usage":{"input_tokens":9,"output_tokens":2}}`,
			schema.Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11}},
		{"bedrock invoke stream", Bedrock, ``, "\x00\x00binary{\"bytes\":\"" + invokeMetrics + "\"}\x00",
			schema.Usage{PromptTokens: 12, CompletionTokens: 7, TotalTokens: 19}},
		{"nothing to read", Gemini, ``, `not json`, schema.Usage{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.meter([]byte(c.body), []byte(c.answer)); got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func FuzzTailMeters(f *testing.F) {
	f.Add([]byte(`{"usage":{"inputTokens":1}}`))
	f.Add([]byte(`"usageMetadata":{"promptTokenCount":`))
	f.Add([]byte(`"bytes":"eyJ9"`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = GeminiTail(b)
		_ = BedrockTail(b)
		_ = Audio(nil, b)
		_ = Rerank(nil, b)
	})
}

func TestTranscriptFormats(t *testing.T) {
	srt := "1\n00:00:00,000 --> 00:00:02,500\nhello\n\n2\n00:00:02,500 --> 00:01:05,250\nworld\n\n"
	vtt := "WEBVTT\n\n00:00.000 --> 00:03.100\nhello\n"
	for in, want := range map[string]int64{srt: 65250, vtt: 3100, "no cues": 0, "x --> bad": 0} {
		if got := SubtitleDuration([]byte(in)).AudioMillis; got != want {
			t.Errorf("%q: %d ms, want %d", in, got, want)
		}
	}
	body, ct := TranscriptText([]byte(`{"text":"hello there","usage":{"type":"duration","seconds":2}}`))
	if string(body) != "hello there\n" || ct != "text/plain; charset=utf-8" {
		t.Fatalf("%q %q", body, ct)
	}
}

func TestImagesTailUsage(t *testing.T) {
	tail := []byte("ta\"}\n\nevent: image_generation.completed\ndata: {\"type\":\"image_generation.completed\",\"b64_json\":\"AAAA\",\"usage\":{\"input_tokens\":50,\"output_tokens\":1056,\"total_tokens\":1106}}\n\n")
	if got := ImagesTail(tail); got != (schema.Usage{PromptTokens: 50, CompletionTokens: 1056, TotalTokens: 1106, Images: 1}) {
		t.Fatalf("%+v", got)
	}
	if got := ImagesTail([]byte("data: partial")); !got.IsZero() {
		t.Fatalf("no usage: %+v", got)
	}
}
