package agent

import (
	"encoding/json"
	"testing"

	"github.com/tidwall/gjson"
)

// TestModelInput: the MCP items of a Responses request's input become what the model made and got, and each
// answer to a held call its output, by previous_response_id or replayed.
func TestModelInput(t *testing.T) {
	weather := approvalState{Server: "web", Tool: "web__weather", Name: "weather", Arguments: `{"city":"Paris"}`,
		Response: "resp_shown", ModelResponse: "resp_model",
		Turn: []turnCall{{CallID: "call_a", Output: "ran at once"}, {CallID: "call_b", Approval: "mcpr_1"}, {CallID: "call_c", Approval: "mcpr_2"}}}
	approved := []*approval{{id: "mcpr_1", approve: true, state: weather, output: "sunny"}}
	cases := []struct {
		name, body string
		approvals  []*approval
		input      string // the model's input
		prev       string // the model's previous_response_id
	}{
		{"a string input stays", `{"input":"hi"}`, nil, `"hi"`, ""},
		{"replayed calls become function calls and outputs; listings go",
			`{"input":[{"role":"user","content":"w?"},{"type":"mcp_list_tools","id":"mcpl_1","server_label":"web","tools":[]},` +
				`{"type":"mcp_call","id":"mcp_1","server_label":"web","name":"weather","arguments":"{}","output":"sunny","error":null},` +
				`{"type":"mcp_call","id":"mcp_2","server_label":"web","name":"weather","arguments":"{}","output":null,"error":"boom"},` +
				`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}]}`, nil,
			`[{"role":"user","content":"w?"},` +
				`{"type":"function_call","call_id":"mcp_1","name":"web__weather","arguments":"{}"},{"type":"function_call_output","call_id":"mcp_1","output":"sunny"},` +
				`{"type":"function_call","call_id":"mcp_2","name":"web__weather","arguments":"{}"},{"type":"function_call_output","call_id":"mcp_2","output":"error: boom"},` +
				`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"ok"}]}]`, ""},
		{"a replayed approval: the held call and its answer",
			`{"input":[{"role":"user","content":"w?"},{"type":"mcp_approval_request","id":"mcpr_1","server_label":"web","name":"weather","arguments":"{}"},` +
				`{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":true}]}`, approved,
			`[{"role":"user","content":"w?"},` +
				`{"type":"function_call","call_id":"mcpr_1","name":"web__weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"mcpr_1","output":"sunny"}]`, ""},
		{"by previous_response_id: every output the held turn owes, on the model's own response",
			`{"previous_response_id":"resp_shown","input":[{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":true}]}`, approved,
			`[{"type":"function_call_output","call_id":"call_a","output":"ran at once"},{"type":"function_call_output","call_id":"call_b","output":"sunny"},` +
				`{"type":"function_call_output","call_id":"call_c","output":"` + notApproved + `"}]`, "resp_model"},
		{"an answer replayed beside the mcp_call that ran it is not given again; an unanswered request goes",
			`{"input":[{"type":"mcp_approval_request","id":"mcpr_1","server_label":"web","name":"weather","arguments":"{}"},` +
				`{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":true},` +
				`{"type":"mcp_call","id":"mcp_9","approval_request_id":"mcpr_1","server_label":"web","name":"weather","arguments":"{}","output":"sunny"},` +
				`{"type":"mcp_approval_request","id":"mcpr_3","server_label":"web","name":"weather","arguments":"{}"}]}`, nil,
			`[{"type":"function_call","call_id":"mcp_9","name":"web__weather","arguments":"{}"},{"type":"function_call_output","call_id":"mcp_9","output":"sunny"}]`, ""},
	}
	r := &run{a: &Agent{sep: "__"}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := r.modelInput([]byte(c.body), c.approvals)
			if err != nil {
				t.Fatal(err)
			}
			if got := gjson.GetBytes(out, "input").Raw; !jsonEqual(t, got, c.input) {
				t.Fatalf("input\n got %s\nwant %s", got, c.input)
			}
			if got := gjson.GetBytes(out, "previous_response_id").Str; got != c.prev {
				t.Fatalf("previous_response_id %q, want %q", got, c.prev)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// FuzzModelInput: any request body, answered or not, gives the model valid JSON or an error, never a panic.
func FuzzModelInput(f *testing.F) {
	f.Add([]byte(`{"previous_response_id":"resp_shown","input":[{"type":"mcp_approval_response","approval_request_id":"mcpr_1","approve":true}]}`))
	f.Add([]byte(`{"input":[{"type":"mcp_call","id":"mcp_1","server_label":"web","name":"weather","arguments":"{}","error":{"x":1}}]}`))
	f.Add([]byte(`{"input":[{"type":"mcp_approval_request","id":"mcpr_1"},{"type":"mcp_approval_response","approval_request_id":"mcpr_1"}]}`))
	f.Add([]byte(`{"input":"hi"}`))
	r := &run{a: &Agent{sep: "__"}}
	approvals := []*approval{{id: "mcpr_1", output: "sunny", state: approvalState{Tool: "web__weather", Response: "resp_shown",
		ModelResponse: "resp_model", Turn: []turnCall{{CallID: "c", Approval: "mcpr_1"}, {CallID: "d", Approval: "mcpr_2"}}}}}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := r.modelInput(body, approvals)
		if err == nil && json.Valid(body) && !json.Valid(out) {
			t.Fatalf("invalid JSON for the model from %s: %s", body, out)
		}
	})
}
