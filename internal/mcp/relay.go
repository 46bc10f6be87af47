package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The relay sends a /mcp client's tools/call to a Streamable HTTP server itself, in the session the SDK
// client opened, and passes the server's result on as the server wrote it. Through the SDK client the same
// call decodes the answer three times (the headers' _meta, the message, the typed result, each with a fresh
// 32 KiB decoder), runs a goroutine per response stream, and Weir then encodes the typed result twice more
// (for the caller and the log): 135 KB more per call than the exchange itself (BenchmarkUpstreamCall,
// BenchmarkRelayCall), and a third of Weir's CPU under load (docs/benchmarks.md).
//
// It is used only where its exchange is exactly the SDK client's: a Streamable HTTP session of a protocol
// revision before SEP-2575 (whose requests need per-request _meta, parameter headers and multi-round-trip
// input, which the SDK client adds), and only for /mcp's fast path; agent mode and the SDK handler keep the
// typed client. The session itself (initialize, keep-alive pings, notifications, reconnection) stays the SDK
// client's. On the call's own response stream the relay answers what the SDK client would: a ping, roots/list
// (Weir has no roots), and "method not found" to any other request; a list_changed notification refreshes the
// server's lists. What it does not do is resume a stream the server cut before answering (the SDK client
// reconnects with Last-Event-ID): that call fails, and the session is reconnected.

// relay is one session's relay. It is replaced with the session.
type relay struct {
	sess    *sdk.ClientSession // the session whose id it sends
	url     string
	client  *http.Client // the session's: its headers and OAuth token
	session string       // Mcp-Session-Id; empty for a stateless server
	version string       // MCP-Protocol-Version, as negotiated
	maxSize int          // the largest event (or JSON body) read, as the SDK client's default
	refresh func()       // a list_changed notification arrived
	ids     atomic.Uint64
}

// newRelay is sess's relay, or nil where the SDK client must make the calls.
func newRelay(u *upstream, sess *sdk.ClientSession, client *http.Client) *relay {
	ir := sess.InitializeResult()
	if u.cfg.Transport != TransportStreamable || ir == nil || ir.ProtocolVersion >= newProtocol || client == nil {
		return nil
	}
	return &relay{sess: sess, url: u.cfg.URL, client: client, session: sess.ID(), version: ir.ProtocolVersion,
		maxSize: sdk.DefaultMaxEventSize, refresh: func() { notify(u.refreshc) }}
}

// relayAnswer is a tools/call's result as the server wrote it.
type relayAnswer struct {
	result  json.RawMessage
	isError bool // the result's isError
	hasMeta bool // the result has a _meta member (or one that encoding/json takes for it)
}

// errSessionGone is a 404 to a request with a session id: the server ended the session.
var errSessionGone = errors.New("the server no longer knows the session")

// call sends tools/call of tool with args and waits for its answer. A JSON-RPC error the server answered is a
// *jsonrpc.Error; any other error means no answer was had (and, when ctx ended first, the server is then told
// the call is cancelled).
func (r *relay) call(ctx context.Context, tool string, args json.RawMessage) (relayAnswer, error) {
	id := "weir-" + strconv.FormatUint(r.ids.Add(1), 10) // never an SDK client's id: those are numbers
	body, err := callBody(id, tool, args)
	if err != nil {
		return relayAnswer{}, err
	}
	ans, err := r.exchange(ctx, id, body)
	if err != nil && ctx.Err() != nil {
		go r.cancelled(ctx, id) // bounded by sendTimeout; the caller's timeout is answered now
	}
	return ans, err
}

// callBody is the request: arguments as the caller sent them (already checked to be an object, or absent).
func callBody(id, tool string, args json.RawMessage) ([]byte, error) {
	name, err := json.Marshal(tool)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 96+len(name)+len(args))
	b = append(b, `{"jsonrpc":"2.0","id":"`...)
	b = append(b, id...)
	b = append(b, `","method":"tools/call","params":{"name":`...)
	b = append(b, name...)
	if len(args) > 0 && !isNull(args) {
		b = append(b, `,"arguments":`...)
		b = append(b, args...)
	}
	return append(b, "}}"...), nil
}

func (r *relay) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json, text/event-stream"}
	h["Mcp-Protocol-Version"] = []string{r.version}
	if r.session != "" {
		h["Mcp-Session-Id"] = []string{r.session}
	}
	return r.client.Do(req)
}

func (r *relay) exchange(ctx context.Context, id string, body []byte) (relayAnswer, error) {
	resp, err := r.post(ctx, body)
	if err != nil {
		return relayAnswer{}, err
	}
	defer drain(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return relayAnswer{}, r.refused(resp)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return r.read(ctx, id, mt, resp.Body)
}

// read reads the call's answer from a 2xx response's body of media type mt.
func (r *relay) read(ctx context.Context, id, mt string, body io.Reader) (relayAnswer, error) {
	switch mt {
	case "application/json":
		b, err := io.ReadAll(io.LimitReader(body, int64(r.maxSize)+1))
		if err != nil {
			return relayAnswer{}, err
		}
		if len(b) > r.maxSize {
			return relayAnswer{}, fmt.Errorf("the answer is over %d bytes", r.maxSize)
		}
		ans, done, err := r.message(ctx, id, b)
		if err == nil && !done {
			err = errors.New("the server answered another message than the call's response")
		}
		return ans, err
	case "text/event-stream":
		events := newEventReader(body, r.maxSize)
		for {
			data, err := events.next()
			if err != nil {
				if err == io.EOF {
					err = errors.New("the server ended the call's stream without answering")
				}
				return relayAnswer{}, err
			}
			if ans, done, err := r.message(ctx, id, data); done || err != nil {
				return ans, err
			}
		}
	}
	return relayAnswer{}, fmt.Errorf("unsupported content type %q", mt)
}

// drainWait is how long the rest of a response stream is read after the answer (a server closes the stream
// after it, and a body read to its end leaves the connection reusable) before it is cut.
const drainWait = 100 * time.Millisecond

func drain(body io.ReadCloser) {
	t := time.AfterFunc(drainWait, func() { body.Close() })
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	t.Stop()
	body.Close()
}

// refused is the error of a non-2xx answer: the JSON-RPC error in its body if it has one (as the SDK client
// reads it), errSessionGone for a 404 in a session, or the status.
func (r *relay) refused(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m wireMessage
	if json.Unmarshal(b, &m) == nil && m.Error != nil && m.Method == "" {
		return m.Error
	}
	if resp.StatusCode == http.StatusNotFound && r.session != "" {
		return errSessionGone
	}
	return fmt.Errorf("HTTP %s", resp.Status)
}

// wireMessage is any JSON-RPC message as the relay reads it.
type wireMessage struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   *jsonrpc.Error  `json:"error"`
}

// message handles one message of the call's answer; done when it was the call's response.
func (r *relay) message(ctx context.Context, id string, data []byte) (relayAnswer, bool, error) {
	var m wireMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return relayAnswer{}, false, fmt.Errorf("a message that is not JSON-RPC: %v", err)
	}
	if m.JSONRPC != "2.0" {
		return relayAnswer{}, false, errors.New(`a message without "jsonrpc": "2.0"`)
	}
	switch {
	case m.Method != "" && len(m.ID) > 0 && !isNull(m.ID):
		r.answer(ctx, m)
		return relayAnswer{}, false, nil
	case m.Method != "":
		if strings.HasSuffix(m.Method, "/list_changed") {
			r.refresh()
		}
		return relayAnswer{}, false, nil // progress and log notifications: the SDK client drops them too
	}
	if s, ok := plainString(m.ID); !ok || s != id {
		return relayAnswer{}, false, nil // not this call's
	}
	if m.Error != nil {
		return relayAnswer{}, true, m.Error
	}
	var res struct {
		IsError bool            `json:"isError"`
		Meta    json.RawMessage `json:"_meta"`
	}
	if !isObject(m.Result) || json.Unmarshal(m.Result, &res) != nil {
		return relayAnswer{}, true, errors.New("the call's result is not an object")
	}
	return relayAnswer{result: m.Result, isError: res.IsError, hasMeta: res.Meta != nil}, true, nil
}

// answer replies to a request the server made on the call's stream, as the SDK client would.
func (r *relay) answer(ctx context.Context, m wireMessage) {
	out := map[string]any{"jsonrpc": "2.0", "id": m.ID}
	switch m.Method {
	case "ping":
		out["result"] = struct{}{}
	case "roots/list":
		out["result"] = map[string]any{"roots": []any{}}
	default:
		out["error"] = &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "method not found: " + m.Method}
	}
	r.send(ctx, out)
}

// cancelled tells the server that the call with id is no longer awaited, as the SDK client does.
func (r *relay) cancelled(ctx context.Context, id string) {
	reason := "the call was cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		reason = "the call timed out"
	}
	r.send(ctx, map[string]any{"jsonrpc": "2.0", "method": "notifications/cancelled",
		"params": map[string]any{"requestId": id, "reason": reason}})
}

// sendTimeout bounds a reply or notification the relay sends; they outlive the call's context.
const sendTimeout = 5 * time.Second

func (r *relay) send(ctx context.Context, msg any) {
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	if resp, err := r.post(ctx, b); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// eventReader reads the data of a server-sent event stream's message events.
type eventReader struct {
	br      *bufio.Reader
	maxSize int
	data    []byte
}

func newEventReader(r io.Reader, maxSize int) *eventReader {
	return &eventReader{br: bufio.NewReaderSize(r, 4096), maxSize: maxSize}
}

// next is the data of the next message event (one whose type is absent or "message") that has data; data
// lines are joined with newlines. io.EOF when the stream ends.
func (e *eventReader) next() ([]byte, error) {
	e.data = e.data[:0]
	size, hasData, message := 0, false, true
	for {
		line, err := e.line(&size)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 { // the event's end
			if hasData && message && len(e.data) > 0 { // an event without data (a priming event) is no message
				return e.data, nil
			}
			e.data, size, hasData, message = e.data[:0], 0, false, true
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if hasData {
				e.data = append(e.data, '\n')
			}
			e.data, hasData = append(e.data, value...), true
		case "event":
			message = len(value) == 0 || string(value) == "message"
		}
	}
}

// line reads one line without its end (LF, CRLF or CR before LF), counting its bytes into *size, which must
// stay within maxSize for the event.
func (e *eventReader) line(size *int) ([]byte, error) {
	var long []byte
	for {
		chunk, err := e.br.ReadSlice('\n')
		*size += len(chunk)
		if *size > e.maxSize {
			return nil, fmt.Errorf("an event of over %d bytes", e.maxSize)
		}
		switch {
		case err == bufio.ErrBufferFull:
			long = append(long, chunk...)
			continue
		case err == io.EOF && len(chunk)+len(long) > 0:
			err = nil // a last line without its end
		case err != nil:
			return nil, err
		}
		if long != nil {
			chunk = append(long, chunk...)
		}
		return bytes.TrimRight(chunk, "\r\n"), nil
	}
}
