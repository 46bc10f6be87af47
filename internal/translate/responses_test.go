package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
)

var (
	respRandomID = regexp.MustCompile(`(msg_|fc_|rs_|call_)[0-9a-f]{24}`)
	respCreated  = regexp.MustCompile(`"created_at":\d+`)
)

func respNormalize(b []byte) []byte {
	b = respRandomID.ReplaceAll(b, []byte("${1}RANDOM"))
	return respCreated.ReplaceAll(b, []byte(`"created_at":0`))
}

func TestResponsesToChatGolden(t *testing.T) {
	for _, name := range []string{"text", "items"} {
		t.Run(name, func(t *testing.T) {
			body := readFixture(t, "responses/request_"+name+".json")
			chat, stream, err := ResponsesToChat(body, "upstream-model", nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := name == "items"; stream != want {
				t.Errorf("stream = %v, want %v", stream, want)
			}
			goldenJSON(t, "responses/chat_"+name+".golden.json", chat)
			// The hub body must be accepted by the existing translators; a target may still refuse a feature it
			// lacks (a strict schema, an image URL) with a 400, but never fail to read the body.
			for _, out := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic, dialects.Gemini, dialects.Bedrock, dialects.Cohere} {
				_, _, err := ChatRequest(dialects.OpenAI, out, chat, "m", stream)
				var re *RequestError
				if err != nil && (out == dialects.OpenAI || !errors.As(err, &re) || strings.Contains(err.Error(), "invalid request")) {
					t.Errorf("ChatRequest(openai→%s): %v", out, err)
				}
			}
		})
	}
}

func TestChatToResponsesGolden(t *testing.T) {
	for _, name := range []string{"text", "tool"} {
		t.Run(name, func(t *testing.T) {
			req := readFixture(t, "responses/request_text.json")
			if name == "tool" {
				req = readFixture(t, "responses/request_items.json")
			}
			chat := readFixture(t, "responses/chat_response_"+name+".json")
			resp, output, usage, err := ChatToResponses(chat, "resp_123", req)
			if err != nil {
				t.Fatal(err)
			}
			goldenJSON(t, "responses/response_"+name+".golden.json", respNormalize(resp))
			if got := gjson.GetBytes(resp, "output").Array(); len(got) != len(output) {
				t.Errorf("output items: response has %d, returned %d", len(got), len(output))
			}
			for i, it := range output {
				if !json.Valid(it) {
					t.Errorf("output[%d] is not JSON: %s", i, it)
				}
			}
			if usage.PromptTokens == 0 || usage.TotalTokens != usage.PromptTokens+usage.CompletionTokens {
				t.Errorf("usage = %+v", usage)
			}
		})
	}
}

func TestChatToResponsesIncomplete(t *testing.T) {
	chat := []byte(`{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Once upon"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
	resp, _, _, err := ChatToResponses(chat, "resp_1", []byte(`{"model":"a","input":"story","max_output_tokens":2}`))
	if err != nil {
		t.Fatal(err)
	}
	r := gjson.ParseBytes(resp)
	if r.Get("status").Str != "incomplete" || r.Get("incomplete_details.reason").Str != "max_output_tokens" {
		t.Errorf("got %s", resp)
	}
	if r.Get("max_output_tokens").Int() != 2 || r.Get("model").Str != "a" || r.Get("output.0.content.0.text").Str != "Once upon" {
		t.Errorf("got %s", resp)
	}
	if _, _, _, err := ChatToResponses([]byte(`{"choices":[]}`), "r", nil); err == nil {
		t.Error("no choices: want error")
	}
}

// TestResponsesTwoTurnFunctionCall runs a whole function-call round trip: the first answer's output items, stored
// with the first input, become the history of the second turn, whose function_call_output refers to the call id.
func TestResponsesTwoTurnFunctionCall(t *testing.T) {
	req1 := []byte(`{"model":"a","input":"Weather in Paris?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}`)
	in1, err := InputItems(req1)
	if err != nil {
		t.Fatal(err)
	}
	chat1, _, err := ResponsesToChat(req1, "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := gjson.GetBytes(chat1, "messages.0.content").Str; got != "Weather in Paris?" {
		t.Fatalf("first turn: %s", chat1)
	}
	_, out1, _, err := ChatToResponses(readFixture(t, "responses/chat_response_tool.json"), "resp_1", req1)
	if err != nil {
		t.Fatal(err)
	}
	history := append(append([]json.RawMessage{}, in1...), out1...)
	req2 := []byte(`{"model":"a","previous_response_id":"resp_1","input":[
		{"type":"function_call_output","call_id":"call_abc","output":"18C"},
		{"type":"function_call_output","call_id":"call_def","output":"14:05"}]}`)
	chat2, _, err := ResponsesToChat(req2, "m", history)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"role":"user","content":"Weather in Paris?"},` +
		`{"role":"assistant","tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
		`{"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}]},` +
		`{"role":"tool","content":"18C","tool_call_id":"call_abc"},{"role":"tool","content":"14:05","tool_call_id":"call_def"}]`
	// The stored user item is in item form, so compare semantically.
	got := gjson.GetBytes(chat2, "messages").Raw
	var g, w any
	_ = json.Unmarshal([]byte(got), &g)
	_ = json.Unmarshal([]byte(want), &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		// The user turn comes back from InputItems as an input_text part list; accept that form too.
		if gjson.GetBytes(chat2, "messages.0.content.0.text").Str != "Weather in Paris?" ||
			gjson.GetBytes(chat2, "messages.#").Int() != 4 ||
			gjson.GetBytes(chat2, "messages.1.tool_calls.#").Int() != 2 ||
			gjson.GetBytes(chat2, "messages.1.tool_calls.0.id").Str != "call_abc" ||
			gjson.GetBytes(chat2, "messages.2.tool_call_id").Str != "call_abc" ||
			gjson.GetBytes(chat2, "messages.3.tool_call_id").Str != "call_def" {
			t.Errorf("second turn messages\n got: %s\nwant: %s", got, want)
		}
	}
	for _, out := range []dialects.Dialect{dialects.Anthropic, dialects.Gemini, dialects.Bedrock} {
		if _, _, err := ChatRequest(dialects.OpenAI, out, chat2, "m", false); err != nil {
			t.Errorf("second turn to %s: %v", out, err)
		}
	}
}

func TestInputItems(t *testing.T) {
	items, err := InputItems([]byte(`{"input":"hi \"you\""}`))
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	if string(items[0]) != `{"type":"message","role":"user","content":[{"type":"input_text","text":"hi \"you\""}]}` {
		t.Errorf("string input: %s", items[0])
	}
	items, err = InputItems([]byte(`{"input":[{"role":"user","content":"a"},{"type":"function_call_output","call_id":"c","output":"x"}]}`))
	if err != nil || len(items) != 2 {
		t.Fatal(items, err)
	}
	if gjson.GetBytes(items[0], "type").Str != "message" || gjson.GetBytes(items[1], "type").Str != "function_call_output" {
		t.Errorf("items: %s", items)
	}
	if _, err := InputItems([]byte(`{"input":5}`)); err == nil {
		t.Error("numeric input: want error")
	}
}

func TestResponsesToChatErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"web_search", `{"input":"hi","tools":[{"type":"web_search"}]}`, `"web_search"`},
		{"file_search", `{"input":"hi","tools":[{"type":"function","name":"f"},{"type":"file_search","vector_store_ids":["vs"]}]}`, `"file_search"`},
		{"code_interpreter", `{"input":"hi","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}`, `"code_interpreter"`},
		{"computer_use", `{"input":"hi","tools":[{"type":"computer_use_preview"}]}`, `"computer_use_preview"`},
		{"image_generation", `{"input":"hi","tools":[{"type":"image_generation"}]}`, `"image_generation"`},
		{"mcp", `{"input":"hi","tools":[{"type":"mcp","server_label":"x"}]}`, `"mcp"`},
		{"tool_choice builtin", `{"input":"hi","tool_choice":{"type":"web_search_preview"}}`, `"web_search_preview"`},
		{"image file_id", `{"input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "file_id"},
		{"no input", `{"model":"x"}`, "input"},
		{"bad item", `{"input":[{"type":"web_search_call","id":"ws_1"}]}`, "web_search_call"},
		{"bad role", `{"input":[{"role":"tool","content":"x"}]}`, "role"},
		{"bad json", `{"input":`, "invalid"},
		{"background", `{"input":"hi","background":true}`, "background"},
		{"bad format", `{"input":"hi","text":{"format":{"type":"yaml"}}}`, "yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ResponsesToChat([]byte(tc.body), "m", nil)
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *RequestError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %s", err, tc.want)
			}
		})
	}
}

func TestResponsesToChatToolChoice(t *testing.T) {
	for in, want := range map[string]string{
		`"auto"`:                         `"auto"`,
		`"none"`:                         `"none"`,
		`"required"`:                     `"required"`,
		`{"type":"function","name":"f"}`: `{"type":"function","function":{"name":"f"}}`,
		`null`:                           ``,
	} {
		chat, _, err := ResponsesToChat([]byte(`{"input":"x","tool_choice":`+in+`}`), "m", nil)
		if err != nil {
			t.Fatal(in, err)
		}
		if got := gjson.GetBytes(chat, "tool_choice").Raw; got != want {
			t.Errorf("tool_choice %s → %s, want %s", in, got, want)
		}
	}
}

// runResponsesStream feeds src split at off (0 = whole) and returns the events and the translator.
func runResponsesStream(t testing.TB, src []byte, off int) (string, ResponsesStream) {
	t.Helper()
	st := NewResponsesStream("resp_1", "my-alias", []byte(`{"model":"my-alias","input":"hi","stream":true}`))
	var w bytes.Buffer
	for _, p := range [][]byte{src[:off], src[off:]} {
		if err := st.Feed(p, &w); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.End(&w, nil); err != nil {
		t.Fatal(err)
	}
	return w.String(), st
}

// checkEvents verifies the SSE framing: event line equal to the data's type, sequence numbers 0, 1, 2, … and
// no [DONE]. It returns the event types.
func checkEvents(t *testing.T, s string) []string {
	t.Helper()
	if strings.Contains(s, "[DONE]") {
		t.Error("stream has a [DONE] line")
	}
	var types []string
	items := map[int64]string{} // output_index → item id
	for i, block := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		ev, data, ok := strings.Cut(block, "\n")
		if !ok || !strings.HasPrefix(ev, "event: ") || !strings.HasPrefix(data, "data: ") {
			t.Fatalf("event %d malformed: %q", i, block)
		}
		d := gjson.Parse(strings.TrimPrefix(data, "data: "))
		if !json.Valid([]byte(d.Raw)) {
			t.Fatalf("event %d data is not JSON: %s", i, data)
		}
		typ := strings.TrimPrefix(ev, "event: ")
		if d.Get("type").Str != typ {
			t.Errorf("event %d: event %q, type %q", i, typ, d.Get("type").Str)
		}
		if d.Get("sequence_number").Int() != int64(i) {
			t.Errorf("event %d: sequence_number %d", i, d.Get("sequence_number").Int())
		}
		idx := d.Get("output_index")
		if typ == "response.output_item.added" {
			items[idx.Int()] = d.Get("item.id").Str
		} else if idx.Exists() {
			id := d.Get("item_id").Str
			if id == "" {
				id = d.Get("item.id").Str
			}
			if id != items[idx.Int()] {
				t.Errorf("event %d (%s): item %q at output_index %d, added as %q", i, typ, id, idx.Int(), items[idx.Int()])
			}
		}
		types = append(types, typ)
	}
	return types
}

func TestResponsesStreamGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		types []string
	}{
		{"text", []string{"response.created", "response.in_progress",
			"response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
			"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
			"response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"}},
		{"tool", []string{"response.created", "response.in_progress",
			"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done", "response.completed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := readFixture(t, "responses/chat_stream_"+tc.name+".txt")
			first, st := runResponsesStream(t, src, 0)
			types := checkEvents(t, first)
			if strings.Join(types, ",") != strings.Join(tc.types, ",") {
				t.Errorf("event types\n got: %v\nwant: %v", types, tc.types)
			}
			goldenText(t, "responses/stream_"+tc.name+".golden.txt", respNormalize([]byte(first)))
			want := string(respNormalize([]byte(first)))
			for off := 1; off < len(src); off++ {
				got, _ := runResponsesStream(t, src, off)
				if g := string(respNormalize([]byte(got))); g != want {
					t.Fatalf("split at %d differs:\n%s", off, g)
				}
			}
			// The final response, the terminal event and Output agree; usage is accounted.
			final := gjson.ParseBytes(st.Response())
			if final.Get("status").Str != "completed" || int(final.Get("output.#").Int()) != len(st.Output()) {
				t.Errorf("final response %s, %d output items", st.Response(), len(st.Output()))
			}
			if u := st.Usage(); u.TotalTokens == 0 || final.Get("usage.total_tokens").Int() != u.TotalTokens {
				t.Errorf("usage %+v, response usage %s", u, final.Get("usage").Raw)
			}
			if tc.name == "tool" && final.Get("output.0.call_id").Str != "call_abc" {
				t.Errorf("call id not preserved: %s", st.Response())
			}
		})
	}
}

// TestResponsesStreamTextThenTools uses the package's OpenAI stream fixture: text, then two tool calls.
func TestResponsesStreamTextThenTools(t *testing.T) {
	out, st := runResponsesStream(t, readFixture(t, "openai_stream.txt"), 0)
	types := checkEvents(t, out)
	if types[len(types)-1] != "response.completed" {
		t.Errorf("last event %s", types[len(types)-1])
	}
	final := gjson.ParseBytes(st.Response())
	got := []string{final.Get("output.0.type").Str, final.Get("output.1.call_id").Str, final.Get("output.1.arguments").Str,
		final.Get("output.2.call_id").Str, final.Get("output.2.name").Str}
	want := []string{"message", "call_1", `{"city":"Paris"}`, "call_2", "get_time"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("output %v, want %v", got, want)
	}
	if u := st.Usage(); u.PromptTokens != 30 || u.CachedTokens != 10 {
		t.Errorf("usage %+v", u)
	}
}

func TestResponsesStreamIncompleteAndErrors(t *testing.T) {
	t.Run("length", func(t *testing.T) {
		src := `data: {"choices":[{"index":0,"delta":{"content":"Once"},"finish_reason":null}]}` + "\n\n" +
			`data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}` + "\n\n" + "data: [DONE]\n\n"
		out, st := runResponsesStream(t, []byte(src), 0)
		types := checkEvents(t, out)
		if types[len(types)-1] != "response.incomplete" || gjson.GetBytes(st.Response(), "incomplete_details.reason").Str != "max_output_tokens" {
			t.Errorf("got %s", out)
		}
	})
	t.Run("cause", func(t *testing.T) {
		st := NewResponsesStream("resp_1", "m", nil)
		var w bytes.Buffer
		_ = st.Feed([]byte(`data: {"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`+"\n\n"), &w)
		if err := st.End(&w, errors.New("connection reset")); err != nil {
			t.Fatal(err)
		}
		types := checkEvents(t, w.String())
		if n := len(types); n < 2 || types[n-2] != "error" || types[n-1] != "response.failed" {
			t.Errorf("got %v", types)
		}
		if !strings.Contains(w.String(), "connection reset") || gjson.GetBytes(st.Response(), "status").Str != "failed" {
			t.Errorf("got %s", w.String())
		}
		// Nothing more after the end.
		n := w.Len()
		_ = st.Feed([]byte("data: [DONE]\n\n"), &w)
		_ = st.End(&w, nil)
		if w.Len() != n {
			t.Error("wrote after the end")
		}
	})
	t.Run("upstream error", func(t *testing.T) {
		out, _ := runResponsesStream(t, []byte(`data: {"error":{"message":"overloaded","type":"server_error"}}`+"\n\n"), 0)
		types := checkEvents(t, out)
		if types[len(types)-1] != "response.failed" || !strings.Contains(out, "overloaded") {
			t.Errorf("got %s", out)
		}
	})
	t.Run("empty", func(t *testing.T) {
		out, st := runResponsesStream(t, nil, 0)
		types := checkEvents(t, out)
		if strings.Join(types, ",") != "response.created,response.in_progress,response.completed" || len(st.Output()) != 0 {
			t.Errorf("got %s", out)
		}
	})
}

func BenchmarkResponsesToChat(b *testing.B) {
	body := readFixture(b, "responses/request_items.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := ResponsesToChat(body, "claude-sonnet-4-5", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResponsesToChatAssistantEmptyText(t *testing.T) {
	body := []byte(`{"input":[{"role":"user","content":"x"},{"type":"message","role":"assistant","content":[]},
		{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"ok"},
		{"type":"reasoning","id":"rs_1","summary":[]}]}`)
	chat, _, err := ResponsesToChat(body, "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	if gjson.GetBytes(chat, "messages.1.content").Exists() || gjson.GetBytes(chat, "messages.1.tool_calls.0.id").Str != "c1" ||
		gjson.GetBytes(chat, "messages.#").Int() != 3 {
		t.Errorf("got %s", chat)
	}
}
