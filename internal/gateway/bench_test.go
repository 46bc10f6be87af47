package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway/gatewaytest"
	"github.com/weir-gateway/weir/internal/provider"
)

// cannedProvider is the shared test double: fixed answers, no network.
type cannedProvider = gatewaytest.Canned

var jsonHeader = gatewaytest.JSONHeader

const (
	cannedChat   = gatewaytest.Chat
	cannedStream = gatewaytest.ChatStream
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
	cannedProviders[p.ProviderName] = p
	cfg, err := config.Parse([]byte("providers:\n  - {name: "+p.ProviderName+", type: canned, keys: [{value: k}]}\n"+extra), func(string) (string, bool) { return "", false })
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
	p := &cannedProvider{ProviderName: "up", Body: cannedChat, Stream: cannedStream, Header: jsonHeader}
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
