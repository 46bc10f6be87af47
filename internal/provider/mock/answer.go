package mock

import (
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/provider"
)

const fixedText = "Hello from Weir's mock provider. Ask for the model mock/echo to hear yourself back."

// answer is what the mock says, before it is rendered as JSON or as stream chunks.
type answer struct {
	text     string
	toolName string // non-empty: call this tool instead of answering in text
	prompt   int64
}

func chatAnswer(model string, body []byte) answer {
	msgs := gjson.GetBytes(body, "messages").Array()
	a := answer{text: fixedText, prompt: tokens(len(body))}
	if tools := gjson.GetBytes(body, "tools"); tools.IsArray() && len(tools.Array()) > 0 &&
		(len(msgs) == 0 || msgs[len(msgs)-1].Get("role").String() != "tool") &&
		gjson.GetBytes(body, "tool_choice").String() != "none" {
		a.toolName = tools.Array()[0].Get("function.name").String()
		return a
	}
	if len(msgs) > 0 && msgs[len(msgs)-1].Get("role").String() == "tool" {
		a.text = "The tool said: " + msgs[len(msgs)-1].Get("content").String()
		return a
	}
	if model == "echo" {
		for i := len(msgs) - 1; i >= 0; i-- {
			if msgs[i].Get("role").String() == "user" {
				a.text = contentText(msgs[i].Get("content"))
				break
			}
		}
	}
	return a
}

func completionAnswer(body []byte) answer {
	return answer{text: fixedText, prompt: tokens(len(gjson.GetBytes(body, "prompt").Raw))}
}

// contentText joins the text parts of a string-or-parts content.
func contentText(c gjson.Result) string {
	if c.Type == gjson.String {
		return c.String()
	}
	var b strings.Builder
	for _, part := range c.Array() {
		if part.Get("type").String() == "text" {
			b.WriteString(part.Get("text").String())
		}
	}
	return b.String()
}

// tokens approximates a token count the way tokenizers average on English: four bytes a token.
func tokens(n int) int64 { return int64(n/4 + 1) }

type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

func (a answer) usage() usage {
	c := tokens(len(a.text))
	if a.toolName != "" {
		c = 10
	}
	return usage{a.prompt, c, a.prompt + c}
}

const toolArgs = `{"city":"Paris"}`

func (a answer) json(model string, op provider.Op) []byte {
	if op == provider.OpCompletions {
		return mustJSON(map[string]any{
			"id": "cmpl-mock", "object": "text_completion", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{"index": 0, "text": a.text, "finish_reason": "stop", "logprobs": nil}},
			"usage":   a.usage(),
		})
	}
	msg := map[string]any{"role": "assistant", "content": a.text}
	finish := "stop"
	if a.toolName != "" {
		finish = "tool_calls"
		msg["content"] = nil
		msg["tool_calls"] = []any{map[string]any{"id": "call_mock_1", "type": "function",
			"function": map[string]any{"name": a.toolName, "arguments": toolArgs}}}
	}
	return mustJSON(map[string]any{
		"id": "chatcmpl-mock", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   a.usage(),
	})
}

// chunks renders the answer as SSE events: role, n content pieces (or a tool call in two argument pieces),
// the finish reason, usage when asked, and [DONE].
func (a answer) chunks(model string, op provider.Op, n int, includeUsage bool) [][]byte {
	var evs [][]byte
	obj := "chat.completion.chunk"
	if op == provider.OpCompletions {
		obj = "text_completion"
	}
	emit := func(choices any, u *usage) {
		m := map[string]any{"id": "chatcmpl-mock", "object": obj, "created": 1700000000, "model": model, "choices": choices}
		if u != nil {
			m["usage"] = u
		}
		evs = append(evs, append(append([]byte("data: "), mustJSON(m)...), '\n', '\n'))
	}
	delta := func(d map[string]any, finish any) []any {
		if op == provider.OpCompletions {
			t, _ := d["content"].(string)
			return []any{map[string]any{"index": 0, "text": t, "finish_reason": finish}}
		}
		return []any{map[string]any{"index": 0, "delta": d, "finish_reason": finish}}
	}
	finish := "stop"
	if op == provider.OpChat {
		emit(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil)
	}
	if a.toolName != "" {
		finish = "tool_calls"
		emit(delta(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": "call_mock_1", "type": "function",
			"function": map[string]any{"name": a.toolName, "arguments": ""}}}}, nil), nil)
		half := len(toolArgs) / 2
		for _, piece := range []string{toolArgs[:half], toolArgs[half:]} {
			emit(delta(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": piece}}}}, nil), nil)
		}
	} else {
		for _, piece := range split(a.text, n) {
			emit(delta(map[string]any{"content": piece}, nil), nil)
		}
	}
	emit(delta(map[string]any{}, finish), nil)
	if includeUsage {
		u := a.usage()
		emit([]any{}, &u)
	}
	return append(evs, []byte("data: [DONE]\n\n"))
}

// split cuts s into at most n pieces of about equal size, on byte boundaries that keep UTF-8 intact.
func split(s string, n int) []string {
	if n <= 1 || len(s) <= n {
		return []string{s}
	}
	size := (len(s) + n - 1) / n
	var out []string
	for len(s) > 0 {
		end := min(size, len(s))
		for end < len(s) && !utf8Start(s[end]) {
			end++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func embeddings(model string, body []byte) []byte {
	in := gjson.GetBytes(body, "input")
	var inputs []string
	if in.IsArray() {
		for _, x := range in.Array() {
			inputs = append(inputs, x.Raw)
		}
	} else {
		inputs = []string{in.Raw}
	}
	data := make([]any, len(inputs))
	var total int64
	for i, s := range inputs {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vector(s)}
		total += tokens(len(s))
	}
	if gjson.GetBytes(body, "encoding_format").String() == "base64" {
		for i, s := range inputs {
			data[i].(map[string]any)["embedding"] = base64Vector(vector(s))
		}
	}
	return mustJSON(map[string]any{"object": "list", "model": model, "data": data,
		"usage": map[string]any{"prompt_tokens": total, "total_tokens": total}})
}

// vector is a deterministic 8-dimensional embedding derived from the input's bytes.
func vector(s string) []float32 {
	v := make([]float32, 8)
	for i := 0; i < len(s); i++ {
		v[i%8] += float32(s[i]) / 256
	}
	return v
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("mock: " + err.Error())
	}
	return b
}
