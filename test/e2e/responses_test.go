package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestResponsesPassThrough drives /v1/responses with the openai-go SDK to an OpenAI-dialect upstream that has the
// Responses API: the body and the typed event stream pass through, and usage is read from response.completed.
func TestResponsesPassThrough(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, ""))
	c := client(g)
	ctx := context.Background()
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "up/mock-model",
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() == "" || resp.Usage.InputTokens == 0 {
		t.Fatalf("response %+v", resp)
	}
	if !strings.Contains(string(up.LastRequest().Body), `"model":"mock-model"`) {
		t.Fatalf("upstream body %s", up.LastRequest().Body)
	}
	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "up/mock-model",
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("stream")}})
	var types []string
	var text strings.Builder
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if ev.Type == "response.output_text.delta" {
			text.WriteString(ev.Delta)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	seq := strings.Join(types, ",")
	if !strings.HasPrefix(seq, "response.created") || !strings.HasSuffix(seq, "response.completed") || text.Len() == 0 {
		t.Fatalf("events %s, text %q", seq, text.String())
	}
	waitUntil(t, "stream usage metered", func() bool {
		_, _, body := get(t, g.URL+"/metrics")
		return strings.Contains(body, `weir_requests_total{alias="",model="mock-model",provider="up",route="POST /v1/responses",status_class="2xx"} 2`) &&
			!strings.Contains(body, `weir_tokens_total{direction="output",model="mock-model",provider="up"} 0`)
	})
}

func openaiString(s string) param.Opt[string] { return param.NewOpt(s) }

// TestResponsesTranslated serves /v1/responses on targets without a Responses API (the built-in mock, Anthropic,
// Gemini, a chat-only OpenAI-compatible server): text, stream, and a two-turn function call sent as input items.
func TestResponsesTranslated(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, strings.Replace(nativeConfig(url), "providers:\n", "providers:\n  - {name: mk, type: mock}\n", 1))
	c := client(g)
	ctx := context.Background()
	tool := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{Name: "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	for _, model := range []string{"mk/echo", "claude/claude-sonnet-4-5", "gem/gemini-2.5-flash", "oai/mock-model"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, Instructions: openaiString("be brief"),
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("hello")}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.OutputText() == "" || resp.Usage.InputTokens == 0 || resp.Status != "completed" {
				t.Fatalf("response %+v", resp)
			}
			stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model,
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("stream")}})
			var types []string
			var seq int64 = -1
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				if ev.SequenceNumber <= seq {
					t.Fatalf("sequence_number %d after %d", ev.SequenceNumber, seq)
				}
				seq = ev.SequenceNumber
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(types, ",")
			if !strings.HasPrefix(all, "response.created,response.in_progress") || !strings.Contains(all, "response.output_text.delta") ||
				!strings.HasSuffix(all, "response.completed") {
				t.Fatalf("events %s", all)
			}
			if model == "mk/echo" {
				return // the built-in mock does not call tools
			}
			first, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{tool},
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("weather in Paris?")}})
			if err != nil {
				t.Fatal(err)
			}
			var call responses.ResponseFunctionToolCall
			for _, item := range first.Output {
				if item.Type == "function_call" {
					call = item.AsFunctionCall()
				}
			}
			if call.Name != "get_weather" || !strings.Contains(call.Arguments, "Paris") || call.CallID == "" {
				t.Fatalf("function call: %+v", first.Output)
			}
			items := responses.ResponseInputParam{
				responses.ResponseInputItemParamOfMessage("weather in Paris?", responses.EasyInputMessageRoleUser),
				responses.ResponseInputItemParamOfFunctionCall(call.Arguments, call.CallID, call.Name),
				functionOutput(call.CallID, "18C and sunny"),
			}
			second, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, Tools: []responses.ToolUnionParam{tool},
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: items}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(second.OutputText(), "18C and sunny") {
				t.Fatalf("second turn: %q", second.OutputText())
			}
		})
	}
	// a built-in tool the target lacks is a 400 naming it
	status, _, body := post(t, g.URL+"/v1/responses", `{"model":"claude/claude-sonnet-4-5","input":"x","tools":[{"type":"web_search"}]}`)
	if status != 400 || !strings.Contains(body, "web_search") {
		t.Fatalf("built-in tool: %d %s", status, body)
	}
}

func functionOutput(callID, output string) responses.ResponseInputItemUnionParam {
	item := responses.ResponseInputItemParamOfFunctionCallOutput(output)
	item.OfFunctionCallOutput.CallID = param.NewOpt(callID)
	return item
}
