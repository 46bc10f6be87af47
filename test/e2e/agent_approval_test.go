package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"
)

// TestAgentModeApproval: a call held for approval (mcp_approval_request) is run once the caller approves it in
// a later request (mcp_approval_response), as OpenAI's SDK sends it — by previous_response_id or with the
// earlier output replayed in input —, and the model goes on with its result; a denied call is not run and the
// model is told so; an approval_request_id that is unknown or another key's is a 400. Streamed and not, on an
// OpenAI-dialect provider (the response passed through) and an Anthropic one (translated, stored by Weir).
func TestAgentModeApproval(t *testing.T) {
	f := startAgentFixture(t)
	ctx := context.Background()
	oc := openai.NewClient(option.WithBaseURL(f.gw.URL+"/v1"), option.WithAPIKey(agentKey), option.WithMaxRetries(0))
	tools := []responses.ToolUnionParam{{OfMcp: &responses.ToolMcpParam{ServerLabel: "web",
		AllowedTools:    responses.ToolMcpAllowedToolsUnionParam{OfMcpAllowedTools: []string{"weather"}},
		RequireApproval: responses.ToolMcpRequireApprovalUnionParam{OfMcpToolApprovalSetting: openaiString("always")}}}}

	create := func(t *testing.T, stream bool, p responses.ResponseNewParams, opts ...option.RequestOption) *responses.Response {
		t.Helper()
		p.Tools = tools
		if !stream {
			r, err := oc.Responses.New(ctx, p, opts...)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		s := oc.Responses.NewStreaming(ctx, p, opts...)
		var final *responses.Response
		for s.Next() {
			if ev := s.Current(); ev.Type == "response.completed" {
				r := ev.Response
				final = &r
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if final == nil {
			t.Fatal("the stream ended without response.completed")
		}
		return final
	}
	// held asks for the weather and returns the response holding the call, and its approval request's id.
	held := func(t *testing.T, model string, stream bool) (*responses.Response, string) {
		t.Helper()
		before := f.calls.Load()
		r := create(t, stream, responses.ResponseNewParams{Model: model,
			Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("What is the weather in Paris?")}})
		last := r.Output[len(r.Output)-1]
		if last.Type != "mcp_approval_request" || last.Name != "weather" || !strings.HasPrefix(last.ID, "mcpr_") || f.calls.Load() != before {
			t.Fatalf("output %s: want the call held as an mcp_approval_request, not run", r.RawJSON())
		}
		return r, last.ID
	}
	answer := func(id string, approve bool) []responses.ResponseInputItemUnionParam {
		return []responses.ResponseInputItemUnionParam{responses.ResponseInputItemParamOfMcpApprovalResponse(id, approve)}
	}
	checkApproved := func(t *testing.T, r *responses.Response, id string) {
		t.Helper()
		var call responses.ResponseOutputItemUnion
		for _, it := range r.Output {
			if it.Type == "mcp_call" {
				call = it
			}
		}
		if call.Type == "" || call.ApprovalRequestID != id || gjson.Get(call.RawJSON(), "output").Str != "web: sunny in Paris" || r.OutputText() != agentAnswer {
			t.Fatalf("output %s: want the approved mcp_call (approval_request_id %s) and the model's answer", r.RawJSON(), id)
		}
	}

	for _, model := range []string{"up/mock-model", "claude/mock-model"} {
		for _, stream := range []bool{false, true} {
			name := model
			if stream {
				name += " stream"
			}
			t.Run(name+"/approve by previous_response_id", func(t *testing.T) {
				first, id := held(t, model, stream)
				before := f.calls.Load()
				r := create(t, stream, responses.ResponseNewParams{Model: model, PreviousResponseID: openaiString(first.ID),
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: answer(id, true)}})
				checkApproved(t, r, id)
				if got := f.calls.Load() - before; got != 1 {
					t.Fatalf("the MCP server ran %d calls, want 1", got)
				}
				// Answering it again runs nothing more: the model is told the first answer's result.
				r = create(t, stream, responses.ResponseNewParams{Model: model, PreviousResponseID: openaiString(first.ID),
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: answer(id, true)}})
				if f.calls.Load()-before != 1 || r.OutputText() != agentAnswer {
					t.Fatalf("answered twice: %d calls ran, output %s", f.calls.Load()-before, r.RawJSON())
				}
			})
			t.Run(name+"/deny", func(t *testing.T) {
				first, id := held(t, model, stream)
				before := f.calls.Load()
				r := create(t, stream, responses.ResponseNewParams{Model: model, PreviousResponseID: openaiString(first.ID),
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: answer(id, false)}})
				for _, it := range r.Output {
					if it.Type == "mcp_call" {
						t.Fatalf("a denied call shows as run: %s", r.RawJSON())
					}
				}
				if f.calls.Load() != before || !strings.Contains(r.OutputText(), "did not approve") {
					t.Fatalf("denied: %d calls ran, answer %q; want none and the model told", f.calls.Load()-before, r.OutputText())
				}
			})
		}
	}
	t.Run("approve with the earlier output replayed in input (no previous_response_id)", func(t *testing.T) {
		first, id := held(t, "up/mock-model", false)
		input := []any{map[string]any{"role": "user", "content": "What is the weather in Paris?"}}
		for _, it := range first.Output {
			input = append(input, json.RawMessage(it.RawJSON()))
		}
		input = append(input, map[string]any{"type": "mcp_approval_response", "approval_request_id": id, "approve": true})
		before := f.calls.Load()
		r := create(t, false, responses.ResponseNewParams{Model: "up/mock-model"}, option.WithJSONSet("input", input), option.WithJSONSet("store", false))
		checkApproved(t, r, id)
		if f.calls.Load()-before != 1 {
			t.Fatalf("the MCP server ran %d calls, want 1", f.calls.Load()-before)
		}
		// The next turn replays everything again, the mcp_call included: nothing runs twice.
		for _, it := range r.Output {
			input = append(input, json.RawMessage(it.RawJSON()))
		}
		input = append(input, map[string]any{"role": "user", "content": "Thanks!"})
		code, _, body := post(t, f.gw.URL+"/v1/responses", mustJSON(map[string]any{"model": "up/mock-model", "input": input,
			"tools": []any{mcpTool("always", "weather")}}), "Authorization", "Bearer "+agentKey)
		if code != http.StatusOK || f.calls.Load()-before != 1 {
			t.Fatalf("the replayed conversation: %d %s (%d calls ran)", code, body, f.calls.Load()-before)
		}
	})
	t.Run("an unknown or another key's approval_request_id is a 400", func(t *testing.T) {
		first, id := held(t, "up/mock-model", false)
		other := openai.NewClient(option.WithBaseURL(f.gw.URL+"/v1"), option.WithAPIKey(agentNoneKey), option.WithMaxRetries(0))
		before := f.calls.Load()
		for name, c := range map[string]openai.Client{"unknown": oc, "another key's": other} {
			aid := id
			if name == "unknown" {
				aid = "mcpr_0000000000000000unknown"
			}
			_, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "up/mock-model", PreviousResponseID: openaiString(first.ID),
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: answer(aid, true)}, Tools: tools})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "mcp_approval_request_not_found" ||
				apiErr.Type != "invalid_request_error" || apiErr.Param != "input" {
				t.Fatalf("%s id: err = %v, want a 400 mcp_approval_request_not_found", name, err)
			}
		}
		if f.calls.Load() != before {
			t.Fatal("a refused approval ran the call")
		}
		if gjson.Get(first.RawJSON(), "output.#(type==\"mcp_approval_request\").arguments").Str == "" {
			t.Fatalf("the approval request shows no arguments: %s", first.RawJSON())
		}
	})
}
