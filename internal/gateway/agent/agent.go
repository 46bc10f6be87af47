// Package agent is agent mode: a chat, Responses or messages request that lists MCP tools (a tool entry
// {"type":"mcp","server_label":…} in "tools") has Weir run them itself. The entries become function tools the
// model sees (the MCP gateway's tools the caller's key may call, internal/mcp); each model call is a normal,
// governed pass through the engine (admission, routing, translation, metering), and each tool call the model
// asks for is run through (*mcp.Gateway).CallTool as the calling key, deny by default, until the model answers
// without one, a tool needs approval, or the depth limit is reached. The answer is the model's last one, in the
// route's own dialect; on the Responses API it also shows the mcp_list_tools and mcp_call items, and a later
// request may answer the calls held for approval (mcp_approval_response, approval.go) to go on.
//
// It wraps the engine's Serve (Wrap): a request without an mcp tool entry goes straight through.
package agent

import (
	"bytes"
	"context"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/mcp"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
)

// ServeFunc serves one request, as gateway.Engine.Serve does.
type ServeFunc = func(ctx context.Context, x *gateway.Exchange, req *gateway.Request, w relay.Sink) (gateway.Outcome, error)

// Agent runs agent-mode requests.
type Agent struct {
	eng      *gateway.Engine
	tools    *mcp.Gateway
	sep      string // the MCP gateway's namespace separator
	maxDepth int    // most model calls of one request
}

// New builds the agent over eng's model calls and tools' MCP servers. maxDepth bounds the model calls of one
// request (<= 0: DefaultMaxDepth); sep is the MCP gateway's separator (mcp.separator).
func New(eng *gateway.Engine, tools *mcp.Gateway, sep string, maxDepth int) *Agent {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	return &Agent{eng: eng, tools: tools, sep: sep, maxDepth: maxDepth}
}

// DefaultMaxDepth is the default bound on the model calls of one agent-mode request.
const DefaultMaxDepth = 10

// Wrap returns next with agent mode in front of it: a chat, Responses or messages request with an mcp tool
// entry is served by the agent loop, any other by next.
func (a *Agent) Wrap(next ServeFunc) ServeFunc {
	return func(ctx context.Context, x *gateway.Exchange, req *gateway.Request, w relay.Sink) (gateway.Outcome, error) {
		d := dialectOf(req.Op)
		if d == nil || !isAgentRequest(req.Body) {
			return next(ctx, x, req, w)
		}
		return a.serve(ctx, d, req, w)
	}
}

// isAgentRequest: the request lists an mcp tool, or answers calls held for approval. One byte scan keeps the
// cost off every other request: only a body with a string starting "mcp ("mcp", "mcp_approval_response") is
// parsed.
func isAgentRequest(body []byte) bool {
	return bytes.Contains(body, mcpMarker) && (hasMCPTools(body) || hasApprovalAnswers(body))
}

var mcpMarker = []byte(`"mcp`)

// dialectOf is the conversation shape of op's requests; nil for an op agent mode does not serve.
func dialectOf(op provider.Op) dialect {
	switch op {
	case provider.OpChat:
		return chatDialect{}
	case provider.OpResponses:
		return responsesDialect{}
	case provider.OpMessages:
		return messagesDialect{}
	}
	return nil
}
