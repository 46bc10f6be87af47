package mockupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
)

// Bedrock Runtime: /model/{modelId}/converse, /converse-stream (AWS binary
// event stream), /invoke and /invoke-with-response-stream. The model id is
// path-escaped by clients (ids contain ':' and ARNs contain '/').

const bedrockToolID = "tooluse_mock_1"

func (s *Server) routeBedrock(c *call) handler {
	c.dialect = dialectBedrock
	rest := strings.TrimPrefix(c.r.URL.EscapedPath(), "/model/")
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return nil
	}
	c.model, _ = url.PathUnescape(rest[:i])
	c.action = rest[i+1:]
	switch c.action {
	case "converse", "converse-stream":
		return (*Server).bedrockConverse
	case "invoke", "invoke-with-response-stream":
		return (*Server).bedrockInvoke
	}
	return nil
}

func bedrockTurn(body []byte, model string) turn {
	r := gjson.GetManyBytes(body, "system", "toolConfig.tools.0.toolSpec.name", "messages")
	t := turn{model: model, tool: r[1].String(), promptChars: len(textOf(r[0]))}
	var last gjson.Result
	r[2].ForEach(func(_, m gjson.Result) bool {
		txt := textOf(m.Get("content"))
		t.promptChars += len(txt)
		if m.Get("role").Str == "user" {
			t.lastUser = txt
		}
		last = m
		return true
	})
	last.Get("content").ForEach(func(_, b gjson.Result) bool {
		if tr := b.Get("toolResult"); tr.Exists() {
			t.afterTool, t.toolResult = true, textOf(tr.Get("content"))
			t.promptChars += len(t.toolResult)
		}
		return true
	})
	return t
}

func bedrockUsage(a *answer) obj {
	return obj{"inputTokens": a.in, "outputTokens": a.out, "totalTokens": a.total()}
}

func bedrockStop(a *answer) string {
	if a.toolName != "" {
		return "tool_use"
	}
	return "end_turn"
}

func (s *Server) bedrockConverse(c *call) {
	t := bedrockTurn(c.body, c.model)
	a := s.answer(&t)
	latency := s.o.Latency.Milliseconds()
	if c.action == "converse" {
		block := obj{"text": a.text}
		if a.toolName != "" {
			block = obj{"toolUse": obj{"toolUseId": bedrockToolID, "name": a.toolName, "input": json.RawMessage(toolArgs)}}
		}
		c.send(mustJSON(obj{
			"output":     obj{"message": obj{"role": "assistant", "content": []any{block}}},
			"stopReason": bedrockStop(&a), "usage": bedrockUsage(&a), "metrics": obj{"latencyMs": latency},
		}), "application/json")
		return
	}

	emit := c.eventStream()
	c.startStream("application/vnd.amazon.eventstream")
	ev := func(typ string, f obj) bool { return emit(typ, mustJSON(f)) }
	if !ev("messageStart", obj{"role": "assistant"}) {
		return
	}
	pieces := a.pieces
	if a.toolName != "" {
		pieces = toolArgPieces
		start := obj{"toolUse": obj{"toolUseId": bedrockToolID, "name": a.toolName}}
		if !ev("contentBlockStart", obj{"contentBlockIndex": 0, "start": start}) {
			return
		}
	}
	for i, p := range pieces {
		delta := obj{"text": p}
		if a.toolName != "" {
			delta = obj{"toolUse": obj{"input": p}}
		}
		if !c.gap(i, len(pieces)) || !ev("contentBlockDelta", obj{"contentBlockIndex": 0, "delta": delta}) {
			return
		}
	}
	if ev("contentBlockStop", obj{"contentBlockIndex": 0}) &&
		ev("messageStop", obj{"stopReason": bedrockStop(&a)}) &&
		ev("metadata", obj{"usage": bedrockUsage(&a), "metrics": obj{"latencyMs": latency}}) {
		c.end()
	}
}

// eventStream returns an emitter framing each payload as an AWS event-stream
// message (with the SDK's encoder), one flushed write per event.
func (c *call) eventStream() func(eventType string, payload []byte) bool {
	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	return func(eventType string, payload []byte) bool {
		var m eventstream.Message
		m.Headers.Set(":event-type", eventstream.StringValue(eventType))
		m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		m.Headers.Set(":message-type", eventstream.StringValue("event"))
		m.Payload = payload
		buf.Reset()
		if err := enc.Encode(&buf, m); err != nil {
			c.broken = true
			return false
		}
		return c.write(buf.Bytes())
	}
}

// bedrockInvoke dispatches on the body, since the native formats are
// per-family and fault model names say nothing about the family.
func (s *Server) bedrockInvoke(c *call) {
	r := gjson.GetManyBytes(c.body, "inputText", "texts", "anthropic_version", "messages", "dimensions")
	stream := c.action == "invoke-with-response-stream"
	switch {
	case r[0].Exists() && !stream: // Titan embeddings
		c.send(mustJSON(obj{
			"embedding":           vector(r[0].String(), int(r[4].Int())),
			"inputTextTokenCount": tokens(len(r[0].String())),
		}), "application/json")
	case r[1].Exists() && !stream: // Cohere embed on Bedrock
		s.cohereEmbedReply(c, true)
	case r[2].Exists() || r[3].Exists():
		t := anthropicTurn(c.body, c.model)
		a := s.answer(&t)
		if !stream {
			c.send(s.anthropicMessage(c, &a), "application/json")
			return
		}
		// Bedrock wraps each Anthropic event as a "chunk" whose bytes are
		// the base64 of the event JSON, and adds its invocation metrics to
		// the last one (message_stop).
		emit := c.eventStream()
		chunk := func(typ string, data []byte) bool {
			if typ == "message_stop" {
				ms := s.o.Latency.Milliseconds()
				data = mustJSON(obj{"type": typ, "amazon-bedrock-invocationMetrics": obj{"inputTokenCount": a.in,
					"outputTokenCount": a.out, "invocationLatency": ms, "firstByteLatency": ms}})
			}
			return emit("chunk", mustJSON(obj{"bytes": base64.StdEncoding.EncodeToString(data)}))
		}
		c.startStream("application/vnd.amazon.eventstream")
		if s.anthropicStream(c, &a, chunk) {
			c.end()
		}
	default:
		c.fail(http.StatusBadRequest, "mock: invoke supports amazon.titan-embed (inputText), cohere.embed (texts) and anthropic (messages) bodies")
	}
}
