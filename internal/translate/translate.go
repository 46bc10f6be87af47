// Package translate converts chat and embeddings traffic between LLM API dialects.
//
// The hub is OpenAI chat completions (schema.ChatRequest and friends): a request from an Anthropic caller is
// decoded into the hub and then encoded for whichever provider serves it, so every pair needs one decoder and one
// encoder per dialect instead of a translator per pair. Streams follow the same shape: an upstream parser turns
// provider events into small hub events (`event` in stream.go) and a caller sink renders them as OpenAI chunks
// or Anthropic SSE events.
//
// Files are named <from>_<to>_<kind>.go in the direction data flows, e.g. openai_anthropic_request.go encodes a
// hub request for Anthropic and anthropic_openai_response.go decodes an Anthropic answer into the hub.
package translate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weir-gateway/weir/internal/schema"
)

// Dialect values match internal/provider: "openai", "anthropic", "gemini", "bedrock", "cohere".
type Dialect = string

// The dialects this package knows.
const (
	OpenAI    Dialect = "openai"
	Anthropic Dialect = "anthropic"
	Gemini    Dialect = "gemini"
	Bedrock   Dialect = "bedrock"
	Cohere    Dialect = "cohere"
)

// RequestError is a caller mistake found while translating (→ HTTP 400 in the caller's dialect), e.g. a parameter
// the target cannot honour whose dropping would change the meaning.
type RequestError struct{ Param, Message string }

func (e *RequestError) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return e.Param + ": " + e.Message
}

func reqErr(param, format string, args ...any) error {
	return &RequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// warnings collects the parameters a translation dropped, for the gateway's log.
type warnings []string

func (w *warnings) add(format string, args ...any) { *w = append(*w, fmt.Sprintf(format, args...)) }

func validCaller(d Dialect) bool { return d == OpenAI || d == Anthropic }

func validProvider(d Dialect) bool {
	switch d {
	case OpenAI, Anthropic, Gemini, Bedrock, Cohere:
		return true
	}
	return false
}

func checkPair(in, out Dialect) error {
	if !validCaller(in) {
		return fmt.Errorf("translate: unsupported caller dialect %q", in)
	}
	if !validProvider(out) {
		return fmt.Errorf("translate: unsupported provider dialect %q", out)
	}
	return nil
}

// ChatRequest translates a chat request body from in to out for upstream model model. The output carries the model
// where the dialect puts it in the body (Gemini and Bedrock put it in the URL, so they omit it). stream says the
// caller wants a stream. Dropped parameters are reported in warnings.
func ChatRequest(in, out Dialect, body []byte, model string, stream bool) (outBody []byte, warns []string, err error) {
	if err := checkPair(in, out); err != nil {
		return nil, nil, err
	}
	if !json.Valid(body) {
		return nil, nil, reqErr("", "request body is not valid JSON")
	}
	if in == out {
		b, err := sameDialectRequest(in, body, model, stream)
		return b, nil, err
	}
	var w warnings
	var req *schema.ChatRequest
	switch in {
	case OpenAI:
		req, err = decodeOpenAIRequest(body, out, &w)
	case Anthropic:
		req, err = decodeAnthropicRequest(body, &w)
	}
	if err != nil {
		return nil, w, err
	}
	req.Model = model
	req.Stream = stream
	switch out {
	case OpenAI:
		outBody, err = encodeOpenAIRequest(req, &w)
	case Anthropic:
		outBody, err = encodeAnthropicRequest(req, &w)
	case Gemini:
		outBody, err = encodeGeminiRequest(req, &w)
	case Bedrock:
		outBody, err = encodeBedrockRequest(req, &w)
	case Cohere:
		outBody, err = encodeCohereRequest(req, &w)
	}
	if err != nil {
		return nil, w, err
	}
	return outBody, w, nil
}

// ChatResponse translates a non-streaming upstream answer (dialect out) back to the caller's dialect (in) and
// extracts usage. model is the model name reported to the caller.
func ChatResponse(in, out Dialect, body []byte, model string) ([]byte, schema.Usage, error) {
	if err := checkPair(in, out); err != nil {
		return nil, schema.Usage{}, err
	}
	var resp *schema.ChatResponse
	var err error
	switch out {
	case OpenAI:
		resp, err = decodeOpenAIResponse(body)
	case Anthropic:
		resp, err = decodeAnthropicResponse(body)
	case Gemini:
		resp, err = decodeGeminiResponse(body)
	case Bedrock:
		resp, err = decodeBedrockResponse(body)
	case Cohere:
		resp, err = decodeCohereResponse(body)
	}
	if err != nil {
		return nil, schema.Usage{}, fmt.Errorf("translate: decoding %s response: %w", out, err)
	}
	usage := resp.Usage.ToUsage()
	if in == out {
		// Same dialect: the body is already what the caller expects; only usage was wanted.
		return body, usage, nil
	}
	if model != "" {
		resp.Model = model
	}
	var b []byte
	switch in {
	case OpenAI:
		b, err = json.Marshal(resp)
	case Anthropic:
		b, err = encodeAnthropicResponse(resp)
	}
	return b, usage, err
}

var errInvalidUpstream = errors.New("translate: upstream answer is not in the expected shape")
