package mcp

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/governance"
)

const (
	diffAll     = "wk-diff-all-000000000000000000001"
	diffLimited = "wk-diff-add-000000000000000000001"
	diffRated   = "wk-diff-rpm-000000000000000000001"
)

// diffKeys: one key may call every tool, one only tools__add, one one call a minute.
var diffKeys = []governance.VirtualKeyConfig{
	{ID: "all", Value: diffAll, MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}},
	{ID: "add-only", Value: diffLimited, MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}, Tools: []string{"tools__add"}}},
	{ID: "rated", Value: diffRated, RateLimits: &governance.RateLimits{RPM: 1}, MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}}},
}

// newMeta is SEP-2575's _meta triple as the SDK client sends it.
const newMeta = `"_meta":{"io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true}},` +
	`"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`

type diffCase struct {
	name string
	body string
	hdr  map[string]string // over the defaults; "" removes one
	key  string
	path string // default /mcp
	fast bool   // the fast path must answer it (else the SDK handler must)
}

func diffCases() []diffCase {
	call := func(id, params string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":` + params + `}`
	}
	newHdr := func(name string) map[string]string {
		return map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name}
	}
	big := `{"text":"` + strings.Repeat("x", 1<<20) + `"}`
	huge := `{"text":"` + strings.Repeat("x", 1<<20+70<<10) + `"}`
	return []diffCase{
		{name: "success", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "success, string id", body: call(`"abc"`, `{"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "success, HTML in the result", body: call(`"a"`, `{"name":"tools__echo","arguments":{"text":"<&>"}}`), fast: true},
		{name: "escaped string id", body: call(`"a\u0062c\n"`, `{"name":"tools__echo","arguments":{"text":"x"}}`)},
		{name: "escaped name", body: call(`"a"`, `{"name":"tools__\u0061dd","arguments":{"a":1,"b":2}}`)},
		{name: "success, negative and exponent ids", body: call(`-7e1`, `{"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		// The SDK reads a numeric id as a float64 and answers its int64: 1.5 is answered as 1.
		{name: "fractional id", body: call(`1.5`, `{"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "big id", body: call(`9007199254740993`, `{"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "no protocol header", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: map[string]string{"MCP-Protocol-Version": ""}, fast: true},
		{name: "one server's view", path: "/mcp/tools", body: call("1", `{"name":"add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "one server's view, namespaced name", path: "/mcp/tools", body: call("1", `{"name":"tools__add","arguments":{}}`), fast: true},
		{name: "tool answers isError", body: call("2", `{"name":"tools__add","arguments":{"a":"two"}}`), fast: true},
		{name: "unknown tool", body: call("3", `{"name":"tools__nope","arguments":{}}`), fast: true},
		{name: "unknown server", body: call("3", `{"name":"nope__add","arguments":{}}`), fast: true},
		{name: "denied tool", key: diffLimited, body: call("4", `{"name":"tools__secret","arguments":{}}`), fast: true},
		{name: "rate limit: first call", key: diffRated, body: call("5", `{"name":"tools__add","arguments":{"a":1,"b":1}}`), fast: true},
		{name: "rate limit: refused", key: diffRated, body: call("6", `{"name":"tools__add","arguments":{"a":1,"b":1}}`), fast: true},
		{name: "arguments not an object", body: call("7", `{"name":"tools__add","arguments":[1,2]}`), fast: true},
		{name: "arguments a string", body: call("7", `{"name":"tools__add","arguments":"a=1"}`), fast: true},
		{name: "arguments null", body: call("7", `{"name":"tools__echo","arguments":null}`), fast: true},
		{name: "arguments missing", body: call("7", `{"name":"tools__echo"}`), fast: true},
		{name: "progress token", body: call("8", `{"_meta":{"progressToken":"p1"},"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "_meta null", body: call("8", `{"_meta":null,"name":"tools__add","arguments":{"a":2,"b":3}}`), fast: true},
		{name: "arguments over max_argument_bytes", body: call("9", `{"name":"tools__echo","arguments":`+big+`}`), fast: true},
		{name: "body over the limit", body: call("9", `{"name":"tools__echo","arguments":`+huge+`}`)},
		{name: "new protocol", body: call(`"n1"`, `{`+newMeta+`,"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: newHdr("tools__add"), fast: true},
		{name: "new protocol, denied", key: diffLimited, body: call(`"n2"`, `{`+newMeta+`,"name":"tools__echo","arguments":{}}`), hdr: newHdr("tools__echo"), fast: true},
		{name: "new protocol, no Mcp-Name", body: call(`"n3"`, `{`+newMeta+`,"name":"tools__add","arguments":{}}`),
			hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"}},
		{name: "new protocol, Mcp-Name mismatch", body: call(`"n3"`, `{`+newMeta+`,"name":"tools__add","arguments":{}}`), hdr: newHdr("tools__echo")},
		{name: "new protocol, no _meta", body: call(`"n4"`, `{"name":"tools__add","arguments":{}}`), hdr: newHdr("tools__add")},
		{name: "new protocol, no capabilities", body: call(`"n5"`, `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"tools__add","arguments":{}}`), hdr: newHdr("tools__add")},
		{name: "new protocol, client info null", body: call(`"n6"`, `{"_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":null,"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"tools__add","arguments":{}}`), hdr: newHdr("tools__add")},
		{name: "new protocol, capabilities wrong type", body: call(`"n7"`, `{"_meta":{"io.modelcontextprotocol/clientCapabilities":{"roots":5},"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"name":"tools__add","arguments":{}}`), hdr: newHdr("tools__add")},
		{name: "new _meta on an old header", body: call(`"n8"`, `{`+newMeta+`,"name":"tools__add","arguments":{}}`)},
		{name: "name not a string", body: call("10", `{"name":5,"arguments":{}}`)},
		{name: "name missing", body: call("10", `{"arguments":{}}`)},
		{name: "name null", body: call("10", `{"name":null}`)},
		{name: "_meta a string", body: call("10", `{"_meta":"x","name":"tools__add"}`)},
		{name: "params null", body: call("10", `null`)},
		{name: "params missing", body: `{"jsonrpc":"2.0","id":11,"method":"tools/call"}`},
		{name: "params an array", body: call("10", `["tools__add"]`)},
		{name: "unknown params member", body: call("10", `{"name":"tools__add","requestState":"x"}`)},
		{name: "jsonrpc missing", body: `{"id":12,"method":"tools/call","params":{"name":"tools__add"}}`},
		{name: "jsonrpc 1.0", body: `{"jsonrpc":"1.0","id":12,"method":"tools/call","params":{"name":"tools__add"}}`},
		{name: "id missing (a notification)", body: `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"tools__add"}}`},
		{name: "id null", body: call("null", `{"name":"tools__add"}`)},
		{name: "id an object", body: call(`{"a":1}`, `{"name":"tools__add"}`)},
		{name: "extra member", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tools__add"},"x":1}`, fast: true},
		{name: "extra params member", body: call("1", `{"name":"tools__add","arguments":{"a":1,"b":1},"x":{"y":[]}}`), fast: true},
		{name: "error member", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tools__add"},"error":1}`},
		{name: "member name in another case", body: `{"jsonrpc":"2.0","ID":1,"method":"tools/call","params":{"name":"tools__add"}}`},
		{name: "member name folded (long s)", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"tools__add"}}`},
		{name: "params member name in another case", body: call("1", `{"Name":"tools__add","arguments":{}}`)},
		{name: "escaped member name", body: call("1", `{"n\u0061me":"tools__add","arguments":{}}`)},
		{name: "argument named in another case", body: call("1", `{"name":"tools__echo","arguments":{"text":"t","ID":1}}`)},
		{name: "duplicate members", body: `{"jsonrpc":"2.0","id":1,"id":"two","method":"tools/call","params":{"name":"tools__secret","name":"tools__add","arguments":{"a":1,"b":1}}}`, fast: true},
		{name: "batch", body: `[` + call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`) + `]`},
		{name: "not JSON", body: `{"jsonrpc":"2.0",`},
		{name: "empty body", body: ``},
		{name: "too deep", body: call("1", `{"name":"tools__echo","arguments":{"text":`+strings.Repeat("[", 1001)+strings.Repeat("]", 1001)+`}}`)},
		{name: "another method", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`},
		{name: "bad Accept", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: map[string]string{"Accept": "application/json"}},
		{name: "Accept wildcards", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: map[string]string{"Accept": "application/*;q=0.9, */*"}, fast: true},
		{name: "bad Content-Type", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: map[string]string{"Content-Type": "text/plain"}},
		{name: "Content-Type with charset", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: map[string]string{"Content-Type": "application/json; charset=utf-8"}, fast: true},
		{name: "Last-Event-ID", body: call("1", `{"name":"tools__add","arguments":{"a":2,"b":3}}`), hdr: map[string]string{"Last-Event-ID": "1"}},
		{name: "unsupported protocol version", body: call("1", `{"name":"tools__add"}`), hdr: map[string]string{"MCP-Protocol-Version": "2024-11-05"}},
		{name: "no key", key: "-", body: call("1", `{"name":"tools__add"}`)},
	}
}

// TestFastCallMatchesSDK sends the same requests to a gateway with the fast path and to one without (the SDK
// handler answers everything) and requires the same status, content type and JSON; and that the fast path
// answered exactly the cases it should.
func TestFastCallMatchesSDK(t *testing.T) {
	fast := newFixture(t, diffKeys, ServerConfig{})
	slow := newFixture(t, diffKeys, ServerConfig{})
	slow.g.noFastPath = true
	fh, sh := fast.g.Handler(), slow.g.Handler()
	for _, c := range diffCases() {
		before := fast.g.fastCalls.Load()
		fs, fct, fb := diffPost(fh, c)
		took := fast.g.fastCalls.Load() != before
		ss, sct, sb := diffPost(sh, c)
		t.Logf("%s: %d %s", c.name, fs, trunc(fb))
		if took != c.fast {
			t.Errorf("%s: fast path taken %v, want %v", c.name, took, c.fast)
		}
		if fs != ss || fct != sct {
			t.Errorf("%s: fast %d %q, SDK %d %q", c.name, fs, fct, ss, sct)
		}
		var fj, sj any
		if err := json.Unmarshal(fb, &fj); err != nil && len(fb) > 0 {
			t.Errorf("%s: fast path answered non-JSON %q", c.name, trunc(fb))
		}
		if err := json.Unmarshal(sb, &sj); err != nil && len(sb) > 0 {
			t.Errorf("%s: SDK answered non-JSON %q", c.name, trunc(sb))
		}
		if !sameRetryAfter(fj, sj) {
			t.Errorf("%s: retry_after_seconds on one side only:\nfast %s\nSDK  %s", c.name, trunc(fb), trunc(sb))
		}
		if !reflect.DeepEqual(fj, sj) {
			t.Errorf("%s:\nfast %s\nSDK  %s", c.name, trunc(fb), trunc(sb))
		}
	}
	if fast.calls.Load() != slow.calls.Load() {
		t.Errorf("the servers saw %d calls through the fast path, %d through the SDK's", fast.calls.Load(), slow.calls.Load())
	}
	if n := fast.g.relayedCalls.Load(); n < 10 {
		t.Errorf("%d calls were relayed: the comparison did not cover the relay", n)
	}
}

// sameRetryAfter requires retry_after_seconds on both answers or neither, and removes it: the two gateways'
// calls are a moment apart, so the rounded-up wait may differ by a second, or by a whole window when a minute
// boundary falls between their first calls.
func sameRetryAfter(a, b any) bool {
	da, db := errorData(a), errorData(b)
	if da == nil || db == nil {
		return true
	}
	ra, _ := da["retry_after_seconds"].(float64)
	rb, _ := db["retry_after_seconds"].(float64)
	delete(da, "retry_after_seconds")
	delete(db, "retry_after_seconds")
	return (ra > 0) == (rb > 0)
}

func errorData(v any) map[string]any {
	m, _ := v.(map[string]any)
	e, _ := m["error"].(map[string]any)
	d, _ := e["data"].(map[string]any)
	return d
}

func diffPost(h http.Handler, c diffCase) (int, string, []byte) {
	path := c.path
	if path == "" {
		path = "/mcp"
	}
	mux := http.NewServeMux() // sets the {server} path value as Weir's router does
	mux.Handle("/mcp", h)
	mux.Handle("/mcp/{server}", h)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(c.body))
	hdr := map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
		"MCP-Protocol-Version": "2025-06-18"}
	switch c.key {
	case "":
		hdr["Authorization"] = "Bearer " + diffAll
	case "-":
	default:
		hdr["Authorization"] = "Bearer " + c.key
	}
	for k, v := range c.hdr {
		hdr[k] = v
	}
	for k, v := range hdr {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Header().Get("Content-Type"), b
}

func trunc(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// FuzzFastToolsCall: whatever the body and headers, a request the fast path takes is one the SDK reads as the
// same tools/call (method, id, name, arguments), and the fast path's answer is the SDK handler's (status,
// content type, JSON). The key may call add and echo only: no fuzzed call can reach a tool that sleeps or
// exits.
func FuzzFastToolsCall(f *testing.F) {
	keys := []governance.VirtualKeyConfig{{ID: "fuzz", Value: diffAll,
		MCP: &governance.MCPAccessConfig{Servers: []string{"tools"}, Tools: []string{"tools__add", "tools__echo"}}}}
	fast := newFixture(f, keys, ServerConfig{})
	slow := newFixture(f, keys, ServerConfig{})
	slow.g.noFastPath = true
	fh, sh := fast.g.Handler(), slow.g.Handler()
	for _, c := range diffCases() {
		if len(c.body) < 4096 {
			f.Add(c.body, uint8(0), "tools__add")
			f.Add(c.body, uint8(2), "tools__add")
		}
	}
	f.Add(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{`+newMeta+`,"name":"tools__echo","arguments":{"text":"hi"}}}`, uint8(2), "tools__echo")
	f.Add(`{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"tools__echo","arguments":{"text":"\u00e9\ud800"}}}`, uint8(1), "")
	f.Fuzz(func(t *testing.T, body string, version uint8, mcpName string) {
		versions := []string{"2025-06-18", "", "2026-07-28", "2025-03-26"}
		hdr := map[string]string{"MCP-Protocol-Version": versions[int(version)%len(versions)]}
		if hdr["MCP-Protocol-Version"] == newProtocol {
			hdr["Mcp-Method"], hdr["Mcp-Name"] = "tools/call", mcpName
		}
		h := http.Header{}
		for k, v := range hdr {
			if v != "" {
				h.Set(k, v)
			}
		}
		if c, ok := parseToolsCall([]byte(body), h); ok {
			msg, err := jsonrpc.DecodeMessage([]byte(body))
			req, isReq := msg.(*jsonrpc.Request)
			if err != nil || !isReq || req.Method != "tools/call" || req.ID != c.id {
				t.Fatalf("taken, but the SDK reads %#v, %v (fast path: id %v)", msg, err, c.id)
			}
			var p sdk.CallToolParamsRaw
			if err := json.Unmarshal(req.Params, &p); err != nil || p.Name != c.name || !bytes.Equal(p.Arguments, c.args) {
				t.Fatalf("taken, but the params read as %+v, %v (fast path: %q %s)", p, err, c.name, c.args)
			}
		}
		dc := diffCase{body: body, hdr: hdr}
		fs, fct, fb := diffPost(fh, dc)
		ss, sct, sb := diffPost(sh, dc)
		var fj, sj any
		_ = json.Unmarshal(fb, &fj)
		_ = json.Unmarshal(sb, &sj)
		if fs != ss || fct != sct || !reflect.DeepEqual(fj, sj) {
			t.Fatalf("fast %d %q %s\nSDK  %d %q %s", fs, fct, trunc(fb), ss, sct, trunc(sb))
		}
	})
}

// TestSDKClientTakesFastPath: the official SDK client (SEP-2575 requests, Mcp-Method and Mcp-Name headers)
// lists through the SDK handler and calls through the fast path, and gets its answers.
func TestSDKClientTakesFastPath(t *testing.T) {
	f := newFixture(t, diffKeys, ServerConfig{})
	mux := http.NewServeMux()
	mux.Handle("/mcp", f.g.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil)
	hc := &http.Client{Transport: headerTransport{base: http.DefaultTransport, headers: map[string]string{"Authorization": "Bearer " + diffAll}}}
	sess, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	tools, err := sess.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) != 6 {
		t.Fatalf("tools/list: %v %v", tools, err)
	}
	before := f.g.fastCalls.Load()
	res, err := sess.CallTool(t.Context(), &sdk.CallToolParams{Name: "tools__add", Arguments: map[string]int{"a": 20, "b": 22}})
	if err != nil || res.IsError || res.Content[0].(*sdk.TextContent).Text != "42" {
		t.Fatalf("tools/call: %+v %v", res, err)
	}
	if f.g.fastCalls.Load() != before+1 || f.g.relayedCalls.Load() != 1 {
		t.Fatalf("the SDK client's tools/call did not take the fast path and the relay (%d relayed)", f.g.relayedCalls.Load())
	}
	_, err = sess.CallTool(t.Context(), &sdk.CallToolParams{Name: "tools__nope"})
	if err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("unknown tool: %v", err)
	}
	if f.g.fastCalls.Load() != before+2 {
		t.Fatal("the refused call did not take the fast path")
	}
}
