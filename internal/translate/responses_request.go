package translate

// OpenAI Responses API request → OpenAI chat-completions request (the hub), so /v1/responses can be served by any
// provider: Responses → chat → (the existing encoders) → provider.
//
// | Responses                                   | chat completions                                            |
// |---------------------------------------------|-------------------------------------------------------------|
// | instructions                                | a leading system message                                    |
// | input (string)                              | one user message                                            |
// | message item (user/system/developer)        | message (developer → system); input_text → text part,       |
// |                                             | input_image → image_url, input_file file_data → file        |
// | message item (assistant)                    | assistant message; output_text/refusal joined as text       |
// | function_call {call_id,name,arguments}      | tool_calls entry of an assistant message (merged in a row)  |
// | function_call_output {call_id,output}       | tool message                                                |
// | reasoning item                              | dropped: chat has no way to send it back                    |
// | tools [{type:function,name,…}] (flat)       | tools [{type:function,function:{name,…}}] (nested)          |
// | built-in tools (web_search, mcp, …)         | *RequestError naming the tool                               |
// | tool_choice {type:function,name}            | {type:function,function:{name}}                             |
// | text.format json_schema / json_object       | response_format                                             |
// | max_output_tokens                           | max_completion_tokens                                       |
// | reasoning.effort                            | reasoning_effort                                            |
// | user, safety_identifier                     | user                                                        |
// | metadata, store, include, truncation, …     | dropped (the gateway keeps conversation state itself)       |
// | background, prompt, conversation, file ids  | *RequestError: cannot be honoured by translation            |

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// responsesRequest is the part of a Responses API request the translation reads.
type responsesRequest struct {
	Model             string          `json:"model"`
	Input             json.RawMessage `json:"input"`
	Instructions      json.RawMessage `json:"instructions"`
	Tools             []responsesTool `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	Text              *struct {
		Format json.RawMessage `json:"format"`
	} `json:"text"`
	MaxOutputTokens *int64   `json:"max_output_tokens"`
	Temperature     *float64 `json:"temperature"`
	TopP            *float64 `json:"top_p"`
	TopLogprobs     *int64   `json:"top_logprobs"`
	Reasoning       *struct {
		Effort *string `json:"effort"`
	} `json:"reasoning"`
	User             string          `json:"user"`
	SafetyIdentifier string          `json:"safety_identifier"`
	Stream           bool            `json:"stream"`
	Background       bool            `json:"background"`
	Prompt           json.RawMessage `json:"prompt"`
	Conversation     json.RawMessage `json:"conversation"`
}

// responsesTool is one entry of tools: function tools are flat ({type,name,description,parameters,strict}).
type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
}

// responsesItem is one input item; which members matter depends on Type.
type responsesItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
	ID        string          `json:"id"`
}

// responsesPart is one content part of a message item.
type responsesPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
	Detail   string `json:"detail"`
	FileData string `json:"file_data"`
	FileURL  string `json:"file_url"`
	Filename string `json:"filename"`
}

// ResponsesToChat converts a Responses API request body to an OpenAI chat-completions body for model.
// history holds earlier turns' items (from previous_response_id), prepended before the request's input.
// Built-in tools (web_search, file_search, code_interpreter, computer_use, image_generation, mcp, …) → *RequestError
// naming the tool. stream reports whether the caller asked for a stream.
func ResponsesToChat(body []byte, model string, history []json.RawMessage) (chat []byte, stream bool, err error) {
	var r responsesRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, false, reqErr("", "invalid request: %v", err)
	}
	switch {
	case r.Background:
		return nil, false, reqErr("background", "background responses are not supported for this model")
	case isSet(r.Prompt):
		return nil, false, reqErr("prompt", "stored prompt templates are not supported for this model")
	case isSet(r.Conversation):
		return nil, false, reqErr("conversation", "conversations are not supported; use previous_response_id")
	}
	req := schema.ChatRequest{Model: model, Stream: r.Stream}
	if isSet(r.Instructions) {
		var s string
		if err := json.Unmarshal(r.Instructions, &s); err != nil {
			return nil, false, reqErr("instructions", "expected a string")
		}
		if s != "" {
			req.Messages = append(req.Messages, schema.Message{Role: "system", Content: schema.TextContent(s)})
		}
	}
	for i, raw := range history {
		if req.Messages, err = appendItem(req.Messages, raw, "history["+strconv.Itoa(i)+"]"); err != nil {
			return nil, false, err
		}
	}
	if err := appendInput(&req, r.Input); err != nil {
		return nil, false, err
	}
	if len(req.Messages) == 0 {
		return nil, false, reqErr("input", "input is required")
	}
	if req.Tools, err = chatTools(r.Tools); err != nil {
		return nil, false, err
	}
	if req.ToolChoice, err = chatToolChoice(r.ToolChoice); err != nil {
		return nil, false, err
	}
	req.ParallelToolCalls = r.ParallelToolCalls
	if r.Text != nil {
		if req.ResponseFormat, err = chatResponseFormat(r.Text.Format); err != nil {
			return nil, false, err
		}
	}
	req.MaxCompletionTokens = r.MaxOutputTokens
	req.Temperature, req.TopP = r.Temperature, r.TopP
	if r.TopLogprobs != nil && *r.TopLogprobs > 0 {
		req.Logprobs, req.TopLogprobs = ptr(true), r.TopLogprobs
	}
	if r.Reasoning != nil && r.Reasoning.Effort != nil {
		req.ReasoningEffort = *r.Reasoning.Effort
	}
	req.User = r.User
	if req.User == "" {
		req.User = r.SafetyIdentifier
	}
	if req.Stream {
		req.StreamOptions = &schema.StreamOptions{IncludeUsage: true}
	}
	chat, err = json.Marshal(&req)
	return chat, r.Stream, err
}

// InputItems returns the request's input as items (a string input becomes one user message item), for storing.
func InputItems(body []byte) ([]json.RawMessage, error) {
	var r struct {
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, reqErr("", "invalid request: %v", err)
	}
	in := bytes.TrimSpace(r.Input)
	if !isSet(in) {
		return nil, nil
	}
	if in[0] == '"' {
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, reqErr("input", "invalid value")
		}
		b := append(make([]byte, 0, 80+len(s)), `{"type":"message","role":"user","content":[{"type":"input_text","text":`...)
		b = appendJSONString(b, s)
		b = append(b, `}]}`...)
		return []json.RawMessage{b}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(in, &items); err != nil {
		return nil, reqErr("input", "expected a string or an array of items")
	}
	for i, it := range items {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(it, &head); err != nil {
			return nil, reqErr("input["+strconv.Itoa(i)+"]", "expected an object")
		}
		if head.Type == "" { // the easy form {role, content}: stored with its implied type, as OpenAI lists it
			b, err := sjson.SetBytes(it, "type", "message")
			if err != nil {
				return nil, reqErr("input["+strconv.Itoa(i)+"]", "expected an object")
			}
			items[i] = b
		}
	}
	return items, nil
}

func isSet(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && string(raw) != "null"
}

func appendInput(req *schema.ChatRequest, input json.RawMessage) error {
	input = bytes.TrimSpace(input)
	if !isSet(input) {
		return nil
	}
	if input[0] == '"' {
		var s string
		if err := json.Unmarshal(input, &s); err != nil {
			return reqErr("input", "invalid value")
		}
		req.Messages = append(req.Messages, schema.Message{Role: "user", Content: schema.TextContent(s)})
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(input, &items); err != nil {
		return reqErr("input", "expected a string or an array of items")
	}
	var err error
	for i, raw := range items {
		if req.Messages, err = appendItem(req.Messages, raw, "input["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return nil
}

// appendItem converts one Responses item into chat messages. Consecutive function_call items (and an assistant
// message right before them) become one assistant message with several tool_calls, as chat expects.
func appendItem(msgs []schema.Message, raw json.RawMessage, param string) ([]schema.Message, error) {
	var it responsesItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return msgs, reqErr(param, "invalid item: %v", err)
	}
	if it.Type == "" && it.Role != "" {
		it.Type = "message"
	}
	switch it.Type {
	case "message":
		return appendMessageItem(msgs, &it, param)
	case "function_call":
		if it.CallID == "" || it.Name == "" {
			return msgs, reqErr(param, "function_call needs call_id and name")
		}
		tc := schema.ToolCall{ID: it.CallID, Type: "function", Function: schema.FunctionCall{Name: it.Name, Arguments: it.Arguments}}
		if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
			if string(msgs[n-1].Content) == `""` { // an empty text only stood in for missing content
				msgs[n-1].Content = nil
			}
			msgs[n-1].ToolCalls = append(msgs[n-1].ToolCalls, tc)
			return msgs, nil
		}
		return append(msgs, schema.Message{Role: "assistant", ToolCalls: []schema.ToolCall{tc}}), nil
	case "function_call_output":
		if it.CallID == "" {
			return msgs, reqErr(param, "function_call_output needs call_id")
		}
		text, err := outputText(it.Output, param)
		if err != nil {
			return msgs, err
		}
		return append(msgs, schema.Message{Role: "tool", ToolCallID: it.CallID, Content: schema.TextContent(text)}), nil
	case "reasoning":
		return msgs, nil // chat completions cannot carry reasoning back; the model reasons afresh
	case "item_reference":
		return msgs, reqErr(param, "item_reference is not supported; send the item itself")
	default:
		return msgs, reqErr(param, "input item type %q is not supported for this model", it.Type)
	}
}

func appendMessageItem(msgs []schema.Message, it *responsesItem, param string) ([]schema.Message, error) {
	switch it.Role {
	case "user", "system", "developer", "assistant":
	default:
		return msgs, reqErr(param+".role", "unknown role %q", it.Role)
	}
	c := bytes.TrimSpace(it.Content)
	if len(c) > 0 && c[0] == '"' {
		role := it.Role
		if role == "developer" {
			role = "system"
		}
		return append(msgs, schema.Message{Role: role, Content: c}), nil
	}
	var parts []responsesPart
	if isSet(c) {
		if err := json.Unmarshal(c, &parts); err != nil {
			return msgs, reqErr(param+".content", "expected a string or an array of content parts")
		}
	}
	if it.Role == "assistant" {
		// Chat assistant messages take text only: join output_text parts, keep a refusal as such.
		var text strings.Builder
		var refusal *string
		for i := range parts {
			switch p := &parts[i]; p.Type {
			case "output_text", "input_text", "text":
				text.WriteString(p.Text)
			case "refusal":
				refusal = ptr(p.Refusal)
			default:
				return msgs, reqErr(param+".content["+strconv.Itoa(i)+"]", "content type %q is not allowed in an assistant message", p.Type)
			}
		}
		m := schema.Message{Role: "assistant", Refusal: refusal}
		if text.Len() > 0 || refusal == nil {
			m.Content = schema.TextContent(text.String())
		}
		return append(msgs, m), nil
	}
	out := make([]schema.ContentPart, 0, len(parts))
	for i := range parts {
		p := &parts[i]
		pp := param + ".content[" + strconv.Itoa(i) + "]"
		switch p.Type {
		case "input_text", "output_text", "text":
			out = append(out, schema.ContentPart{Type: "text", Text: p.Text})
		case "input_image":
			if p.ImageURL == "" {
				if p.FileID != "" {
					return msgs, reqErr(pp, "input_image by file_id is not supported for this model; send image_url")
				}
				return msgs, reqErr(pp, "input_image needs image_url")
			}
			out = append(out, schema.ContentPart{Type: "image_url", ImageURL: &schema.ImageURL{URL: p.ImageURL, Detail: p.Detail}})
		case "input_file":
			if p.FileData == "" {
				return msgs, reqErr(pp, "input_file by file_id or file_url is not supported for this model; send file_data")
			}
			f, _ := json.Marshal(map[string]string{"file_data": p.FileData, "filename": p.Filename})
			out = append(out, schema.ContentPart{Type: "file", File: f})
		default:
			return msgs, reqErr(pp, "content type %q is not supported for this model", p.Type)
		}
	}
	if it.Role != "user" { // system and developer messages are text only in chat
		var text strings.Builder
		for i := range out {
			if out[i].Type != "text" {
				return msgs, reqErr(param+".content["+strconv.Itoa(i)+"]", "a %s message can only hold text", it.Role)
			}
			text.WriteString(out[i].Text)
		}
		// developer is OpenAI's newer name for system; OpenAI-compatible servers often know only system.
		return append(msgs, schema.Message{Role: "system", Content: schema.TextContent(text.String())}), nil
	}
	content, err := json.Marshal(out)
	if err != nil {
		return msgs, err
	}
	return append(msgs, schema.Message{Role: "user", Content: content}), nil
}

// outputText reads a function_call_output's output: a string, or an array of input_text parts.
func outputText(raw json.RawMessage, param string) (string, error) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return "", nil
	}
	if raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		if err != nil {
			return "", reqErr(param+".output", "invalid value")
		}
		return s, nil
	}
	var parts []responsesPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", reqErr(param+".output", "expected a string or an array of content parts")
	}
	var b strings.Builder
	for i := range parts {
		if parts[i].Type != "input_text" && parts[i].Type != "output_text" {
			return "", reqErr(param+".output["+strconv.Itoa(i)+"]", "content type %q is not supported in a function output for this model", parts[i].Type)
		}
		b.WriteString(parts[i].Text)
	}
	return b.String(), nil
}

func chatTools(tools []responsesTool) ([]schema.Tool, error) {
	if len(tools) == 0 {
		return nil, nil
	}
	out := make([]schema.Tool, 0, len(tools))
	for i := range tools {
		t := &tools[i]
		if t.Type != "function" {
			return nil, builtinToolErr("tools["+strconv.Itoa(i)+"]", t.Type)
		}
		if t.Name == "" {
			return nil, reqErr("tools["+strconv.Itoa(i)+"].name", "a function tool needs a name")
		}
		out = append(out, schema.Tool{Type: "function", Function: schema.ToolFunction{
			Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict,
		}})
	}
	return out, nil
}

func builtinToolErr(param, typ string) error {
	if typ == "" {
		return reqErr(param+".type", "tool type is required")
	}
	return reqErr(param+".type", "built-in tool %q is not available for this model; only function tools can be translated", typ)
}

func chatToolChoice(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if !isSet(raw) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto", "none", "required":
			return raw, nil
		}
		return nil, reqErr("tool_choice", "unknown value %q", s)
	}
	var obj struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, reqErr("tool_choice", "expected \"auto\", \"none\", \"required\" or an object")
	}
	switch obj.Type {
	case "function":
		if obj.Name == "" {
			return nil, reqErr("tool_choice.name", "a function tool_choice needs a name")
		}
		b := append(make([]byte, 0, 48+len(obj.Name)), `{"type":"function","function":{"name":`...)
		b = appendJSONString(b, obj.Name)
		return append(b, "}}"...), nil
	case "allowed_tools", "custom":
		return nil, reqErr("tool_choice.type", "tool_choice type %q is not supported for this model", obj.Type)
	}
	return nil, builtinToolErr("tool_choice", obj.Type)
}

func chatResponseFormat(raw json.RawMessage) (*schema.ResponseFormat, error) {
	if !isSet(raw) {
		return nil, nil
	}
	var f struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, reqErr("text.format", "expected an object")
	}
	switch f.Type {
	case "text", "":
		return nil, nil
	case "json_object":
		return &schema.ResponseFormat{Type: "json_object"}, nil
	case "json_schema":
		if !isSet(f.Schema) {
			return nil, reqErr("text.format.schema", "a json_schema format needs a schema")
		}
		name := f.Name
		if name == "" {
			name = "response"
		}
		return &schema.ResponseFormat{Type: "json_schema", JSONSchema: &schema.JSONSchema{
			Name: name, Description: f.Description, Schema: f.Schema, Strict: f.Strict,
		}}, nil
	}
	return nil, reqErr("text.format.type", "unknown format type %q", f.Type)
}
