package mockupstream

import (
	"strings"
	"testing"
)

func TestCohereChat(t *testing.T) {
	ts, _ := start(t, Options{})
	r := okJSON(t, ts.URL+"/v2/chat", `{"model":"command-r",`+userMsgs+`}`)
	if len(r.Get("message.content.0.text").String()) != 64 || r.Get("finish_reason").String() != "COMPLETE" ||
		r.Get("usage.billed_units.input_tokens").Int() != 3 || r.Get("usage.tokens.output_tokens").Int() != 16 {
		t.Fatalf("%s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/v2/chat", `{"model":"command-r",`+userMsgs+`,`+openaiTool+`}`)
	if tc := r.Get("message.tool_calls.0"); tc.Get("function.name").String() != "get_weather" || tc.Get("function.arguments").String() != `{"city":"Paris"}` || r.Get("finish_reason").String() != "TOOL_CALL" {
		t.Fatalf("%s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/v2/chat", `{"model":"m",`+openaiTool+`,"messages":[{"role":"user","content":"w?"},{"role":"tool","tool_call_id":"call_mock_1","content":[{"type":"document","document":{"data":"{\"sky\":\"clear\"}"}}]}]}`)
	if !strings.Contains(r.Get("message.content.0.text").String(), "clear") {
		t.Fatalf("%s", r.Raw)
	}
}

func TestCohereChatStream(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 2})
	cases := []struct {
		name, body string
		want       []string
		payload    string
	}{
		{"text", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"abcd"}]}`,
			[]string{"message-start", "content-start", "content-delta", "content-delta", "content-end", "message-end"}, "abcd"},
		{"tool", `{"model":"m","stream":true,` + userMsgs + `,` + openaiTool + `}`,
			[]string{"message-start", "tool-plan-delta", "tool-call-start", "tool-call-delta", "tool-call-delta", "tool-call-end", "message-end"}, `{"city":"Paris"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := sse(t, ts.URL+"/v2/chat", tc.body)
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d: %v", len(evs), evs)
			}
			var got strings.Builder
			for i, e := range evs {
				if e.name != tc.want[i] || e.data.Get("type").String() != tc.want[i] {
					t.Fatalf("event %d %s %s", i, e.name, e.raw)
				}
				got.WriteString(e.data.Get("delta.message.content.text").String() + e.data.Get("delta.message.tool_calls.function.arguments").String())
			}
			if got.String() != tc.payload {
				t.Fatalf("payload %q", got.String())
			}
			if evs[len(evs)-1].data.Get("delta.usage.billed_units.output_tokens").Int() != 4 {
				t.Fatalf("end %s", evs[len(evs)-1].raw)
			}
		})
	}
}

func TestCohereEmbedRerank(t *testing.T) {
	ts, _ := start(t, Options{})
	r := okJSON(t, ts.URL+"/v2/embed", `{"model":"embed-v4.0","texts":["a","b"],"input_type":"search_query","embedding_types":["float","int8"]}`)
	if len(r.Get("embeddings.float").Array()) != 2 || len(r.Get("embeddings.int8.0").Array()) != defaultDims || r.Get("response_type").String() != "embeddings_by_type" {
		t.Fatalf("%s", r.Raw)
	}
	for _, path := range []string{"/v2/rerank", "/v1/rerank"} {
		r = okJSON(t, ts.URL+path, `{"model":"rerank-v3.5","query":"capital of France","documents":["bananas are yellow","Paris is the capital of France",{"text":"France"}],"top_n":2,"return_documents":true}`)
		res := r.Get("results").Array()
		if len(res) != 2 || res[0].Get("index").Int() != 1 || res[1].Get("index").Int() != 2 || res[0].Get("relevance_score").Float() <= res[1].Get("relevance_score").Float() ||
			res[0].Get("document.text").String() != "Paris is the capital of France" {
			t.Fatalf("%s %s", path, r.Raw)
		}
	}
}
