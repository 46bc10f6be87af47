package mockupstream

import (
	"strings"
	"testing"
)

func TestResponsesJSON(t *testing.T) {
	ts, _ := start(t, Options{})
	r := okJSON(t, ts.URL+"/v1/responses", `{"model":"echo","input":"ping"}`)
	if r.Get("object").String() != "response" || r.Get("status").String() != "completed" ||
		r.Get("output.0.content.0.text").String() != "ping" || r.Get("usage.total_tokens").Int() == 0 {
		t.Fatalf("response %s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/v1/responses", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"w?"}]}],"tools":[{"type":"function","name":"get_weather","parameters":{}}]}`)
	if it := r.Get("output.0"); it.Get("type").String() != "function_call" || it.Get("call_id").String() != "call_mock_1" ||
		it.Get("name").String() != "get_weather" || it.Get("arguments").String() != `{"city":"Paris"}` {
		t.Fatalf("function call %s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/v1/responses", `{"model":"m","tools":[{"type":"function","name":"get_weather"}],"input":[{"role":"user","content":"w?"},{"type":"function_call","call_id":"call_mock_1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_mock_1","output":"rainy"}]}`)
	if !strings.Contains(r.Get("output.0.content.0.text").String(), "rainy") {
		t.Fatalf("after tool %s", r.Raw)
	}
}

func TestResponsesStream(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 3})
	cases := []struct {
		name, body string
		want       []string
		payload    string // concatenation of the delta events
	}{
		{"text", `{"model":"echo","stream":true,"input":"abcdef"}`, []string{
			"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
			"response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
		}, "abcdef"},
		{"tool", `{"model":"m","stream":true,"input":"w?","tools":[{"type":"function","name":"get_weather"}]}`, []string{
			"response.created", "response.in_progress", "response.output_item.added",
			"response.function_call_arguments.delta", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done", "response.completed",
		}, `{"city":"Paris"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := sse(t, ts.URL+"/v1/responses", tc.body)
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d events, want %d: %v", len(evs), len(tc.want), evs)
			}
			var deltas strings.Builder
			for i, e := range evs {
				if e.name != tc.want[i] || e.data.Get("type").String() != tc.want[i] || e.data.Get("sequence_number").Int() != int64(i) {
					t.Fatalf("event %d: %s %s", i, e.name, e.raw)
				}
				if strings.HasSuffix(e.name, ".delta") {
					deltas.WriteString(e.data.Get("delta").String())
				}
			}
			if deltas.String() != tc.payload {
				t.Fatalf("deltas %q", deltas.String())
			}
			done := evs[len(evs)-1].data.Get("response")
			if done.Get("status").String() != "completed" || done.Get("usage.output_tokens").Int() != 6 || len(done.Get("output").Array()) != 1 {
				t.Fatalf("completed %s", done.Raw)
			}
		})
	}
}
