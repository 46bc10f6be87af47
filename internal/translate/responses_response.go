package translate

// OpenAI chat-completions answer → Responses API response object.
//
// Output items, in order: a reasoning item (reasoning_content, as a summary_text), an assistant message (content →
// output_text, refusal → refusal part), then one function_call item per tool call, whose call_id is the chat
// tool_call id so that the next turn's function_call_output finds it. finish_reason length → status incomplete
// with reason max_output_tokens, content_filter → incomplete with reason content_filter; otherwise completed.
// The request's settings (instructions, tools, tool_choice, temperature, …) are echoed as OpenAI does.

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// ChatToResponses converts a chat-completions answer into a Responses API response object with the given response
// id; it also returns the output items (for storing the conversation) and usage. req is the caller's Responses
// request body, whose settings the response echoes.
func ChatToResponses(chat []byte, respID string, req []byte) (resp []byte, output []json.RawMessage, usage schema.Usage, err error) {
	cr, err := decodeOpenAIResponse(chat)
	if err != nil {
		return nil, nil, schema.Usage{}, errInvalidUpstream
	}
	if len(cr.Choices) == 0 {
		return nil, nil, schema.Usage{}, errInvalidUpstream
	}
	usage = cr.Usage.ToUsage()
	m := &cr.Choices[0].Message
	if m.ReasoningContent != "" {
		output = append(output, reasoningItem(nil, newID("rs_"), m.ReasoningContent))
	}
	status, reason := responseStatus(cr.Choices[0].FinishReason)
	itemStatus := "completed"
	if status == "incomplete" {
		itemStatus = "incomplete"
	}
	text := m.Text()
	if text != "" || (m.Refusal != nil && *m.Refusal != "") || len(m.ToolCalls) == 0 {
		refusal := ""
		if m.Refusal != nil {
			refusal = *m.Refusal
		}
		output = append(output, messageItem(nil, newID("msg_"), itemStatus, text, refusal))
	}
	for _, tc := range m.ToolCalls {
		id := tc.ID
		if id == "" {
			id = newID("call_")
		}
		output = append(output, functionCallItem(nil, newID("fc_"), "completed", id, tc.Function.Name, tc.Function.Arguments))
	}
	model := gjson.GetBytes(req, "model").String()
	if model == "" {
		model = cr.Model
	}
	created := cr.Created
	if created == 0 {
		created = time.Now().Unix()
	}
	resp = responseObject(nil, &responseMeta{
		id: respID, created: created, model: model, status: status, incomplete: reason, req: req,
		output: output, usage: &usage,
	})
	return resp, output, usage, nil
}

// responseStatus maps a chat finish_reason to the response status and incomplete reason.
func responseStatus(finish string) (status, reason string) {
	switch finish {
	case "length":
		return "incomplete", "max_output_tokens"
	case "content_filter":
		return "incomplete", "content_filter"
	}
	return "completed", ""
}

// responseMeta is what a response object is rendered from.
type responseMeta struct {
	id, model, status, incomplete string
	created                       int64
	req                           []byte
	output                        []json.RawMessage
	usage                         *schema.Usage // nil → "usage":null (in-progress snapshots)
	errCode, errMsg               string        // status failed
}

// responseObject appends the response object to b. Settings are echoed from the request, with OpenAI's defaults
// where the caller left them out.
func responseObject(b []byte, m *responseMeta) []byte {
	req := gjson.ParseBytes(m.req)
	echo := func(b []byte, key, path, def string) []byte {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		if v := req.Get(path); v.Exists() && v.Type != gjson.Null {
			return append(b, compactRaw(v.Raw)...)
		}
		return append(b, def...)
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, m.id)
	b = append(b, `,"object":"response","created_at":`...)
	b = appendInt(b, m.created)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, m.status)
	b = append(b, `,"background":false,"error":`...)
	if m.errMsg != "" {
		b = append(b, `{"code":`...)
		b = appendJSONString(b, m.errCode)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, m.errMsg)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	if m.incomplete != "" {
		b = append(b, `{"reason":`...)
		b = appendJSONString(b, m.incomplete)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = echo(b, "instructions", "instructions", "null")
	b = echo(b, "max_output_tokens", "max_output_tokens", "null")
	b = echo(b, "metadata", "metadata", "{}")
	b = append(b, `,"model":`...)
	b = appendJSONString(b, m.model)
	b = append(b, `,"output":[`...)
	for i, it := range m.output {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, ']')
	b = echo(b, "parallel_tool_calls", "parallel_tool_calls", "true")
	b = echo(b, "previous_response_id", "previous_response_id", "null")
	b = echo(b, "reasoning", "reasoning", `{"effort":null,"summary":null}`)
	b = echo(b, "store", "store", "true")
	b = echo(b, "temperature", "temperature", "1")
	b = echo(b, "text", "text", `{"format":{"type":"text"}}`)
	b = echo(b, "tool_choice", "tool_choice", `"auto"`)
	b = echo(b, "tools", "tools", "[]")
	b = echo(b, "top_p", "top_p", "1")
	b = echo(b, "truncation", "truncation", `"disabled"`)
	b = append(b, `,"usage":`...)
	if m.usage != nil {
		b = appendResponsesUsage(b, *m.usage)
	} else {
		b = append(b, "null"...)
	}
	b = echo(b, "user", "user", "null")
	return append(b, '}')
}

// compactRaw strips insignificant whitespace from an echoed request value so events stay one line each.
func compactRaw(raw string) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return []byte("null")
	}
	return buf.Bytes()
}

func appendResponsesUsage(b []byte, u schema.Usage) []byte {
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	b = append(b, `{"input_tokens":`...)
	b = appendInt(b, u.PromptTokens)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.CachedTokens)
	b = append(b, `},"output_tokens":`...)
	b = appendInt(b, u.CompletionTokens)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, u.ReasoningTokens)
	b = append(b, `},"total_tokens":`...)
	b = appendInt(b, total)
	return append(b, '}')
}

// messageItem appends an assistant message output item; refusal, when set, is a refusal part after the text.
func messageItem(b []byte, id, status, text, refusal string) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"type":"message","status":`...)
	b = appendJSONString(b, status)
	b = append(b, `,"role":"assistant","content":[`...)
	if text != "" || refusal == "" {
		b = outputTextPart(b, text)
	}
	if refusal != "" {
		if text != "" {
			b = append(b, ',')
		}
		b = refusalPart(b, refusal)
	}
	return append(b, "]}"...)
}

func outputTextPart(b []byte, text string) []byte {
	b = append(b, `{"type":"output_text","annotations":[],"logprobs":[],"text":`...)
	b = appendJSONString(b, text)
	return append(b, '}')
}

func refusalPart(b []byte, refusal string) []byte {
	b = append(b, `{"type":"refusal","refusal":`...)
	b = appendJSONString(b, refusal)
	return append(b, '}')
}

func functionCallItem(b []byte, id, status, callID, name, args string) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"type":"function_call","status":`...)
	b = appendJSONString(b, status)
	b = append(b, `,"arguments":`...)
	b = appendJSONString(b, args)
	b = append(b, `,"call_id":`...)
	b = appendJSONString(b, callID)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	return append(b, '}')
}

// reasoningItem appends a reasoning item carrying the upstream's thinking text as its summary.
func reasoningItem(b []byte, id, text string) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"type":"reasoning","summary":[`...)
	if text != "" {
		b = summaryTextPart(b, text)
	}
	return append(b, "]}"...)
}

func summaryTextPart(b []byte, text string) []byte {
	b = append(b, `{"type":"summary_text","text":`...)
	b = appendJSONString(b, text)
	return append(b, '}')
}
