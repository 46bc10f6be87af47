package translate

// The AWS Bedrock Converse dialect, a provider dialect. Upstream errors read as {"message"} (or "Message");
// embeddings are InvokeModel bodies for Titan or for Cohere on Bedrock, chosen by the model id.

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

func init() {
	register(dialects.Bedrock, &codec{
		encodeRequest: func(req *schema.ChatRequest, w warnings) ([]byte, warnings, error) {
			b, err := encodeBedrockRequest(req, &w)
			return b, w, err
		},
		decodeResponse: decodeBedrockResponse,
		newParser:      func() parser { return newBedrockParser() },
		errorMessage: func(root gjson.Result) (string, string) {
			if msg := root.Get("message").String(); msg != "" {
				return msg, ""
			}
			return root.Get("Message").String(), ""
		},
		embeddingsRequest: bedrockEmbeddingsRequest,
		embeddingsVectors: bedrockEmbeddingsVectors,
	})
}

func bedrockEmbeddingsRequest(body []byte, model string) ([]byte, error) {
	req, texts, err := parseEmbeddings(body)
	if err != nil {
		return nil, err
	}
	if strings.Contains(model, "cohere.embed") {
		return json.Marshal(map[string]any{"texts": texts, "input_type": req.inputType(), "embedding_types": []string{"float"}})
	}
	if len(texts) != 1 {
		return nil, reqErr("input", "bedrock titan embeds one input per request; got %d", len(texts))
	}
	m := map[string]any{"inputText": texts[0]}
	if req.Dimensions != nil {
		m["dimensions"] = *req.Dimensions
	}
	return json.Marshal(m)
}

func bedrockEmbeddingsVectors(root gjson.Result, _ bool) (vecs []gjson.Result, u schema.Usage, asIs bool) {
	if v := root.Get("embedding"); v.IsArray() { // Titan
		u.PromptTokens = root.Get("inputTextTokenCount").Int()
		return []gjson.Result{v}, u, false
	}
	if e := root.Get("embeddings"); e.IsArray() { // Cohere on Bedrock, embeddings_floats
		return e.Array(), u, false
	}
	return root.Get("embeddings.float").Array(), u, false
}
