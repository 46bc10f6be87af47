package mockupstream

import (
	"testing"

	"github.com/tidwall/gjson"
)

// /v1/rerank answers Jina/vLLM (model, usage, documents by default) and
// Cohere v1 (meta, documents on request) clients with one shape.
func TestRerankV1(t *testing.T) {
	ts, _ := start(t, Options{})
	docs := `"documents":["bananas are yellow","Paris is the capital of France",{"text":"France"}]`
	cases := []struct {
		name, path, body string
		n                int
		docs             bool
	}{
		{"openai-compatible", "/v1/rerank", `{"model":"jina-reranker-v2","query":"capital of France",` + docs + `,"top_n":2}`, 2, true},
		{"vllm no top_n", "/v1/rerank", `{"model":"BAAI/bge-reranker-base","query":"capital of France",` + docs + `}`, 3, true},
		{"cohere v1 without documents", "/v1/rerank", `{"model":"rerank-english-v3.0","query":"capital of France",` + docs + `,"top_n":2,"return_documents":false}`, 2, false},
		{"bare /rerank", "/rerank", `{"model":"m","query":"capital of France",` + docs + `}`, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := okJSON(t, ts.URL+tc.path, tc.body)
			res := r.Get("results").Array()
			if len(res) != tc.n || res[0].Get("index").Int() != 1 || res[1].Get("index").Int() != 2 ||
				res[0].Get("relevance_score").Float() <= res[1].Get("relevance_score").Float() {
				t.Fatalf("%s", r.Raw)
			}
			if res[0].Get("document.text").Exists() != tc.docs || (tc.docs && res[0].Get("document.text").String() != "Paris is the capital of France") {
				t.Fatalf("documents: %s", r.Raw)
			}
			if !r.Get("id").Exists() || r.Get("model").String() != gjson.Get(tc.body, "model").String() ||
				r.Get("usage.total_tokens").Int() <= 0 || r.Get("meta.billed_units.search_units").Int() != 1 {
				t.Fatalf("envelope %s", r.Raw)
			}
		})
	}
	// Same ranking as Cohere's /v2/rerank.
	v2 := okJSON(t, ts.URL+"/v2/rerank", `{"model":"rerank-v3.5","query":"capital of France",`+docs+`}`)
	v1 := okJSON(t, ts.URL+"/v1/rerank", `{"model":"rerank-v3.5","query":"capital of France",`+docs+`}`)
	for i := range 3 {
		if v1.Get("results").Array()[i].Get("relevance_score").Float() != v2.Get("results").Array()[i].Get("relevance_score").Float() {
			t.Fatalf("v1 %s v2 %s", v1.Raw, v2.Raw)
		}
	}
	st, b, _ := post(t, ts.URL+"/v1/rerank", `{"model":"m","query":"q","documents":[]}`)
	if st != 400 || !gjson.GetBytes(b, "error.message").Exists() {
		t.Fatalf("%d %s", st, b)
	}
}
