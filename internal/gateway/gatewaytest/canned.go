// Package gatewaytest holds the test double shared by the gateway core's tests and its layers' tests (one
// package's _test files cannot import another's), so both measure the pipeline with no network.
package gatewaytest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing/iotest"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

// Canned is an OpenAI-dialect provider that answers every call with fixed bytes, so benchmarks measure the
// pipeline and nothing else.
type Canned struct {
	ProviderName string
	Body         string // the answer to a call that does not stream
	Stream       string // the answer to a streaming call (served as text/event-stream)
	Status       int    // 0: 200
	Header       http.Header
	Record       bool // keep a copy of every call (Calls)
	// Hold, when set, keeps each call waiting until it is closed; Entered counts the calls that got this far.
	Hold    chan struct{}
	Entered atomic.Int32
	Cut     error // when set, a stream breaks with it after its canned bytes

	mu    sync.Mutex
	calls []provider.Call
}

// Calls are the calls recorded so far (Record).
func (p *Canned) Calls() []provider.Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]provider.Call(nil), p.calls...)
}

func (p *Canned) Name() string              { return p.ProviderName }
func (p *Canned) Dialect() dialects.Dialect { return dialects.OpenAI }

// Send answers c with the canned bytes.
func (p *Canned) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if p.Record {
		p.mu.Lock()
		cc := *c
		cc.Body = bytes.Clone(c.Body)
		p.calls = append(p.calls, cc)
		p.mu.Unlock()
	}
	if p.Hold != nil {
		p.Entered.Add(1)
		select {
		case <-p.Hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	body, h := p.Body, p.Header
	if c.Stream {
		body, h = p.Stream, SSEHeader
	}
	status := p.Status
	if status == 0 {
		status = http.StatusOK
	}
	r := io.Reader(strings.NewReader(body))
	if c.Stream && p.Cut != nil {
		r = io.MultiReader(r, iotest.ErrReader(p.Cut))
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(r)}, nil
}

var (
	JSONHeader = http.Header{"Content-Type": {"application/json"}}
	SSEHeader  = http.Header{"Content-Type": {"text/event-stream"}}
)

// A chat completion and the same as a stream with its usage chunk.
const (
	Chat       = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":16,"total_tokens":28}}`
	ChatStream = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"hel"}}]}` + "\n\n" +
		`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}` + "\n\n" +
		"data: [DONE]\n\n"
)
