package mockupstream

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"
)

// Gemini generateContent family, matched by the ":verb" suffix so AI Studio
// (/v1beta/models/{m}:verb) and Vertex (/v1/projects/.../publishers/google/
// models/{m}:verb) both work. Vertex-hosted Anthropic (.../publishers/
// anthropic/models/{m}:rawPredict) is routed to the Anthropic handler.

func (s *Server) routeGoogle(c *call) handler {
	p := c.r.URL.Path
	i := strings.LastIndexByte(p, ':')
	base := p[:i]
	c.action = p[i+1:]
	c.model = base[strings.LastIndexByte(base, '/')+1:]
	if strings.Contains(base, "/publishers/anthropic/") {
		c.dialect = dialectAnthropic
		if c.model == "count-tokens" { // Vertex: .../models/count-tokens:rawPredict
			c.model = bodyModel(c.body)
			return (*Server).anthropicCountTokens
		}
		if c.action == "rawPredict" || c.action == "streamRawPredict" {
			return (*Server).anthropicMessages
		}
		return nil
	}
	c.dialect = dialectGemini
	switch c.action {
	case "generateContent", "streamGenerateContent":
		if c.action == "generateContent" && geminiWantsImage(c) {
			return (*Server).geminiImage // imagen.go
		}
		return (*Server).geminiGenerate
	case "predict": // Imagen (imagen.go)
		return (*Server).imagenPredict
	case "embedContent":
		return (*Server).geminiEmbed
	case "batchEmbedContents":
		return (*Server).geminiBatchEmbed
	case "countTokens":
		return (*Server).geminiCountTokens
	}
	return nil
}

// geminiTurn reads contents/parts. A tool result is a functionResponse part
// in the last content; its "response" object is the result text.
func geminiTurn(contents, system, tools gjson.Result, model string) turn {
	t := turn{model: model, promptChars: len(textOf(system.Get("parts")))}
	tools.ForEach(func(_, tool gjson.Result) bool {
		t.tool = tool.Get("functionDeclarations.0.name").String()
		if t.tool == "" {
			t.tool = tool.Get("function_declarations.0.name").String()
		}
		return t.tool == ""
	})
	var last gjson.Result
	contents.ForEach(func(_, ct gjson.Result) bool {
		txt := textOf(ct.Get("parts"))
		t.promptChars += len(txt)
		if r := ct.Get("role").Str; r == "user" || r == "" {
			t.lastUser = txt
		}
		last = ct
		return true
	})
	last.Get("parts").ForEach(func(_, p gjson.Result) bool {
		if fr := p.Get("functionResponse"); fr.Exists() {
			t.afterTool, t.toolResult = true, fr.Get("response").Raw
		}
		return true
	})
	return t
}

func (s *Server) geminiGenerate(c *call) {
	r := gjson.GetManyBytes(c.body, "contents", "systemInstruction", "tools")
	t := geminiTurn(r[0], r[1], r[2], c.model)
	a := s.answer(&t)
	respID := c.id("mock-resp-")
	if c.action == "generateContent" {
		c.send(mustJSON(geminiResponse(c.model, respID, geminiParts(&a, a.text), &a, true)), "application/json")
		return
	}
	sse := c.r.URL.Query().Get("alt") == "sse"
	var chunks [][]byte
	if a.toolName != "" { // Gemini sends a whole functionCall in one chunk
		chunks = append(chunks, mustJSON(geminiResponse(c.model, respID, geminiParts(&a, ""), &a, true)))
	} else {
		for i, p := range a.pieces {
			chunks = append(chunks, mustJSON(geminiResponse(c.model, respID, geminiParts(&a, p), &a, i == len(a.pieces)-1)))
		}
	}
	if sse {
		c.startStream("text/event-stream")
	} else { // a JSON array written incrementally, as the REST API does
		c.startStream("application/json")
	}
	for i, ch := range chunks {
		if !c.gap(i, len(chunks)) {
			return
		}
		if sse {
			if !c.sse("", ch) {
				return
			}
			continue
		}
		sep := []byte(",\r\n")
		if i == 0 {
			sep = []byte("[")
		}
		if !c.write(append(sep, ch...)) {
			return
		}
	}
	if sse || c.write([]byte("]")) {
		c.end()
	}
}

func geminiParts(a *answer, text string) []any {
	if a.toolName != "" {
		return []any{obj{"functionCall": obj{"name": a.toolName, "args": json.RawMessage(toolArgs)}}}
	}
	return []any{obj{"text": text}}
}

// geminiResponse is one GenerateContentResponse; only the final one carries
// finishReason and the candidates token count.
func geminiResponse(model, respID string, parts []any, a *answer, final bool) obj {
	cand := obj{"content": obj{"parts": parts, "role": "model"}, "index": 0}
	usage := obj{"promptTokenCount": a.in, "totalTokenCount": a.in}
	if final {
		cand["finishReason"] = "STOP"
		usage["candidatesTokenCount"], usage["totalTokenCount"] = a.out, a.total()
	}
	return obj{"candidates": []any{cand}, "usageMetadata": usage, "modelVersion": model, "responseId": respID}
}

func (s *Server) geminiEmbed(c *call) {
	r := gjson.GetManyBytes(c.body, "content.parts", "outputDimensionality")
	v := vector(textOf(r[0]), int(r[1].Int()))
	c.send(mustJSON(obj{"embedding": obj{"values": v}}), "application/json")
}

func (s *Server) geminiBatchEmbed(c *call) {
	var out []any
	gjson.GetBytes(c.body, "requests").ForEach(func(_, req gjson.Result) bool {
		v := vector(textOf(req.Get("content.parts")), int(req.Get("outputDimensionality").Int()))
		out = append(out, obj{"values": v})
		return true
	})
	c.send(mustJSON(obj{"embeddings": out}), "application/json")
}

func (s *Server) geminiCountTokens(c *call) {
	r := gjson.GetManyBytes(c.body, "contents", "generateContentRequest.contents")
	contents := r[0]
	if !contents.Exists() {
		contents = r[1]
	}
	t := geminiTurn(contents, gjson.Result{}, gjson.Result{}, c.model)
	c.send(mustJSON(obj{"totalTokens": tokens(t.promptChars)}), "application/json")
}
