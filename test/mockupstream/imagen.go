package mockupstream

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Google's image models. Imagen's :predict (AI Studio
// /v1beta/models/{m}:predict, Vertex .../publishers/google/models/{m}:predict)
// answers parameters.sampleCount copies of the mock PNG, Imagen's default of
// 4 when unset. generateContent of a "*-image*" model (gemini-2.5-flash-image)
// whose generationConfig.responseModalities includes IMAGE answers one PNG as
// an inlineData part (after a text part when TEXT is asked too), billed at
// geminiImageTokens output tokens as Google bills a 1024x1024 image; like the
// real models it refuses candidateCount > 1.

const geminiImageTokens = 1290

var imagenRatios = map[string]bool{"1:1": true, "3:4": true, "4:3": true, "9:16": true, "16:9": true}

func (s *Server) imagenPredict(c *call) {
	r := gjson.GetManyBytes(c.body, "instances.0.prompt", "parameters.sampleCount", "parameters.aspectRatio")
	n := 4
	if r[1].Exists() {
		n = int(r[1].Int())
	}
	switch {
	case r[0].String() == "":
		c.fail(http.StatusBadRequest, "instances[0].prompt is required.")
		return
	case n < 1 || n > 4:
		c.fail(http.StatusBadRequest, "sampleCount must be between 1 and 4, got "+strconv.Itoa(n)+".")
		return
	case r[2].Exists() && !imagenRatios[r[2].String()]:
		c.fail(http.StatusBadRequest, "Unsupported aspect ratio: "+r[2].String()+".")
		return
	}
	preds := make([]any, n)
	for i := range preds {
		preds[i] = obj{"bytesBase64Encoded": mockPNGBase64, "mimeType": "image/png"}
	}
	c.sendJSON(obj{"predictions": preds})
}

// geminiWantsImage reports whether a generateContent call asks an image
// model for an image.
func geminiWantsImage(c *call) bool {
	if !strings.Contains(controlName(c.model), "-image") {
		return false
	}
	want := false
	gjson.GetBytes(c.body, "generationConfig.responseModalities").ForEach(func(_, m gjson.Result) bool {
		want = strings.EqualFold(m.String(), "IMAGE")
		return !want
	})
	return want
}

func (s *Server) geminiImage(c *call) {
	r := gjson.GetManyBytes(c.body, "contents", "systemInstruction", "generationConfig.candidateCount", "generationConfig.responseModalities")
	if r[2].Int() > 1 {
		c.fail(http.StatusBadRequest, "Multiple candidates is not enabled for models/"+c.model)
		return
	}
	t := geminiTurn(r[0], r[1], gjson.Result{}, c.model)
	in, out := tokens(t.promptChars), geminiImageTokens
	var parts []any
	details := []any{obj{"modality": "IMAGE", "tokenCount": geminiImageTokens}}
	r[3].ForEach(func(_, m gjson.Result) bool {
		if strings.EqualFold(m.String(), "TEXT") {
			const text = "Here is your image."
			parts = append(parts, obj{"text": text})
			out += tokens(len(text))
			details = append(details, obj{"modality": "TEXT", "tokenCount": tokens(len(text))})
		}
		return true
	})
	parts = append(parts, obj{"inlineData": obj{"mimeType": "image/png", "data": mockPNGBase64}})
	c.sendJSON(obj{
		"candidates": []any{obj{"content": obj{"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}},
		"usageMetadata": obj{"promptTokenCount": in, "candidatesTokenCount": out, "totalTokenCount": in + out,
			"candidatesTokensDetails": details},
		"modelVersion": c.model, "responseId": c.id("mock-resp-"),
	})
}
