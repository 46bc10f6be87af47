package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/mcp"
)

// A call that needs the caller's approval is held: the Responses API answer shows it as an mcp_approval_request
// item, and Weir keeps it (the affinity store, owned by the calling key, expiring with responses.retention) so
// that a later request answering it ({"type":"mcp_approval_response","approval_request_id":…,"approve":…} in
// input) can run it, as that key, with the arguments the model gave, or tell the model it was denied, then go
// on with the loop. The later request continues the conversation by previous_response_id (the model's stored
// turn then gets a function_call_output for each of its calls), or replays the earlier output items in input
// (mcp_call, mcp_approval_request and mcp_list_tools items become the function calls and outputs the model
// understands).

// kindApproval is the affinity kind of a held call.
const kindApproval = affinity.KindMCPApproval

// approvalState is a held call as kept: enough to run it and to answer the model's turn.
type approvalState struct {
	Server    string `json:"server"`
	Tool      string `json:"tool"` // namespaced, as the model called it
	Name      string `json:"name"` // the server's name for it
	Arguments string `json:"arguments"`
	// Response is the response the caller got; ModelResponse the model's own (they differ when streamed).
	Response      string `json:"response"`
	ModelResponse string `json:"model_response"`
	// Turn is every call of the model's turn, in order: a function_call_output is owed for each.
	Turn []turnCall `json:"turn"`
	// Output is what the model was told once the call was answered (then it is never run again).
	Output *string `json:"output,omitempty"`
}

// turnCall is one call of a turn that held some: its result when it ran at once, or its approval request.
type turnCall struct {
	CallID   string `json:"call_id"`
	Output   string `json:"output,omitempty"`
	Approval string `json:"approval,omitempty"`
}

// approval is one answer of a request to a held call.
type approval struct {
	id      string
	approve bool
	reason  string
	owner   string
	rec     affinity.Record
	state   approvalState
	output  string // what the model is told
}

// saveApprovals keeps the held calls of a model's turn (ans) for the answers to come.
func (r *run) saveApprovals(ctx context.Context, ans answer, calls []toolCall, turn []turnCall) {
	objs := r.a.eng.Objects()
	if objs == nil {
		return
	}
	modelResp := gjson.GetBytes(ans.body, "id").Str
	shown := modelResp
	if r.live != nil {
		shown, _ = r.live.shell["id"].(string)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for i, tc := range turn {
		if tc.Approval == "" {
			continue
		}
		o := r.tools[calls[i].name]
		st := approvalState{Server: o.tool.Server, Tool: o.tool.Name, Name: o.name, Arguments: string(calls[i].args),
			Response: shown, ModelResponse: modelResp, Turn: turn}
		rec := affinity.Record{ID: tc.Approval, Kind: kindApproval, Owner: gateway.OwnerOf(r.req.Principal),
			Provider: r.out.Provider, Model: r.out.Model, Object: mustJSON(st)}
		if err := objs.Put(sctx, rec); err != nil {
			r.a.eng.Logger().Error("agent: keeping a call held for approval", "approval_request_id", tc.Approval, "err", err)
		}
	}
}

// approvalsOf reads the answers to held calls in a Responses request's input and finds each call, which must be
// one held for the calling key: an unknown or another key's approval_request_id is a 400. An answer replayed
// beside the mcp_call that ran it is not an answer to give again.
func (r *run) approvalsOf(ctx context.Context, body []byte) ([]*approval, *gateway.Error) {
	input := gjson.GetBytes(body, "input")
	if !input.IsArray() {
		return nil, nil
	}
	ran := map[string]bool{}
	input.ForEach(func(_, it gjson.Result) bool {
		if it.Get("type").Str == "mcp_call" && it.Get("approval_request_id").Str != "" {
			ran[it.Get("approval_request_id").Str] = true
		}
		return true
	})
	var out []*approval
	seen := map[string]bool{}
	var gerr *gateway.Error
	input.ForEach(func(_, it gjson.Result) bool {
		if it.Get("type").Str != "mcp_approval_response" {
			return true
		}
		id := it.Get("approval_request_id").Str
		if ran[id] || seen[id] {
			return true
		}
		seen[id] = true
		a := &approval{id: id, approve: it.Get("approve").Bool(), reason: it.Get("reason").Str, owner: gateway.OwnerOf(r.req.Principal)}
		if gerr = r.findApproval(ctx, a); gerr != nil {
			return false
		}
		out = append(out, a)
		return true
	})
	return out, gerr
}

func (r *run) findApproval(ctx context.Context, a *approval) *gateway.Error {
	notFound := &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "mcp_approval_request_not_found",
		Param: "input", Message: fmt.Sprintf("approval_request_id %q is not a tool call this key was asked to approve", a.id)}
	objs := r.a.eng.Objects()
	if a.id == "" || objs == nil {
		return notFound
	}
	rec, err := affinity.Lookup(ctx, objs, kindApproval, a.id, a.owner)
	switch {
	case errors.Is(err, affinity.ErrNotFound), errors.Is(err, affinity.ErrForeign):
		return notFound
	case err != nil:
		r.a.eng.Logger().Error("agent: looking up an approval request", "approval_request_id", a.id, "err", err)
		return gateway.Errorf(http.StatusInternalServerError, gateway.TypeAPI, "object_store_error",
			"approval_request_id %q could not be looked up", a.id)
	}
	if err := json.Unmarshal(rec.Object, &a.state); err != nil {
		return notFound
	}
	a.rec = rec
	return nil
}

// answerApprovals runs the approved calls (as the calling key, through the MCP gateway, each shown as an
// mcp_call) and words the denials. A call already answered is not run again: the model is told what it was
// told then.
func (r *run) answerApprovals(ctx context.Context, approvals []*approval) {
	objs := r.a.eng.Objects()
	for _, a := range approvals {
		if a.state.Output != nil {
			a.output = *a.state.Output
			continue
		}
		// One answer per held call, whichever replica or request comes first.
		first, err := objs.MarkSettled(ctx, kindApproval, a.id)
		if err != nil || !first {
			if r.findApproval(ctx, a) == nil && a.state.Output != nil {
				a.output = *a.state.Output
			} else {
				a.output = "error: this call's approval is being answered by another request"
			}
			continue
		}
		if a.approve {
			c := toolCall{id: a.id, name: a.state.Tool, args: json.RawMessage(a.state.Arguments)}
			o := r.tools[a.state.Tool]
			if o == nil {
				o = &offered{tool: mcp.Tool{Server: a.state.Server, Name: a.state.Tool}, name: a.state.Name}
			}
			a.output = r.runCall(ctx, c, o, a.id).text
		} else {
			a.output = fmt.Sprintf("The user did not approve this call of %s: it was not run.", a.state.Name)
			if a.reason != "" {
				a.output += " Reason: " + a.reason
			}
		}
		a.state.Output = &a.output
		a.rec.Object = mustJSON(a.state)
		a.rec.CreatedAt = time.Time{} // keeps the record's own
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := objs.Put(sctx, a.rec); err != nil {
			r.a.eng.Logger().Error("agent: recording an approval's answer", "approval_request_id", a.id, "err", err)
		}
		cancel()
	}
}

// notApproved is what the model is told of a held call its turn owes an output for that was not answered.
const notApproved = "The user has not approved this call: it was not run."

// modelInput rewrites a Responses request's input for the model: the MCP items Weir showed become the function
// calls and outputs the model made and was given (mcp_list_tools and unanswered mcp_approval_request items are
// dropped), and each answer to a held call becomes its output, as a call and its output when the call is not in
// the conversation the request continues (replayed input, or no previous_response_id), else as the outputs the
// model's held turn owes (previous_response_id then names the model's own response).
func (r *run) modelInput(body []byte, approvals []*approval) ([]byte, error) {
	input := gjson.GetBytes(body, "input")
	if !input.IsArray() {
		return body, nil
	}
	byID := map[string]*approval{}
	for _, a := range approvals {
		byID[a.id] = a
	}
	prev := gjson.GetBytes(body, "previous_response_id").Str
	requested := map[string]bool{}
	input.ForEach(func(_, it gjson.Result) bool {
		if it.Get("type").Str == "mcp_approval_request" {
			requested[it.Get("id").Str] = true
		}
		return true
	})
	var items []any
	owed := map[string]bool{} // model responses whose held turn got its outputs
	input.ForEach(func(_, it gjson.Result) bool {
		switch it.Get("type").Str {
		case "mcp_list_tools", "mcp_approval_request":
		case "mcp_call":
			out := it.Get("output").Str
			if e := it.Get("error"); e.Exists() && e.Type != gjson.Null {
				out = "error: " + e.String()
			}
			items = append(items, functionCall(it.Get("id").Str, it.Get("server_label").Str+r.a.sep+it.Get("name").Str,
				it.Get("arguments").Str), functionOutput(it.Get("id").Str, out))
		case "mcp_approval_response":
			a := byID[it.Get("approval_request_id").Str]
			switch {
			case a == nil: // answered by an mcp_call of the input
			case requested[a.id] || prev == "":
				items = append(items, functionCall(a.id, a.state.Tool, a.state.Arguments), functionOutput(a.id, a.output))
			case !owed[a.state.ModelResponse]:
				owed[a.state.ModelResponse] = true
				for _, tc := range a.state.Turn {
					out := tc.Output
					if tc.Approval != "" {
						out = notApproved
						if b := byID[tc.Approval]; b != nil {
							out = b.output
						}
					}
					items = append(items, functionOutput(tc.CallID, out))
				}
				if prev == a.state.Response && a.state.ModelResponse != "" {
					prev = a.state.ModelResponse // a streamed answer's id is Weir's: the model's turn is under its own
				}
			}
		default:
			items = append(items, json.RawMessage(it.Raw))
		}
		return true
	})
	if items == nil {
		items = []any{}
	}
	body, err := sjson.SetBytes(body, "input", items)
	if err != nil || prev == "" {
		return body, err
	}
	return sjson.SetBytes(body, "previous_response_id", prev)
}

func functionCall(callID, name, args string) map[string]any {
	return map[string]any{"type": "function_call", "call_id": callID, "name": name, "arguments": args}
}

func functionOutput(callID, output string) map[string]any {
	return map[string]any{"type": "function_call_output", "call_id": callID, "output": output}
}

// hasApprovalAnswers reports whether a Responses request answers held calls.
func hasApprovalAnswers(body []byte) bool {
	return gjson.GetBytes(body, `input.#(type=="mcp_approval_response")`).Exists()
}
