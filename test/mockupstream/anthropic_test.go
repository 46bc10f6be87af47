package mockupstream

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

const anthropicTool = `"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]`

func TestAnthropicVersionRequired(t *testing.T) {
	ts, _ := start(t, Options{})
	st, b, _ := post(t, ts.URL+"/v1/messages", `{"model":"m","max_tokens":10,`+userMsgs+`}`)
	if st != 400 || gjson.GetBytes(b, "type").String() != "error" || gjson.GetBytes(b, "error.type").String() != "invalid_request_error" {
		t.Fatalf("%d %s", st, b)
	}
}

func TestAnthropicJSON(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name, path, body string
		check            func(t *testing.T, r gjson.Result)
	}{
		{"text", "/v1/messages", `{"model":"claude-x","max_tokens":10,` + userMsgs + `}`, func(t *testing.T, r gjson.Result) {
			if r.Get("type").String() != "message" || r.Get("content.0.type").String() != "text" || len(r.Get("content.0.text").String()) != 64 ||
				r.Get("stop_reason").String() != "end_turn" || r.Get("usage.input_tokens").Int() != 3 || r.Get("usage.output_tokens").Int() != 16 {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"tool_use", "/v1/messages", `{"model":"m","max_tokens":10,` + userMsgs + `,` + anthropicTool + `}`, func(t *testing.T, r gjson.Result) {
			b := r.Get("content.0")
			if b.Get("type").String() != "tool_use" || b.Get("id").String() != "toolu_mock_1" || b.Get("input.city").String() != "Paris" || r.Get("stop_reason").String() != "tool_use" {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"tool_result", "/v1/messages", `{"model":"m","max_tokens":10,` + anthropicTool + `,"messages":[{"role":"user","content":"w?"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_mock_1","name":"get_weather","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_mock_1","content":[{"type":"text","text":"foggy"}]}]}]}`, func(t *testing.T, r gjson.Result) {
			if !strings.Contains(r.Get("content.0.text").String(), "foggy") {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"count_tokens", "/v1/messages/count_tokens", `{"model":"m","messages":[{"role":"user","content":"12345678"}]}`, func(t *testing.T, r gjson.Result) {
			if r.Get("input_tokens").Int() != 3 {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"vertex rawPredict", "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet@2024:rawPredict", `{"anthropic_version":"vertex-2023-10-16","max_tokens":10,` + userMsgs + `}`, func(t *testing.T, r gjson.Result) {
			if r.Get("model").String() != "claude-sonnet@2024" || r.Get("content.0.type").String() != "text" {
				t.Fatalf("%s", r.Raw)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, okJSON(t, ts.URL+tc.path, tc.body, antVersion)) })
	}
}

func TestAnthropicStream(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 2})
	text := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	cases := []struct {
		name, path, body, hdr string
		deltaType, field      string
		payload, stop         string
	}{
		{"text", "/v1/messages", `{"model":"echo","stream":true,"max_tokens":9,"messages":[{"role":"user","content":"abcd"}]}`, antVersion, "text_delta", "text", "abcd", "end_turn"},
		{"tool", "/v1/messages", `{"model":"m","stream":true,"max_tokens":9,` + userMsgs + `,` + anthropicTool + `}`, antVersion, "input_json_delta", "partial_json", `{"city":"Paris"}`, "tool_use"},
		{"vertex streamRawPredict", "/v1/projects/p/locations/l/publishers/anthropic/models/echo:streamRawPredict", `{"anthropic_version":"vertex-2023-10-16","max_tokens":9,"messages":[{"role":"user","content":"abcd"}]}`, "X-Noop: 1", "text_delta", "text", "abcd", "end_turn"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := sse(t, ts.URL+tc.path, tc.body, tc.hdr)
			if len(evs) != len(text) {
				t.Fatalf("got %d events: %v", len(evs), evs)
			}
			var got strings.Builder
			for i, e := range evs {
				if e.name != text[i] || e.data.Get("type").String() != text[i] {
					t.Fatalf("event %d = %s %s", i, e.name, e.raw)
				}
				if e.name == "content_block_delta" {
					if e.data.Get("delta.type").String() != tc.deltaType {
						t.Fatalf("delta %s", e.raw)
					}
					got.WriteString(e.data.Get("delta." + tc.field).String())
				}
			}
			if got.String() != tc.payload {
				t.Fatalf("payload %q", got.String())
			}
			if evs[0].data.Get("message.usage.input_tokens").Int() == 0 ||
				evs[6].data.Get("delta.stop_reason").String() != tc.stop || evs[6].data.Get("usage.output_tokens").Int() != 4 {
				t.Fatalf("start %s delta %s", evs[0].raw, evs[6].raw)
			}
		})
	}
}

func TestVertexAnthropicCountTokens(t *testing.T) {
	ts, _ := start(t, Options{})
	r := okJSON(t, ts.URL+"/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict", `{"model":"claude-x","messages":[{"role":"user","content":"12345678"}]}`)
	if r.Get("input_tokens").Int() != 3 {
		t.Fatalf("%s", r.Raw)
	}
}
