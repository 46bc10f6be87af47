package mockupstream

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestOpenAIChatJSON(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name, path, body string
		check            func(t *testing.T, r gjson.Result)
	}{
		{"lorem", "/v1/chat/completions", `{"model":"mock-model",` + userMsgs + `}`, func(t *testing.T, r gjson.Result) {
			if got := r.Get("choices.0.message.content").String(); len(got) != 64 || !strings.HasPrefix(got, "Lorem ipsum") {
				t.Fatalf("content %q", got)
			}
			if r.Get("model").String() != "mock-model" || r.Get("object").String() != "chat.completion" ||
				r.Get("choices.0.finish_reason").String() != "stop" {
				t.Fatalf("envelope %s", r.Raw)
			}
			if r.Get("usage.prompt_tokens").Int() != 3 || r.Get("usage.completion_tokens").Int() != 16 || r.Get("usage.total_tokens").Int() != 19 {
				t.Fatalf("usage %s", r.Get("usage").Raw)
			}
		}},
		{"echo", "/v1/chat/completions", `{"model":"echo","messages":[{"role":"system","content":"x"},{"role":"user","content":[{"type":"text","text":"say \"hi\"\n"}]}]}`, func(t *testing.T, r gjson.Result) {
			if got := r.Get("choices.0.message.content").String(); got != "say \"hi\"\n" {
				t.Fatalf("echo %q", got)
			}
		}},
		{"tool call", "/v1/chat/completions", `{"model":"mock-model",` + userMsgs + `,` + openaiTool + `}`, func(t *testing.T, r gjson.Result) {
			tc := r.Get("choices.0.message.tool_calls.0")
			if tc.Get("id").String() != "call_mock_1" || tc.Get("function.name").String() != "get_weather" ||
				tc.Get("function.arguments").String() != `{"city":"Paris"}` || r.Get("choices.0.finish_reason").String() != "tool_calls" {
				t.Fatalf("tool call %s", r.Raw)
			}
		}},
		{"after tool", "/v1/chat/completions", `{"model":"mock-model",` + openaiTool + `,"messages":[{"role":"user","content":"w?"},{"role":"assistant","tool_calls":[{"id":"call_mock_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_mock_1","content":"sunny 21C"}]}`, func(t *testing.T, r gjson.Result) {
			if got := r.Get("choices.0.message.content").String(); !strings.Contains(got, "sunny 21C") {
				t.Fatalf("content %q", got)
			}
		}},
		{"azure deployment", "/openai/deployments/my-dep/chat/completions?api-version=2024-10-21", `{` + userMsgs + `}`, func(t *testing.T, r gjson.Result) {
			if r.Get("model").String() != "my-dep" {
				t.Fatalf("model %s", r.Get("model").Raw)
			}
		}},
		{"completions", "/v1/completions", `{"model":"echo","prompt":"complete me"}`, func(t *testing.T, r gjson.Result) {
			if r.Get("object").String() != "text_completion" || r.Get("choices.0.text").String() != "complete me" || !r.Get("usage.total_tokens").Exists() {
				t.Fatalf("completion %s", r.Raw)
			}
		}},
		{"embeddings array", "/v1/embeddings", `{"model":"mock-embed","input":["a","b","a"],"dimensions":4}`, func(t *testing.T, r gjson.Result) {
			d := r.Get("data").Array()
			if len(d) != 3 || len(d[0].Get("embedding").Array()) != 4 || d[2].Get("index").Int() != 2 ||
				d[0].Get("embedding").Raw != d[2].Get("embedding").Raw || d[0].Get("embedding").Raw == d[1].Get("embedding").Raw {
				t.Fatalf("embeddings %s", r.Raw)
			}
		}},
		{"embeddings base64", "/v1/embeddings", `{"model":"mock-embed","input":"a","encoding_format":"base64"}`, func(t *testing.T, r gjson.Result) {
			raw, err := base64.StdEncoding.DecodeString(r.Get("data.0.embedding").String())
			if err != nil || len(raw) != 4*defaultDims {
				t.Fatalf("base64 embedding: %v len %d", err, len(raw))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, okJSON(t, ts.URL+tc.path, tc.body)) })
	}
}

func TestOpenAIModels(t *testing.T) {
	ts, _ := start(t, Options{})
	res := do(t, http.MethodGet, ts.URL+"/v1/models", "")
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 || !strings.Contains(string(b), `"id":"mock-model"`) {
		t.Fatalf("models: %v %d %s", err, res.StatusCode, b)
	}
}

func TestOpenAIChatStream(t *testing.T) {
	ts, m := start(t, Options{Chunks: 4, ContentBytes: 40})
	evs := sse(t, ts.URL+"/v1/chat/completions", `{"model":"mock-model","stream":true,"stream_options":{"include_usage":true},"x_unknown":1,`+userMsgs+`}`)
	// role, 4 pieces, finish, usage, [DONE]
	if len(evs) != 8 || evs[7].raw != "[DONE]" {
		t.Fatalf("got %d events: %v", len(evs), evs)
	}
	var text strings.Builder
	for _, e := range evs[:5] {
		if e.data.Get("object").String() != "chat.completion.chunk" || e.data.Get("usage").Type != gjson.Null {
			t.Fatalf("chunk %s", e.raw)
		}
		text.WriteString(e.data.Get("choices.0.delta.content").String())
	}
	if text.Len() != 40 {
		t.Fatalf("streamed text %q", text.String())
	}
	if evs[5].data.Get("choices.0.finish_reason").String() != "stop" {
		t.Fatalf("finish %s", evs[5].raw)
	}
	u := evs[6].data
	if !u.Get("choices").IsArray() || len(u.Get("choices").Array()) != 0 || u.Get("usage.completion_tokens").Int() != 8 {
		t.Fatalf("usage chunk %s", evs[6].raw)
	}
	if last := m.LastRequest(); last.Path != "/v1/chat/completions" || !strings.Contains(string(last.Body), "x_unknown") ||
		last.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("recorded %+v", last)
	}
}

func TestOpenAIChatStreamTool(t *testing.T) {
	ts, _ := start(t, Options{})
	evs := sse(t, ts.URL+"/v1/chat/completions", `{"model":"m","stream":true,`+userMsgs+`,`+openaiTool+`}`)
	var args strings.Builder
	for _, e := range evs {
		args.WriteString(e.data.Get("choices.0.delta.tool_calls.0.function.arguments").String())
	}
	first := evs[0].data.Get("choices.0.delta.tool_calls.0")
	if args.String() != `{"city":"Paris"}` || first.Get("id").String() != "call_mock_1" || first.Get("function.name").String() != "get_weather" {
		t.Fatalf("args %q first %s", args.String(), first.Raw)
	}
	if evs[len(evs)-2].data.Get("choices.0.finish_reason").String() != "tool_calls" || evs[len(evs)-1].raw != "[DONE]" {
		t.Fatalf("tail %v", evs[len(evs)-2:])
	}
	// Without include_usage there is no usage chunk and no "usage" key.
	if evs[0].data.Get("usage").Exists() {
		t.Fatalf("unexpected usage: %s", evs[0].raw)
	}
}

func TestCompletionsStream(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 2})
	evs := sse(t, ts.URL+"/v1/completions", `{"model":"echo","prompt":"abcd","stream":true}`)
	if len(evs) != 4 || evs[0].data.Get("choices.0.text").String()+evs[1].data.Get("choices.0.text").String() != "abcd" ||
		evs[2].data.Get("choices.0.finish_reason").String() != "stop" || evs[3].raw != "[DONE]" {
		t.Fatalf("events %v", evs)
	}
}

func TestAPIKey(t *testing.T) {
	ts, _ := start(t, Options{APIKey: "sk-test"})
	body := `{"model":"mock-model",` + userMsgs + `}`
	st, b, _ := post(t, ts.URL+"/v1/chat/completions", body)
	if st != 401 || gjson.GetBytes(b, "error.code").String() != "invalid_api_key" {
		t.Fatalf("no key: %d %s", st, b)
	}
	for _, h := range []string{"Authorization: Bearer sk-test", "x-api-key: sk-test", "api-key: sk-test", "x-goog-api-key: sk-test"} {
		if st, b, _ := post(t, ts.URL+"/v1/chat/completions", body, h); st != 200 {
			t.Fatalf("%s: %d %s", h, st, b)
		}
	}
	st, b, _ = post(t, ts.URL+"/v1/messages", `{"model":"m",`+userMsgs+`}`, antVersion, "x-api-key: wrong")
	if st != 401 || gjson.GetBytes(b, "error.type").String() != "authentication_error" {
		t.Fatalf("anthropic wrong key: %d %s", st, b)
	}
	st, b, _ = post(t, ts.URL+"/v1beta/models/gemini-2.0-flash:generateContent?key=sk-test", `{"contents":[{"parts":[{"text":"hi"}]}]}`)
	if st != 200 {
		t.Fatalf("gemini ?key=: %d %s", st, b)
	}
}

// BenchmarkOpenAIChat measures the handler on the load-test path without
// the network, to keep its per-request cost visible.
func BenchmarkOpenAIChat(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(map[bool]string{false: "json", true: "sse"}[stream], func(b *testing.B) {
			m := New(Options{})
			body := `{"model":"gpt-4o-mini","stream":` + map[bool]string{false: "false", true: "true"}[stream] + `,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
				rec := httptest.NewRecorder()
				m.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
