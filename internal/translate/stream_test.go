package translate

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
)

// bedrockFrame encodes one event-stream message the way Bedrock sends ConverseStream events.
func bedrockFrame(t testing.TB, msgType, eventType, payload string) []byte {
	t.Helper()
	var h eventstream.Headers
	h.Set(":message-type", eventstream.StringValue(msgType))
	if msgType == "event" {
		h.Set(":event-type", eventstream.StringValue(eventType))
	} else {
		h.Set(":exception-type", eventstream.StringValue(eventType))
	}
	h.Set(":content-type", eventstream.StringValue("application/json"))
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, eventstream.Message{Headers: h, Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func bedrockStream(t testing.TB) []byte {
	var b []byte
	for _, f := range [][2]string{
		{"messageStart", `{"role":"assistant"}`},
		{"contentBlockDelta", `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm."}}}`},
		{"contentBlockStop", `{"contentBlockIndex":0}`},
		{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"text":"Checking "}}`},
		{"contentBlockDelta", `{"contentBlockIndex":1,"delta":{"text":"now."}}`},
		{"contentBlockStop", `{"contentBlockIndex":1}`},
		{"contentBlockStart", `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_9","name":"get_weather"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"city\":"}}}`},
		{"contentBlockDelta", `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"\"Oslo\"}"}}}`},
		{"contentBlockStop", `{"contentBlockIndex":2}`},
		{"messageStop", `{"stopReason":"tool_use"}`},
		{"metadata", `{"usage":{"inputTokens":40,"outputTokens":15,"totalTokens":55,"cacheReadInputTokens":8},"metrics":{"latencyMs":300}}`},
	} {
		b = append(b, bedrockFrame(t, "event", f[0], f[1])...)
	}
	return b
}

func streamFixture(t testing.TB, out dialects.Dialect) []byte {
	if out == dialects.Bedrock {
		return bedrockStream(t)
	}
	return readFixture(t, string(out)+"_stream.txt")
}

// runStream feeds input split into the given pieces and returns the caller's stream.
func runStream(t testing.TB, in, out dialects.Dialect, includeUsage bool, pieces ...[]byte) (string, *translator) {
	st, err := NewStream(in, out, "caller-model", includeUsage)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	for _, p := range pieces {
		if err := st.Feed(p, &w); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.End(&w, nil); err != nil {
		t.Fatal(err)
	}
	return w.String(), st.(*translator)
}

func TestStreamGolden(t *testing.T) {
	for _, out := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic, dialects.Gemini, dialects.Bedrock, dialects.Cohere} {
		for _, in := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic} {
			t.Run(string(out+"_to_"+in), func(t *testing.T) {
				src := streamFixture(t, out)
				whole, tr := runStream(t, in, out, true, src)
				goldenText(t, string("golden/stream_"+out+"_to_"+in+".txt"), []byte(whole))
				if tr.Usage().TotalTokens == 0 {
					t.Errorf("no usage collected")
				}
				// Every split point must give the same stream: upstream bytes arrive in arbitrary pieces.
				// Every offset for OpenAI callers; a stride for Anthropic ones keeps -race runs short.
				step := 1
				if in == dialects.Anthropic {
					step = 7
				}
				for i := 1; i < len(src); i += step {
					got, _ := runStream(t, in, out, true, src[:i], src[i:])
					if normalizeIDs(got) != normalizeIDs(whole) {
						t.Fatalf("split at %d differs:\n%s\nvs\n%s", i, got, whole)
					}
				}
				pieces := make([][]byte, len(src))
				for i := range src {
					pieces[i] = src[i : i+1]
				}
				if got, _ := runStream(t, in, out, true, pieces...); normalizeIDs(got) != normalizeIDs(whole) {
					t.Fatalf("byte-at-a-time differs")
				}
			})
		}
	}
}

// normalizeIDs hides the random ids a stream without upstream ids gets, so two runs compare equal.
func normalizeIDs(s string) string { return string(normalize([]byte(s))) }

// TestStreamOpenAIReassembly reassembles the OpenAI chunks made from an Anthropic stream and checks the content.
func TestStreamOpenAIReassembly(t *testing.T) {
	got, tr := runStream(t, dialects.OpenAI, dialects.Anthropic, true, streamFixture(t, dialects.Anthropic))
	var text, reasoning, args strings.Builder
	var finish, id, name string
	var usageChunks, done int
	for _, line := range strings.Split(got, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done++
			continue
		}
		c := gjson.Parse(data)
		if c.Get("object").Str != "chat.completion.chunk" || c.Get("model").Str != "caller-model" {
			t.Fatalf("bad chunk %s", data)
		}
		if c.Get("usage").Exists() {
			usageChunks++
			if n := len(c.Get("choices").Array()); n != 0 {
				t.Errorf("usage chunk has %d choices", n)
			}
			continue
		}
		d := c.Get("choices.0.delta")
		text.WriteString(d.Get("content").Str)
		reasoning.WriteString(d.Get("reasoning_content").Str)
		if tc := d.Get("tool_calls.0"); tc.Exists() {
			if v := tc.Get("id").Str; v != "" {
				id, name = v, tc.Get("function.name").Str
			}
			args.WriteString(tc.Get("function.arguments").Str)
		}
		if f := c.Get("choices.0.finish_reason"); f.Type == gjson.String {
			finish = f.Str
		}
	}
	if text.String() != "Let me \"check\"\nthe weather ☀️." || reasoning.String() != "Weather lookup." {
		t.Errorf("text %q reasoning %q", text.String(), reasoning.String())
	}
	if id != "toolu_01" || name != "get_weather" || args.String() != `{"city": "Paris"}` || finish != "tool_calls" {
		t.Errorf("tool %q %q %q finish %q", id, name, args.String(), finish)
	}
	if usageChunks != 1 || done != 1 {
		t.Errorf("usage chunks %d, done %d", usageChunks, done)
	}
	if u := tr.Usage(); u.PromptTokens != 30 || u.CachedTokens != 5 || u.CompletionTokens != 42 || u.TotalTokens != 72 {
		t.Errorf("usage %+v", u)
	}
	// The text relayed is counted, for charging a stream cut before its usage report.
	if n := int64(text.Len() + reasoning.Len() + args.Len()); tr.Text() != n {
		t.Errorf("text counted %d bytes, relayed %d", tr.Text(), n)
	}
}

// TestStreamAnthropicSequence checks the exact Anthropic event order produced from an OpenAI stream.
func TestStreamAnthropicSequence(t *testing.T) {
	got, _ := runStream(t, dialects.Anthropic, dialects.OpenAI, false, streamFixture(t, dialects.OpenAI))
	var seq []string
	for _, line := range strings.Split(got, "\n") {
		if ev, ok := strings.CutPrefix(line, "event: "); ok {
			seq = append(seq, ev)
		}
	}
	want := "message_start content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_delta content_block_stop " +
		"content_block_start content_block_delta content_block_stop message_delta message_stop"
	if strings.Join(seq, " ") != want {
		t.Errorf("sequence\n got %s\nwant %s", strings.Join(seq, " "), want)
	}
	if !strings.Contains(got, `"stop_reason":"tool_use"`) || !strings.Contains(got, `"input_tokens":20,"cache_read_input_tokens":10,"output_tokens":12`) {
		t.Errorf("message_delta wrong:\n%s", got)
	}
}

func TestStreamErrors(t *testing.T) {
	// Upstream error event mid-stream.
	src := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3}}}\n\n" +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	got, _ := runStream(t, dialects.OpenAI, dialects.Anthropic, true, []byte(src))
	if !strings.Contains(got, `data: {"error":{"message":"Overloaded","type":"server_error","code":null}}`) || strings.Contains(got, "[DONE]") {
		t.Errorf("openai error:\n%s", got)
	}
	got, _ = runStream(t, dialects.Anthropic, dialects.Anthropic, true, []byte(src))
	if !strings.Contains(got, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}") {
		t.Errorf("anthropic error:\n%s", got)
	}
	// Bedrock exception frame.
	frame := bedrockFrame(t, "exception", "throttlingException", `{"message":"Too many requests"}`)
	got, _ = runStream(t, dialects.Anthropic, dialects.Bedrock, true, frame)
	if !strings.Contains(got, `"type":"rate_limit_error","message":"Too many requests"`) {
		t.Errorf("bedrock exception:\n%s", got)
	}
	// Broken upstream: End with a cause writes an error, not a normal close.
	for _, in := range []dialects.Dialect{dialects.OpenAI, dialects.Anthropic} {
		st, _ := NewStream(in, dialects.Gemini, "m", true)
		var w bytes.Buffer
		_ = st.Feed([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]}}]}\n\n"), &w)
		if err := st.End(&w, errors.New("connection reset")); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(w.String(), "connection reset") || strings.Contains(w.String(), "[DONE]") || strings.Contains(w.String(), "message_stop") {
			t.Errorf("%s broken stream:\n%s", in, w.String())
		}
	}
	// A corrupt Bedrock frame is a Feed error.
	bad := bedrockFrame(t, "event", "messageStart", `{}`)
	bad[len(bad)-1] ^= 0xff
	st, _ := NewStream(dialects.OpenAI, dialects.Bedrock, "m", false)
	if err := st.Feed(bad, &bytes.Buffer{}); err == nil {
		t.Error("want CRC error")
	}
}

// TestStreamFlush checks that a flush follows each upstream event, so tokens reach the caller as they arrive.
func TestStreamFlush(t *testing.T) {
	st, _ := NewStream(dialects.OpenAI, dialects.Anthropic, "m", false)
	fw := &flushWriter{}
	if err := st.Feed(streamFixture(t, dialects.Anthropic), fw); err != nil {
		t.Fatal(err)
	}
	if fw.flushes < 8 {
		t.Errorf("only %d flushes", fw.flushes)
	}
}

type flushWriter struct {
	bytes.Buffer
	flushes int
}

func (f *flushWriter) Flush() { f.flushes++ }

func TestStreamNoUsageWithoutIncludeUsage(t *testing.T) {
	got, _ := runStream(t, dialects.OpenAI, dialects.Cohere, false, streamFixture(t, dialects.Cohere))
	if strings.Contains(got, `"usage"`) || !strings.HasSuffix(got, "data: [DONE]\n\n") {
		t.Errorf("unexpected:\n%s", got)
	}
}
