package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/weir-gateway/weir/test/mockupstream"
)

func upstreamConfig(url string, extra string) string {
	return fmt.Sprintf(`
providers:
  - name: up
    type: openai
    base_url: %s/v1
    keys: [{value: sk-test}]
    timeout: 2s
%s`, url, extra)
}

func client(g *gateway, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(g.URL + "/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)...)
}

func TestZeroConfigMockEcho(t *testing.T) {
	g := startGateway(t, "")
	c := client(g)
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "mock/echo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi there")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Choices[0].Message.Content; got != "hi there" {
		t.Fatalf("echo answered %q", got)
	}
	status, _, body := post(t, g.URL+"/chat/completions", `{"model":"mock/echo","messages":[{"role":"user","content":"no v1"}]}`)
	if status != 200 || !strings.Contains(body, "no v1") {
		t.Fatalf("without /v1: %d %s", status, body)
	}
}

func TestChatPassThrough(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, ""))
	c := client(g)
	var httpResp *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "up/mock-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
	}, option.WithJSONSet("weir_unknown_field", map[string]any{"kept": true}), option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content == "" || resp.Usage.TotalTokens == 0 {
		t.Fatalf("answer %+v", resp)
	}
	if httpResp.Header.Get("X-Weir-Provider") != "up" || httpResp.Header.Get("X-Weir-Model") != "mock-model" {
		t.Fatalf("x-weir headers: %v", httpResp.Header)
	}
	sent := up.LastRequest()
	var body map[string]any
	if err := json.Unmarshal(sent.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["model"] != "mock-model" {
		t.Fatalf("model sent upstream: %v", body["model"])
	}
	if _, ok := body["weir_unknown_field"]; !ok {
		t.Fatalf("unknown field not passed through: %s", sent.Body)
	}
	if _, ok := body["response_format"]; !ok {
		t.Fatalf("response_format lost: %s", sent.Body)
	}
	if sent.Header.Get("Authorization") != "Bearer sk-test" {
		t.Fatalf("auth header upstream: %q", sent.Header.Get("Authorization"))
	}
}

func TestStreamingIsIncremental(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{Chunks: 6, ChunkDelay: 80 * time.Millisecond})
	g := startGateway(t, upstreamConfig(url, ""))
	c := client(g)
	for _, wantUsage := range []bool{false, true} {
		params := openai.ChatCompletionNewParams{Model: "up/mock-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream please")}}
		if wantUsage {
			params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		}
		stream := c.Chat.Completions.NewStreaming(context.Background(), params)
		var arrivals []time.Time
		var text strings.Builder
		var usage int64
		for stream.Next() {
			ch := stream.Current()
			arrivals = append(arrivals, time.Now())
			if len(ch.Choices) > 0 {
				text.WriteString(ch.Choices[0].Delta.Content)
			}
			usage += ch.Usage.TotalTokens
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(arrivals) < 6 || text.Len() == 0 {
			t.Fatalf("got %d chunks, text %q", len(arrivals), text.String())
		}
		// Chunks must reach the caller as the upstream sends them: the first long before the last.
		if spread := arrivals[len(arrivals)-1].Sub(arrivals[0]); spread < 200*time.Millisecond {
			t.Fatalf("chunks arrived together (spread %v): the stream was buffered", spread)
		}
		if wantUsage != (usage > 0) {
			t.Fatalf("caller asked usage=%v but saw usage total %d", wantUsage, usage)
		}
		// The gateway always asks the upstream for usage, so every stream is metered.
		if !strings.Contains(string(up.LastRequest().Body), `"include_usage":true`) {
			t.Fatalf("upstream was not asked for usage: %s", up.LastRequest().Body)
		}
	}
	waitUntil(t, "usage recorded", func() bool {
		_, _, body := get(t, g.URL+"/debug/pools")
		return strings.Contains(body, `"prompt_tokens":`) && !strings.Contains(body, `"prompt_tokens":0`)
	})
}

func TestToolsTwoTurns(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, ""))
	c := client(g)
	tool := openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}}}})
	params := openai.ChatCompletionNewParams{Model: "up/mock-model",
		Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris?")},
		Tools:      []openai.ChatCompletionToolUnionParam{tool},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("auto")},
	}
	first, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	calls := first.Choices[0].Message.ToolCalls
	if first.Choices[0].FinishReason != "tool_calls" || len(calls) != 1 || calls[0].Function.Name != "get_weather" ||
		calls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("first turn: %+v", first.Choices[0])
	}
	params.Messages = append(params.Messages, first.Choices[0].Message.ToParam(), openai.ToolMessage("18C and sunny", calls[0].ID))
	second, err := c.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.Choices[0].Message.Content, "18C and sunny") {
		t.Fatalf("second turn: %q", second.Choices[0].Message.Content)
	}
	// the same over a stream: tool-call argument deltas reassemble
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "up/mock-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")}, Tools: []openai.ChatCompletionToolUnionParam{tool}})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if tc := acc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("streamed tool call: %+v", acc.Choices[0].Message)
	}
}

func TestEmbeddingsAndModels(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, ""))
	c := client(g)
	emb, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "up/mock-embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 || emb.Usage.PromptTokens == 0 {
		t.Fatalf("embeddings: %d vectors, usage %+v", len(emb.Data), emb.Usage)
	}
	var ids []string
	waitUntil(t, "upstream models listed", func() bool {
		page, err := c.Models.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ids = ids[:0]
		for _, m := range page.Data {
			ids = append(ids, m.ID)
		}
		return strings.Contains(strings.Join(ids, ","), "up/mock-model")
	})
}

func TestUpstreamErrorMapping(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, "routing:\n  retries: {max: 0}\nserver:\n  max_body_bytes: 1048576\n"))
	c := client(g)
	tests := []struct {
		model      string
		status     int
		retryAfter bool
	}{
		{"up/fail-400", 400, false},
		{"up/fail-401", 401, false},
		{"up/fail-429", 429, true},
		{"up/fail-500", 500, false},
		{"up/hang", 504, false},  // the provider's 2s timeout
		{"up/reset", 502, false}, // the connection is reset without an answer
		{"nosuch/model", 404, false},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			var resp *http.Response
			_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: tc.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}}, option.WithResponseInto(&resp))
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("want an API error, got %v", err)
			}
			if apiErr.StatusCode != tc.status || apiErr.Message == "" {
				t.Fatalf("status %d message %q, want %d", apiErr.StatusCode, apiErr.Message, tc.status)
			}
			if tc.retryAfter && resp.Header.Get("Retry-After") == "" {
				t.Fatal("429 lost its Retry-After")
			}
		})
	}
	// gateway-side validation
	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{not json`, 400, "not valid JSON"},
		{`{"messages":[]}`, 400, `"model" is required`},
		{`{"model":"up/x","messages":[]` + strings.Repeat(" ", 2<<20) + `}`, 413, "max_body_bytes"},
	} {
		status, _, body := post(t, g.URL+"/v1/chat/completions", tc.body)
		var e struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		if status != tc.status || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error.Message, tc.msg) || e.Error.Type == "" {
			t.Errorf("%.40s: %d %s", tc.body, status, body)
		}
	}
}

func TestCallerDisconnectCancelsUpstream(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{Chunks: 50, ChunkDelay: 100 * time.Millisecond})
	g := startGateway(t, strings.Replace(upstreamConfig(url, ""), "timeout: 2s", "timeout: 30s", 1))
	c := client(g)
	ctx, cancel := context.WithCancel(context.Background())
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("long story")}})
	if !stream.Next() {
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	cancel()
	stream.Close()
	waitUntil(t, "the upstream to see the cancellation", func() bool { return up.Stats().Cancelled >= 1 })
	waitUntil(t, "the worker slot to be released", func() bool {
		_, _, body := get(t, g.URL+"/debug/pools")
		return strings.Contains(body, `"in_flight":0`)
	})
}

func TestQueueFullDropAnswers429Overloaded(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, strings.Replace(upstreamConfig(url, "client:\n  drop_excess_requests: true\nrouting:\n  retries: {max: 0}\n"), "timeout: 2s", "timeout: 10s\n    concurrency: 1\n    buffer_size: 1", 1))
	c := client(g)
	results := fire(c, "up/slow-400", 6)
	var ok, shed int
	for _, err := range results {
		var apiErr *openai.Error
		switch {
		case err == nil:
			ok++
		case errors.As(err, &apiErr) && apiErr.StatusCode == 429 && apiErr.Type == "overloaded":
			shed++
			if !strings.Contains(apiErr.Message, "queue") {
				t.Errorf("message %q", apiErr.Message)
			}
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok < 1 || shed < 1 || ok+shed != 6 {
		t.Fatalf("ok %d shed %d", ok, shed)
	}
	_, _, body := get(t, g.URL+"/debug/pools")
	if !strings.Contains(body, fmt.Sprintf(`"dropped_total":%d`, shed)) {
		t.Fatalf("drops not counted: %s", body)
	}
}

func TestQueueFullWithoutDropWaits(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, strings.Replace(upstreamConfig(url, "client:\n  drop_excess_requests: false\n"), "timeout: 2s", "timeout: 10s\n    concurrency: 1\n    buffer_size: 1", 1))
	for i, err := range fire(client(g), "up/slow-150", 5) {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
}

func TestGracefulShutdownFinishesStreams(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{Chunks: 10, ChunkDelay: 100 * time.Millisecond})
	g := startGateway(t, strings.Replace(upstreamConfig(url, ""), "timeout: 2s", "timeout: 30s", 1))
	c := client(g)
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "up/mock-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("story")}})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	n := 1
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n < 10 {
		t.Fatalf("stream cut by shutdown after %d chunks: %v", n, err)
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("weir did not exit after the stream finished")
	}
	if g.err != nil {
		t.Fatalf("exit: %v", g.err)
	}
}

func TestReadyzFailsWhileDraining(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, "server:\n  drain_delay: 1s\n"))
	if status, _, _ := get(t, g.URL+"/readyz"); status != 200 {
		t.Fatalf("readyz %d", status)
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	waitUntil(t, "readyz to fail", func() bool { s, _, _ := get(t, g.URL+"/readyz"); return s == 503 })
	if s, _, _ := get(t, g.URL+"/healthz"); s != 200 {
		t.Fatalf("healthz %d while draining", s)
	}
	<-g.done
}

func TestConfigCheckCLI(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("providers:\n  - name: x\n    type: nosuchtype\n    bogus_field: 1\n  - name: y\n    type: groq\n"), 0o600)
	out, err := exec.Command(weirBin, "config", "check", bad).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v: %s", err, out)
	}
	for _, want := range []string{"providers[0].bogus_field: unknown field"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	bad2 := filepath.Join(dir, "bad2.yaml")
	os.WriteFile(bad2, []byte("providers:\n  - name: x\n    type: nosuchtype\n  - name: y\n    type: groq\n"), 0o600)
	out, _ = exec.Command(weirBin, "config", "check", bad2).CombinedOutput()
	for _, want := range []string{`providers[0].type: unknown provider type "nosuchtype"`, "providers[1].keys: at least one key is required"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(upstreamConfig("http://127.0.0.1:1", "")), 0o600)
	if out, err := exec.Command(weirBin, "config", "check", good).CombinedOutput(); err != nil {
		t.Fatalf("good config rejected: %s", out)
	}
	out, err = exec.Command(weirBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "weir ") {
		t.Fatalf("version: %v %s", err, out)
	}
}

// fire sends n concurrent chat requests and returns their errors.
func fire(c openai.Client, model string, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		}()
	}
	wg.Wait()
	return errs
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}
