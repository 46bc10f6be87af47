package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// Streams cut short: by the caller (charged what the upstream bills, logged 499) or by the upstream (the caller
// sees the failure, logged 502).

// cutConfig is the mock upstream behind an OpenAI provider ("up"), an Anthropic one ("claude") and a Gemini one
// ("gem"), with the given governance section.
func cutConfig(upURL, dataDir, gov string) string {
	return fmt.Sprintf(`
server:
  data_dir: %[1]s
providers:
  - {name: up, type: openai, base_url: %[2]s/v1, keys: [{value: sk-test}], timeout: 10s}
  - {name: claude, type: anthropic, base_url: %[2]s, keys: [{value: sk-ant-test}], timeout: 10s}
  - {name: gem, type: gemini, base_url: %[2]s/v1beta, keys: [{value: gm-test}], timeout: 10s}
routing:
  retries: {max: 0}
%[3]s`, dataDir, upURL, gov)
}

// logRows reads the request log rows of a key.
func logRows(t *testing.T, g *gateway, key string) []map[string]any {
	t.Helper()
	_, m := adminCall(t, g, "GET", "/api/logs?limit=100&key="+key, "", "")
	return nativeList(m["data"])
}

// TestCancelledStreamsAreCharged: callers that hang up just before the end of their streams are charged the
// prompt and the text they were sent, so a budget stops them as it would stop complete streams; their log rows
// say 499. Both a same-dialect pass-through and a translated stream (OpenAI caller, Anthropic provider).
func TestCancelledStreamsAreCharged(t *testing.T) {
	// Each stream is 10 pieces of 4,000 bytes, 30 ms apart: the caller leaves after 8, about 8,000 output tokens
	// ($0.016 at mock-model's $2/M), long before the usage report at the end.
	_, url := startUpstream(t, mockupstream.Options{Chunks: 10, ChunkDelay: 30 * time.Millisecond, ContentBytes: 40_000})
	for i, model := range []string{"up/mock-model", "claude/mock-model"} {
		name, _, _ := strings.Cut(model, "/")
		t.Run(name, func(t *testing.T) {
			key := vk(40 + i)
			g := startGateway(t, cutConfig(url, t.TempDir(), `
governance:
  virtual_keys:
    - id: leaver
      value: `+key+`
      budget: { max_usd: 0.05, reset: 1d }
`))
			c := client(g, option.WithAPIKey(key))
			spent := func() float64 {
				u := usageOf(t, g, "leaver", "")["key:leaver spend/1d"]
				if u == nil {
					return 0
				}
				return u["spent_usd"].(float64)
			}
			admitted, refused := 0, 0
			for n := 0; n < 15 && refused == 0; n++ {
				ctx, cancel := context.WithCancel(context.Background())
				s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tell me a long story")}})
				pieces := 0
				for pieces < 8 && s.Next() {
					if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
						pieces++
					}
				}
				before := spent()
				cancel()
				s.Close()
				if pieces == 0 {
					code, e := apiStatus(t, s.Err())
					if code != 429 || e.Code != "budget_exceeded" {
						t.Fatalf("stream %d: %d %v", n+1, code, s.Err())
					}
					refused++
					continue
				}
				admitted++
				waitUntil(t, fmt.Sprintf("stream %d to be charged", n+1), func() bool { return spent() > before })
				t.Logf("stream %d cut after %d pieces: spend $%.4f", n+1, pieces, spent())
			}
			total := spent()
			if refused == 0 || admitted > 5 {
				t.Fatalf("%d cancelled streams admitted on a $0.05 budget (spend $%v), %d refused", admitted, total, refused)
			}
			// Each was charged about what it was sent: 8 pieces, ~8,000 tokens, ~$0.016.
			if per := total / float64(admitted); per < 0.012 || per > 0.02 {
				t.Fatalf("a cancelled stream cost $%v on average, want about $0.016", per)
			}
			waitUntil(t, "the log rows of the cancelled streams", func() bool {
				n := 0
				for _, r := range logRows(t, g, "leaver") {
					if r["status"] == 499.0 && r["cost_usd"].(float64) > 0.01 {
						n++
					}
				}
				return n == admitted
			})
		})
	}
}

// TestCutByteAnswersAbort: an upstream that dies in the middle of a raw answer (speech audio, a native Gemini
// stream) makes the caller's response fail, not end as a complete-looking 200; the log says 502.
func TestCutByteAnswersAbort(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{Chunks: 8})
	g := startGateway(t, cutConfig(url, t.TempDir(), ""))
	for _, tc := range []struct{ name, path, body string }{
		{"speech", "/v1/audio/speech", `{"model":"up/drop-midstream","input":"hello there","voice":"alloy"}`},
		{"gemini stream", "/gemini/v1beta/models/drop-midstream:streamGenerateContent?alt=sse",
			`{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			failed := up.Stats().Failed
			resp, err := http.Post(g.URL+tc.path, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(b) == 0 {
				t.Fatalf("status %d, %d bytes: the cut should come after the answer began", resp.StatusCode, len(b))
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("reading a cut answer: %d bytes, err %v; want an unexpected EOF", len(b), err)
			}
			if up.Stats().Failed != failed+1 {
				t.Fatalf("the mock did not cut the answer")
			}
		})
	}
	waitUntil(t, "two 502 log rows", func() bool {
		n := 0
		for _, r := range logRows(t, g, "") {
			if r["status"] == 502.0 {
				n++
			}
		}
		return n == 2
	})
}

// TestCutEventStreamsEndWithAnError: a passed-through /v1/responses stream the upstream cuts ends with the
// Responses API's error event, which the official SDK hands over as the last event.
func TestCutEventStreamsEndWithAnError(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{Chunks: 8})
	g := startGateway(t, cutConfig(url, t.TempDir(), ""))
	c := client(g)
	s := c.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "up/drop-midstream",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello")}})
	var events []responses.ResponseStreamEventUnion
	for s.Next() {
		events = append(events, s.Current())
	}
	if len(events) < 3 {
		t.Fatalf("%d events, err %v", len(events), s.Err())
	}
	last, prev := events[len(events)-1], events[len(events)-2]
	if last.Type != "error" || last.Message == "" || last.Code == "" || last.SequenceNumber != prev.SequenceNumber+1 {
		t.Fatalf("the stream ends with %s (after sequence number %d)", last.RawJSON(), prev.SequenceNumber)
	}
	for _, ev := range events {
		if ev.Type == "response.completed" {
			t.Fatalf("a cut stream completed: %s", ev.RawJSON())
		}
	}
	waitUntil(t, "a 502 log row", func() bool {
		for _, r := range logRows(t, g, "") {
			if r["status"] == 502.0 && strings.Contains(r["route"].(string), "/v1/responses") {
				return true
			}
		}
		return false
	})
}
