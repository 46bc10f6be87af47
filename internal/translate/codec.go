package translate

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

// codec is one dialect's share of translation. Each dialect's files register theirs from init (see
// <dialect>_codec.go), and the entry points (ChatRequest, ChatResponse, NewStream, ErrorBody, EmbeddingsRequest,
// EmbeddingsResponse, ResponsesCountTokensRequest, CountTokensResult) look it up, so a new dialect adds files and
// edits no shared switch. A nil member is something the dialect does not do.
type codec struct {
	// Provider side: the hub to what an upstream in this dialect reads, and its answers back to the hub.
	// Warnings go in and out by value: a pointer passed through a func value escapes, an allocation per request.
	encodeRequest  func(req *schema.ChatRequest, w warnings) ([]byte, warnings, error)
	decodeResponse func(body []byte) (*schema.ChatResponse, error)
	newParser      func() parser
	// errorMessage reads an upstream error body's message and code; "" when the body is not in this dialect's
	// shape (ErrorBody then tries the common places).
	errorMessage func(root gjson.Result) (msg, code string)
	// embeddingsRequest turns an OpenAI embeddings request body (valid JSON) into this dialect's.
	embeddingsRequest func(body []byte, model string) ([]byte, error)
	// embeddingsVectors reads the vectors and usage from an embeddings answer; asIs says the answer already is
	// what an OpenAI caller asked for (b64: base64 vectors).
	embeddingsVectors func(root gjson.Result, b64 bool) (vecs []gjson.Result, u schema.Usage, asIs bool)
	// countTokensRequest builds the token-counting request from the full chat request this dialect would be sent
	// (wrap: see ResponsesCountTokensRequest); countTokensResult reads its answer.
	countTokensRequest func(full gjson.Result, model string, wrap bool) []byte
	countTokensResult  func(body []byte) (int64, error)

	// Caller side: a dialect with all four can be spoken by callers.
	decodeRequest  func(body []byte, out dialects.Dialect) (*schema.ChatRequest, warnings, error)
	encodeResponse func(resp *schema.ChatResponse) ([]byte, error)
	newSink        func(model string, includeUsage bool, usage *schema.Usage) sink
	// errorBody renders an upstream error (message, upstream code, HTTP status) as this dialect's error JSON.
	errorBody func(status int, msg, upstreamCode string) []byte
}

// codecs is written only by init functions, so lookups need no lock.
var codecs = map[dialects.Dialect]*codec{}

func register(d dialects.Dialect, c *codec) {
	if _, dup := codecs[d]; dup {
		panic("translate: dialect " + string(d) + " registered twice")
	}
	codecs[d] = c
}

func (c *codec) caller() bool {
	return c != nil && c.decodeRequest != nil && c.encodeResponse != nil && c.newSink != nil && c.errorBody != nil
}

func (c *codec) provider() bool {
	return c != nil && c.encodeRequest != nil && c.decodeResponse != nil && c.newParser != nil
}

// pair returns the codecs of a caller dialect in and a provider dialect out.
func pair(in, out dialects.Dialect) (ci, co *codec, err error) {
	ci, co = codecs[in], codecs[out]
	if !ci.caller() {
		return nil, nil, fmt.Errorf("translate: unsupported caller dialect %q", in)
	}
	if !co.provider() {
		return nil, nil, fmt.Errorf("translate: unsupported provider dialect %q", out)
	}
	return ci, co, nil
}
