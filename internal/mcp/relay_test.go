package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
)

// scripted is an upstream that answers the relay's call with a script, and records what it was sent.
type scripted struct {
	mu       sync.Mutex
	requests []http.Header
	bodies   []string
}

func (s *scripted) record(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Header.Clone())
	s.bodies = append(s.bodies, string(b))
	return string(b)
}

func (s *scripted) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// callID is the id of the relay's tools/call in body.
func callID(t *testing.T, body string) string {
	var m struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Errorf("the relay sent %q: %v", body, err)
	}
	return m.ID
}

func sseEvents(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, e := range events {
		_, _ = io.WriteString(w, e)
	}
}

func newTestRelay(url string, refreshes *atomic.Int32) *relay {
	return &relay{url: url, client: &http.Client{}, session: "sess-1", version: "2025-11-25", maxSize: 1 << 16,
		refresh: func() { refreshes.Add(1) }}
}

// TestRelayAnswers: each way a server may answer a tools/call, and what the relay makes of it.
func TestRelayAnswers(t *testing.T) {
	ok := func(id string) string {
		return `{"jsonrpc":"2.0","id":"` + id + `","result":{"content":[{"type":"text","text":"5"}]}}`
	}
	cases := []struct {
		name   string
		answer func(w http.ResponseWriter, id string)
		// want is the result (JSON) or, when it starts with "error:", a substring of the error.
		want      string
		isError   bool
		rpcCode   int64 // a JSON-RPC error the server answered
		gone      bool  // errSessionGone
		replies   []string
		refreshes int32
	}{
		{name: "JSON", answer: func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, ok(id))
		}, want: `{"content":[{"type":"text","text":"5"}]}`},
		{name: "event stream", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, "event: message\ndata: "+ok(id)+"\n\n")
		}, want: `{"content":[{"type":"text","text":"5"}]}`},
		{name: "event stream with CRLF, a priming event, a comment and data over two lines", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, "id: 0\r\ndata:\r\n\r\n", ": keep-alive\r\n\r\n",
				`data: {"jsonrpc":"2.0","id":"`+id+`",`+"\r\n"+`data: "result":{"content":[],"isError":true}}`+"\r\n\r\n")
		}, want: `{"content":[],"isError":true}`, isError: true},
		{name: "notifications, server requests and another id before the answer", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w,
				`data: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}`+"\n\n",
				`data: {"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`+"\n\n",
				`data: {"jsonrpc":"2.0","id":7,"method":"ping"}`+"\n\n",
				`data: {"jsonrpc":"2.0","id":"r","method":"roots/list"}`+"\n\n",
				`data: {"jsonrpc":"2.0","id":8,"method":"sampling/createMessage","params":{}}`+"\n\n",
				`data: {"jsonrpc":"2.0","id":"weir-other","result":{"content":[]}}`+"\n\n",
				"event: other\ndata: "+`{"jsonrpc":"2.0","id":"`+id+`","result":{"wrong":true}}`+"\n\n",
				"data: "+ok(id)+"\n\n")
		}, want: `{"content":[{"type":"text","text":"5"}]}`, refreshes: 1,
			replies: []string{`{"id":7,"jsonrpc":"2.0","result":{}}`, `{"id":"r","jsonrpc":"2.0","result":{"roots":[]}}`,
				`{"error":{"code":-32601,"message":"method not found: sampling/createMessage"},"id":8,"jsonrpc":"2.0"}`}},
		{name: "a JSON-RPC error", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, `data: {"jsonrpc":"2.0","id":"`+id+`","error":{"code":-32602,"message":"bad arguments"}}`+"\n\n")
		}, rpcCode: -32602, want: "error:bad arguments"},
		{name: "an HTTP error with a JSON-RPC error", answer: func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":"`+id+`","error":{"code":-32600,"message":"invalid"}}`)
		}, rpcCode: -32600, want: "error:invalid"},
		{name: "session gone", answer: func(w http.ResponseWriter, id string) {
			http.Error(w, "session not found", http.StatusNotFound)
		}, gone: true, want: "error:no longer knows"},
		{name: "an HTTP error", answer: func(w http.ResponseWriter, id string) {
			http.Error(w, "oops", http.StatusInternalServerError)
		}, want: "error:HTTP 500"},
		{name: "the stream ends without the answer", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, `data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}`+"\n\n", "data: "+ok(id))
		}, want: "error:without answering"},
		{name: "a result that is not an object", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, `data: {"jsonrpc":"2.0","id":"`+id+`","result":[1]}`+"\n\n")
		}, want: "error:not an object"},
		{name: "not JSON", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, "data: {\"jsonrpc\n\n")
		}, want: "error:not JSON-RPC"},
		{name: "not JSON-RPC 2.0", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, `data: {"id":"`+id+`","result":{}}`+"\n\n")
		}, want: "error:without"},
		{name: "an event over the limit", answer: func(w http.ResponseWriter, id string) {
			sseEvents(w, "data: "+strings.Repeat(" ", 1<<16)+ok(id)+"\n\n")
		}, want: "error:over 65536 bytes"},
		{name: "JSON over the limit", answer: func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, strings.Repeat(" ", 1<<16)+ok(id))
		}, want: "error:over 65536 bytes"},
		{name: "JSON of another message", answer: func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","method":"notifications/message"}`)
		}, want: "error:another message"},
		{name: "another content type", answer: func(w http.ResponseWriter, id string) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, ok(id))
		}, want: "error:unsupported content type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := &scripted{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := up.record(r)
				if strings.Contains(body, `"tools/call"`) {
					c.answer(w, callID(t, body))
					return
				}
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			var refreshes atomic.Int32
			r := newTestRelay(srv.URL, &refreshes)
			ans, err := r.call(t.Context(), "add", json.RawMessage(`{ "b": 3,"a" :2 }`))
			if msg, isErr := strings.CutPrefix(c.want, "error:"); isErr {
				if err == nil || !strings.Contains(err.Error(), msg) {
					t.Fatalf("err %v, want one containing %q (answer %s)", err, msg, ans.result)
				}
				var we *jsonrpc.Error
				if got := errors.As(err, &we); got != (c.rpcCode != 0) || got && we.Code != c.rpcCode {
					t.Errorf("JSON-RPC error %v, want code %d", we, c.rpcCode)
				}
				if errors.Is(err, errSessionGone) != c.gone {
					t.Errorf("session gone: %v, want %v", errors.Is(err, errSessionGone), c.gone)
				}
			} else if err != nil || string(ans.result) != c.want || ans.isError != c.isError {
				t.Fatalf("answer %s isError %v, err %v; want %s isError %v", ans.result, ans.isError, err, c.want, c.isError)
			}
			if refreshes.Load() != c.refreshes {
				t.Errorf("%d refreshes, want %d", refreshes.Load(), c.refreshes)
			}
			sent := up.sent()
			id := callID(t, sent[0])
			if want := `{"jsonrpc":"2.0","id":"` + id + `","method":"tools/call","params":{"name":"add","arguments":{ "b": 3,"a" :2 }}}`; sent[0] != want {
				t.Errorf("sent %s, want %s (the arguments as they came)", sent[0], want)
			}
			h := up.requests[0]
			for k, v := range map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
				"Mcp-Session-Id": "sess-1", "Mcp-Protocol-Version": "2025-11-25"} {
				if h.Get(k) != v {
					t.Errorf("header %s: %q, want %q", k, h.Get(k), v)
				}
			}
			if got := sent[1:]; strings.Join(got, "\n") != strings.Join(c.replies, "\n") {
				t.Errorf("replies to the server's requests:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.replies, "\n"))
			}
		})
	}
}

// TestRelayTimeoutCancels: the relay returns when the call's context ends, and the server that did not answer
// in time is then told the call is cancelled, with the call's id.
func TestRelayTimeoutCancels(t *testing.T) {
	up := &scripted{}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body := up.record(r); strings.Contains(body, `"tools/call"`) {
			sseEvents(w)
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	defer close(release)
	var refreshes atomic.Int32
	r := newTestRelay(srv.URL, &refreshes)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := r.call(ctx, "sleep", nil)
	if err == nil || ctx.Err() == nil {
		t.Fatalf("err %v, ctx %v", err, ctx.Err())
	}
	sent := up.sent()
	for deadline := time.Now().Add(5 * time.Second); len(sent) < 2 && time.Now().Before(deadline); sent = up.sent() {
		time.Sleep(5 * time.Millisecond)
	}
	if len(sent) != 2 {
		t.Fatalf("sent %q", sent)
	}
	want := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"reason":"the call timed out","requestId":"` + callID(t, sent[0]) + `"}}`
	if sent[1] != want {
		t.Errorf("sent %s, want %s", sent[1], want)
	}
	if !strings.HasSuffix(sent[0], `"params":{"name":"sleep"}}`) {
		t.Errorf("no arguments: sent %s", sent[0])
	}
}

// TestRelayUsed: the fast path relays calls to a Streamable HTTP server of the previous protocol revisions,
// whichever revision the caller speaks; agent mode's calls go through the typed client.
func TestRelayUsed(t *testing.T) {
	f := newFixture(t, diffKeys, ServerConfig{})
	h := f.g.Handler()
	relayed := func(c diffCase) int64 {
		before := f.g.relayedCalls.Load()
		if st, _, b := diffPost(h, c); st != http.StatusOK || !strings.Contains(string(b), `"text":"5"`) {
			t.Fatalf("%s: %d %s", c.name, st, b)
		}
		return f.g.relayedCalls.Load() - before
	}
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tools__add","arguments":{"a":2,"b":3}}}`
	if n := relayed(diffCase{name: "old protocol", body: call}); n != 1 {
		t.Errorf("old protocol: %d calls relayed, want 1", n)
	}
	newCall := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + newMeta + `,"name":"tools__add","arguments":{"a":2,"b":3}}}`
	if n := relayed(diffCase{name: "new protocol", body: newCall,
		hdr: map[string]string{"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "tools__add"}}); n != 1 {
		t.Errorf("a SEP-2575 caller's: %d calls relayed, want 1", n)
	}
	before := f.g.relayedCalls.Load()
	res, err := f.g.CallTool(t.Context(), f.gov.Principal("all"), "tools__add", json.RawMessage(`{"a":2,"b":3}`))
	if err != nil || res.Content[0].(*sdk.TextContent).Text != "5" || f.g.relayedCalls.Load() != before {
		t.Errorf("agent mode's CallTool: %v %v, relayed %d", res, err, f.g.relayedCalls.Load()-before)
	}
}

// TestRelaySessionGoneReconnects: when the server forgets the session, the relayed call fails as
// server_unavailable and the gateway reconnects; the next call is relayed in the new session.
func TestRelaySessionGoneReconnects(t *testing.T) {
	f := newFixture(t, diffKeys, ServerConfig{})
	u := f.g.ups[0]
	old := u.relay.Load()
	u.relay.Store(&relay{sess: old.sess, url: old.url, client: old.client, session: "forgotten", version: old.version,
		maxSize: old.maxSize, refresh: old.refresh})
	h := f.g.Handler()
	call := diffCase{body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tools__add","arguments":{"a":2,"b":3}}}`}
	if st, _, b := diffPost(h, call); st != http.StatusOK || !strings.Contains(string(b), "server_unavailable") {
		t.Fatalf("call in a forgotten session: %d %s", st, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for u.relay.Load() == nil || u.relay.Load().sess == old.sess {
		if time.Now().After(deadline) {
			t.Fatal("no new session")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, _, b := diffPost(h, call); st != http.StatusOK || !strings.Contains(string(b), `"text":"5"`) {
		t.Fatalf("call after reconnecting: %d %s", st, b)
	}
}

// FuzzRelayRead: whatever a server streams back, the relay does not panic, and a result it returns is a JSON
// object that was sent as the call's answer.
func FuzzRelayRead(f *testing.F) {
	for _, s := range []string{
		"data: {\"jsonrpc\":\"2.0\",\"id\":\"weir-1\",\"result\":{\"content\":[]}}\n\n",
		"id: 1\r\ndata:\r\n\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"weir-1\",\r\ndata: \"result\":{\"isError\":true}}\r\n\r\n",
		"data: {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"weir-1\",\"error\":{\"code\":1,\"message\":\"m\"}}\n\n",
		"event: x\ndata: {}\n\n:c\n\ndata",
		"{\"jsonrpc\":\"2.0\",\"id\":\"weir-1\",\"result\":{}}",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	var refreshes atomic.Int32
	r := &relay{url: "http://127.0.0.1:1/", client: &http.Client{Transport: accepted{}}, version: "2025-11-25", maxSize: 1 << 12,
		refresh: func() { refreshes.Add(1) }}
	f.Fuzz(func(t *testing.T, body string, stream bool) {
		mt := "application/json"
		if stream {
			mt = "text/event-stream"
		}
		ans, err := r.read(context.Background(), "weir-1", mt, strings.NewReader(body))
		if err != nil {
			return
		}
		var obj map[string]any
		if json.Unmarshal(ans.result, &obj) != nil || !strings.Contains(body, `"weir-1"`) {
			t.Fatalf("result %q from %q", ans.result, body)
		}
	})
}

// accepted answers every request 202, without a network.
type accepted struct{}

func (accepted) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusAccepted, Body: http.NoBody, Request: r}, nil
}

// TestWithServerInfo: a relayed result names the answering server in its _meta as the typed path's does.
func TestWithServerInfo(t *testing.T) {
	impl := &sdk.Implementation{Name: "weir", Version: "1"}
	info := `{"name":"weir","version":"1"}`
	for _, c := range []struct{ in, want string }{
		{`{"content":[]}`, `{"_meta":{"io.modelcontextprotocol/serverInfo":` + info + `},"content":[]}`},
		{` { } `, `{"_meta":{"io.modelcontextprotocol/serverInfo":` + info + `}}`},
		{`{"_meta":{"k":1},"content":[]}`, `{"_meta":{"io.modelcontextprotocol/serverInfo":` + info + `,"k":1},"content":[]}`},
		{`{"_meta":null,"content":[]}`, `{"_meta":{"io.modelcontextprotocol/serverInfo":` + info + `},"content":[]}`},
		{`{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"}}}`, `{"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"up"}}}`},
		{`{"_meta":5}`, "error"},
	} {
		var probe struct {
			Meta json.RawMessage `json:"_meta"`
		}
		_ = json.Unmarshal([]byte(c.in), &probe)
		got, err := withServerInfo(relayAnswer{result: json.RawMessage(c.in), hasMeta: probe.Meta != nil}, impl)
		if c.want == "error" {
			if err == nil {
				t.Errorf("%s: %s, want an error", c.in, got)
			}
			continue
		}
		var g, w any
		if err != nil || json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(c.want), &w) != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s %v, want %s", c.in, got, err, c.want)
		}
	}
}

// TestToolErrorCounted: a result with isError is counted as tool_error whether it was relayed (/mcp) or typed
// (agent mode's CallTool).
func TestToolErrorCounted(t *testing.T) {
	f := newFixture(t, diffKeys, ServerConfig{})
	reg := prometheus.NewRegistry()
	f.g.obs = newObserver(Options{Metrics: reg, Log: f.g.log})
	bad := json.RawMessage(`{"a":"two"}`)
	call := diffCase{body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tools__add","arguments":` + string(bad) + `}}`}
	if st, _, b := diffPost(f.g.Handler(), call); st != http.StatusOK || !strings.Contains(string(b), `"isError":true`) || f.g.relayedCalls.Load() != 1 {
		t.Fatalf("relayed: %d %s (%d relayed)", st, b, f.g.relayedCalls.Load())
	}
	if res, err := f.g.CallTool(t.Context(), f.gov.Principal("all"), "tools__add", bad); err != nil || !res.IsError {
		t.Fatalf("typed: %v %v", res, err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	for _, mf := range families {
		if mf.GetName() != "weir_mcp_tool_calls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" {
					counts[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	if counts["tool_error"] != 2 || counts["ok"] != 0 {
		t.Fatalf("calls by status: %v, want 2 tool_error", counts)
	}
}
