package translate

// The Cohere Chat v2 dialect, a provider dialect. Upstream errors read as {"message"}; embeddings are embed v2.

import (
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

func init() {
	register(dialects.Cohere, &codec{
		encodeRequest: func(req *schema.ChatRequest, w warnings) ([]byte, warnings, error) {
			b, err := encodeCohereRequest(req, &w)
			return b, w, err
		},
		decodeResponse:    decodeCohereResponse,
		newParser:         func() parser { return &cohereParser{} },
		errorMessage:      func(root gjson.Result) (string, string) { return root.Get("message").String(), "" },
		embeddingsRequest: cohereEmbeddingsRequest,
		embeddingsVectors: func(root gjson.Result, _ bool) ([]gjson.Result, schema.Usage, bool) {
			u := schema.Usage{PromptTokens: root.Get("meta.billed_units.input_tokens").Int()}
			return root.Get("embeddings.float").Array(), u, false
		},
	})
}

func cohereEmbeddingsRequest(body []byte, model string) ([]byte, error) {
	req, texts, err := parseEmbeddings(body)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"model": model, "texts": texts, "input_type": req.inputType(), "embedding_types": []string{"float"}}
	if req.Dimensions != nil {
		m["output_dimension"] = *req.Dimensions
	}
	return json.Marshal(m)
}
