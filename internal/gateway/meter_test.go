package gateway

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/schema"
)

func TestMeters(t *testing.T) {
	invokeMetrics := base64.StdEncoding.EncodeToString([]byte(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":7}}`))
	cases := []struct {
		name   string
		meter  func(*RawRequest, []byte) schema.Usage
		req    RawRequest
		answer string
		want   schema.Usage
	}{
		{"two images", MeterImages, RawRequest{}, `{"created":1,"data":[{"b64_json":"x"},{"b64_json":"y"}]}`, schema.Usage{Images: 2}},
		{"gpt-image tokens", MeterImages, RawRequest{}, `{"data":[{}],"usage":{"input_tokens":10,"output_tokens":1056,"total_tokens":1066}}`,
			schema.Usage{Images: 1, PromptTokens: 10, CompletionTokens: 1056, TotalTokens: 1066}},
		{"speech characters", MeterSpeech, RawRequest{Body: []byte(`{"input":"héllo wörld","voice":"alloy"}`)}, ``, schema.Usage{Characters: 11}},
		{"transcription seconds", MeterAudio, RawRequest{}, `{"text":"x","usage":{"type":"duration","seconds":61.5}}`, schema.Usage{AudioMillis: 61500}},
		{"verbose_json duration", MeterAudio, RawRequest{}, `{"text":"x","duration":2.25}`, schema.Usage{AudioMillis: 2250}},
		{"transcription tokens", MeterAudio, RawRequest{}, `{"text":"x","usage":{"type":"tokens","input_tokens":30,"output_tokens":5,"total_tokens":35}}`,
			schema.Usage{PromptTokens: 30, CompletionTokens: 5, TotalTokens: 35}},
		{"cohere rerank", MeterRerank, RawRequest{}, `{"results":[],"meta":{"billed_units":{"search_units":2}}}`, schema.Usage{Queries: 2}},
		{"jina rerank", MeterRerank, RawRequest{}, `{"results":[],"usage":{"total_tokens":40}}`, schema.Usage{Queries: 1, TotalTokens: 40}},
		{"gemini answer", MeterGemini, RawRequest{}, `{"candidates":[],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":3,"thoughtsTokenCount":2}}`,
			schema.Usage{PromptTokens: 5, CompletionTokens: 5, ReasoningTokens: 2, TotalTokens: 10}},
		{"gemini stream array", MeterGemini, RawRequest{}, `[{"usageMetadata":{"promptTokenCount":5}},{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9}}]`,
			schema.Usage{PromptTokens: 5, CompletionTokens: 9, TotalTokens: 14}},
		{"gemini sse tail", MeterGemini, RawRequest{}, "ens\":1}}\r\n\r\ndata: {\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":6}}\r\n\r\n",
			schema.Usage{PromptTokens: 4, CompletionTokens: 6, TotalTokens: 10}},
		{"bedrock converse", MeterBedrock, RawRequest{}, `{"output":{},"usage":{"inputTokens":8,"outputTokens":4,"totalTokens":12}}`,
			schema.Usage{PromptTokens: 8, CompletionTokens: 4, TotalTokens: 12}},
		{"bedrock invoke (anthropic)", MeterBedrock, RawRequest{}, `{"content":[],"usage":{"input_tokens":9,"output_tokens":2}}`,
			schema.Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11}},
		{"bedrock invoke stream", MeterBedrock, RawRequest{}, "\x00\x00binary{\"bytes\":\"" + invokeMetrics + "\"}\x00",
			schema.Usage{PromptTokens: 12, CompletionTokens: 7, TotalTokens: 19}},
		{"nothing to read", MeterGemini, RawRequest{}, `not json`, schema.Usage{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.meter(&c.req, []byte(c.answer)); got != c.want {
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
		_ = GeminiTailUsage(b)
		_ = BedrockTailUsage(b)
		_ = MeterAudio(nil, b)
		_ = MeterRerank(nil, b)
	})
}

func TestHeaderUsageAndEstimates(t *testing.T) {
	h := http.Header{"X-Amzn-Bedrock-Input-Token-Count": {"21"}, "X-Amzn-Bedrock-Output-Token-Count": {"9"}}
	if got := headerUsage(h); got != (schema.Usage{PromptTokens: 21, CompletionTokens: 9, TotalTokens: 30}) {
		t.Fatalf("header usage %+v", got)
	}
	if got := headerUsage(http.Header{}); !got.IsZero() {
		t.Fatalf("no headers: %+v", got)
	}
	for body, want := range map[string]int64{
		`{"max_tokens":7}`:                            7,
		`{"max_completion_tokens":8,"max_tokens":7}`:  8,
		`{"max_output_tokens":9}`:                     9,
		`{"generationConfig":{"maxOutputTokens":10}}`: 10,
		`{"inferenceConfig":{"maxTokens":11}}`:        11,
		`{"messages":[]}`:                             defaultCompletionEstimate,
	} {
		if _, got := tokenEstimate([]byte(body)); got != want {
			t.Errorf("%s: %d, want %d", body, got, want)
		}
	}
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
	if got := ImagesTailUsage(tail); got != (schema.Usage{PromptTokens: 50, CompletionTokens: 1056, TotalTokens: 1106, Images: 1}) {
		t.Fatalf("%+v", got)
	}
	if got := ImagesTailUsage([]byte("data: partial")); !got.IsZero() {
		t.Fatalf("no usage: %+v", got)
	}
}

// TestCutUsage: an answer cut after it began is charged the prompt and the output relayed, never nothing.
func TestCutUsage(t *testing.T) {
	body := []byte(`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"` + strings.Repeat("x", 396) + `"}]}`)
	chat := &Request{Body: body}
	tests := []struct {
		name string
		req  *Request
		out  Outcome
		want schema.Usage
	}{
		{"no usage report: prompt estimate and counted text", chat, Outcome{Text: 400},
			schema.Usage{PromptTokens: 118, CompletionTokens: 100, TotalTokens: 218}},
		{"nothing relayed yet: the prompt", chat, Outcome{}, schema.Usage{PromptTokens: 118, TotalTokens: 118}},
		{"Anthropic's message_start: its prompt, the counted output", chat,
			Outcome{Usage: schema.Usage{PromptTokens: 7, CompletionTokens: 1, TotalTokens: 8}, Text: 41},
			schema.Usage{PromptTokens: 7, CompletionTokens: 11, TotalTokens: 18}},
		{"a full report stands", chat, Outcome{Usage: schema.Usage{PromptTokens: 7, CompletionTokens: 90, TotalTokens: 97}, Text: 40},
			schema.Usage{PromptTokens: 7, CompletionTokens: 90, TotalTokens: 97}},
		{"pass-through with metered usage", &Request{Raw: &RawRequest{Body: body}}, Outcome{Usage: schema.Usage{Characters: 5}},
			schema.Usage{Characters: 5}},
		{"pass-through that could not be metered: the reservation", &Request{Raw: &RawRequest{Body: body}}, Outcome{},
			schema.Usage{PromptTokens: 118, CompletionTokens: 100, TotalTokens: 218}},
	}
	for _, tc := range tests {
		b := tc.req.Body
		if tc.req.Raw != nil {
			b = tc.req.Raw.Body
		}
		if got := cutUsage(tc.req, b, &tc.out); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
