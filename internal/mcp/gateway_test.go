package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/store/sqlite"
	"github.com/weir-gateway/weir/test/mcpserver"
)

// fixture is a Gateway over one real SDK server (Streamable HTTP, in-process) with a governance service.
type fixture struct {
	g      *Gateway
	gov    *governance.Service
	calls  *mcpserver.Calls
	server *sdk.Server
}

func newFixture(t testing.TB, keys []governance.VirtualKeyConfig, sc ServerConfig) *fixture {
	t.Helper()
	ctx := context.Background()
	calls := &mcpserver.Calls{}
	s := mcpserver.New("tools", calls)
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	t.Cleanup(srv.Close)
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gov, err := governance.New(ctx, st, governance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gov.Seed(ctx, &governance.Config{VirtualKeys: keys}); err != nil {
		t.Fatal(err)
	}
	sc.Name, sc.Transport, sc.URL = "tools", TransportStreamable, srv.URL
	cfg := Config{Servers: []ServerConfig{sc}}
	cfg.ApplyDefaults()
	if ps := cfg.Validate(); len(ps) > 0 {
		t.Fatal(ps)
	}
	g := New(cfg, Options{Gov: gov})
	g.Start(ctx)
	t.Cleanup(g.Close)
	if st := g.Servers()[0]; st.State != StateUp || st.Tools != 6 || len(st.ToolNames) != 6 || !slices.Contains(st.ToolNames, "add") {
		t.Fatalf("server after Start: %+v", st)
	}
	return &fixture{g: g, gov: gov, calls: calls, server: s}
}

// TestToolsAndCallTool is the agent-mode API: Tools lists what the principal may call, narrowed by the filter;
// CallTool runs it with the same governance as /mcp.
func TestToolsAndCallTool(t *testing.T) {
	f := newFixture(t, []governance.VirtualKeyConfig{
		{ID: "agent", MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}, Tools: []string{"tools__add", "tools__echo"}}},
		{ID: "nobody"},
	}, ServerConfig{})
	ctx := context.Background()
	agent, nobody := f.gov.Principal("agent"), f.gov.Principal("nobody")
	for _, c := range []struct {
		name   string
		p      *governance.Principal
		filter Filter
		want   []string
	}{
		{"allowed", agent, Filter{}, []string{"tools__add", "tools__echo"}},
		{"filtered by tool", agent, Filter{Tools: []string{"echo", "secret"}}, []string{"tools__echo"}},
		{"filtered by server", agent, Filter{Servers: []string{"other"}}, nil},
		{"no allow-list", nobody, Filter{}, nil},
		{"no principal", nil, Filter{}, nil},
	} {
		got, err := f.g.Tools(ctx, c.p, c.filter)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tl := range got {
			names = append(names, tl.Name)
			if tl.Def.Name != tl.Name || tl.Server != "tools" || tl.Def.InputSchema == nil {
				t.Errorf("%s: tool %+v", c.name, tl)
			}
		}
		if len(names) != len(c.want) || (len(names) > 0 && names[0] != c.want[0]) {
			t.Errorf("%s: Tools = %v, want %v", c.name, names, c.want)
		}
	}

	res, err := f.g.CallTool(ctx, agent, "tools__add", json.RawMessage(`{"a":40,"b":2}`))
	if err != nil || res.Content[0].(*sdk.TextContent).Text != "42" {
		t.Fatalf("CallTool add: %v %v", res, err)
	}
	before := f.calls.Load()
	for _, c := range []struct {
		p          *governance.Principal
		name, args string
		kind       string
	}{
		{agent, "tools__secret", `{}`, "tool_not_allowed"},
		{nobody, "tools__add", `{}`, "tool_not_allowed"},
		{nil, "tools__add", `{}`, "invalid_api_key"},
		{agent, "tools__missing", `{}`, "unknown_tool"},
		{agent, "other__add", `{}`, "unknown_tool"},
		{agent, "add", `{}`, "unknown_tool"},
		{agent, "tools__add", `[1,2]`, "invalid_arguments"},
	} {
		_, err := f.g.CallTool(ctx, c.p, c.name, json.RawMessage(c.args))
		var e *Error
		if !errors.As(err, &e) || e.Kind != c.kind {
			t.Errorf("CallTool(%s, %s): %v, want %s", c.name, c.args, err, c.kind)
		}
	}
	if f.calls.Load() != before {
		t.Fatal("a refused call reached the server")
	}
}

// TestToolPriceChargedToBudget: each call reserves and settles the tool's price on the key's budget; once it is
// spent, calls are refused before reaching the server.
func TestToolPriceChargedToBudget(t *testing.T) {
	f := newFixture(t, []governance.VirtualKeyConfig{{ID: "payer", Budget: &governance.BudgetConfig{MaxUSD: 0.025, Reset: "1d"},
		MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}}}, ServerConfig{ToolPrices: map[string]float64{"add": 0.01, "*": 0}})
	ctx, p := context.Background(), f.gov.Principal("payer")
	for i := range 2 {
		if _, err := f.g.CallTool(ctx, p, "tools__add", json.RawMessage(`{"a":1,"b":1}`)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	before := f.calls.Load()
	_, err := f.g.CallTool(ctx, p, "tools__add", json.RawMessage(`{"a":1,"b":1}`))
	var e *Error
	if !errors.As(err, &e) || e.Kind != "budget_exceeded" || e.Wire().Code != CodeRateLimited {
		t.Fatalf("third $0.01 call on a $0.025 budget: %v", err)
	}
	if f.calls.Load() != before {
		t.Fatal("a call over budget reached the server")
	}
	if tools, _ := f.g.Tools(ctx, p, Filter{Tools: []string{"add"}}); len(tools) != 1 || tools[0].Price != 0.01 {
		t.Fatalf("Tools' price: %+v", tools)
	}
}

// TestCallTimeout: a call the server does not answer within call_timeout is a timeout error, and the session
// stays usable.
func TestCallTimeout(t *testing.T) {
	f := newFixture(t, []governance.VirtualKeyConfig{{ID: "k", MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}}},
		ServerConfig{CallTimeout: confkit.Duration(200 * time.Millisecond)})
	ctx, p := context.Background(), f.gov.Principal("k")
	_, err := f.g.CallTool(ctx, p, "tools__sleep", json.RawMessage(`{"ms":5000}`))
	var e *Error
	if !errors.As(err, &e) || e.Kind != "timeout" {
		t.Fatalf("sleep past the timeout: %v", err)
	}
	if res, err := f.g.CallTool(ctx, p, "tools__echo", json.RawMessage(`{"text":"ok"}`)); err != nil || res.IsError {
		t.Fatalf("after a timeout: %v %v", res, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want []string // problem paths
	}{
		{"valid", Config{Servers: []ServerConfig{
			{Name: "gh", Transport: "streamable-http", URL: "https://x/mcp", Headers: map[string]string{"A": "b"}},
			{Name: "fs", Transport: "stdio", Command: []string{"npx", "x"}, Env: map[string]string{"A": "b"}},
			{Name: "old", Transport: "sse", URL: "http://x/sse", OAuth: &OAuthConfig{ClientID: "c", TokenURL: "https://x/token"}},
		}}, nil},
		{"missing", Config{Servers: []ServerConfig{{}}}, []string{"mcp.servers[0].name", "mcp.servers[0].transport"}},
		{"duplicate and separator", Config{Servers: []ServerConfig{
			{Name: "a", Transport: "stdio", Command: []string{"x"}},
			{Name: "a", Transport: "stdio", Command: []string{"x"}},
			{Name: "a__b", Transport: "stdio", Command: []string{"x"}},
		}}, []string{"mcp.servers[1].name", "mcp.servers[2].name"}},
		{"remote without url, stdio with url", Config{Servers: []ServerConfig{
			{Name: "a", Transport: "streamable-http", Command: []string{"x"}},
			{Name: "b", Transport: "stdio", URL: "http://x", Headers: map[string]string{"A": "b"}},
		}}, []string{"mcp.servers[0].url", "mcp.servers[0].command", "mcp.servers[1].command", "mcp.servers[1].url", "mcp.servers[1].headers"}},
		{"bad transport, oauth, prices", Config{Servers: []ServerConfig{
			{Name: "a", Transport: "websocket"},
			{Name: "b", Transport: "sse", URL: "http://x", OAuth: &OAuthConfig{TokenURL: "ftp://x"}, ToolPrices: map[string]float64{"t": -1}},
		}}, []string{"mcp.servers[0].transport", "mcp.servers[1].oauth.client_id", "mcp.servers[1].oauth.token_url", "mcp.servers[1].tool_prices.t"}},
		{"negative settings", Config{ToolListTTL: -1, CallTimeout: -1, MaxArgumentBytes: -1, Separator: "a/b"},
			[]string{"mcp.tool_list_ttl", "mcp.call_timeout", "mcp.max_argument_bytes", "mcp.separator"}},
	} {
		ps := c.cfg.Validate()
		var got []string
		for _, p := range ps {
			got = append(got, p.Path)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: problems %v, want paths %v", c.name, ps, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: problem %d at %s, want %s (%v)", c.name, i, got[i], c.want[i], ps)
			}
		}
	}
}

// TestListChangedRefreshes: a tool the server adds reaches Tools at once through its list_changed notification,
// long before tool_list_ttl (5m) would fetch the list again.
func TestListChangedRefreshes(t *testing.T) {
	f := newFixture(t, []governance.VirtualKeyConfig{{ID: "k", MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}}}, ServerConfig{})
	p := f.gov.Principal("k")
	sdk.AddTool(f.server, &sdk.Tool{Name: "late", Description: "Added after the gateway connected."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "here"}}}, nil, nil
		})
	deadline := time.Now().Add(10 * time.Second)
	for {
		tools, _ := f.g.Tools(context.Background(), p, Filter{Tools: []string{"late"}})
		if len(tools) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the added tool was not listed after the server's list_changed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res, err := f.g.CallTool(context.Background(), p, "tools__late", nil); err != nil || res.Content[0].(*sdk.TextContent).Text != "here" {
		t.Fatalf("calling the added tool: %v %v", res, err)
	}
}

// TestReadsAndPromptsRateLimited: resources/read and prompts/get count against the key's rate limits as tool
// calls do (one request each, no price): a key allowed 3 requests a minute gets a read, a prompt and a tool
// call, and its fourth request of any of them is refused before it reaches the server.
func TestReadsAndPromptsRateLimited(t *testing.T) {
	f := newFixture(t, []governance.VirtualKeyConfig{{ID: "k", RateLimits: &governance.RateLimits{RPM: 3},
		MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}}}, ServerConfig{})
	ctx, p := context.Background(), f.gov.Principal("k")
	read := func() error {
		_, err := f.g.readResource(ctx, p, nil, &sdk.ReadResourceParams{URI: "test://tools/readme"})
		return err
	}
	prompt := func() error {
		_, err := f.g.getPrompt(ctx, p, nil, &sdk.GetPromptParams{Name: "tools__greet"})
		return err
	}
	call := func() error {
		_, err := f.g.CallTool(ctx, p, "tools__add", json.RawMessage(`{"a":1,"b":1}`))
		return err
	}
	for i, do := range []func() error{read, prompt, call} {
		if err := do(); err != nil {
			t.Fatalf("request %d within the limit: %v", i+1, err)
		}
	}
	for name, do := range map[string]func() error{"resources/read": read, "prompts/get": prompt, "tools/call": call} {
		var e *Error
		if err := do(); !errors.As(err, &e) || e.Kind != "rate_limit_exceeded" || e.Wire().Code != CodeRateLimited {
			t.Fatalf("%s over rpm 3: %v, want rate_limit_exceeded", name, err)
		}
	}
}
