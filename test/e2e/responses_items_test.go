package e2e

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestResponsesItemReference drives a multi-step tool loop the way SDKs do once responses are stored: the
// function call of the first turn goes back as an item reference (openai-go's omits the type; the Vercel AI
// SDK's says "item_reference"), on Anthropic, Gemini and Bedrock targets, streamed and not. Another virtual
// key's item is a 404 in OpenAI's shape that reaches no upstream; an upstream with the Responses API gets the
// reference as it was sent. POST /v1/responses/input_tokens resolves references the same way.
func TestResponsesItemReference(t *testing.T) {
	const keyA, keyB = "wk-aaaa-0123456789abcdef", "wk-bbbb-0123456789abcdef"
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, nativeConfig(url)+`
governance:
  store: {dsn: ":memory:"}
  virtual_keys:
    - {id: a, value: `+keyA+`}
    - {id: b, value: `+keyB+`}
`)
	a, b := client(g, option.WithAPIKey(keyA)), client(g, option.WithAPIKey(keyB))
	ctx := context.Background()
	tool := responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{Name: "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}
	tools := []responses.ToolUnionParam{tool}
	functionCall := func(t *testing.T, output []responses.ResponseOutputItemUnion) responses.ResponseFunctionToolCall {
		t.Helper()
		for _, item := range output {
			if item.Type == "function_call" {
				if call := item.AsFunctionCall(); call.ID != "" && call.CallID != "" {
					return call
				}
			}
		}
		t.Fatalf("no function call with an id in %+v", output)
		return responses.ResponseFunctionToolCall{}
	}
	for _, model := range []string{"claude/mock-model", "gem/gemini-2.5-flash", "aws/anthropic.claude-3-5-sonnet-20240620-v1:0"} {
		t.Run(model, func(t *testing.T) {
			// JSON: the first turn's call, referenced by id (openai-go's form), then its output.
			first, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("first turn")}})
			if err != nil {
				t.Fatal(err)
			}
			call := functionCall(t, first.Output)
			second, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
					responses.ResponseInputItemParamOfMessage("first turn", responses.EasyInputMessageRoleUser),
					responses.ResponseInputItemParamOfItemReference(call.ID),
					functionOutput(call.CallID, "sunny"),
				}}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(second.OutputText(), "sunny") {
				t.Fatalf("second turn: %q", second.OutputText())
			}

			// Stream: the first turn's call comes from response.completed; the second turn streams too.
			var streamed []responses.ResponseOutputItemUnion
			s := a.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("first turn")}})
			for s.Next() {
				if ev := s.Current(); ev.Type == "response.completed" {
					streamed = ev.Response.Output
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			call = functionCall(t, streamed)
			s = a.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
					responses.ResponseInputItemParamOfMessage("first turn", responses.EasyInputMessageRoleUser),
					responses.ResponseInputItemParamOfItemReference(call.ID),
					functionOutput(call.CallID, "sunny"),
				}}})
			var text strings.Builder
			for s.Next() {
				if ev := s.Current(); ev.Type == "response.output_text.delta" {
					text.WriteString(ev.Delta)
				}
			}
			if err := s.Err(); err != nil || !strings.Contains(text.String(), "sunny") {
				t.Fatalf("streamed second turn: %v %q", err, text.String())
			}

			// The Vercel AI SDK's form, as raw JSON, with store left to its default.
			body := `{"model":"` + model + `","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],` +
				`"input":[{"role":"user","content":"first turn"},{"type":"item_reference","id":` + strconv.Quote(call.ID) + `},` +
				`{"type":"function_call_output","call_id":` + strconv.Quote(call.CallID) + `,"output":"sunny"}]}`
			status, _, answer := post(t, g.URL+"/v1/responses", body, "Authorization", "Bearer "+keyA)
			if status != 200 || !strings.Contains(answer, "sunny") {
				t.Fatalf("item_reference: %d %s", status, answer)
			}

			if strings.HasPrefix(model, "claude/") { // counted by Anthropic's count_tokens, with the item in place
				status, _, answer = post(t, g.URL+"/v1/responses/input_tokens", body, "Authorization", "Bearer "+keyA)
				if status != 200 || gjson.Get(answer, "input_tokens").Int() == 0 {
					t.Fatalf("input_tokens with an item_reference: %d %s", status, answer)
				}
				status, _, answer = post(t, g.URL+"/v1/responses/input_tokens", body, "Authorization", "Bearer "+keyB)
				if status != 404 || !strings.Contains(answer, "not found") {
					t.Fatalf("input_tokens with another key's item: %d %s", status, answer)
				}
			}

			// Key b cannot reference key a's item: a 404 in OpenAI's shape, before any upstream call.
			before := up.Stats().Received
			status, _, answer = post(t, g.URL+"/v1/responses", body, "Authorization", "Bearer "+keyB)
			var e struct {
				Error map[string]any `json:"error"`
			}
			_ = json.Unmarshal([]byte(answer), &e)
			want := map[string]any{"message": "Item with id '" + call.ID + "' not found.", "type": "invalid_request_error",
				"param": "input", "code": nil}
			if status != 404 || !equalJSON(e.Error, want) {
				t.Fatalf("another key's item: %d %s", status, answer)
			}
			s = b.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: model, Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
					responses.ResponseInputItemParamOfItemReference(call.ID)}}})
			for s.Next() {
			}
			if status, apiErr := apiStatus(t, s.Err()); status != 404 || apiErr.Message != want["message"] {
				t.Fatalf("another key's item, streamed: %v", err)
			}
			if n := up.Stats().Received; n != before {
				t.Fatalf("%d requests reached the upstream", n-before)
			}
		})
	}

	// An upstream with the Responses API resolves references itself: they pass through untouched.
	ref := `{"type":"item_reference","id":"fc_upstream_1"}`
	status, _, answer := post(t, g.URL+"/v1/responses", `{"model":"oai/mock-model","input":[{"role":"user","content":"hi"},`+ref+`,{"id":"msg_upstream_2"}]}`,
		"Authorization", "Bearer "+keyA)
	if status != 200 {
		t.Fatalf("pass-through: %d %s", status, answer)
	}
	sent := gjson.GetBytes(up.LastRequest().Body, "input")
	if up.LastRequest().Path != "/v1/responses" || sent.Get("1").Raw != ref || sent.Get("2").Raw != `{"id":"msg_upstream_2"}` {
		t.Fatalf("pass-through upstream request %s %s", up.LastRequest().Path, up.LastRequest().Body)
	}
}

// equalJSON compares a decoded JSON object with want.
func equalJSON(got, want map[string]any) bool {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return string(g) == string(w)
}
