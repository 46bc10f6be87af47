package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
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
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, strings.Replace(nativeConfig(url), "providers:\n", "providers:\n  - {name: mk, type: mock}\n", 1))
	c := client(g)
	ctx := context.Background()
	tool := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{Name: "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	for _, model := range []string{"mk/echo", "claude/claude-sonnet-4-5", "gem/gemini-2.5-flash", "chatonly/mock-model"} {
		t.Run(model, func(t *testing.T) {
			defer func() {
				if n := up.Stats().ByPath["/v1/responses"]; n != 0 {
					t.Fatalf("%d requests reached the upstream's /v1/responses: not translated", n)
				}
			}()
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

// TestResponsesConversationState keeps conversations for targets without a Responses API: previous_response_id
// rebuilds the earlier turns, stored responses can be read, listed and deleted, and a response made with one
// virtual key is a 404 for another.
func TestResponsesConversationState(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, strings.Replace(nativeConfig(url), "providers:\n", "providers:\n  - {name: mk, type: mock}\n", 1))
	c := client(g)
	ctx := context.Background()
	for _, model := range []string{"mk/echo", "claude/claude-sonnet-4-5"} {
		t.Run(model, func(t *testing.T) {
			first, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, Store: openai.Bool(true),
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("my name is Ada")}})
			if err != nil {
				t.Fatal(err)
			}
			if first.ID == "" || first.OutputText() == "" {
				t.Fatalf("first turn %+v", first)
			}
			second, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: model, PreviousResponseID: openaiString(first.ID),
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("what is my name?")}})
			if err != nil {
				t.Fatal(err)
			}
			if second.PreviousResponseID != first.ID || second.OutputText() == "" {
				t.Fatalf("second turn %+v", second)
			}
			if model == "claude/claude-sonnet-4-5" {
				// The upstream saw the whole conversation: the first question, its answer, the new question.
				body := string(up.LastRequest().Body)
				for _, want := range []string{"my name is Ada", first.OutputText(), "what is my name?", `"assistant"`} {
					if !strings.Contains(body, want) {
						t.Fatalf("second upstream request lacks %q: %s", want, body)
					}
				}
			}
			// A streamed third turn is stored too, from the stream's final response.
			stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model, PreviousResponseID: openaiString(second.ID),
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("and again?")}})
			var thirdID string
			for stream.Next() {
				if ev := stream.Current(); ev.Type == "response.completed" {
					thirdID = ev.Response.ID
				}
			}
			if err := stream.Err(); err != nil || thirdID == "" {
				t.Fatalf("stream: %v, id %q", err, thirdID)
			}
			if model == "claude/claude-sonnet-4-5" {
				body := string(up.LastRequest().Body)
				for _, want := range []string{"my name is Ada", "what is my name?", second.OutputText(), "and again?"} {
					if !strings.Contains(body, want) {
						t.Fatalf("third upstream request lacks %q: %s", want, body)
					}
				}
			}
			third, err := c.Responses.Get(ctx, thirdID, responses.ResponseGetParams{})
			if err != nil || third.ID != thirdID || third.PreviousResponseID != second.ID || third.OutputText() == "" {
				t.Fatalf("Get streamed response: %v %+v", err, third)
			}

			got, err := c.Responses.Get(ctx, second.ID, responses.ResponseGetParams{})
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != second.ID || got.OutputText() != second.OutputText() || got.Model != model {
				t.Fatalf("Get %+v", got)
			}
			page, err := c.Responses.InputItems.List(ctx, second.ID, responses.InputItemListParams{})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Data) != 1 || page.Data[0].Type != "message" || page.Data[0].ID == "" || page.HasMore ||
				!strings.Contains(page.Data[0].RawJSON(), "what is my name?") {
				t.Fatalf("input items %+v", page.Data)
			}

			if err := c.Responses.Delete(ctx, second.ID); err != nil {
				t.Fatal(err)
			}
			_, err = c.Responses.Get(ctx, second.ID, responses.ResponseGetParams{})
			if status, _ := apiStatus(t, err); status != 404 {
				t.Fatalf("Get after Delete: %v", err)
			}
			_, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: model, PreviousResponseID: openaiString(second.ID),
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("hello?")}})
			if status, apiErr := apiStatus(t, err); status != 404 || !strings.Contains(apiErr.Message, "previous_response_id") ||
				!strings.Contains(apiErr.Message, "not found") {
				t.Fatalf("deleted previous_response_id: %v", err)
			}
		})
	}
	// input_items pages with limit, after and order.
	items := responses.ResponseInputParam{
		responses.ResponseInputItemParamOfMessage("one", responses.EasyInputMessageRoleUser),
		responses.ResponseInputItemParamOfMessage("two", responses.EasyInputMessageRoleUser),
		responses.ResponseInputItemParamOfMessage("three", responses.EasyInputMessageRoleUser),
	}
	r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "mk/echo",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: items}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.Responses.InputItems.List(ctx, r.ID, responses.InputItemListParams{Limit: openai.Int(2)})
	if err != nil || len(page.Data) != 2 || !page.HasMore || !strings.Contains(page.Data[0].RawJSON(), "three") {
		t.Fatalf("desc page: %v %+v", err, page)
	}
	page, err = c.Responses.InputItems.List(ctx, r.ID, responses.InputItemListParams{Order: responses.InputItemListParamsOrderAsc,
		After: openaiString(page.Data[0].ID)})
	if err != nil || len(page.Data) != 0 {
		// after the newest item in ascending order nothing follows
		t.Fatalf("asc after newest: %v %+v", err, page)
	}
	// store: false keeps nothing.
	r, err = c.Responses.New(ctx, responses.ResponseNewParams{Model: "mk/echo", Store: openai.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("forget me")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.Get(ctx, r.ID, responses.ResponseGetParams{})
	if status, _ := apiStatus(t, err); status != 404 {
		t.Fatalf("store false: %v", err)
	}
}

// TestResponsesConversationIsolation: a stored response belongs to the virtual key that made it.
func TestResponsesConversationIsolation(t *testing.T) {
	const keyA, keyB = "wk-aaaa-0123456789abcdef", "wk-bbbb-0123456789abcdef"
	g := startGateway(t, `
providers:
  - {name: mk, type: mock}
governance:
  store: {dsn: ":memory:"}
  virtual_keys:
    - {id: a, value: `+keyA+`}
    - {id: b, value: `+keyB+`}
`)
	a, b := client(g, option.WithAPIKey(keyA)), client(g, option.WithAPIKey(keyB))
	ctx := context.Background()
	first, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "mk/echo", Store: openai.Bool(true),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("secret of a")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); err != nil {
		t.Fatalf("owner Get: %v", err)
	}
	_, err = b.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	if status, _ := apiStatus(t, err); status != 404 {
		t.Fatalf("Get with another key: %v", err)
	}
	_, err = b.Responses.InputItems.List(ctx, first.ID, responses.InputItemListParams{})
	if status, _ := apiStatus(t, err); status != 404 {
		t.Fatalf("input_items with another key: %v", err)
	}
	err = b.Responses.Delete(ctx, first.ID)
	if status, _ := apiStatus(t, err); status != 404 {
		t.Fatalf("Delete with another key: %v", err)
	}
	_, err = b.Responses.New(ctx, responses.ResponseNewParams{Model: "mk/echo", PreviousResponseID: openaiString(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("tell me a's secret")}})
	if status, apiErr := apiStatus(t, err); status != 404 || !strings.Contains(apiErr.Message, "not found") {
		t.Fatalf("previous_response_id with another key: %v", err)
	}
	second, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "mk/echo", PreviousResponseID: openaiString(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("still a")}})
	if err != nil || second.PreviousResponseID != first.ID {
		t.Fatalf("owner's second turn: %v", err)
	}
	// Without a key (governance not enforced) the caller sees no keyed response either.
	anon := client(g)
	_, err = anon.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	if status, _ := apiStatus(t, err); status != 404 && status != 401 {
		t.Fatalf("Get without a key: %v", err)
	}
}
