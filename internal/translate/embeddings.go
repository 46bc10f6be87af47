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
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

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

// EmbeddingsRequest translates an OpenAI embeddings request body for out.
func EmbeddingsRequest(out Dialect, body []byte, model string) ([]byte, error) {
	if !json.Valid(body) {
		return nil, reqErr("", "request body is not valid JSON")
	}
	if out == OpenAI {
		return sjson.SetBytes(body, "model", model)
	}
	var req embeddingsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, reqErr("", "invalid request: %v", err)
	}
	texts, err := req.texts()
	if err != nil {
		return nil, err
	}
	inputType := req.InputType
	if inputType == "" {
		inputType = "search_document" // what OpenAI callers mean by embedding text: indexing it
	}
	switch out {
	case Gemini:
		name := model
		if !strings.HasPrefix(name, "models/") {
			name = "models/" + name
		}
		type part struct {
			Text string `json:"text"`
		}
		type one struct {
			Model   string `json:"model"`
			Content struct {
				Parts []part `json:"parts"`
			} `json:"content"`
			TaskType             string `json:"taskType,omitempty"`
			OutputDimensionality *int64 `json:"outputDimensionality,omitempty"`
		}
		reqs := make([]one, len(texts))
		for i, t := range texts {
			reqs[i].Model = name
			reqs[i].Content.Parts = []part{{Text: t}}
			reqs[i].OutputDimensionality = req.Dimensions
			if req.InputType != "" {
				reqs[i].TaskType = geminiTaskType(req.InputType)
			}
		}
		return json.Marshal(map[string]any{"requests": reqs})
	case Bedrock:
		if strings.Contains(model, "cohere.embed") {
			return json.Marshal(map[string]any{"texts": texts, "input_type": inputType, "embedding_types": []string{"float"}})
		}
		if len(texts) != 1 {
			return nil, reqErr("input", "bedrock titan embeds one input per request; got %d", len(texts))
		}
		m := map[string]any{"inputText": texts[0]}
		if req.Dimensions != nil {
			m["dimensions"] = *req.Dimensions
		}
		return json.Marshal(m)
	case Cohere:
		m := map[string]any{"model": model, "texts": texts, "input_type": inputType, "embedding_types": []string{"float"}}
		if req.Dimensions != nil {
			m["output_dimension"] = *req.Dimensions
		}
		return json.Marshal(m)
	}
	return nil, reqErr("", "embeddings not supported for dialect %q", out)
}

func geminiTaskType(t string) string {
	switch t {
	case "search_query":
		return "RETRIEVAL_QUERY"
	case "search_document":
		return "RETRIEVAL_DOCUMENT"
	case "classification":
		return "CLASSIFICATION"
	case "clustering":
		return "CLUSTERING"
	}
	return ""
}

// EmbeddingsResponse translates an upstream embeddings answer into OpenAI's list, with usage. base64 asks for
// each vector as little-endian float32 bytes, base64-encoded, as OpenAI's encoding_format=base64 does.
func EmbeddingsResponse(out Dialect, body []byte, model string, b64 bool) ([]byte, schema.Usage, error) {
	if !gjson.ValidBytes(body) {
		return nil, schema.Usage{}, errInvalidUpstream
	}
	root := gjson.ParseBytes(body)
	var vecs []gjson.Result
	var u schema.Usage
	switch out {
	case OpenAI:
		u.PromptTokens = root.Get("usage.prompt_tokens").Int()
		u.TotalTokens = root.Get("usage.total_tokens").Int()
		if !b64 || root.Get("data.0.embedding").Type == gjson.String {
			return body, u, nil // already in the shape the caller asked for
		}
		for _, d := range root.Get("data").Array() {
			vecs = append(vecs, d.Get("embedding"))
		}
	case Gemini:
		for _, e := range root.Get("embeddings").Array() {
			vecs = append(vecs, e.Get("values"))
		}
		if v := root.Get("embedding.values"); v.IsArray() { // single embedContent answer
			vecs = append(vecs, v)
		}
	case Bedrock:
		if v := root.Get("embedding"); v.IsArray() { // Titan
			vecs = append(vecs, v)
			u.PromptTokens = root.Get("inputTextTokenCount").Int()
		} else if e := root.Get("embeddings"); e.IsArray() { // Cohere on Bedrock, embeddings_floats
			vecs = e.Array()
		} else {
			vecs = root.Get("embeddings.float").Array()
		}
	case Cohere:
		vecs = root.Get("embeddings.float").Array()
		u.PromptTokens = root.Get("meta.billed_units.input_tokens").Int()
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
