package mockupstream

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

const (
	geminiUser  = `"contents":[{"role":"user","parts":[{"text":"abcd"}]}]`
	geminiTools = `"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"OBJECT"}}]}]`
)

func TestGeminiJSON(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name, path, body string
		check            func(t *testing.T, r gjson.Result)
	}{
		{"text", "/v1beta/models/gemini-2.0-flash:generateContent", `{` + geminiUser + `}`, func(t *testing.T, r gjson.Result) {
			c := r.Get("candidates.0")
			if len(c.Get("content.parts.0.text").String()) != 64 || c.Get("content.role").String() != "model" || c.Get("finishReason").String() != "STOP" ||
				r.Get("usageMetadata.totalTokenCount").Int() != 18 || r.Get("modelVersion").String() != "gemini-2.0-flash" {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"vertex echo", "/v1/projects/p/locations/us-central1/publishers/google/models/echo:generateContent", `{` + geminiUser + `}`, func(t *testing.T, r gjson.Result) {
			if r.Get("candidates.0.content.parts.0.text").String() != "abcd" {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"functionCall", "/v1beta/models/g:generateContent", `{` + geminiUser + `,` + geminiTools + `}`, func(t *testing.T, r gjson.Result) {
			fc := r.Get("candidates.0.content.parts.0.functionCall")
			if fc.Get("name").String() != "get_weather" || fc.Get("args.city").String() != "Paris" {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"functionResponse", "/v1beta/models/g:generateContent", `{` + geminiTools + `,"contents":[{"role":"user","parts":[{"text":"w?"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"sky":"hail"}}}]}]}`, func(t *testing.T, r gjson.Result) {
			if !strings.Contains(r.Get("candidates.0.content.parts.0.text").String(), "hail") {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"embedContent", "/v1beta/models/text-embedding-004:embedContent", `{"content":{"parts":[{"text":"x"}]},"outputDimensionality":5}`, func(t *testing.T, r gjson.Result) {
			if len(r.Get("embedding.values").Array()) != 5 {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"batchEmbedContents", "/v1beta/models/text-embedding-004:batchEmbedContents", `{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"x"}]}},{"model":"models/text-embedding-004","content":{"parts":[{"text":"y"}]}}]}`, func(t *testing.T, r gjson.Result) {
			if e := r.Get("embeddings").Array(); len(e) != 2 || len(e[1].Get("values").Array()) != defaultDims {
				t.Fatalf("%s", r.Raw)
			}
		}},
		{"countTokens", "/v1beta/models/g:countTokens", `{` + geminiUser + `}`, func(t *testing.T, r gjson.Result) {
			if r.Get("totalTokens").Int() != 2 {
				t.Fatalf("%s", r.Raw)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, okJSON(t, ts.URL+tc.path, tc.body)) })
	}
}

func TestGeminiStream(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 2})
	evs := sse(t, ts.URL+"/v1beta/models/echo:streamGenerateContent?alt=sse", `{`+geminiUser+`}`)
	if len(evs) != 2 || evs[0].data.Get("candidates.0.content.parts.0.text").String()+evs[1].data.Get("candidates.0.content.parts.0.text").String() != "abcd" ||
		evs[0].data.Get("candidates.0.finishReason").Exists() || evs[1].data.Get("candidates.0.finishReason").String() != "STOP" ||
		evs[1].data.Get("usageMetadata.candidatesTokenCount").Int() != 4 {
		t.Fatalf("events %v", evs)
	}

	// Without alt=sse the stream is one JSON array.
	r := okJSON(t, ts.URL+"/v1beta/models/echo:streamGenerateContent", `{`+geminiUser+`}`)
	if !r.IsArray() || len(r.Array()) != 2 || r.Get("1.candidates.0.finishReason").String() != "STOP" {
		t.Fatalf("array %s", r.Raw)
	}

	evs = sse(t, ts.URL+"/v1beta/models/g:streamGenerateContent?alt=sse", `{`+geminiUser+`,`+geminiTools+`}`)
	if len(evs) != 1 || evs[0].data.Get("candidates.0.content.parts.0.functionCall.name").String() != "get_weather" {
		t.Fatalf("tool events %v", evs)
	}
}
