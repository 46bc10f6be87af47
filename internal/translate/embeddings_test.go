package translate

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
)

func TestEmbeddingsRequest(t *testing.T) {
	multi := []byte(`{"model":"text-embedding-3-small","input":["hello","world"],"dimensions":256}`)
	cases := []struct {
		out   dialects.Dialect
		model string
		body  []byte
		want  map[string]string
	}{
		{dialects.Gemini, "text-embedding-004", multi, map[string]string{"requests.1.content.parts.0.text": "world", "requests.0.model": "models/text-embedding-004", "requests.0.outputDimensionality": "256"}},
		{dialects.Cohere, "embed-v4.0", multi, map[string]string{"texts.1": "world", "input_type": "search_document", "embedding_types.0": "float", "output_dimension": "256", "model": "embed-v4.0"}},
		{dialects.Bedrock, "cohere.embed-english-v3", multi, map[string]string{"texts.0": "hello", "input_type": "search_document"}},
		{dialects.Bedrock, "amazon.titan-embed-text-v2:0", []byte(`{"input":"hello","dimensions":512}`), map[string]string{"inputText": "hello", "dimensions": "512"}},
		{dialects.OpenAI, "text-embedding-3-large", multi, map[string]string{"model": "text-embedding-3-large", "input.1": "world"}},
	}
	for _, c := range cases {
		b, err := EmbeddingsRequest(c.out, c.body, c.model)
		if err != nil {
			t.Fatalf("%s: %v", c.out, err)
		}
		for p, v := range c.want {
			if g := gjson.GetBytes(b, p).String(); g != v {
				t.Errorf("%s %s: %q want %q (%s)", c.out, p, g, v, b)
			}
		}
	}
	var re *RequestError
	if _, err := EmbeddingsRequest(dialects.Bedrock, multi, "amazon.titan-embed-text-v2:0"); !errors.As(err, &re) {
		t.Errorf("titan with two inputs: %v", err)
	}
	if _, err := EmbeddingsRequest(dialects.Cohere, []byte(`{"input":[[1,2,3]]}`), "embed"); !errors.As(err, &re) {
		t.Errorf("token input: %v", err)
	}
}

func TestEmbeddingsResponse(t *testing.T) {
	cases := []struct {
		out    dialects.Dialect
		body   string
		tokens int64
	}{
		{dialects.Gemini, `{"embeddings":[{"values":[0.5,-1.25]},{"values":[1,2]}]}`, 0},
		{dialects.Cohere, `{"id":"e","embeddings":{"float":[[0.5,-1.25],[1,2]]},"texts":["a","b"],"meta":{"billed_units":{"input_tokens":4}}}`, 4},
		{dialects.Bedrock, `{"embeddings":[[0.5,-1.25],[1,2]],"id":"x","response_type":"embeddings_floats","texts":["a","b"]}`, 0},
		{dialects.Bedrock, `{"embeddings":{"float":[[0.5,-1.25],[1,2]]},"id":"x","response_type":"embeddings_by_type"}`, 0},
	}
	for _, c := range cases {
		b, u, err := EmbeddingsResponse(c.out, []byte(c.body), "emb", false)
		if err != nil {
			t.Fatalf("%s: %v", c.out, err)
		}
		if gjson.GetBytes(b, "object").Str != "list" || gjson.GetBytes(b, "data.1.index").Int() != 1 ||
			gjson.GetBytes(b, "data.0.embedding.1").Float() != -1.25 || gjson.GetBytes(b, "model").Str != "emb" || u.PromptTokens != c.tokens {
			t.Errorf("%s: %s %+v", c.out, b, u)
		}
	}
	// Titan, base64: little-endian float32.
	b, u, err := EmbeddingsResponse(dialects.Bedrock, []byte(`{"embedding":[0.5,-1.25],"inputTextTokenCount":3}`), "titan", true)
	if err != nil || u.PromptTokens != 3 || u.TotalTokens != 3 {
		t.Fatal(err, u)
	}
	raw, err := base64.StdEncoding.DecodeString(gjson.GetBytes(b, "data.0.embedding").Str)
	if err != nil || len(raw) != 8 {
		t.Fatalf("%v %s", err, b)
	}
	if math.Float32frombits(binary.LittleEndian.Uint32(raw[4:])) != -1.25 {
		t.Errorf("decoded wrong: %v", raw)
	}
	if _, _, err := EmbeddingsResponse(dialects.Cohere, []byte(`{}`), "x", false); err == nil {
		t.Error("empty answer accepted")
	}
}
