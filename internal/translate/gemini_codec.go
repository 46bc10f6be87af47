package translate

// The Google generateContent dialect (Gemini API and Gemini on Vertex AI), a provider dialect. Upstream errors
// read as {"error":{"code","message","status"}}; embeddings are batchEmbedContents; token counting is countTokens.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

func init() {
	register(dialects.Gemini, &codec{
		encodeRequest: func(req *schema.ChatRequest, w warnings) ([]byte, warnings, error) {
			b, err := encodeGeminiRequest(req, &w)
			return b, w, err
		},
		decodeResponse: decodeGeminiResponse,
		newParser:      func() parser { return &geminiParser{} },
		errorMessage: func(root gjson.Result) (string, string) {
			return root.Get("error.message").String(), root.Get("error.status").String()
		},
		embeddingsRequest:  geminiEmbeddingsRequest,
		embeddingsVectors:  geminiEmbeddingsVectors,
		countTokensRequest: geminiCountTokensRequest,
		countTokensResult:  geminiCountTokensResult,
	})
}

func geminiEmbeddingsRequest(body []byte, model string) ([]byte, error) {
	req, texts, err := parseEmbeddings(body)
	if err != nil {
		return nil, err
	}
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

func geminiEmbeddingsVectors(root gjson.Result, _ bool) (vecs []gjson.Result, u schema.Usage, asIs bool) {
	for _, e := range root.Get("embeddings").Array() {
		vecs = append(vecs, e.Get("values"))
	}
	if v := root.Get("embedding.values"); v.IsArray() { // single embedContent answer
		vecs = append(vecs, v)
	}
	return vecs, u, false
}

// geminiCountFields are the members of a generateContent request that countTokens accepts.
var geminiCountFields = []string{"contents", "systemInstruction", "tools", "toolConfig"}

func geminiCountTokensRequest(full gjson.Result, model string, wrap bool) []byte {
	b := make([]byte, 0, len(full.Raw)+64)
	b = append(b, '{')
	if !wrap {
		b = appendFields(b, full, geminiCountFields, false)
		return append(b, '}')
	}
	b = append(b, `"generateContentRequest":{"model":`...)
	b = appendJSONString(b, geminiModelName(model))
	b = appendFields(b, full, geminiCountFields, true)
	return append(b, "}}"...)
}

// geminiModelName is "models/{model}" unless the model already names its collection.
func geminiModelName(model string) string {
	if strings.HasPrefix(model, "models/") || strings.HasPrefix(model, "tunedModels/") {
		return model
	}
	return "models/" + model
}

func geminiCountTokensResult(body []byte) (int64, error) {
	v := gjson.GetBytes(body, "totalTokens")
	if v.Type != gjson.Number {
		if !v.Exists() && gjson.ValidBytes(body) && gjson.ParseBytes(body).IsObject() {
			return 0, nil // Gemini leaves totalTokens out when it is zero
		}
		return 0, fmt.Errorf("translate: the %s token count has no %s", dialects.Gemini, "totalTokens")
	}
	return v.Int(), nil
}
