package mockupstream

import (
	"net/http"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// POST /v1/rerank is shared by Cohere v1 and the OpenAI-compatible rerank
// servers (Jina, vLLM, TEI-style gateways), so one answer serves all:
// id, model, results[{index, relevance_score, document{text}}], usage
// {prompt_tokens, total_tokens} (Jina/vLLM) and meta.billed_units (Cohere).
// Documents are returned unless return_documents is false (the Jina/vLLM
// default; Cohere clients ignore the extra field). Scores use the same rule
// as Cohere's /v2/rerank: 0.01 + 0.98 × the share of query words in the
// document. Errors use the OpenAI format.

type rankedDoc struct {
	index int
	text  string
	score float64
}

// rankDocuments scores and orders documents (strings or {"text": ...}),
// keeping the top n when n > 0.
func rankDocuments(query string, docs gjson.Result, n int) []rankedDoc {
	q := strings.Fields(strings.ToLower(query))
	var out []rankedDoc
	docs.ForEach(func(_, d gjson.Result) bool {
		text := d.String()
		if d.IsObject() {
			text = d.Get("text").String()
		}
		words := map[string]bool{}
		for _, w := range strings.Fields(strings.ToLower(text)) {
			words[w] = true
		}
		hit := 0
		for _, w := range q {
			if words[w] {
				hit++
			}
		}
		score := 0.01
		if len(q) > 0 {
			score += 0.98 * float64(hit) / float64(len(q))
		}
		out = append(out, rankedDoc{len(out), text, score})
		return true
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	if n > 0 && n < len(out) {
		out = out[:n]
	}
	return out
}

func (s *Server) rerank(c *call) {
	r := gjson.GetManyBytes(c.body, "query", "documents", "top_n", "return_documents")
	query := r[0].String()
	if query == "" || len(r[1].Array()) == 0 {
		c.reject(http.StatusBadRequest, "mock: rerank needs a query and at least one document", "", nil)
		return
	}
	withDocs := !r[3].Exists() || r[3].Bool()
	chars := len(query)
	r[1].ForEach(func(_, d gjson.Result) bool { chars += len(textOf(d)); return true })
	ranked := rankDocuments(query, r[1], int(r[2].Int()))
	results := make([]any, len(ranked))
	for i, d := range ranked {
		res := obj{"index": d.index, "relevance_score": d.score}
		if withDocs {
			res["document"] = obj{"text": d.text}
		}
		results[i] = res
	}
	n := tokens(chars)
	c.sendJSON(obj{"id": c.id("rerank-mock-"), "model": c.model, "results": results,
		"usage": obj{"prompt_tokens": n, "total_tokens": n},
		"meta":  obj{"api_version": obj{"version": "1"}, "billed_units": obj{"search_units": 1}}})
}
