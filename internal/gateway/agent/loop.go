package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/mcp"
	"github.com/weir-gateway/weir/internal/relay"
)

// offered is one MCP tool the model was given.
type offered struct {
	tool mcp.Tool
	spec *spec
	name string // the server's own name for it
}

// toolCall is one call the model asked for.
type toolCall struct {
	id   string // the dialect's call id
	name string
	args json.RawMessage
}

// callRecord is a call Weir ran (or holds for approval), for the Responses API's mcp_call items.
type callRecord struct {
	itemID  string // its mcp_call or mcp_approval_request item's id
	call    toolCall
	tool    *offered
	output  string
	errText string
	pending bool   // waits for the caller's approval; not run
	approve string // the approval request it ran on
}

// run is one agent-mode request's state.
type run struct {
	a       *Agent
	d       dialect
	req     *gateway.Request
	specs   []spec
	tools   map[string]*offered // by the name the model calls
	order   []*offered
	records []callRecord
	listIDs map[string]string // each server label's mcp_list_tools item id
	live    *liveEvents       // a streamed Responses request's events as the loop goes; nil otherwise
	rel     relayer           // a streamed chat or messages request's stream; nil otherwise
	out     gateway.Outcome
	calls   int  // model calls made
	stopped bool // the depth limit ended the loop with the model still asking for tools
}

// serve runs the loop: model call, tool calls, results back, until the model is done.
func (a *Agent) serve(ctx context.Context, d dialect, req *gateway.Request, w relay.Sink) (gateway.Outcome, error) {
	specs, body, err := parseSpecs(req.Body)
	if err != nil {
		return gateway.Outcome{}, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_mcp_tool", "%s", err.Error())
	}
	if a.tools == nil || !a.tools.Enabled() {
		return gateway.Outcome{}, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_mcp_tool",
			"this request lists mcp tools, but Weir has no MCP servers configured (the mcp section)")
	}
	r := &run{a: a, d: d, req: req, specs: specs, tools: map[string]*offered{}, listIDs: map[string]string{}}
	var approvals []*approval
	if _, ok := d.(responsesDialect); ok {
		var gerr *gateway.Error
		if approvals, gerr = r.approvalsOf(ctx, body); gerr != nil {
			return gateway.Outcome{}, gerr
		}
	}
	if body, err = r.offerTools(ctx, body); err != nil {
		return gateway.Outcome{}, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_mcp_tool", "%s", err.Error())
	}
	stream := gjsonBool(body, "stream")
	if stream {
		switch d.(type) {
		case responsesDialect:
			r.live = startLive(w, body, &r.out)
			r.live.listed(r)
			r.rel = r.live
		case chatDialect:
			r.rel = &chatStream{callerStream: callerStream{w: w, out: &r.out}}
		case messagesDialect:
			r.rel = &messagesStream{callerStream: callerStream{w: w, out: &r.out}}
		}
	}
	if _, ok := d.(responsesDialect); ok {
		r.answerApprovals(ctx, approvals)
		if body, err = r.modelInput(body, approvals); err != nil {
			return r.failed(w, gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_request", "%s", err.Error()))
		}
	}
	var ans answer
	for depth := 1; ; depth++ {
		var gerr error
		if r.rel != nil {
			ans, gerr = r.passStream(ctx, body)
		} else {
			ans, gerr = r.pass(ctx, body)
		}
		if gerr != nil {
			return r.failed(w, gerr)
		}
		if ans.status != http.StatusOK {
			break // the model call failed: its answer goes to the caller as it is
		}
		calls := d.calls(ans.body)
		if len(calls) == 0 || !r.allOurs(calls) {
			break // done, or a call of the caller's own tools: theirs to run
		}
		if r.holdForApproval(ctx, ans, calls) {
			break
		}
		if depth >= a.maxDepth {
			r.stopped = true
			break
		}
		results := r.execute(ctx, calls)
		if body, err = d.appendTurn(body, ans.body, calls, results); err != nil {
			return r.failed(w, gateway.Errorf(http.StatusBadGateway, gateway.TypeAPI, "agent_bad_answer",
				"agent mode could not continue the conversation with the model's answer: %s", err.Error()))
		}
	}
	return r.finish(ans, w)
}

// offerTools replaces the mcp entries' place with the MCP tools the key may call, as the dialect's function
// tools.
func (r *run) offerTools(ctx context.Context, body []byte) ([]byte, error) {
	var defs []json.RawMessage
	for i := range r.specs {
		s := &r.specs[i]
		tools, err := r.a.tools.Tools(ctx, r.req.Principal, mcp.Filter{Servers: []string{s.label}, Tools: s.allowed})
		if err != nil {
			return nil, err
		}
		for _, t := range tools {
			if r.listIDs[s.label] == "" {
				r.listIDs[s.label] = newID("mcpl_")
			}
			o := &offered{tool: t, spec: s, name: strings.TrimPrefix(t.Name, t.Server+r.a.sep)}
			r.tools[t.Name] = o
			r.order = append(r.order, o)
			defs = append(defs, r.d.toolDef(t.Name, t.Def.Description, inputSchema(t.Def)))
		}
	}
	for _, def := range defs {
		var err error
		if body, err = sjson.SetRawBytes(body, "tools.-1", def); err != nil {
			return nil, err
		}
	}
	if gjson.GetBytes(body, "tools.#").Int() == 0 {
		body, _ = sjson.DeleteBytes(body, "tools") // an empty tools array is refused by some upstreams
	}
	return body, nil
}

func inputSchema(t *sdk.Tool) json.RawMessage {
	if t == nil || t.InputSchema == nil {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	b, err := json.Marshal(t.InputSchema)
	if err != nil || string(b) == "null" {
		return json.RawMessage(`{"type":"object","properties":{}}`)
	}
	return b
}

// allOurs reports whether every call is of an MCP tool Weir offered.
func (r *run) allOurs(calls []toolCall) bool {
	for _, c := range calls {
		if r.tools[c.name] == nil {
			return false
		}
	}
	return true
}

// holdForApproval records the calls of the model's answer ans that need the caller's approval as pending, and
// keeps them for the approvals to come (approval.go), running the others; it reports whether any did (the loop
// then stops).
func (r *run) holdForApproval(ctx context.Context, ans answer, calls []toolCall) bool {
	held := false
	for _, c := range calls {
		o := r.tools[c.name]
		held = held || o.spec.needsApproval(o.name)
	}
	if !held {
		return false
	}
	turn := make([]turnCall, len(calls))
	for i, c := range calls {
		o := r.tools[c.name]
		turn[i].CallID = c.id
		if o.spec.needsApproval(o.name) {
			rec := callRecord{itemID: newID("mcpr_"), call: c, tool: o, pending: true}
			r.live.held(&rec)
			r.records = append(r.records, rec)
			turn[i].Approval = rec.itemID
		} else {
			turn[i].Output = r.runCall(ctx, c, o, "").text
		}
	}
	if _, ok := r.d.(responsesDialect); ok {
		r.saveApprovals(ctx, ans, calls, turn) // only the Responses API has answers to held calls
	}
	return true
}

// toolResult is what goes back to the model for one call.
type toolResult struct {
	text    string
	isError bool
}

// execute runs calls on their MCP servers as the calling key, in order.
func (r *run) execute(ctx context.Context, calls []toolCall) []toolResult {
	out := make([]toolResult, len(calls))
	for i, c := range calls {
		out[i] = r.runCall(ctx, c, r.tools[c.name], "")
	}
	return out
}

// runCall runs one call of tool o as the calling key (approvalID: the approval request it answers, if any),
// recorded as an mcp_call.
func (r *run) runCall(ctx context.Context, c toolCall, o *offered, approvalID string) toolResult {
	args := c.args
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	rec := callRecord{itemID: newID("mcp_"), call: c, tool: o, approve: approvalID}
	r.live.calling(&rec)
	res, err := r.a.tools.CallTool(ctx, r.req.Principal, c.name, args)
	var out toolResult
	var merr *mcp.Error
	switch {
	case errors.As(err, &merr):
		rec.errText = merr.Kind + ": " + merr.Message
		out = toolResult{text: "error: " + rec.errText, isError: true}
	case err != nil:
		rec.errText = err.Error()
		out = toolResult{text: "error: " + rec.errText, isError: true}
	default:
		text := resultText(res)
		if res.IsError {
			rec.errText = text
		} else {
			rec.output = text
		}
		out = toolResult{text: text, isError: res.IsError}
	}
	r.live.called(&rec)
	r.records = append(r.records, rec)
	return out
}

// resultText is a tool result as the model reads it: its text contents joined, other contents as JSON, the
// structured content when there is nothing else.
func resultText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if t, ok := c.(*sdk.TextContent); ok {
			b.WriteString(t.Text)
			continue
		}
		j, _ := json.Marshal(c)
		b.Write(j)
	}
	if b.Len() == 0 && res.StructuredContent != nil {
		j, _ := json.Marshal(res.StructuredContent)
		b.Write(j)
	}
	return b.String()
}

// newID is a random id with prefix, for the items Weir adds.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
