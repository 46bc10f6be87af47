package anthropic

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/provider"
)

// okTransport answers every request at once, so a benchmark measures the request building, not the network.
type okTransport struct{}

func (okTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// BenchmarkSend measures Send on the hot path: a streamed chat with configured headers, a trace header and a key.
func BenchmarkSend(b *testing.B) {
	pv, err := New(provider.Common{Name: "p", Type: "anthropic", BaseURL: "http://up.example", Headers: map[string]string{"X-Team": "a"},
		Keys: []provider.KeyConfig{{Value: "k"}}}, Settings{})
	if err != nil {
		b.Fatal(err)
	}
	p := pv.(*Provider)
	p.client.Transport = okTransport{}
	c := &provider.Call{Op: provider.OpChat, Model: "claude-x", Body: []byte(`{"model":"claude-x"}`), Stream: true,
		Key: &provider.Key{Value: "k"}, Header: http.Header{"Traceparent": {"00-a-b-01"}}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := p.Send(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
