// Package provider defines the boundary between the gateway and an upstream LLM API: one small interface,
// a registry of provider types, and the key-selection and error types every provider shares.
//
// A provider knows its upstream's wire: URL layout, authentication, signing. It speaks exactly one dialect and
// is handed bodies already in that dialect; translation between dialects happens outside it.
package provider

import (
	"context"
	"net/http"
)

// Dialect names a wire format for requests, responses and streams.
type Dialect string

// The dialects Weir speaks.
const (
	OpenAI    Dialect = "openai"    // OpenAI chat completions, completions, embeddings, responses
	Anthropic Dialect = "anthropic" // Anthropic Messages
	Gemini    Dialect = "gemini"    // Google generateContent
	Bedrock   Dialect = "bedrock"   // AWS Bedrock Converse
	Cohere    Dialect = "cohere"    // Cohere Chat v2
)

// Op is the operation a call performs; a provider maps it to its own endpoint.
type Op string

// The operations of the inference API.
const (
	OpChat        Op = "chat"         // OpenAI /chat/completions
	OpCompletions Op = "completions"  // OpenAI legacy /completions
	OpEmbeddings  Op = "embeddings"   // OpenAI /embeddings
	OpResponses   Op = "responses"    // OpenAI /responses
	OpMessages    Op = "messages"     // Anthropic /v1/messages
	OpCountTokens Op = "count_tokens" // Anthropic /v1/messages/count_tokens
)

// Call is one upstream request. Body is already in the provider's dialect with the upstream model set; it is
// never modified by the provider, so the same Call can be retried.
type Call struct {
	Op     Op
	Model  string // the upstream model id, without the provider prefix
	Body   []byte
	Stream bool
	Key    *Key        // chosen by the gateway from the provider's keys; nil when the provider needs none
	Header http.Header // extra headers to forward upstream (trace context); may be nil
}

// Provider sends calls to one configured upstream.
type Provider interface {
	// Name is the configured name, the prefix of "name/model".
	Name() string
	// Dialect is the wire format Send expects and answers in.
	Dialect() Dialect
	// Send performs the call and returns the upstream's response whatever its status; the caller reads and
	// closes the body. An error means no response was had (connection refused, reset, timeout).
	Send(ctx context.Context, c *Call) (*http.Response, error)
}

// ModelLister is implemented by providers that can list their upstream's models; key may be nil.
type ModelLister interface {
	ListModels(ctx context.Context, key *Key) ([]string, error)
}

// OpSupporter is implemented by providers that serve only some operations; the gateway answers others with
// a clear 400 naming the provider and the operation instead of sending them.
type OpSupporter interface {
	Supports(op Op) bool
}

// ModelDialecter is implemented by providers whose dialect depends on the model (Vertex AI serves Gemini models
// in the Gemini dialect and Claude models in Anthropic's).
type ModelDialecter interface {
	DialectFor(model string) Dialect
}

// DialectOf returns the dialect p speaks for model.
func DialectOf(p Provider, model string) Dialect {
	if md, ok := p.(ModelDialecter); ok {
		return md.DialectFor(model)
	}
	return p.Dialect()
}
