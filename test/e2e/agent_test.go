package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/test/mcpserver"
	"github.com/weir-gateway/weir/test/mockupstream"
)

const (
	agentKey     = "wk-agent-allowed-000000000000001"
	agentNoneKey = "wk-agent-nomcp-0000000000000001"
	agentDepth   = 3
)

// agentFixture is a gateway with an OpenAI-dialect and an Anthropic-dialect provider (both the mock upstream,
// which calls the first tool it is offered with {"city":"Paris"}) and one MCP server, web.
type agentFixture struct {
	gw    *gateway
	calls *mcpserver.Calls
}

func startAgentFixture(t *testing.T) *agentFixture {
	t.Helper()
	f := &agentFixture{calls: &mcpserver.Calls{}}
	srv := mcpserver.New("web", f.calls)
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(hs.Close)
	_, up := startUpstream(t, mockupstream.Options{})
	f.gw = startGateway(t, fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %[1]s/v1, keys: [{value: sk-test}]}
  - {name: claude, type: anthropic, base_url: %[1]s, keys: [{value: sk-ant-test}]}
routing:
  retries: {max: 0}
mcp:
  agent_max_depth: %[3]d
  servers:
    - { name: web, transport: streamable-http, url: "%[2]s/mcp" }
governance:
  virtual_keys:
    - { id: agent, value: %[4]s, mcp: { servers: [web], tools: [web__weather, web__echo] } }
    - { id: nomcp, value: %[5]s }
`, up, hs.URL, agentDepth, agentKey, agentNoneKey))
	s := mustMCPClient(t, f.gw.URL+"/mcp", agentKey)
	waitUntil(t, "the web server's tools are listed", func() bool { return slices.Contains(toolNames(t, s), "web__weather") })
	return f
}

// mcpTool is the mcp tool entry chat and messages requests carry (the Responses API's own shape).
func mcpTool(approval string, allowed ...string) map[string]any {
	t := map[string]any{"type": "mcp", "server_label": "web", "require_approval": approval}
	if len(allowed) > 0 {
		t["allowed_tools"] = allowed
	}
	return t
}

const agentAnswer = "The tool returned: web: sunny in Paris"

// TestAgentMode: a request with an mcp tool has Weir run the tool on the MCP server and give the model its
// result, on chat, Responses and messages, streamed and not, for an OpenAI-dialect and an Anthropic-dialect
// provider (translated), through the official SDKs.
func TestAgentMode(t *testing.T) {
	f := startAgentFixture(t)
	ctx := context.Background()
	oc := openai.NewClient(option.WithBaseURL(f.gw.URL+"/v1"), option.WithAPIKey(agentKey), option.WithMaxRetries(0))
	ac := anthropic.NewClient(aoption.WithBaseURL(f.gw.URL), aoption.WithAPIKey(agentKey), aoption.WithMaxRetries(0))
	weatherOnly := []any{mcpTool("never", "weather")}

	for _, model := range []string{"up/mock-model", "claude/mock-model"} {
		ran := func(t *testing.T, before int64) {
			t.Helper()
			if got := f.calls.Load() - before; got != 1 {
				t.Fatalf("the MCP server ran %d tool calls, want 1", got)
			}
		}
		t.Run(model+"/chat", func(t *testing.T) {
			before := f.calls.Load()
			c, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}},
				option.WithJSONSet("tools", weatherOnly))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Choices[0].Message.Content; got != agentAnswer || c.Choices[0].FinishReason != "stop" {
				t.Fatalf("answer %q (finish %q), want %q", got, c.Choices[0].FinishReason, agentAnswer)
			}
			if c.Usage.TotalTokens == 0 {
				t.Fatal("no usage")
			}
			if w := c.JSON.ExtraFields["weir"].Raw(); !strings.Contains(w, `"name":"web__weather"`) {
				t.Fatalf("weir field %q, want the call Weir ran", w)
			}
			ran(t, before)
		})
		t.Run(model+"/chat stream", func(t *testing.T) {
			before := f.calls.Load()
			s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}},
				option.WithJSONSet("tools", weatherOnly))
			var text strings.Builder
			deltas, calls := 0, ""
			for s.Next() {
				ch := s.Current()
				if len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
					text.WriteString(ch.Choices[0].Delta.Content)
					deltas++
				}
				if w, ok := ch.JSON.ExtraFields["weir"]; ok {
					calls = w.Raw()
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != agentAnswer {
				t.Fatalf("streamed %q, want %q", text.String(), agentAnswer)
			}
			// The model's tokens are relayed as the upstream streams them, not replayed whole at the end.
			if deltas < 2 {
				t.Fatalf("%d text deltas, want the model's streamed pieces (more than one)", deltas)
			}
			if !strings.Contains(calls, `"name":"web__weather"`) || !strings.Contains(calls, `"status":"completed"`) {
				t.Fatalf("final chunk's weir field %q, want the call Weir ran", calls)
			}
			ran(t, before)
		})
		t.Run(model+"/responses", func(t *testing.T) {
			before := f.calls.Load()
			r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: model,
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("What is the weather in Paris?")},
				Tools: []responses.ToolUnionParam{{OfMcp: &responses.ToolMcpParam{ServerLabel: "web",
					AllowedTools:    responses.ToolMcpAllowedToolsUnionParam{OfMcpAllowedTools: []string{"weather"}},
					RequireApproval: responses.ToolMcpRequireApprovalUnionParam{OfMcpToolApprovalSetting: openaiString("never")}}}}})
			if err != nil {
				t.Fatal(err)
			}
			checkMCPOutput(t, r)
			ran(t, before)
		})
		t.Run(model+"/responses stream", func(t *testing.T) {
			before := f.calls.Load()
			s := oc.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model,
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("What is the weather in Paris?")}},
				option.WithJSONSet("tools", weatherOnly))
			var final *responses.Response
			var types []string
			seq, added := int64(-1), int64(0)
			for s.Next() {
				ev := s.Current()
				types = append(types, ev.Type)
				// One response: sequence numbers count up, output items are numbered in order across the turns.
				if ev.SequenceNumber != seq+1 {
					t.Fatalf("%s has sequence_number %d after %d", ev.Type, ev.SequenceNumber, seq)
				}
				seq = ev.SequenceNumber
				if ev.Type == "response.output_item.added" {
					if ev.OutputIndex != added {
						t.Fatalf("item %d added at output_index %d", added, ev.OutputIndex)
					}
					added++
				}
				if ev.Type == "response.completed" {
					r := ev.Response
					final = &r
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			// Written as the loop goes: the response starts, the call runs, then the model's text follows.
			inProgress, done, text := slices.Index(types, "response.mcp_call.in_progress"),
				slices.Index(types, "response.mcp_call.completed"), slices.Index(types, "response.output_text.delta")
			if final == nil || types[0] != "response.created" || inProgress < 0 || !(inProgress < done && done < text) {
				t.Fatalf("events %v: want response.created, mcp_call in progress, completed, then text, response.completed", types)
			}
			// The model's tokens are relayed as the upstream streams them, not replayed whole at the end.
			if n := countOf(types, "response.output_text.delta"); n < 2 {
				t.Fatalf("%d response.output_text.delta events, want the model's streamed pieces (more than one): %v", n, types)
			}
			checkMCPOutput(t, final)
			if int64(len(final.Output)) != added {
				t.Fatalf("final response has %d output items, the stream added %d", len(final.Output), added)
			}
			ran(t, before)
		})
		t.Run(model+"/messages", func(t *testing.T) {
			before := f.calls.Load()
			m, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Paris?"))}},
				aoption.WithJSONSet("tools", weatherOnly))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Content) == 0 || m.Content[0].Text != agentAnswer || m.StopReason != "end_turn" {
				t.Fatalf("answer %+v, want %q", m.Content, agentAnswer)
			}
			if w := m.JSON.ExtraFields["weir"].Raw(); !strings.Contains(w, `"name":"web__weather"`) {
				t.Fatalf("weir field %q, want the call Weir ran", w)
			}
			ran(t, before)
		})
		t.Run(model+"/messages stream", func(t *testing.T) {
			before := f.calls.Load()
			s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather in Paris?"))}},
				aoption.WithJSONSet("tools", weatherOnly))
			var m anthropic.Message
			deltas := 0
			for s.Next() {
				ev := s.Current()
				if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" {
					deltas++
				}
				if err := m.Accumulate(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if len(m.Content) == 0 || m.Content[0].Text != agentAnswer || m.StopReason != "end_turn" || m.Usage.OutputTokens == 0 {
				t.Fatalf("streamed %+v (stop %q, usage %+v), want %q", m.Content, m.StopReason, m.Usage, agentAnswer)
			}
			if deltas < 2 {
				t.Fatalf("%d text deltas, want the model's streamed pieces (more than one)", deltas)
			}
			ran(t, before)
		})
	}
}

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// checkMCPOutput: a completed response listing the server's tools, the call Weir ran and the model's answer.
func checkMCPOutput(t *testing.T, r *responses.Response) {
	t.Helper()
	if r.Status != "completed" {
		t.Fatalf("status %q", r.Status)
	}
	var kinds []string
	for _, it := range r.Output {
		kinds = append(kinds, it.Type)
		switch it.Type {
		case "mcp_list_tools":
			if it.ServerLabel != "web" || gjson.Get(it.RawJSON(), "tools.#").Int() != 1 || gjson.Get(it.RawJSON(), "tools.0.name").Str != "weather" {
				t.Errorf("mcp_list_tools %s", it.RawJSON())
			}
		case "mcp_call":
			if it.Name != "weather" || gjson.Get(it.RawJSON(), "output").Str != "web: sunny in Paris" || !strings.Contains(gjson.Get(it.RawJSON(), "arguments").Str, "Paris") {
				t.Errorf("mcp_call %s", it.RawJSON())
			}
		}
	}
	if !slices.Equal(kinds, []string{"mcp_list_tools", "mcp_call", "message"}) || r.OutputText() != agentAnswer {
		t.Fatalf("output %v, text %q", kinds, r.OutputText())
	}
}

// TestAgentModeLimits: the depth limit stops a model that always calls a tool, a tool the key may not call
// never runs, and a tool that needs approval is returned, not run.
func TestAgentModeLimits(t *testing.T) {
	f := startAgentFixture(t)
	ctx := context.Background()
	oc := openai.NewClient(option.WithBaseURL(f.gw.URL+"/v1"), option.WithAPIKey(agentKey), option.WithMaxRetries(0))
	ac := anthropic.NewClient(aoption.WithBaseURL(f.gw.URL), aoption.WithAPIKey(agentKey), aoption.WithMaxRetries(0))
	weather := []any{mcpTool("never", "weather")}

	t.Run("max depth on chat: 508 agent_max_depth", func(t *testing.T) {
		before := f.calls.Load()
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "claude/tool-loop",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("loop")}}, option.WithJSONSet("tools", weather))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusLoopDetected || apiErr.Code != "agent_max_depth" {
			t.Fatalf("err = %v, want 508 agent_max_depth", err)
		}
		if got := f.calls.Load() - before; got != agentDepth-1 {
			t.Fatalf("%d tool calls ran, want %d (one per model call but the last)", got, agentDepth-1)
		}
	})
	t.Run("max depth on messages: an Anthropic error", func(t *testing.T) {
		_, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "up/tool-loop", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("loop"))}},
			aoption.WithJSONSet("tools", weather))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusLoopDetected || !strings.Contains(apiErr.Error(), "agent_max_depth") {
			t.Fatalf("err = %v, want 508 agent_max_depth", err)
		}
	})
	t.Run("max depth on responses: incomplete", func(t *testing.T) {
		before := f.calls.Load()
		r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "up/tool-loop",
			Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("loop")}}, option.WithJSONSet("tools", weather))
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		for _, it := range r.Output {
			if it.Type == "mcp_call" {
				calls++
			}
		}
		if r.Status != "incomplete" || r.IncompleteDetails.Reason != "max_tool_calls" || calls != agentDepth-1 || f.calls.Load()-before != agentDepth-1 {
			t.Fatalf("status %q (%q), %d mcp_call items; want incomplete after %d calls", r.Status, r.IncompleteDetails.Reason, calls, agentDepth-1)
		}
	})
	t.Run("a tool outside the key's allow-list is neither offered nor run", func(t *testing.T) {
		before := f.calls.Load()
		r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "up/mock-model",
			Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("tell me the secret")}},
			option.WithJSONSet("tools", []any{mcpTool("never", "secret")}))
		if err != nil {
			t.Fatal(err)
		}
		if r.Output[0].Type != "mcp_list_tools" || gjson.Get(r.Output[0].RawJSON(), "tools.#").Int() != 0 {
			t.Fatalf("offered %s", r.Output[0].RawJSON())
		}
		// A key with no mcp allow-list gets no tools at all.
		nc := openai.NewClient(option.WithBaseURL(f.gw.URL+"/v1"), option.WithAPIKey(agentNoneKey), option.WithMaxRetries(0))
		if _, err := nc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")}}, option.WithJSONSet("tools", weather)); err != nil {
			t.Fatal(err)
		}
		// A call the model makes by a denied tool's name (here a client tool so named) is the caller's, not run.
		c, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("secret?")}},
			option.WithJSONSet("tools", []any{map[string]any{"type": "function", "function": map[string]any{"name": "web__secret"}}, mcpTool("never")}))
		if err != nil {
			t.Fatal(err)
		}
		if tc := c.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "web__secret" {
			t.Fatalf("answer %s", c.RawJSON())
		}
		if f.calls.Load() != before {
			t.Fatal("a tool the key may not call reached the server")
		}
	})
	t.Run("require_approval: the call is returned as mcp_approval_request, not run", func(t *testing.T) {
		before := f.calls.Load()
		r, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "claude/mock-model",
			Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("weather?")}},
			option.WithJSONSet("tools", []any{mcpTool("always", "weather")}))
		if err != nil {
			t.Fatal(err)
		}
		last := r.Output[len(r.Output)-1]
		if last.Type != "mcp_approval_request" || last.Name != "weather" || f.calls.Load() != before {
			t.Fatalf("output %s", r.RawJSON())
		}
	})
	t.Run("streamed: max depth on chat is the 508 before any byte, approval on messages ends with the tool_use", func(t *testing.T) {
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "up/tool-loop",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("loop")}}, option.WithJSONSet("tools", weather))
		for s.Next() {
		}
		var apiErr *openai.Error
		if err := s.Err(); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusLoopDetected {
			t.Fatalf("err = %v, want 508 agent_max_depth", err)
		}
		before := f.calls.Load()
		ms := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "up/mock-model", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))}},
			aoption.WithJSONSet("tools", []any{mcpTool("always", "weather")}))
		var m anthropic.Message
		for ms.Next() {
			if err := m.Accumulate(ms.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := ms.Err(); err != nil {
			t.Fatal(err)
		}
		last := m.Content[len(m.Content)-1]
		if last.Type != "tool_use" || last.Name != "web__weather" || string(last.Input) != `{"city":"Paris"}` || m.StopReason != "tool_use" || f.calls.Load() != before {
			t.Fatalf("streamed %+v (stop %q)", m.Content, m.StopReason)
		}
	})
	t.Run("streamed: max depth on responses is response.incomplete", func(t *testing.T) {
		s := oc.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "claude/tool-loop",
			Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("loop")}}, option.WithJSONSet("tools", weather))
		var final *responses.Response
		for s.Next() {
			if ev := s.Current(); ev.Type == "response.incomplete" {
				r := ev.Response
				final = &r
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if final == nil || final.IncompleteDetails.Reason != "max_tool_calls" {
			t.Fatalf("final %+v, want response.incomplete (max_tool_calls)", final)
		}
	})
	t.Run("an mcp tool without server_label is a 400", func(t *testing.T) {
		code, _, body := post(t, f.gw.URL+"/v1/chat/completions", `{"model":"up/mock-model","messages":[{"role":"user","content":"x"}],"tools":[{"type":"mcp"}]}`,
			"Authorization", "Bearer "+agentKey)
		if code != 400 || !strings.Contains(body, "invalid_mcp_tool") {
			t.Fatalf("%d %s", code, body)
		}
	})
}

// TestAgentModeMetrics: an agent-mode request is one request of several model calls; its calls are neither
// retries nor fallbacks of each other.
func TestAgentModeMetrics(t *testing.T) {
	f := startAgentFixture(t)
	oc := openai.NewClient(option.WithBaseURL(f.gw.URL+"/v1"), option.WithAPIKey(agentKey), option.WithMaxRetries(0))
	if _, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "up/mock-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}},
		option.WithJSONSet("tools", []any{mcpTool("never", "weather")})); err != nil {
		t.Fatal(err)
	}
	_, _, metrics := get(t, f.gw.URL+"/metrics")
	labels := `{model="mock-model",provider="up"}`
	for name, want := range map[string]float64{"weir_model_calls_total": 2, "weir_retries_total": 0, "weir_fallbacks_total": 0} {
		if got := metricValue(metrics, name+labels); got != want {
			t.Errorf("%s%s = %v, want %v", name, labels, got, want)
		}
	}
	if got := metricValue(metrics, `weir_requests_total{alias="",model="mock-model",provider="up",route="POST /v1/chat/completions",status_class="2xx"}`); got != 1 {
		t.Errorf("weir_requests_total = %v, want 1", got)
	}
}

// metricValue is the value of the series named exactly (name and labels) in a Prometheus text exposition; 0
// when absent.
func metricValue(exposition, series string) float64 {
	for line := range strings.Lines(exposition) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			_, _ = fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}
