package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// The fast path answers the commonest /mcp request, a POST of one tools/call, without an SDK server session:
// the SDK's stateless handler builds a whole session per HTTP request (a synthesized initialize, a JSON-RPC
// connection, goroutines, a 32 KiB decoder per message), which costs several times the call itself. It runs
// the same governed call as the SDK path and answers the same JSON; it takes only requests it can tell are
// well-formed the way the SDK would read them, and hands anything else (other methods, batches,
// notifications, malformed or unusual requests, every error the SDK itself reports) back to the SDK handler
// with the body unread, so the two paths cannot be told apart by a client.

// newProtocol is the first MCP revision whose requests carry their protocol version, client info and
// capabilities in params._meta (SEP-2575) and must repeat method and name in Mcp-Method and Mcp-Name.
const newProtocol = "2026-07-28"

// sdkMaxDepth is the SDK's nesting limit for a message; a deeper one is the SDK's to refuse.
const sdkMaxDepth = 1000

// toolsCall is a tools/call request as the fast path read it.
type toolsCall struct {
	id   jsonrpc.ID
	name string
	args json.RawMessage
	// newProtocol: the request is SEP-2575's (a result is annotated with the server's info, as the SDK does).
	newProtocol bool
}

// bodyLimit is the largest request body /mcp reads: the largest arguments plus room for the envelope.
func (g *Gateway) bodyLimit() int64 { return g.cfg.MaxArgumentBytes + 64<<10 }

// serveFastCall answers r if it is one tools/call the fast path takes, and reports whether it did. When it
// did not, r.Body reads as it came, for the SDK handler.
func (g *Gateway) serveFastCall(w http.ResponseWriter, r *http.Request, p *governance.Principal, scope *upstream, impl *sdk.Implementation) bool {
	if g.noFastPath || !fastHeaders(r) {
		return false
	}
	limit := g.bodyLimit()
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil || int64(len(body)) > limit {
		// The SDK reads the rest and reports the error or the size.
		r.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(body), r.Body), Closer: r.Body}
		return false
	}
	call, ok := parseToolsCall(body, r.Header)
	if !ok {
		r.Body = io.NopCloser(bytes.NewReader(body))
		return false
	}
	ctx := telemetry.ExtractHeaders(r.Context(), r.Header)
	u, tool := scope, call.name
	if scope == nil {
		u, tool = g.split(call.name)
	}
	res, raw, err := g.callAs(ctx, p, u, tool, call.name, call.args, true)
	resp := &jsonrpc.Response{ID: call.id}
	var ce *Error
	switch {
	case errors.As(err, &ce):
		resp.Error = ce.Wire()
	case err != nil:
		resp.Error = err
	default:
		var encErr error
		if resp.Result, encErr = resultJSON(res, raw, call.newProtocol, impl); encErr != nil {
			resp.Result, resp.Error = nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: encErr.Error()}
		}
	}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		writeRPCError(w, http.StatusInternalServerError, jsonrpc.CodeInternalError, err.Error(), "")
		return true
	}
	g.fastCalls.Add(1)
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// fastHeaders reports whether r passes the SDK's checks of a POST's headers (method, Content-Type, Accept, no
// Last-Event-ID), as the SDK makes them. A request that fails one is the SDK's to refuse.
func fastHeaders(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Body == nil || len(r.Header.Values("Last-Event-ID")) > 0 {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return false
	}
	jsonOK, streamOK := false, false
	for _, v := range r.Header.Values("Accept") {
		for _, tok := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(strings.TrimSpace(tok), ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// parseToolsCall reads body as one JSON-RPC tools/call request, and reports false for anything else or
// anything the SDK might read differently: a version tag, method, id or name written with escapes or not valid
// UTF-8, an id that is neither a string nor a number, a missing or non-string name, a _meta that is not an
// object, members the SDK reads with a type of its own (error, inputResponses, requestState), and, by the
// protocol version in h, SEP-2575's _meta and headers not as the SDK requires them; and what plainBody refuses.
func parseToolsCall(body []byte, h http.Header) (toolsCall, bool) {
	var c toolsCall
	var msg wireCall
	if !plainBody(body) || json.Unmarshal(body, &msg) != nil || string(msg.JSONRPC) != `"2.0"` ||
		string(msg.Method) != `"tools/call"` || msg.Result != nil || msg.Error != nil {
		return c, false
	}
	var id any
	if s, ok := plainString(msg.ID); ok {
		id = s
	} else if f, ok := number(msg.ID); ok {
		id = f // the SDK reads a numeric id as a float64, then an int64
	} else {
		return c, false
	}
	var err error
	p := msg.Params
	if c.id, err = jsonrpc.MakeID(id); err != nil || p == nil || p.InputResponses != nil || p.RequestState != nil {
		return c, false
	}
	var ok bool
	if c.name, ok = plainString(p.Name); !ok {
		return c, false
	}
	c.args = p.Arguments
	version := h.Get("MCP-Protocol-Version")
	if version >= newProtocol {
		c.newProtocol = true
		if h.Get("Mcp-Method") != "tools/call" || h.Get("Mcp-Name") != c.name {
			return c, false
		}
		if m := lastMeta.Load(); m != nil && m.version == version && bytes.Equal(m.raw, p.Meta) {
			return c, true
		}
	}
	var meta map[string]json.RawMessage // a map: _meta's keys are the client's
	if p.Meta != nil && json.Unmarshal(p.Meta, &meta) != nil {
		return c, false
	}
	if !c.newProtocol {
		// Before SEP-2575 the SDK checks a _meta protocol version against the header: its to answer.
		_, has := meta[sdk.MetaKeyProtocolVersion]
		return c, !has
	}
	if !newProtocolMeta(meta, version) {
		return c, false
	}
	lastMeta.Store(&metaSeen{raw: p.Meta, version: version})
	return c, true
}

// lastMeta is the last SEP-2575 _meta newProtocolMeta accepted: a client sends the same one with each call,
// and checking it costs more than the rest of the request's reading. (Whether a _meta passes depends on its
// bytes and the protocol version only.)
var lastMeta atomic.Pointer[metaSeen]

type metaSeen struct {
	raw     []byte
	version string
}

// wireCall is a JSON-RPC request as parseToolsCall reads it. Error, Result, InputResponses and RequestState
// are there to be refused.
type wireCall struct {
	JSONRPC json.RawMessage `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  json.RawMessage `json:"method"`
	Params  *struct {
		Name           json.RawMessage `json:"name"`
		Arguments      json.RawMessage `json:"arguments"`
		Meta           json.RawMessage `json:"_meta"`
		InputResponses json.RawMessage `json:"inputResponses"`
		RequestState   json.RawMessage `json:"requestState"`
	} `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// wireNames are wireCall's member names.
var wireNames = [][]byte{[]byte("jsonrpc"), []byte("id"), []byte("method"), []byte("params"), []byte("name"),
	[]byte("arguments"), []byte("_meta"), []byte("inputResponses"), []byte("requestState"), []byte("result"),
	[]byte("error")}

// plainBody reports whether body, in one pass, nests no deeper than the SDK reads and has no member name
// that encoding/json would take for one of wireNames while the SDK would not: encoding/json matches member
// names regardless of case (and the SDK's decoder does not), and an escaped name may read as any. Such a name
// anywhere (in arguments too) sends the request to the SDK.
func plainBody(b []byte) bool {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			start, escaped := i+1, false
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					escaped = true
					i++
				}
			}
			if i >= len(b) {
				return true // not JSON: the decoder refuses it
			}
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
				j++
			}
			if j == len(b) || b[j] != ':' {
				continue // a value, not a member name
			}
			if escaped {
				return false
			}
			name := b[start:i]
			for _, w := range wireNames {
				if bytes.EqualFold(name, w) && !bytes.Equal(name, w) {
					return false
				}
			}
		case '{', '[':
			if depth++; depth > sdkMaxDepth {
				return false
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return true
}

// plainString is raw's value if raw is a JSON string without escapes, in valid UTF-8: one that reads the same
// to any decoder.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// number is raw's value if raw, valid JSON, is a finite number.
func number(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// newProtocolMeta reports whether a SEP-2575 tools/call's _meta is as the SDK requires: its protocol version
// the header's, client capabilities present and client info, if present, an implementation.
func newProtocolMeta(meta map[string]json.RawMessage, version string) bool {
	if v, ok := plainString(meta[sdk.MetaKeyProtocolVersion]); !ok || v != version {
		return false
	}
	var caps *struct { // the SDK's shape of SEP-2575 client capabilities
		sdk.ClientCapabilities
		Roots *struct {
			ListChanged bool `json:"listChanged,omitempty"`
		} `json:"roots,omitempty"`
	}
	if raw := meta[sdk.MetaKeyClientCapabilities]; len(raw) == 0 || json.Unmarshal(raw, &caps) != nil || caps == nil {
		return false
	}
	if raw, ok := meta[sdk.MetaKeyClientInfo]; ok {
		var info *sdk.Implementation
		if json.Unmarshal(raw, &info) != nil || info == nil {
			return false
		}
	}
	return true
}

// resultJSON is a call's result as the caller gets it: a relayed one as the server wrote it, a typed one
// encoded; for a SEP-2575 caller, with the answering server named in its _meta.
func resultJSON(res *sdk.CallToolResult, raw relayAnswer, newProtocol bool, impl *sdk.Implementation) (json.RawMessage, error) {
	if raw.result != nil {
		if newProtocol {
			return withServerInfo(raw, impl)
		}
		return raw.result, nil
	}
	if newProtocol {
		annotateServerInfo(res, impl)
	}
	return json.Marshal(res)
}

// withServerInfo is annotateServerInfo for a relayed result. A result without _meta (the usual: a server of
// the previous revisions does not name itself) gets one written in front of its members; one with a _meta is
// decoded and encoded again.
func withServerInfo(raw relayAnswer, impl *sdk.Implementation) (json.RawMessage, error) {
	info, err := json.Marshal(impl)
	if err != nil {
		return nil, err
	}
	if !raw.hasMeta {
		rest := bytes.TrimSpace(raw.result)[1:] // an object: relay.message checked
		b := make([]byte, 0, len(raw.result)+len(info)+64)
		b = append(b, `{"_meta":{"`+sdk.MetaKeyServerInfo+`":`...)
		b = append(b, info...)
		b = append(b, '}')
		if r := bytes.TrimSpace(rest); len(r) > 0 && r[0] != '}' {
			b = append(b, ',')
		}
		return append(b, rest...), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw.result, &obj); err != nil {
		return nil, err
	}
	var meta map[string]json.RawMessage
	if m := obj["_meta"]; len(m) > 0 && !isNull(m) {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, fmt.Errorf("the result's _meta is not an object: %v", err)
		}
	}
	if _, ok := meta[sdk.MetaKeyServerInfo]; ok {
		return raw.result, nil
	}
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	meta[sdk.MetaKeyServerInfo] = info
	if obj["_meta"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

// annotateServerInfo names the answering server in a SEP-2575 result's _meta unless the result already names
// one (an upstream's answer names itself), as the SDK does.
func annotateServerInfo(res *sdk.CallToolResult, impl *sdk.Implementation) {
	m := res.GetMeta()
	if _, ok := m[sdk.MetaKeyServerInfo]; ok {
		return
	}
	if m == nil {
		m = map[string]any{}
	}
	m[sdk.MetaKeyServerInfo] = impl
	res.SetMeta(m)
}
