package mcp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/test/mcpserver"
)

const benchCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":{"a":2,"b":3}}}`

func benchPost(b *testing.B, h http.Handler, body, key string, hdr ...string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("MCP-Protocol-Version", "2025-06-18")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"text":"5"`) {
			b.Fatalf("%d %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkDirectCall is the floor: a tools/call answered by a stateless SDK server handler in-process.
func BenchmarkDirectCall(b *testing.B) {
	s := mcpserver.New("tools", &mcpserver.Calls{})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	benchPost(b, h, strings.Replace(benchCall, "%s", "add", 1), "")
}

// BenchmarkGatewayCall is the same call through Handler: authentication, the allow-list, admission, the
// upstream session (Streamable HTTP over loopback to the same kind of server) and the call's record.
func BenchmarkGatewayCall(b *testing.B) {
	const key = "wk-bench-0000000000000000000001"
	f := newFixture(b, []governance.VirtualKeyConfig{{ID: "k", Value: key, MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}}}, ServerConfig{})
	benchPost(b, f.g.Handler(), strings.Replace(benchCall, "%s", "tools__add", 1), key)
}

// BenchmarkGatewayCallNewProtocol is GatewayCall as the SDK client sends it since 2026-07-28 (SEP-2575): the
// protocol version, client info and capabilities in params._meta, method and name in headers.
func BenchmarkGatewayCallNewProtocol(b *testing.B) {
	const key = "wk-bench-0000000000000000000001"
	f := newFixture(b, []governance.VirtualKeyConfig{{ID: "k", Value: key, MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}}}, ServerConfig{})
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + newMeta + `,"name":"tools__add","arguments":{"a":2,"b":3}}}`
	benchPost(b, f.g.Handler(), body, key, "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "tools__add")
}

// BenchmarkParseToolsCall is the fast path reading a tools/call, before SEP-2575 and (New) with its _meta.
func BenchmarkParseToolsCall(b *testing.B) {
	body := []byte(strings.Replace(benchCall, "%s", "tools__add", 1))
	h := http.Header{}
	h.Set("MCP-Protocol-Version", "2025-06-18")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseToolsCall(body, h); !ok {
			b.Fatal("not taken")
		}
	}
}

func BenchmarkParseToolsCallNew(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + newMeta + `,"name":"tools__add","arguments":{"a":2,"b":3}}}`)
	h := http.Header{}
	h.Set("MCP-Protocol-Version", "2026-07-28")
	h.Set("Mcp-Method", "tools/call")
	h.Set("Mcp-Name", "tools__add")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseToolsCall(body, h); !ok {
			b.Fatal("not taken")
		}
	}
}

// BenchmarkUpstreamCall is the gateway's upstream leg alone: its SDK client session calling the fixture's
// server. GatewayCall minus this is what Weir's /mcp adds in front of it.
func BenchmarkUpstreamCall(b *testing.B) {
	f := newFixture(b, nil, ServerConfig{})
	sess := f.g.ups[0].sess.Load()
	args := json.RawMessage(`{"a":2,"b":3}`)
	b.ReportAllocs()
	for b.Loop() {
		res, err := sess.CallTool(b.Context(), &sdk.CallToolParams{Name: "add", Arguments: args})
		if err != nil || res.Content[0].(*sdk.TextContent).Text != "5" {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkRelayCall is the upstream leg as /mcp's fast path makes it: the session's relay calling the same
// server (compare UpstreamCall).
func BenchmarkRelayCall(b *testing.B) {
	f := newFixture(b, nil, ServerConfig{})
	r := f.g.ups[0].relay.Load()
	args := json.RawMessage(`{"a":2,"b":3}`)
	b.ReportAllocs()
	for b.Loop() {
		ans, err := r.call(b.Context(), "add", args)
		if err != nil || !strings.Contains(string(ans.result), `"text":"5"`) {
			b.Fatal(string(ans.result), err)
		}
	}
}
