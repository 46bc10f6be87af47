package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

// cannedProvider answers every call with fixed bytes, so benchmarks measure the pipeline and nothing else.
type cannedProvider struct {
	name   string
	body   string
	stream string
	status int
	header http.Header
	mu     sync.Mutex
	calls  []provider.Call
	record bool
	// hold, when set, keeps each call waiting until it is closed; entered counts the calls that got this far.
	hold    chan struct{}
	entered atomic.Int32
	cut     error // when set, a stream breaks with it after its canned bytes
}

func (p *cannedProvider) Name() string              { return p.name }
func (p *cannedProvider) Dialect() dialects.Dialect { return dialects.OpenAI }
func (p *cannedProvider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if p.record {
		p.mu.Lock()
		cc := *c
		cc.Body = bytes.Clone(c.Body)
		p.calls = append(p.calls, cc)
		p.mu.Unlock()
	}
	if p.hold != nil {
		p.entered.Add(1)
		select {
		case <-p.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	body, h := p.body, p.header
	if c.Stream {
		body, h = p.stream, sseHeader
	}
	status := p.status
	if status == 0 {
		status = http.StatusOK
	}
	r := io.Reader(strings.NewReader(body))
	if c.Stream && p.cut != nil {
		r = io.MultiReader(r, iotest.ErrReader(p.cut))
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(r)}, nil
}

var (
	jsonHeader = http.Header{"Content-Type": {"application/json"}}
	sseHeader  = http.Header{"Content-Type": {"text/event-stream"}}
)

const (
	cannedChat   = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":16,"total_tokens":28}}`
	cannedStream = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"hel"}}]}` + "\n\n" +
		`data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}` + "\n\n" +
		"data: [DONE]\n\n"
)

var registerCanned sync.Once

// newTestEngine builds an engine whose provider "up" is p.
func newTestEngine(tb testing.TB, p *cannedProvider, extra string) *Engine {
	tb.Helper()
	registerCanned.Do(func() {
		provider.Register("canned", func(cfg provider.Common, _ struct{}) (provider.Provider, error) {
			return cannedProviders[cfg.Name], nil
		})
	})
	cannedProviders[p.name] = p
	cfg, err := config.Parse([]byte("providers:\n  - {name: "+p.name+", type: canned, keys: [{value: k}]}\n"+extra), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	e, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

var cannedProviders = map[string]*cannedProvider{}

// discard is a Sink that drops everything.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) Flush() error                { return nil }

func benchServe(b *testing.B, body string) {
	p := &cannedProvider{name: "up", body: cannedChat, stream: cannedStream, header: jsonHeader}
	e := newTestEngine(b, p, "")
	req := Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}}
	sink := &discard{h: http.Header{}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		x := e.AcquireExchange()
		clear(sink.h)
		if _, err := e.Serve(ctx, x, &req, sink); err != nil {
			b.Fatal(err)
		}
		e.ReleaseExchange(x)
	}
}

// BenchmarkServePassThrough is the gateway's own work for one non-streaming request: parse, route, take a
// worker, rewrite the model, relay the answer and read its usage (the upstream is in-process).
func BenchmarkServePassThrough(b *testing.B) {
	benchServe(b, `{"model":"up/gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence, please."}],"temperature":0.2}`)
}

// BenchmarkServeStream is the same for a streamed answer.
func BenchmarkServeStream(b *testing.B) {
	benchServe(b, `{"model":"up/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say hello in one short sentence, please."}]}`)
}

// bufferSink is a Sink that keeps a whole answer in memory.
type bufferSink struct {
	h      http.Header
	status int
	body   []byte
}

func (b *bufferSink) Header() http.Header         { return b.h }
func (b *bufferSink) WriteHeader(s int)           { b.status = s }
func (b *bufferSink) Write(p []byte) (int, error) { b.body = append(b.body, p...); return len(p), nil }
func (b *bufferSink) Flush() error                { return nil }
