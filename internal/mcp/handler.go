package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// ProtocolVersions are the MCP revisions /mcp speaks: the current one and those clients still send. A request
// whose MCP-Protocol-Version is another gets 400. (2024-11-05 had no Streamable HTTP, so no client sends it here.)
var ProtocolVersions = []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}

// Handler serves MCP's Streamable HTTP transport to clients: at /mcp every server's tools, resources and
// prompts the key may use, under namespaced names; at /mcp/{server} one server's, under their own names. It is
// stateless (no session id is issued or needed: any replica can answer any request), requires a virtual key
// as a Bearer token, and never sends the caller's credential upstream.
func (g *Gateway) Handler() http.Handler {
	impls := map[string]*sdk.Implementation{"": {Name: "weir", Version: g.opts.Version}}
	views := map[string]*sdk.Server{"": g.sdkServer(nil, impls[""])}
	for _, u := range g.ups {
		impls[u.cfg.Name] = &sdk.Implementation{Name: "weir/" + u.cfg.Name, Version: g.opts.Version}
		views[u.cfg.Name] = g.sdkServer(u, impls[u.cfg.Name])
	}
	sh := sdk.NewStreamableHTTPHandler(func(r *http.Request) *sdk.Server { return views[r.PathValue("server")] },
		&sdk.StreamableHTTPOptions{
			Stateless:    true,
			JSONResponse: true,
			// Every request carries a virtual key, which a page rebinding a name to loopback cannot know, and a
			// reverse proxy on the same host must be able to reach Weir under its public name.
			DisableLocalhostProtection: true,
			MaxRequestBodyBytes:        g.bodyLimit(),
			Logger:                     g.sdkLog,
		})
	// The SDK carries the principal to the method handlers as its token info.
	authed := auth.RequireBearerToken(func(ctx context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		p, _ := r.Context().Value(principalKey{}).(*governance.Principal)
		if p == nil {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: p.ID(), Extra: map[string]any{principalExtra: p}}, nil
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(sh)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("MCP-Protocol-Version"); v != "" && !slices.Contains(ProtocolVersions, v) {
			writeRPCError(w, http.StatusBadRequest, jsonrpc.CodeInvalidRequest,
				"unsupported MCP-Protocol-Version "+v+"; supported: "+strings.Join(ProtocolVersions, ", "), "")
			return
		}
		p := g.authenticate(r)
		if p == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="weir"`)
			writeRPCError(w, http.StatusUnauthorized, CodeUnauthorized,
				"a virtual key is required: send it as Authorization: Bearer wk-…", "invalid_api_key")
			return
		}
		// Only a caller with a key learns which servers exist.
		server := r.PathValue("server")
		if server != "" && g.byName[server] == nil {
			writeRPCError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "no MCP server named "+server, "")
			return
		}
		if g.serveFastCall(w, r, p, g.byName[server], impls[server]) {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		authed.ServeHTTP(&rpcErrors{ResponseWriter: w}, r)
	})
}

type principalKey struct{}

const principalExtra = "weir.principal"

func (g *Gateway) authenticate(r *http.Request) *governance.Principal {
	if g.opts.Gov == nil {
		return nil
	}
	scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil
	}
	secret = strings.TrimSpace(secret)
	return g.opts.Gov.Authenticate(secret)
}

func principalOf(req sdk.Request) *governance.Principal {
	if ex := req.GetExtra(); ex != nil && ex.TokenInfo != nil {
		p, _ := ex.TokenInfo.Extra[principalExtra].(*governance.Principal)
		return p
	}
	return nil
}

// sdkServer is the SDK server of one view: every server (scope nil) or one. Its lists and calls are answered
// by the gateway, per principal, in a receiving middleware; the SDK does the protocol.
func (g *Gateway) sdkServer(scope *upstream, impl *sdk.Implementation) *sdk.Server {
	s := sdk.NewServer(impl, &sdk.ServerOptions{
		Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}, Resources: &sdk.ResourceCapabilities{},
			Prompts: &sdk.PromptCapabilities{}},
		SupportedProtocolVersions: ProtocolVersions,
		Logger:                    g.sdkLog,
	})
	s.AddReceivingMiddleware(func(next sdk.MethodHandler) sdk.MethodHandler {
		return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
			switch method {
			case "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
				"prompts/list", "prompts/get":
			default:
				return next(ctx, method, req)
			}
			p := principalOf(req)
			if p == nil {
				return nil, &jsonrpc.Error{Code: CodeUnauthorized, Message: "a virtual key is required"}
			}
			if ex := req.GetExtra(); ex != nil && ex.Header != nil {
				ctx = telemetry.ExtractHeaders(ctx, ex.Header)
			}
			res, err := g.serveMethod(ctx, scope, p, method, req)
			if e, ok := err.(*Error); ok {
				return nil, e.Wire()
			}
			return res, err
		}
	})
	return s
}

func (g *Gateway) serveMethod(ctx context.Context, scope *upstream, p *governance.Principal, method string, req sdk.Request) (sdk.Result, error) {
	switch method {
	case "tools/list":
		return &sdk.ListToolsResult{Tools: g.listTools(p, scope)}, nil
	case "tools/call":
		params := req.(*sdk.CallToolRequest).Params
		if scope != nil {
			return g.call(ctx, p, scope, params.Name, params.Name, params.Arguments)
		}
		u, tool := g.split(params.Name)
		return g.call(ctx, p, u, tool, params.Name, params.Arguments)
	case "resources/list":
		return &sdk.ListResourcesResult{Resources: g.listResources(p, scope)}, nil
	case "resources/templates/list":
		return &sdk.ListResourceTemplatesResult{ResourceTemplates: g.listTemplates(p, scope)}, nil
	case "resources/read":
		return g.readResource(ctx, p, scope, req.(*sdk.ReadResourceRequest).Params)
	case "prompts/list":
		return &sdk.ListPromptsResult{Prompts: g.listPrompts(p, scope)}, nil
	case "prompts/get":
		return g.getPrompt(ctx, p, scope, req.(*sdk.GetPromptRequest).Params)
	}
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "method not found: " + method}
}

// inScope is the servers a view serves.
func (g *Gateway) inScope(scope *upstream) []*upstream {
	if scope != nil {
		return []*upstream{scope}
	}
	return g.ups
}

func (g *Gateway) listTools(p *governance.Principal, scope *upstream) []*sdk.Tool {
	out := []*sdk.Tool{}
	for _, u := range g.inScope(scope) {
		for _, e := range g.allowedTools(p, u) {
			if scope != nil {
				out = append(out, e.tool)
			} else {
				out = append(out, e.named)
			}
		}
	}
	return out
}

func (g *Gateway) listResources(p *governance.Principal, scope *upstream) []*sdk.Resource {
	out := []*sdk.Resource{}
	for _, u := range g.inScope(scope) {
		if c := u.cat.Load(); c != nil && p.AllowsMCPServer(u.cfg.Name) {
			out = append(out, c.resources...)
		}
	}
	return out
}

func (g *Gateway) listTemplates(p *governance.Principal, scope *upstream) []*sdk.ResourceTemplate {
	out := []*sdk.ResourceTemplate{}
	for _, u := range g.inScope(scope) {
		if c := u.cat.Load(); c != nil && p.AllowsMCPServer(u.cfg.Name) {
			out = append(out, c.templates...)
		}
	}
	return out
}

func (g *Gateway) listPrompts(p *governance.Principal, scope *upstream) []*sdk.Prompt {
	out := []*sdk.Prompt{}
	for _, u := range g.inScope(scope) {
		if c := u.cat.Load(); c != nil && p.AllowsMCPServer(u.cfg.Name) {
			for _, e := range c.prompts {
				if scope != nil {
					out = append(out, e.prompt)
				} else {
					out = append(out, e.named)
				}
			}
		}
	}
	return out
}

// resourceOwner finds the allowed server that listed uri, or else one whose resource template's fixed prefix
// it starts with. Resource URIs are not renamed: they are the servers' own.
func (g *Gateway) resourceOwner(p *governance.Principal, scope *upstream, uri string) *upstream {
	servers := g.inScope(scope)
	for _, u := range servers {
		if c := u.cat.Load(); c != nil && c.byURI[uri] && p.AllowsMCPServer(u.cfg.Name) {
			return u
		}
	}
	for _, u := range servers {
		c := u.cat.Load()
		if c == nil || !p.AllowsMCPServer(u.cfg.Name) {
			continue
		}
		for _, t := range c.templates {
			fixed, _, _ := strings.Cut(t.URITemplate, "{")
			if fixed != "" && strings.HasPrefix(uri, fixed) {
				return u
			}
		}
	}
	return nil
}

func (g *Gateway) readResource(ctx context.Context, p *governance.Principal, scope *upstream, params *sdk.ReadResourceParams) (sdk.Result, error) {
	u := g.resourceOwner(p, scope, params.URI)
	if u == nil {
		return nil, refuse("unknown_resource", http.StatusNotFound, "unknown resource %q", params.URI)
	}
	sess := u.sess.Load()
	if sess == nil {
		return nil, refuse("server_unavailable", http.StatusServiceUnavailable, "MCP server %s is not connected", u.cfg.Name)
	}
	adm, d := g.opts.Gov.AdmitCall(ctx, p, governance.Estimate{})
	if d != nil {
		return nil, denialError(d)
	}
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	res, err := sess.ReadResource(ctx, params)
	return passUpstream(ctx, u, adm, res, err)
}

func (g *Gateway) getPrompt(ctx context.Context, p *governance.Principal, scope *upstream, params *sdk.GetPromptParams) (sdk.Result, error) {
	u, name := scope, params.Name
	if scope == nil {
		u, name = g.split(params.Name)
	}
	var e *promptEntry
	if u != nil && p.AllowsMCPServer(u.cfg.Name) {
		if c := u.cat.Load(); c != nil {
			e = c.prompt[name]
		}
	}
	if e == nil {
		return nil, refuse("unknown_prompt", http.StatusNotFound, "unknown prompt %q", params.Name)
	}
	sess := u.sess.Load()
	if sess == nil {
		return nil, refuse("server_unavailable", http.StatusServiceUnavailable, "MCP server %s is not connected", u.cfg.Name)
	}
	adm, d := g.opts.Gov.AdmitCall(ctx, p, governance.Estimate{})
	if d != nil {
		return nil, denialError(d)
	}
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	up := *params
	up.Name = name
	res, err := sess.GetPrompt(ctx, &up)
	return passUpstream(ctx, u, adm, res, err)
}

// passUpstream returns a server's answer, its JSON-RPC error as it is, or a failure as timeout or
// server_unavailable. The read's admission (adm: a request against the key's limits, as a tool call but with no
// price) is settled when the server answered, released when it did not, as a tool call's.
func passUpstream(ctx context.Context, u *upstream, adm *governance.Reservation, res sdk.Result, err error) (sdk.Result, error) {
	if err == nil {
		adm.Settle(schema.Usage{}, 0)
		return res, nil
	}
	adm.Release()
	var we *jsonrpc.Error
	switch {
	case errors.As(err, &we):
		return nil, we
	case ctx.Err() != nil:
		return nil, refuse("timeout", http.StatusGatewayTimeout, "MCP server %s did not answer within %s", u.cfg.Name, u.timeout)
	}
	notify(u.brokenc)
	return nil, refuse("server_unavailable", http.StatusBadGateway, "MCP server %s: %v", u.cfg.Name, err)
}

// writeRPCError answers with a JSON-RPC error object (id null: the request was not read as one).
func writeRPCError(w http.ResponseWriter, status int, code int64, msg, kind string) {
	e := &jsonrpc.Error{Code: code, Message: msg}
	if kind != "" {
		e.Data, _ = json.Marshal(map[string]string{"type": kind})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil, "error": e})
}

// rpcErrors turns the SDK's plain-text HTTP errors (bad JSON, a wrong content type, a body too large, …) into
// JSON-RPC error objects, so a client always gets its protocol's error shape.
type rpcErrors struct {
	http.ResponseWriter
	errStatus int  // a plain-text error's status, held until its text (http.Error writes it in one call)
	written   bool // the JSON-RPC error replaced it
}

func (w *rpcErrors) WriteHeader(code int) {
	if code >= 400 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.errStatus = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rpcErrors) Write(b []byte) (int, error) {
	switch {
	case w.written:
		return len(b), nil
	case w.errStatus != 0:
		w.written = true
		code := int64(jsonrpc.CodeInvalidRequest)
		msg := strings.TrimSpace(string(b))
		if strings.Contains(msg, "invalid character") || strings.Contains(msg, "unexpected end of JSON") ||
			strings.Contains(msg, "unmarshal") {
			code = jsonrpc.CodeParseError
		}
		w.Header().Del("X-Content-Type-Options")
		writeRPCError(w.ResponseWriter, w.errStatus, code, msg, "")
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *rpcErrors) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && w.errStatus == 0 {
		f.Flush()
	}
}

func (w *rpcErrors) Unwrap() http.ResponseWriter { return w.ResponseWriter }
