package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/schema"
)

// Error is a refused or failed call, as a JSON-RPC error (Wire) and a status for the request log and metrics.
type Error struct {
	// Kind is machine-readable: unknown_tool, tool_not_allowed, invalid_arguments, arguments_too_large,
	// rate_limit_exceeded, budget_exceeded, concurrency_limit_exceeded, key_disabled, server_unavailable,
	// timeout, upstream_error.
	Kind    string
	Message string
	// Status is the HTTP status the same refusal gets on Weir's other routes (for the log; MCP answers 200).
	Status int
	// RetryAfter, for a rate limit, is when retrying may succeed.
	RetryAfter time.Duration
	// upstream is a JSON-RPC error the server answered, passed on as it is.
	upstream *jsonrpc.Error
}

func (e *Error) Error() string { return e.Message }

// JSON-RPC error codes of Weir's own refusals (the implementation-defined server-error range).
const (
	CodeUnauthorized = -32061
	CodeRateLimited  = -32065
	CodeUnavailable  = -32062
	CodeTimeout      = -32064
	CodeForbidden    = -32063
)

// Wire is the error as a JSON-RPC error object, with Kind (and retry_after_seconds) in its data.
func (e *Error) Wire() *jsonrpc.Error {
	if e.upstream != nil {
		return e.upstream
	}
	code := int64(jsonrpc.CodeInternalError)
	switch e.Kind {
	case "unknown_tool", "invalid_arguments", "arguments_too_large", "unknown_resource", "unknown_prompt":
		code = jsonrpc.CodeInvalidParams
	case "tool_not_allowed", "server_not_allowed":
		code = CodeForbidden
	case "rate_limit_exceeded", "budget_exceeded", "concurrency_limit_exceeded":
		code = CodeRateLimited
	case "key_disabled", "invalid_api_key":
		code = CodeUnauthorized
	case "server_unavailable":
		code = CodeUnavailable
	case "timeout":
		code = CodeTimeout
	}
	data := map[string]any{"type": e.Kind}
	if e.RetryAfter > 0 {
		data["retry_after_seconds"] = int64((e.RetryAfter + time.Second - 1) / time.Second)
	}
	b, _ := json.Marshal(data)
	return &jsonrpc.Error{Code: code, Message: e.Message, Data: b}
}

func refuse(kind string, status int, format string, a ...any) *Error {
	return &Error{Kind: kind, Status: status, Message: fmt.Sprintf(format, a...)}
}

func denialError(d *governance.Denial) *Error {
	return &Error{Kind: d.Code, Status: d.Status, Message: d.Message, RetryAfter: d.RetryAfter}
}

// CallTool calls the tool named name (namespaced, as Tools lists it) with args (a JSON object, or empty) for
// p: the tool must exist and be allowed to p, args must fit mcp.max_argument_bytes, and the call is admitted
// against p's rate limits and budget (charged the tool's price) before it reaches the server; it is bounded by
// the server's call timeout, and recorded (log, metrics, span). A tool's own failure is a result with IsError
// set, not an error; an error is always an *Error.
func (g *Gateway) CallTool(ctx context.Context, p *governance.Principal, name string, args json.RawMessage) (*sdk.CallToolResult, error) {
	u, tool := g.split(name)
	return g.call(ctx, p, u, tool, name, args)
}

// call runs one tool call; name is what the caller named (for the log when the tool is unknown).
func (g *Gateway) call(ctx context.Context, p *governance.Principal, u *upstream, tool, name string, args json.RawMessage) (*sdk.CallToolResult, error) {
	res, _, err := g.callAs(ctx, p, u, tool, name, args, false)
	return res, err
}

// callAs is call; when relayed, the call goes through the server's relay if it has one, and its result is
// raw (the server's bytes) instead of res.
func (g *Gateway) callAs(ctx context.Context, p *governance.Principal, u *upstream, tool, name string, args json.RawMessage, relayed bool) (res *sdk.CallToolResult, raw relayAnswer, err error) {
	rec := callRecord{start: time.Now(), principal: p, name: name, args: args}
	if u != nil {
		rec.server = u.cfg.Name
	}
	ctx, span := startSpan(ctx, rec.server, tool, name)
	ce := g.callOnce(ctx, p, u, tool, args, relayed, &rec)
	rec.err = ce
	g.obs.finish(span, &rec)
	if ce != nil {
		return nil, relayAnswer{}, ce
	}
	return rec.result, rec.relayed, nil
}

// callOnce runs the call into rec (its result, or its raw result when relayed and the server has a relay).
func (g *Gateway) callOnce(ctx context.Context, p *governance.Principal, u *upstream, tool string, args json.RawMessage, relayed bool, rec *callRecord) *Error {
	if p == nil {
		return refuse("invalid_api_key", http.StatusUnauthorized, "a virtual key is required")
	}
	var e *toolEntry
	if u != nil {
		if c := u.cat.Load(); c != nil {
			e = c.byName[tool]
		}
	}
	if e == nil {
		if u != nil && u.cat.Load() == nil && p.AllowsMCPServer(u.cfg.Name) {
			return refuse("server_unavailable", http.StatusServiceUnavailable, "MCP server %s is not connected: %s", u.cfg.Name, u.status().LastError)
		}
		return refuse("unknown_tool", http.StatusNotFound, "unknown tool %q", rec.name)
	}
	rec.entry = e
	if !p.AllowsMCPTool(u.cfg.Name, e.full) {
		return refuse("tool_not_allowed", http.StatusForbidden, "virtual key %s: tool %s is not allowed", p.ID(), e.full)
	}
	if int64(len(args)) > g.cfg.MaxArgumentBytes {
		return refuse("arguments_too_large", http.StatusRequestEntityTooLarge, "the arguments are %d bytes; at most %d are accepted (mcp.max_argument_bytes)", len(args), g.cfg.MaxArgumentBytes)
	}
	if len(args) > 0 && !isObject(args) && !isNull(args) {
		return refuse("invalid_arguments", http.StatusBadRequest, "arguments must be a JSON object")
	}
	sess := u.sess.Load()
	if sess == nil {
		return refuse("server_unavailable", http.StatusServiceUnavailable, "MCP server %s is not connected", u.cfg.Name)
	}
	res, d := g.opts.Gov.AdmitCall(ctx, p, governance.Estimate{Cost: e.price})
	if d != nil {
		return denialError(d)
	}
	cctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	rec.upstreamStart = time.Now()
	var err error
	if rl := u.relay.Load(); relayed && rl != nil && rl.sess == sess {
		rec.relayed, err = rl.call(cctx, tool, args)
		g.relayedCalls.Add(1)
	} else {
		params := &sdk.CallToolParams{Name: tool}
		if len(args) > 0 && !isNull(args) {
			params.Arguments = args // passed on as it came: json.RawMessage is not re-encoded
		}
		rec.result, err = sess.CallTool(cctx, params)
	}
	rec.upstreamLatency = time.Since(rec.upstreamStart)
	if err != nil {
		res.Release()
		var we *jsonrpc.Error
		switch {
		case errors.As(err, &we):
			return &Error{Kind: "upstream_error", Status: http.StatusBadGateway, Message: we.Message, upstream: we}
		case cctx.Err() != nil && ctx.Err() == nil:
			return refuse("timeout", http.StatusGatewayTimeout, "MCP server %s did not answer %s within %s", u.cfg.Name, tool, u.timeout)
		case ctx.Err() != nil:
			return refuse("timeout", 499, "the call was cancelled: %v", ctx.Err())
		}
		notify(u.brokenc) // not an answer: the session is unusable; reconnect
		return refuse("server_unavailable", http.StatusBadGateway, "MCP server %s: %v", u.cfg.Name, err)
	}
	res.Settle(schema.Usage{}, e.price)
	rec.cost = e.price
	return nil
}

// isObject reports whether b, valid JSON, is an object.
func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }
