package relay

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/weir-gateway/weir/internal/schema"
)

// recorder is a Sink that remembers what was flushed when.
type recorder struct {
	h       http.Header
	buf     bytes.Buffer
	flushed []string // the bytes visible to the caller at each flush
	status  int
	quiet   bool // don't record flushes (benchmarks)
}

func (r *recorder) Header() http.Header {
	if r.h == nil {
		r.h = http.Header{}
	}
	return r.h
}
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(p []byte) (int, error) { return r.buf.Write(p) }
func (r *recorder) Flush() error {
	if !r.quiet {
		r.flushed = append(r.flushed, r.buf.String())
	}
	return nil
}

const (
	chunk1     = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}` + "\n\n"
	chunk2     = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}],"usage":null}` + "\n\n"
	usageChunk = `data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}` + "\n\n"
	done       = "data: [DONE]\n\n"
)

func TestOpenAIStream(t *testing.T) {
	stream := chunk1 + ": keep-alive\n\n" + chunk2 + usageChunk + done
	want := schema.Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11, CachedTokens: 4}
	tests := []struct {
		name         string
		forwardUsage bool
		wantOut      string
	}{
		{"caller asked for usage", true, stream},
		{"gateway asked on the caller's behalf", false, chunk1 + ": keep-alive\n\n" + chunk2 + done},
	}
	for _, tc := range tests {
		for _, split := range []bool{false, true} {
			rec := &recorder{}
			var r io.Reader = strings.NewReader(stream)
			if split {
				r = iotest.OneByteReader(r)
			}
			got, err := OpenAIStream(rec, r, tc.forwardUsage)
			if err != nil || !got.SawUsage || got.Usage != want || got.Text != 5 {
				t.Fatalf("%s: %+v err %v", tc.name, got, err)
			}
			if rec.buf.String() != tc.wantOut {
				t.Fatalf("%s: output\n%q\nwant\n%q", tc.name, rec.buf.String(), tc.wantOut)
			}
			if len(rec.flushed) < 3 || !strings.HasSuffix(rec.flushed[0], "\n\n") || rec.flushed[0] != chunk1 {
				t.Fatalf("%s: events not flushed one by one: %q", tc.name, rec.flushed)
			}
		}
	}
}

func TestOpenAIStreamCRLFAndLongLines(t *testing.T) {
	big := `data: {"choices":[{"index":0,"delta":{"content":"` + strings.Repeat("x", 100<<10) + `"}}]}` + "\r\n\r\n"
	rec := &recorder{}
	_, err := OpenAIStream(rec, strings.NewReader(big+done), false)
	if err != nil || rec.buf.String() != big+done {
		t.Fatalf("err %v, %d bytes out", err, rec.buf.Len())
	}
}

func TestOpenAIStreamReadError(t *testing.T) {
	boom := errors.New("connection reset")
	rec := &recorder{}
	got, err := OpenAIStream(rec, io.MultiReader(strings.NewReader(chunk1), iotest.ErrReader(boom)), true)
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if got.SawUsage || got.Text != 3 { // "Hel": what a caller cut before the usage chunk is charged for
		t.Fatalf("a cut stream counted %+v", got)
	}
	if rec.buf.String() != chunk1 {
		t.Fatalf("out %q", rec.buf.String())
	}
}

// TestDeltaText: the generated text of a stream event is counted from its delta, in each dialect the relays pass
// through, and nothing else in the event is.
func TestDeltaText(t *testing.T) {
	tests := []struct {
		line string
		want int64
	}{
		{chunk1, 3},
		{`data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null}}]}`, 0},
		{`data: {"choices":[{"index":0,"delta":{"reasoning_content":"think"}},{"index":1,"delta":{"content":"ab\"c"}}]}`, 5 + 5},
		{`data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}`, 9},
		{`data: {"type":"response.output_text.delta","item_id":"m","output_index":0,"delta":"Hello","obfuscation":"xyzxyz","sequence_number":4}`, 5},
		{`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi there"}}`, 8},
		{`data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"x\""}}`, 6},
		{`data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}`, 0},
		{`data: {"choices":[{"delta":{"content":"unterminated`, 0},
		{`data: {"content":"not in a delta"}`, 0},
	}
	for _, tc := range tests {
		if got := deltaText([]byte(tc.line)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.line, got, tc.want)
		}
	}
}

// TestAnthropicStreamCut: an Anthropic stream cut before message_delta still reports the prompt (message_start)
// and the text relayed so far.
func TestAnthropicStreamCut(t *testing.T) {
	start := `event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":12,"output_tokens":1}}}` + "\n\n"
	delta := `event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}` + "\n\n"
	boom := errors.New("connection reset")
	rec := &recorder{}
	got, err := AnthropicStream(rec, io.MultiReader(strings.NewReader(start+delta+delta), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || got.Usage.PromptTokens != 12 || got.Usage.CompletionTokens != 1 || got.Text != 10 {
		t.Fatalf("%+v err %v", got, err)
	}
	if rec.buf.String() != start+delta+delta {
		t.Fatalf("out %q", rec.buf.String())
	}
}

func TestOpenAIUsage(t *testing.T) {
	tests := []struct {
		body string
		want schema.Usage
	}{
		{`{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`, schema.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}},
		{`{"usage":{"prompt_tokens":3,"total_tokens":3}}`, schema.Usage{PromptTokens: 3, TotalTokens: 3}},
		{`{"usage":{"input_tokens":5,"output_tokens":6,"output_tokens_details":{"reasoning_tokens":2}}}`, schema.Usage{PromptTokens: 5, CompletionTokens: 6, TotalTokens: 11, ReasoningTokens: 2}},
		{`{"usage":null}`, schema.Usage{}},
		{`{}`, schema.Usage{}},
	}
	for _, tc := range tests {
		if got := OpenAIUsage([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: %+v", tc.body, got)
		}
	}
}

// FuzzOpenAIStream: any upstream bytes must relay without panics, and with usage forwarded the output equals
// the input (the relay never alters what it forwards).
func FuzzOpenAIStream(f *testing.F) {
	f.Add([]byte(chunk1 + chunk2 + usageChunk + done))
	f.Add([]byte("data: {\"usage\":{\"prompt_tokens\":1},\"choices\":[]}\n\n"))
	f.Add([]byte("data: {\"usage\":{}\r\n\r\n:x\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		_ = deltaText(in)
		rec := &recorder{}
		if _, err := OpenAIStream(rec, bytes.NewReader(in), true); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.buf.Bytes(), in) {
			t.Fatalf("relay altered the stream:\n%q\n%q", in, rec.buf.Bytes())
		}
		rec = &recorder{}
		if _, err := OpenAIStream(rec, bytes.NewReader(in), false); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkOpenAIStream(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 16; i++ {
		sb.WriteString(chunk1)
	}
	sb.WriteString(usageChunk + done)
	stream := sb.String()
	rec := &recorder{quiet: true}
	r := strings.NewReader(stream)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		rec.buf.Reset()
		rec.flushed = rec.flushed[:0]
		r.Reset(stream)
		if _, err := OpenAIStream(rec, r, false); err != nil {
			b.Fatal(err)
		}
	}
}
