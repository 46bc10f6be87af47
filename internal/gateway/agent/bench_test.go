package agent

import (
	"context"
	"testing"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
)

// BenchmarkWrapPassThrough is what agent mode adds to a request without mcp tools: a byte scan of the body.
func BenchmarkWrapPassThrough(b *testing.B) {
	body := []byte(`{"model":"up/mock-model","messages":[{"role":"user","content":"What is the weather in Paris? Please answer in one short sentence."}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],"stream":true}`)
	next := func(context.Context, *gateway.Exchange, *gateway.Request, relay.Sink) (gateway.Outcome, error) {
		return gateway.Outcome{}, nil
	}
	req := &gateway.Request{Op: provider.OpChat, Body: body}
	for _, c := range []struct {
		name string
		f    ServeFunc
	}{{"direct", next}, {"wrapped", (&Agent{}).Wrap(next)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				_, _ = c.f(ctx, nil, req, nil)
			}
		})
	}
}
