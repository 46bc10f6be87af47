// Package translate converts chat and embeddings traffic between LLM API dialects.
//
// The hub is OpenAI chat completions (schema.ChatRequest and friends): a request from an Anthropic caller is
// decoded into the hub and then encoded for whichever provider serves it, so every pair needs one decoder and one
// encoder per dialect instead of a translator per pair. Streams follow the same shape: an upstream parser turns
// provider events into small hub events (`event` in stream.go) and a caller sink renders them as OpenAI chunks
// or Anthropic SSE events.
//
// Each dialect's files register its codec (codec.go) from <dialect>_codec.go, and the entry points look it up, so
// a new dialect is a new set of files. Files are named <from>_<to>_<kind>.go in the direction data flows, e.g.
// openai_anthropic_request.go encodes a hub request for Anthropic and anthropic_openai_response.go decodes an
// Anthropic answer into the hub.
package translate

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
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

// ChatRequest translates a chat request body from in to out for upstream model model. The output carries the model
// where the dialect puts it in the body (Gemini and Bedrock put it in the URL, so they omit it). stream says the
// caller wants a stream. Dropped parameters are reported in warnings.
func ChatRequest(in, out dialects.Dialect, body []byte, model string, stream bool) (outBody []byte, warns []string, err error) {
	ci, co, err := pair(in, out)
	if err != nil {
		return nil, nil, err
	}
	if !json.Valid(body) {
		return nil, nil, reqErr("", "request body is not valid JSON")
	}
	if in == out {
		b, err := sameDialectRequest(body, model, stream)
		return b, nil, err
	}
	req, w, err := ci.decodeRequest(body, out)
	if err != nil {
		return nil, w, err
	}
	req.Model = model
	req.Stream = stream
	outBody, w, err = co.encodeRequest(req, w)
	if err != nil {
		return nil, w, err
	}
	return outBody, w, nil
}

// ChatResponse translates a non-streaming upstream answer (dialect out) back to the caller's dialect (in) and
// extracts usage. model is the model name reported to the caller.
func ChatResponse(in, out dialects.Dialect, body []byte, model string) ([]byte, schema.Usage, error) {
	ci, co, err := pair(in, out)
	if err != nil {
		return nil, schema.Usage{}, err
	}
	resp, err := co.decodeResponse(body)
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
	b, err := ci.encodeResponse(resp)
	return b, usage, err
}

var errInvalidUpstream = errors.New("translate: upstream answer is not in the expected shape")
