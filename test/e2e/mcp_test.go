package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/test/mcpserver"
)

const (
	mcpFullKey    = "wk-mcp-full-0000000000000001"
	mcpNarrowKey  = "wk-mcp-narrow-00000000000001"
	mcpNoneKey    = "wk-mcp-none-0000000000000001"
	mcpLimitedKey = "wk-mcp-limited-0000000000001"
)

// restartableServer serves an SDK handler on a fixed address, and can be stopped and started again there.
type restartableServer struct {
	t    *testing.T
	addr string
	h    http.Handler
	mu   sync.Mutex
	srv  *http.Server
}

func (s *restartableServer) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again after stop
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (s *restartableServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// buildStdioServer builds test/mcpserver/cmd/mcpstdio.
func buildStdioServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mcpstdio")
	cmd := exec.Command("go", "build", "-o", bin, "../mcpserver/cmd/mcpstdio")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building mcpstdio: %v\n%s", err, out)
	}
	return bin
}

// mcpClient connects the official SDK client to url with key as its Bearer token.
func mcpClient(t *testing.T, url, key string) (*mcp.ClientSession, error) {
	t.Helper()
	hc := &http.Client{Transport: bearer{key: key}}
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}, nil)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func mustMCPClient(t *testing.T, url, key string) *mcp.ClientSession {
	t.Helper()
	s, err := mcpClient(t, url, key)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	return s
}

type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.key != "" {
		r.Header.Set("Authorization", "Bearer "+b.key)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func toolNames(t *testing.T, s *mcp.ClientSession) []string {
	t.Helper()
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

func callText(s *mcp.ClientSession, name string, args any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	if len(res.Content) == 0 {
		return "", errors.New("empty result")
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		return "", fmt.Errorf("content %T", res.Content[0])
	}
	if res.IsError {
		return "", errors.New("tool error: " + tc.Text)
	}
	return tc.Text, nil
}

func rpcCode(err error) int64 {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we.Code
	}
	return 0
}

// mcpFixture is a gateway over three upstreams: web (Streamable HTTP), legacy (SSE), local (stdio).
type mcpFixture struct {
	gw               *gateway
	web, legacy      *restartableServer
	webCalls, sseCal *mcpserver.Calls
	webHeaders       *headerLog
	pidFile          string // the stdio server's pid
}

// headerLog remembers the credentials-bearing headers of every request an upstream got.
type headerLog struct {
	mu   sync.Mutex
	seen []http.Header
}

func (l *headerLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.seen = append(l.seen, r.Header.Clone())
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *headerLog) all() []http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

func startMCPFixture(t *testing.T) *mcpFixture {
	t.Helper()
	f := &mcpFixture{webCalls: &mcpserver.Calls{}, sseCal: &mcpserver.Calls{}, webHeaders: &headerLog{}}
	webSrv := mcpserver.New("web", f.webCalls)
	f.web = &restartableServer{t: t, addr: "127.0.0.1:0",
		h: f.webHeaders.wrap(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return webSrv }, nil))}
	f.web.start()
	t.Cleanup(f.web.stop)
	sseSrv := mcpserver.New("legacy", f.sseCal)
	f.legacy = &restartableServer{t: t, addr: "127.0.0.1:0",
		h: mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return sseSrv }, nil)}
	f.legacy.start()
	t.Cleanup(f.legacy.stop)
	stdio := buildStdioServer(t)
	f.pidFile = filepath.Join(t.TempDir(), "mcpstdio.pid")
	cfg := fmt.Sprintf(`
mcp:
  call_timeout: 30s
  max_argument_bytes: 65536
  tool_list_ttl: 1m
  servers:
    - { name: web, transport: streamable-http, url: "http://%s/mcp", call_timeout: 1s, headers: { X-Upstream-Token: "${MCP_UPSTREAM_TOKEN}" } }
    - { name: legacy, transport: sse, url: "http://%s/sse" }
    - { name: local, transport: stdio, command: [%q, "local"], env: { MCP_PIDFILE: %q } }
governance:
  teams:
    - { id: tools-team, mcp: { servers: [web, legacy, local] } }
  virtual_keys:
    - id: full
      value: %s
      team: tools-team
      mcp: { tools: ["web__*", "legacy__echo", "local__*"] }
    - { id: narrow, value: %s, mcp: { servers: [web], tools: [web__add] } }
    - { id: none, value: %s }
    - { id: limited, value: %s, rate_limits: { rpm: 2 }, mcp: { servers: [web] } }
`, f.web.addr, f.legacy.addr, stdio, f.pidFile, mcpFullKey, mcpNarrowKey, mcpNoneKey, mcpLimitedKey)
	f.gw = startGateway(t, cfg, "MCP_UPSTREAM_TOKEN=upstream-secret")
	return f
}

// TestMCPGateway: the official SDK client against /mcp over three upstream transports: the union of allowed
// tools under namespaced names, calls routed to their server, deny by default on list and call for keys with
// different allow-lists, /mcp/{server}, resources and prompts, rate limits, timeouts, bounded arguments, bad
// JSON-RPC and protocol versions, observability.
func TestMCPGateway(t *testing.T) {
	f := startMCPFixture(t)
	mcpURL := f.gw.URL + "/mcp"
	full := mustMCPClient(t, mcpURL, mcpFullKey)

	t.Run("union of allowed tools, namespaced", func(t *testing.T) {
		want := []string{"legacy__echo", "local__add", "local__crash", "local__echo", "local__secret", "local__sleep",
			"local__weather", "web__add", "web__crash", "web__echo", "web__secret", "web__sleep", "web__weather"}
		if got := toolNames(t, full); !slices.Equal(got, want) {
			t.Fatalf("tools/list = %v\nwant %v", got, want)
		}
	})
	t.Run("calls routed to the owning server, each transport", func(t *testing.T) {
		for name, want := range map[string]string{"web__echo": "web: hi", "legacy__echo": "legacy: hi", "local__echo": "local: hi"} {
			if got, err := callText(full, name, map[string]any{"text": "hi"}); err != nil || got != want {
				t.Errorf("%s = %q, %v; want %q", name, got, err, want)
			}
		}
		if got, err := callText(full, "web__add", map[string]any{"a": 2, "b": 3}); got != "5" {
			t.Errorf("web__add = %q, %v", got, err)
		}
	})
	t.Run("deny by default on list and call", func(t *testing.T) {
		narrow := mustMCPClient(t, mcpURL, mcpNarrowKey)
		if got := toolNames(t, narrow); !slices.Equal(got, []string{"web__add"}) {
			t.Fatalf("narrow key's tools/list = %v, want [web__add]", got)
		}
		none := mustMCPClient(t, mcpURL, mcpNoneKey)
		if got := toolNames(t, none); len(got) != 0 {
			t.Fatalf("a key without an mcp allow-list lists %v", got)
		}
		before, beforeSSE := f.webCalls.Load(), f.sseCal.Load()
		for _, c := range []struct {
			s    *mcp.ClientSession
			tool string
		}{{narrow, "web__echo"}, {narrow, "legacy__echo"}, {none, "web__add"}, {full, "legacy__secret"}} {
			_, err := callText(c.s, c.tool, map[string]any{"text": "x"})
			if err == nil || rpcCode(err) != -32063 || !strings.Contains(err.Error(), "not allowed") {
				t.Errorf("call %s: %v, want a JSON-RPC -32063 not allowed", c.tool, err)
			}
		}
		if f.webCalls.Load() != before || f.sseCal.Load() != beforeSSE {
			t.Fatal("a denied call reached its server")
		}
		if got, err := callText(narrow, "web__add", map[string]any{"a": 1, "b": 1}); got != "2" {
			t.Fatalf("the narrow key's allowed tool: %q, %v", got, err)
		}
	})
	t.Run("one server at /mcp/{server}, under its own names", func(t *testing.T) {
		web := mustMCPClient(t, f.gw.URL+"/mcp/web", mcpNarrowKey)
		if got := toolNames(t, web); !slices.Equal(got, []string{"add"}) {
			t.Fatalf("/mcp/web tools = %v", got)
		}
		if got, err := callText(web, "add", map[string]any{"a": 4, "b": 5}); got != "9" {
			t.Fatalf("/mcp/web add = %q, %v", got, err)
		}
		if _, err := callText(web, "echo", map[string]any{"text": "x"}); rpcCode(err) != -32063 {
			t.Fatalf("/mcp/web echo for the narrow key: %v", err)
		}
		code, _, body := post(t, f.gw.URL+"/mcp/ghost", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
			"Authorization", "Bearer "+mcpFullKey, "Accept", "application/json, text/event-stream")
		if code != 404 || !strings.Contains(body, `"jsonrpc":"2.0"`) {
			t.Fatalf("unknown server: %d %s", code, body)
		}
	})
	t.Run("resources and prompts of allowed servers", func(t *testing.T) {
		res, err := full.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "test://legacy/readme"})
		if err != nil || res.Contents[0].Text != "read me from legacy" {
			t.Fatalf("resources/read: %v %v", res, err)
		}
		pr, err := full.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "local__greet"})
		if err != nil || pr.Messages[0].Content.(*mcp.TextContent).Text != "hello from local" {
			t.Fatalf("prompts/get: %v %v", pr, err)
		}
		none := mustMCPClient(t, mcpURL, mcpNoneKey)
		if rs, err := none.ListResources(context.Background(), nil); err != nil || len(rs.Resources) != 0 {
			t.Fatalf("a key without MCP access lists resources: %v %v", rs, err)
		}
		if _, err := none.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "test://web/readme"}); err == nil {
			t.Fatal("a key without MCP access read a resource")
		}
	})
	t.Run("unknown tool", func(t *testing.T) {
		_, err := callText(full, "web__nope", nil)
		if rpcCode(err) != jsonrpc.CodeInvalidParams || !strings.Contains(err.Error(), "unknown tool") {
			t.Fatalf("unknown tool: %v", err)
		}
		if _, err := callText(full, "nonamespace", nil); rpcCode(err) != jsonrpc.CodeInvalidParams {
			t.Fatalf("a name without a server: %v", err)
		}
	})
	t.Run("huge arguments", func(t *testing.T) {
		big := strings.Repeat("x", 100<<10)
		_, err := callText(full, "web__echo", map[string]any{"text": big})
		if rpcCode(err) != jsonrpc.CodeInvalidParams || !strings.Contains(err.Error(), "max_argument_bytes") {
			t.Fatalf("100 KiB of arguments: %v", err)
		}
		huge := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"web__echo","arguments":{"text":"` + strings.Repeat("x", 4<<20) + `"}}}`
		code, _, body := post(t, mcpURL, huge, "Authorization", "Bearer "+mcpFullKey, "Accept", "application/json, text/event-stream")
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"jsonrpc":"2.0"`) {
			t.Fatalf("a 4 MiB body: %d %.200s", code, body)
		}
	})
	t.Run("a hanging server times out, the gateway unaffected", func(t *testing.T) {
		start := time.Now()
		_, err := callText(full, "web__sleep", map[string]any{"ms": 10000})
		if rpcCode(err) != -32064 || time.Since(start) > 8*time.Second {
			t.Fatalf("sleep 10s with a 1s call timeout: %v after %s", err, time.Since(start))
		}
		if got, err := callText(full, "web__add", map[string]any{"a": 1, "b": 2}); got != "3" {
			t.Fatalf("after a timeout: %q %v", got, err)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		lim := mustMCPClient(t, mcpURL, mcpLimitedKey)
		var limited error
		for range 3 {
			if _, err := callText(lim, "web__add", map[string]any{"a": 1, "b": 1}); err != nil {
				limited = err
			}
		}
		if rpcCode(limited) != -32065 || !strings.Contains(limited.Error(), "rpm 2") {
			t.Fatalf("third call within the minute with rpm 2: %v", limited)
		}
	})
	t.Run("bad JSON-RPC, credentials and protocol versions", func(t *testing.T) {
		hdr := []string{"Authorization", "Bearer " + mcpFullKey, "Accept", "application/json, text/event-stream"}
		for _, c := range []struct {
			name, body string
			headers    []string
			status     int
			want       string
		}{
			{"not JSON", `{"jsonrpc":`, hdr, 400, `"code":-32700`},
			{"no key", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, []string{"Accept", "application/json, text/event-stream"}, 401, `"code":-32061`},
			{"a wrong key", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, []string{"Authorization", "Bearer wk-not-a-real-key-000000000", "Accept", "application/json, text/event-stream"}, 401, `"code":-32061`},
			{"a provider-style key", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, []string{"Authorization", "Bearer sk-abc", "Accept", "application/json, text/event-stream"}, 401, `"code":-32061`},
			{"unsupported protocol version", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, append(slices.Clone(hdr), "MCP-Protocol-Version", "2024-01-01"), 400, "unsupported MCP-Protocol-Version"},
			{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"tools/explode"}`, hdr, 400, `tools/explode`},
			{"a previous protocol version", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, append(slices.Clone(hdr), "MCP-Protocol-Version", "2025-06-18"), 200, `"web__add"`},
		} {
			code, _, body := post(t, mcpURL, c.body, c.headers...)
			if code != c.status || !strings.Contains(body, c.want) || !strings.Contains(body, `"jsonrpc":"2.0"`) {
				t.Errorf("%s: %d %.300s; want %d with %s", c.name, code, body, c.status, c.want)
			}
		}
		if _, err := mcpClient(t, mcpURL, ""); err == nil {
			t.Error("the SDK client connected without a key")
		}
	})
	t.Run("the server's configured headers upstream, never the client's key", func(t *testing.T) {
		seen := f.webHeaders.all()
		if len(seen) == 0 {
			t.Fatal("the web server saw no requests")
		}
		for _, h := range seen {
			if h.Get("X-Upstream-Token") != "upstream-secret" {
				t.Fatalf("a request without the configured header: %v", h)
			}
			for name, vs := range h {
				for _, v := range vs {
					if strings.Contains(v, "wk-mcp-") {
						t.Fatalf("the client's virtual key reached the upstream in %s", name)
					}
				}
			}
		}
	})
	t.Run("observability", func(t *testing.T) {
		_, _, metrics := get(t, f.gw.URL+"/metrics")
		for _, want := range []string{`weir_mcp_tool_calls_total{server="web",status="ok",tool="add"}`,
			`weir_mcp_tool_calls_total{server="web",status="tool_not_allowed",tool="echo"}`,
			`weir_mcp_tool_calls_total{server="web",status="timeout",tool="sleep"}`,
			`weir_mcp_tool_call_duration_seconds_bucket{server="local",tool="echo"`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		var servers struct {
			Data []struct {
				Name, Transport, State string
				Tools                  int
			}
		}
		_, _, body := get(t, f.gw.URL+"/api/mcp/servers")
		if err := json.Unmarshal([]byte(body), &servers); err != nil || len(servers.Data) != 3 {
			t.Fatalf("/api/mcp/servers: %v %s", err, body)
		}
		for _, s := range servers.Data {
			if s.State != "up" || s.Tools != 6 {
				t.Errorf("server %+v: want up with 6 tools", s)
			}
		}
		waitUntil(t, "the tool calls in the request log", func() bool {
			_, _, logs := get(t, f.gw.URL+"/api/logs?provider=web")
			return strings.Contains(logs, `"route":"mcp tools/call"`) && strings.Contains(logs, `"key_id":"narrow"`) &&
				strings.Contains(logs, `"request_bytes"`)
		})
		if !strings.Contains(f.gw.logs.String(), "mcpstdio starting as local") {
			t.Error("the stdio server's stderr is not in the gateway's log")
		}
	})
}

// TestMCPServerDownAndBack: a remote server that goes away is reconnected when it comes back; a stdio server
// that exits is restarted; the other servers serve throughout.
func TestMCPServerDownAndBack(t *testing.T) {
	f := startMCPFixture(t)
	full := mustMCPClient(t, f.gw.URL+"/mcp", mcpFullKey)
	if got, err := callText(full, "web__add", map[string]any{"a": 1, "b": 1}); got != "2" {
		t.Fatalf("before: %q %v", got, err)
	}

	f.web.stop()
	if _, err := callText(full, "web__add", map[string]any{"a": 1, "b": 1}); err == nil {
		t.Fatal("a call to a stopped server succeeded")
	}
	if got, err := callText(full, "local__echo", map[string]any{"text": "still"}); got != "local: still" {
		t.Fatalf("another server while web is down: %q %v", got, err)
	}
	waitUntil(t, "web's tools to leave the list while it is down", func() bool {
		return !slices.Contains(toolNames(t, full), "web__add")
	})
	f.web.start()
	waitUntil(t, "web to be reconnected", func() bool {
		got, _ := callText(full, "web__add", map[string]any{"a": 20, "b": 22})
		return got == "42"
	})

	_, err := callText(full, "local__crash", nil)
	if err == nil {
		t.Fatal("crash answered")
	}
	waitUntil(t, "the stdio server to be restarted", func() bool {
		got, _ := callText(full, "local__echo", map[string]any{"text": "back"})
		return got == "local: back"
	})
	_, _, body := get(t, f.gw.URL+"/api/mcp/servers")
	if !strings.Contains(body, `"restarts":1`) {
		t.Errorf("/api/mcp/servers does not count the restarts: %s", body)
	}

	// Shutting the gateway down ends the stdio server's process.
	b, err := os.ReadFile(f.pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("the stdio server (pid %q) is not running before shutdown", b)
	}
	f.gw.stop()
	if syscall.Kill(pid, 0) != syscall.ESRCH {
		t.Fatalf("the stdio server (pid %d) outlived the gateway", pid)
	}
}

// TestMCPToolCallSpan: a tool call is an execute_tool span in the caller's trace.
func TestMCPToolCallSpan(t *testing.T) {
	collectorURL, collected := startCollector(t)
	webSrv := mcpserver.New("web", &mcpserver.Calls{})
	headers := &headerLog{}
	web := &restartableServer{t: t, addr: "127.0.0.1:0",
		h: headers.wrap(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return webSrv }, nil))}
	web.start()
	t.Cleanup(web.stop)
	g := startGateway(t, fmt.Sprintf(`
mcp:
  servers: [{ name: web, transport: streamable-http, url: "http://%s/mcp" }]
governance:
  virtual_keys: [{ id: k, value: %s, mcp: { servers: [web] } }]
telemetry:
  tracing: {enabled: true, exporter: otlp-http, endpoint: "%s/v1/traces", insecure: true}
`, web.addr, mcpFullKey, collectorURL))
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	code, _, body := post(t, g.URL+"/mcp", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"web__add","arguments":{"a":1,"b":2}}}`,
		"Authorization", "Bearer "+mcpFullKey, "Accept", "application/json, text/event-stream", "MCP-Protocol-Version", "2025-06-18",
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if code != 200 || !strings.Contains(body, `"text":"3"`) {
		t.Fatalf("tools/call without a session: %d %s", code, body)
	}
	if h := headers.all(); !strings.Contains(h[len(h)-1].Get("Traceparent"), traceID) {
		t.Errorf("the upstream's tools/call does not continue the caller's trace: traceparent %q", h[len(h)-1].Get("Traceparent"))
	}
	g.stop() // flushes the exporter
	for _, s := range collected() {
		if strings.HasPrefix(s, traceID+" execute_tool web__add") && strings.Contains(s, "gen_ai.tool.name") &&
			strings.Contains(s, "weir.virtual_key") {
			return
		}
	}
	t.Fatalf("no execute_tool span in the caller's trace:\n%s", strings.Join(collected(), "\n"))
}
