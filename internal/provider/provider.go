// Package provider defines the boundary between the gateway and an upstream LLM API: one small interface,
// a registry of provider types (each decoding its own settings), the configuration fields every provider entry
// shares, and the key-selection and error types every provider shares.
//
// A provider knows its upstream's wire: URL layout, authentication, signing. It speaks exactly one dialect and
// is handed bodies already in that dialect; translation between dialects happens outside it.
package provider

import (
	"context"
	"io"
	"net/http"

	"github.com/weir-gateway/weir/internal/dialects"
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

	// Operations passed through with RawSender: the body is not a chat request, so it goes upstream as the
	// caller sent it (model rewritten) and the answer comes back as the upstream wrote it.
	OpImages         Op = "images/generations"   // OpenAI /images/generations
	OpImageEdits     Op = "images/edits"         // OpenAI /images/edits (multipart)
	OpImageVariation Op = "images/variations"    // OpenAI /images/variations (multipart, DALL-E 2)
	OpSpeech         Op = "audio/speech"         // OpenAI /audio/speech (audio bytes back)
	OpTranscriptions Op = "audio/transcriptions" // OpenAI /audio/transcriptions (multipart)
	OpTranslations   Op = "audio/translations"   // OpenAI /audio/translations (multipart)
	OpModerations    Op = "moderations"          // OpenAI /moderations
	OpRerank         Op = "rerank"               // Cohere /v2/rerank, or /rerank of OpenAI-compatible servers
	OpFiles          Op = "files"                // OpenAI /files and below
	OpBatches        Op = "batches"              // OpenAI /batches and below
	OpMessageBatches Op = "messages/batches"     // Anthropic /v1/messages/batches and below
	OpModel          Op = "models/get"           // OpenAI GET /models/{id}
	OpNative         Op = "native"               // a provider's own API, under /openai, /anthropic, /gemini, /bedrock
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
	Dialect() dialects.Dialect
	// Send performs the call and returns the upstream's response whatever its status; the caller reads and
	// closes the body. An error means no response was had (connection refused, reset, timeout).
	Send(ctx context.Context, c *Call) (*http.Response, error)
}

// RawCall is a request sent to an upstream path as it is: an upload, a download, or a provider's own API.
type RawCall struct {
	Op     Op
	Method string
	// Path is below the provider's API root as its own SDK addresses it: "/images/generations" for OpenAI
	// (whose root ends in /v1), "/v1/messages/batches" for Anthropic, "/v1beta/models/m:generateContent" for
	// Gemini, "/model/{id}/converse" for Bedrock.
	Path     string
	RawQuery string
	Model    string // the upstream model when the op names one (Azure addresses it as a deployment); may be ""
	// Header carries the caller headers worth forwarding (Content-Type, Accept, a provider's version headers).
	Header http.Header
	// Body is sent as it is; nil for none.
	Body          io.Reader
	ContentLength int64 // -1 when unknown
	Key           *Key
}

// RawSender is implemented by providers that can pass a call through to any path of their API.
type RawSender interface {
	SendRaw(ctx context.Context, c *RawCall) (*http.Response, error)
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
	DialectFor(model string) dialects.Dialect
}

// DialectOf returns the dialect p speaks for model.
func DialectOf(p Provider, model string) dialects.Dialect {
	if md, ok := p.(ModelDialecter); ok {
		return md.DialectFor(model)
	}
	return p.Dialect()
}
