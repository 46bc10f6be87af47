package responses

import (
	"context"
	"net/http"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
)

const (
	cannedResponse       = `{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"m","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hello there","annotations":[]}]}],"usage":{"input_tokens":12,"output_tokens":16,"total_tokens":28}}`
	cannedResponseStream = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"hello\"}\n\n" +
		"event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":12,\"output_tokens\":2,\"total_tokens\":14}}}\n\n"
	benchResponsesBody = `{"model":"up/gpt-4o-mini","input":"Say hello in one short sentence, please.","temperature":0.2}`
)

// benchResponses serves Responses API requests: passed through to an upstream with the API (canned answers in
// the Responses shape), or translated to chat completions for one without it (canned chat answers).
func benchResponses(b *testing.B, body string, translated bool) {
	p := &cannedProvider{ProviderName: "up", Body: cannedResponse, Stream: cannedResponseStream, Header: jsonHeader}
	typ := "canned"
	if translated {
		p.Body, p.Stream = cannedChat, cannedStream
		registerChatOnly.Do(func() {
			provider.Register("canned-chat", func(cfg provider.Common, _ struct{}) (provider.Provider, error) {
				return chatOnly{cannedProviders[cfg.Name]}, nil
			})
		})
		typ = "canned-chat"
	}
	registerCanned.Do(func() {
		provider.Register("canned", func(cfg provider.Common, _ struct{}) (provider.Provider, error) {
			return cannedProviders[cfg.Name], nil
		})
	})
	cannedProviders[p.ProviderName] = p
	cfg, err := config.Parse([]byte("providers:\n  - {name: up, type: "+typ+", keys: [{value: k}]}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	e, err := newEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	req := gateway.Request{Op: provider.OpResponses, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}}
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

// BenchmarkServeResponsesPassThrough is BenchmarkServePassThrough's twin for /v1/responses on OpenAI.
func BenchmarkServeResponsesPassThrough(b *testing.B) { benchResponses(b, benchResponsesBody, false) }

// BenchmarkServeResponsesStreamPassThrough streams the Responses events through.
func BenchmarkServeResponsesStreamPassThrough(b *testing.B) {
	benchResponses(b, `{"model":"up/gpt-4o-mini","stream":true,"input":"Say hello in one short sentence, please."}`, false)
}

// BenchmarkServeResponsesTranslated serves /v1/responses on a chat-only upstream: request to chat, answer back
// to a Responses object (no store: nothing is written).
func BenchmarkServeResponsesTranslated(b *testing.B) {
	benchResponses(b, `{"model":"up/gpt-4o-mini","store":false,"input":"Say hello in one short sentence, please."}`, true)
}

// BenchmarkServeResponsesStreamTranslated streams the chat answer back as typed Responses events.
func BenchmarkServeResponsesStreamTranslated(b *testing.B) {
	benchResponses(b, `{"model":"up/gpt-4o-mini","stream":true,"store":false,"input":"Say hello in one short sentence, please."}`, true)
}
