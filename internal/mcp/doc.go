// Package mcp is Weir's MCP gateway: it owns the sessions to the configured upstream MCP servers and serves
// their tools, resources and prompts to governed callers, over HTTP at /mcp and to Go code in the gateway.
//
// # Upstreams
//
// Each `mcp.servers` entry is an upstream (upstream.go), supervised by its own goroutine: a stdio server's
// process is started by the SDK's CommandTransport, its stderr goes to the log line by line, and it is ended on
// shutdown (stdin closed, then SIGTERM); a remote server (streamable-http or sse) is reached with its configured
// headers and, with `oauth`, a client-credentials token (x/oauth2/clientcredentials) — never with anything of
// the calling client's request. A session that ends, fails a keepalive ping, or fails a call is closed and
// reconnected with exponential backoff (100ms to 30s); meanwhile that server's tools are not listed and calls
// to them get server_unavailable, and the other servers are unaffected. Each server's lists are cached whole (an
// immutable catalog swapped atomically, so listing takes no lock and never waits on a server) and fetched again
// after `tool_list_ttl` or at once on a list_changed notification.
//
// # Serving clients
//
// Handler (handler.go) is the SDK's Streamable HTTP server in stateless mode: no session id is issued or
// needed, so any replica answers any request and clients that never send one (claude.ai) work. A receiving
// middleware answers tools/list, tools/call, resources/*, and prompts/* from the catalogs, per principal: at
// /mcp the union of the allowed servers' tools and prompts under namespaced names (server + `separator` + name;
// resource URIs are the servers' own), at /mcp/{server} one server's under their own names. The caller is a
// virtual key sent as a Bearer token; it is authenticated before the SDK sees the request (401 with a JSON-RPC
// error otherwise) and reaches the handlers as the SDK's token info. Protocol revisions: ProtocolVersions (an
// MCP-Protocol-Version header naming another gets 400). The SDK's own plain-text HTTP errors are rewritten as
// JSON-RPC error objects.
//
// # Governance
//
// Access is deny by default (governance.Principal.AllowsMCPServer and AllowsMCPTool: the key's `mcp`
// allow-list, inherited from or narrowed by its team's). A tool not allowed is neither listed nor called: the
// check runs again on every call, before anything is sent upstream. An allowed call is admitted through
// governance.Service.AdmitCall — the key's, team's and customer's rate limits and budgets, reserving the tool's
// `tool_prices` price, settled when the server answers and released when it does not. Each call is bounded by
// the server's `call_timeout` and its arguments by `max_argument_bytes`. A resources/read or prompts/get is
// admitted the same way, as one request with no price.
//
// # Observability
//
// Every call (allowed or not) increments weir_mcp_tool_calls_total{server,tool,status} and observes
// weir_mcp_tool_call_duration_seconds{server,tool} (an unknown tool is counted with an empty tool label: its
// name is the caller's choice), gets an execute_tool span under the caller's trace, and a request-log record
// (route "mcp tools/call", provider = server, model = tool, alias = the name called, the key; one attempt with
// the upstream latency and the argument and result sizes; arguments and results only with client.log_content).
//
// # Agent mode (the internal API)
//
// The chat, Responses and messages paths run tools on a model's behalf through the same two calls a client's
// tools/call goes through, with the same governance:
//
//	tools, err := gw.Tools(ctx, principal, mcp.Filter{Servers: []string{"github"}, Tools: []string{"create_issue"}})
//	// each Tool has the namespaced Name to call, its Server, its definition (Def: description, input schema
//	// under the namespaced name) and its Price; only tools the principal may call are returned.
//	res, err := gw.CallTool(ctx, principal, tools[0].Name, json.RawMessage(`{"title":"…"}`))
//	// res is the server's *CallToolResult (IsError set when the tool itself failed); err is an *mcp.Error
//	// whose Kind says why the call was refused or failed (tool_not_allowed, rate_limit_exceeded, timeout, …)
//	// and whose Wire() is the JSON-RPC error a client would get.
//
// Tools never contacts a server; CallTool is safe for concurrent use and records the call like any other.
package mcp
