package mockupstream

import (
	"math"
	"strings"

	"github.com/tidwall/gjson"
)

// Cohere v2: /v2/chat (JSON, or SSE with typed events), /v2/embed (also
// Bedrock's cohere.embed invoke body) and /v2/rerank + /v1/rerank.

func cohereUsage(a *answer) obj {
	u := obj{"input_tokens": a.in, "output_tokens": a.out}
	return obj{"billed_units": u, "tokens": u}
}

func cohereFinish(a *answer) string {
	if a.toolName != "" {
		return "TOOL_CALL"
	}
	return "COMPLETE"
}

func (s *Server) cohereChat(c *call) {
	// v2 chat messages and tools have the Chat Completions shape.
	t := openaiTurn(c.body, c.model)
	a := s.answer(&t)
	id := c.id("mock-chat-")
	plan := "I will call " + a.toolName + "."
	if !t.stream {
		msg := obj{"role": "assistant", "content": []any{obj{"type": "text", "text": a.text}}}
		if a.toolName != "" {
			msg = obj{"role": "assistant", "tool_plan": plan, "tool_calls": []any{obj{
				"id": toolCallID, "type": "function",
				"function": obj{"name": a.toolName, "arguments": toolArgs},
			}}}
		}
		c.send(mustJSON(obj{"id": id, "finish_reason": cohereFinish(&a), "message": msg, "usage": cohereUsage(&a)}), "application/json")
		return
	}

	ev := func(typ string, f obj) bool {
		f["type"] = typ
		return c.sse(typ, mustJSON(f))
	}
	delta := func(m obj) obj { return obj{"message": m} }
	c.startStream("text/event-stream")
	start := obj{"role": "assistant", "content": []any{}, "tool_plan": "", "tool_calls": []any{}, "citations": []any{}}
	if !ev("message-start", obj{"id": id, "delta": delta(start)}) {
		return
	}
	pieces, endEv := a.pieces, "content-end"
	if a.toolName != "" {
		pieces, endEv = toolArgPieces, "tool-call-end"
		call := obj{"id": toolCallID, "type": "function", "function": obj{"name": a.toolName, "arguments": ""}}
		if !ev("tool-plan-delta", obj{"delta": delta(obj{"tool_plan": plan})}) ||
			!ev("tool-call-start", obj{"index": 0, "delta": delta(obj{"tool_calls": call})}) {
			return
		}
	} else if !ev("content-start", obj{"index": 0, "delta": delta(obj{"content": obj{"type": "text", "text": ""}})}) {
		return
	}
	for i, p := range pieces {
		if !c.gap(i, len(pieces)) {
			return
		}
		ok := false
		if a.toolName != "" {
			ok = ev("tool-call-delta", obj{"index": 0, "delta": delta(obj{"tool_calls": obj{"function": obj{"arguments": p}}})})
		} else {
			ok = ev("content-delta", obj{"index": 0, "delta": delta(obj{"content": obj{"text": p}})})
		}
		if !ok {
			return
		}
	}
	if ev(endEv, obj{"index": 0}) &&
		ev("message-end", obj{"delta": obj{"finish_reason": cohereFinish(&a), "usage": cohereUsage(&a)}}) {
		c.end()
	}
}

func (s *Server) cohereEmbed(c *call) {
	s.cohereEmbedReply(c, strings.HasSuffix(c.r.URL.Path, "/v1/embed"))
}

// cohereEmbedReply answers texts (or v2 "inputs"). Without embedding_types,
// v1 and Bedrock answer the flat embeddings_floats form; v2 defaults to float
// in the embeddings_by_type form.
func (s *Server) cohereEmbedReply(c *call, flatByDefault bool) {
	r := gjson.GetManyBytes(c.body, "texts", "inputs", "embedding_types", "output_dimension")
	var texts []string
	r[0].ForEach(func(_, t gjson.Result) bool { texts = append(texts, t.String()); return true })
	r[1].ForEach(func(_, in gjson.Result) bool { texts = append(texts, textOf(in.Get("content"))); return true })
	dims := int(r[3].Int())
	chars, vecs := 0, make([][]float32, len(texts))
	for i, t := range texts {
		chars += len(t)
		vecs[i] = vector(t, dims)
	}
	res := obj{"id": c.id("mock-embed-"), "texts": texts,
		"meta": obj{"api_version": obj{"version": "2"}, "billed_units": obj{"input_tokens": tokens(chars)}}}
	if !r[2].Exists() && flatByDefault {
		res["embeddings"], res["response_type"] = vecs, "embeddings_floats"
		c.send(mustJSON(res), "application/json")
		return
	}
	types := []string{"float"}
	if r[2].Exists() {
		types = types[:0]
		r[2].ForEach(func(_, t gjson.Result) bool { types = append(types, t.String()); return true })
	}
	byType := obj{}
	for _, typ := range types {
		byType[typ] = convertEmbeddings(vecs, typ)
	}
	res["embeddings"], res["response_type"] = byType, "embeddings_by_type"
	c.send(mustJSON(res), "application/json")
}

// convertEmbeddings renders the float vectors in a Cohere embedding type.
func convertEmbeddings(vecs [][]float32, typ string) any {
	switch typ {
	case "int8", "uint8", "binary", "ubinary":
		out := make([][]int, len(vecs))
		for i, v := range vecs {
			out[i] = make([]int, len(v))
			for j, f := range v {
				if typ == "uint8" || typ == "ubinary" {
					out[i][j] = int(math.Round((float64(f) + 1) * 127.5))
				} else {
					out[i][j] = int(math.Round(float64(f) * 127))
				}
			}
		}
		return out
	case "base64":
		out := make([]string, len(vecs))
		for i, v := range vecs {
			out[i] = base64Floats(v)
		}
		return out
	}
	return vecs
}

// cohereRerank scores documents by the share of query words they contain,
// which is deterministic and ranks obviously relevant documents first.
func (s *Server) cohereRerank(c *call) {
	r := gjson.GetManyBytes(c.body, "query", "documents", "top_n", "return_documents")
	docs := rankDocuments(r[0].String(), r[1], int(r[2].Int()))
	results := make([]any, len(docs))
	for i, d := range docs {
		res := obj{"index": d.index, "relevance_score": d.score}
		if r[3].Bool() {
			res["document"] = obj{"text": d.text}
		}
		results[i] = res
	}
	c.send(mustJSON(obj{"id": c.id("mock-rerank-"), "results": results,
		"meta": obj{"api_version": obj{"version": "2"}, "billed_units": obj{"search_units": 1}}}), "application/json")
}
