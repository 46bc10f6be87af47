package translate

// OpenAI embeddings ↔ Gemini batchEmbedContents, Bedrock InvokeModel (Titan / Cohere-on-Bedrock bodies) and
// Cohere embed v2.
//
// | OpenAI parameter      | Gemini                  | Bedrock Titan         | Bedrock Cohere / Cohere v2         |
// |-----------------------|-------------------------|-----------------------|------------------------------------|
// | input string/[]string | one request per input   | one input only, else RequestError | texts                  |
// | input token arrays    | RequestError            | RequestError          | RequestError                       |
// | dimensions            | outputDimensionality    | dimensions            | output_dimension (Cohere v2 only)  |
// | encoding_format       | applied on the way back | applied on the way back | applied on the way back          |
// | input_type (extension)| taskType                | —                     | input_type (default search_document) |
// | user                  | dropped                 | dropped               | dropped                            |

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

type embeddingsRequest struct {
	Input      json.RawMessage `json:"input"`
	Dimensions *int64          `json:"dimensions,omitempty"`
	InputType  string          `json:"input_type,omitempty"` // Cohere-style hint some clients send; not OpenAI
}

func (r *embeddingsRequest) texts() ([]string, error) {
	in := gjson.ParseBytes(r.Input)
	switch {
	case in.Type == gjson.String:
		return []string{in.Str}, nil
	case in.IsArray():
		arr := in.Array()
		out := make([]string, 0, len(arr))
		for _, v := range arr {
			if v.Type != gjson.String {
				return nil, reqErr("input", "token-array input can only be sent to openai; send text")
			}
			out = append(out, v.Str)
		}
		if len(out) == 0 {
			return nil, reqErr("input", "input must not be empty")
		}
		return out, nil
	}
	return nil, reqErr("input", "input must be a string or an array of strings")
}

// inputType is the caller's input_type, or what OpenAI callers mean by embedding text: indexing it.
func (r *embeddingsRequest) inputType() string {
	if r.InputType == "" {
		return "search_document"
	}
	return r.InputType
}

// parseEmbeddings reads what dialects other than OpenAI carry over from an OpenAI embeddings request.
func parseEmbeddings(body []byte) (*embeddingsRequest, []string, error) {
	var req embeddingsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, reqErr("", "invalid request: %v", err)
	}
	texts, err := req.texts()
	if err != nil {
		return nil, nil, err
	}
	return &req, texts, nil
}

// EmbeddingsRequest translates an OpenAI embeddings request body for out.
func EmbeddingsRequest(out dialects.Dialect, body []byte, model string) ([]byte, error) {
	if !json.Valid(body) {
		return nil, reqErr("", "request body is not valid JSON")
	}
	co := codecs[out]
	if co == nil || co.embeddingsRequest == nil {
		return nil, reqErr("", "embeddings not supported for dialect %q", out)
	}
	return co.embeddingsRequest(body, model)
}

// EmbeddingsResponse translates an upstream embeddings answer into OpenAI's list, with usage. base64 asks for
// each vector as little-endian float32 bytes, base64-encoded, as OpenAI's encoding_format=base64 does.
func EmbeddingsResponse(out dialects.Dialect, body []byte, model string, b64 bool) ([]byte, schema.Usage, error) {
	if !gjson.ValidBytes(body) {
		return nil, schema.Usage{}, errInvalidUpstream
	}
	co := codecs[out]
	if co == nil || co.embeddingsVectors == nil {
		return nil, schema.Usage{}, errInvalidUpstream
	}
	vecs, u, asIs := co.embeddingsVectors(gjson.ParseBytes(body), b64)
	if asIs {
		return body, u, nil
	}
	if len(vecs) == 0 {
		return nil, u, errInvalidUpstream
	}
	u.TotalTokens = u.PromptTokens
	b := make([]byte, 0, 64+len(body))
	b = append(b, `{"object":"list","data":[`...)
	for i, v := range vecs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = appendInt(b, int64(i))
		b = append(b, `,"embedding":`...)
		if b64 {
			b = appendBase64Vector(b, v)
		} else {
			b = append(b, v.Raw...) // the upstream's own number formatting, untouched
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = appendJSONString(b, model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = appendInt(b, u.PromptTokens)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, u.TotalTokens)
	b = append(b, "}}"...)
	return b, u, nil
}

func appendBase64Vector(b []byte, v gjson.Result) []byte {
	arr := v.Array()
	raw := make([]byte, 4*len(arr))
	for i, f := range arr {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(f.Float())))
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, raw)
	return append(b, '"')
}
