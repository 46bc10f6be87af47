// Package mock is the built-in provider of type "mock": deterministic OpenAI-dialect answers produced inside
// the gateway, with optional latency and streaming. It makes the zero-config gateway answer out of the box and
// serves demos and load tests without any upstream.
//
// Models: "echo" repeats the last user message; any other name answers a fixed sentence. When tools are
// offered and the last message is not a tool result, the answer calls the first tool with {"city":"Paris"}.
package mock

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

func init() { provider.Register("mock", New) }

// Provider answers calls itself.
type Provider struct {
	name       string
	latency    time.Duration
	chunks     int
	chunkDelay time.Duration
}

// Settings are the fields of a mock entry beyond the shared ones.
type Settings struct {
	Mock Options `yaml:"mock"`
}

// Options shape the mock's answers.
type Options struct {
	Latency    confkit.Duration `yaml:"latency"`     // before the first byte
	Chunks     int              `yaml:"chunks"`      // content chunks in a stream; default 4
	ChunkDelay confkit.Duration `yaml:"chunk_delay"` // between stream chunks
}

// New builds a mock provider.
func New(cfg provider.Common, s Settings) (provider.Provider, error) {
	if cfg.BaseURL != "" {
		return nil, confkit.Problems{{Path: "base_url", Msg: "the mock provider has no upstream"}}
	}
	chunks := s.Mock.Chunks
	if chunks <= 0 {
		chunks = 4
	}
	return &Provider{name: cfg.Name, latency: s.Mock.Latency.D(), chunks: chunks, chunkDelay: s.Mock.ChunkDelay.D()}, nil
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is OpenAI.
func (p *Provider) Dialect() dialects.Dialect { return dialects.OpenAI }

// Supports reports the operations the mock answers.
func (p *Provider) Supports(op provider.Op) bool {
	switch op {
	case provider.OpChat, provider.OpCompletions, provider.OpEmbeddings:
		return true
	}
	return false
}

// ListModels returns nothing: the mock serves any model name, and its config lists the advertised ones.
func (p *Provider) ListModels(context.Context, *provider.Key) ([]string, error) { return nil, nil }

// Send builds the answer as an upstream would, so the gateway's relay path is the same as for real providers.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	if p.latency > 0 {
		t := time.NewTimer(p.latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	var a answer
	switch c.Op {
	case provider.OpChat:
		a = chatAnswer(c.Model, c.Body)
	case provider.OpCompletions:
		a = completionAnswer(c.Body)
	case provider.OpEmbeddings:
		return jsonResponse(http.StatusOK, embeddings(c.Model, c.Body)), nil
	default:
		return jsonResponse(http.StatusNotFound, []byte(fmt.Sprintf(`{"error":{"message":"the mock provider has no %s endpoint","type":"invalid_request_error","code":"unsupported_endpoint"}}`, c.Op))), nil
	}
	if !c.Stream {
		return jsonResponse(http.StatusOK, a.json(c.Model, c.Op)), nil
	}
	pr, pw := io.Pipe()
	go p.stream(ctx, pw, a, c)
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       pr,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: -1,
	}, nil
}

// stream writes the answer in chunks. It ends when done, when the context ends, or when the reader closes the
// pipe, so it never outlives the request.
func (p *Provider) stream(ctx context.Context, pw *io.PipeWriter, a answer, c *provider.Call) {
	includeUsage := gjson.GetBytes(c.Body, "stream_options.include_usage").Bool()
	var err error
	for i, ev := range a.chunks(c.Model, c.Op, p.chunks, includeUsage) {
		if i > 0 && p.chunkDelay > 0 {
			t := time.NewTimer(p.chunkDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				pw.CloseWithError(ctx.Err())
				return
			case <-t.C:
			}
		}
		if _, err = pw.Write(ev); err != nil {
			return
		}
	}
	pw.Close()
}

func jsonResponse(status int, body []byte) *http.Response {
	return &http.Response{
		StatusCode:    status,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(string(body))),
		ContentLength: int64(len(body)),
		Proto:         "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
}
