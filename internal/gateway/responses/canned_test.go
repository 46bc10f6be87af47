package responses

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
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
)

// A copy of the gateway package's canned provider (its tests cannot be imported), so these tests and benchmarks
// measure the Responses layer and the core with no network.

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

var cannedProviders = map[string]*cannedProvider{}

// discard is a Sink that drops everything.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) Flush() error                { return nil }

var registerCanned sync.Once

// newEngine builds an engine from cfg, serving the Responses API through this package's layers.
func newEngine(cfg *config.Config) (*gateway.Engine, error) {
	e, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	Use(e)
	return e, nil
}

// newTestEngine builds an engine whose provider "up" is p.
func newTestEngine(tb testing.TB, p *cannedProvider, extra string) *gateway.Engine {
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
	e, err := newEngine(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}
