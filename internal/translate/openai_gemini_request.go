package translate

// Hub (OpenAI) chat request → Gemini generateContent request. The model goes in the URL, not the body.
//
// | OpenAI parameter            | Gemini                                                                |
// |-----------------------------|-----------------------------------------------------------------------|
// | system/developer messages   | systemInstruction                                                     |
// | assistant                   | role "model"; tool_calls → functionCall (+thoughtSignature from id)   |
// | tool messages               | functionResponse by function name (looked up from the call id)        |
// | image_url data: / http(s)   | inlineData / fileData (MIME guessed from the extension)               |
// | file (file_data)            | inlineData; file_id → RequestError                                    |
// | input_audio                 | inlineData audio/<format>                                             |
// | tools                       | functionDeclarations (schema filtered to Gemini's OpenAPI subset)     |
// | tool_choice                 | functionCallingConfig AUTO/NONE/ANY (+allowedFunctionNames)           |
// | max_(completion_)tokens, temperature, top_p, top_k, stop, n, penalties, seed | generationConfig      |
// | response_format             | responseMimeType application/json (+responseSchema)                   |
// | reasoning_effort            | thinkingConfig.thinkingBudget, includeThoughts; "none" → budget 0     |
// | logprobs/top_logprobs       | responseLogprobs/logprobs                                             |
// | parallel_tool_calls, logit_bias, user, metadata | dropped, warning                                  |

import (
	"encoding/json"
	"strings"

	"github.com/weir-gateway/weir/internal/schema"
)

func encodeGeminiRequest(req *schema.ChatRequest, w *warnings) ([]byte, error) {
	var out geminiRequest
	system, msgs := collectSystem(req.Messages, w)
	if len(system) > 0 {
		out.SystemInstruction = &geminiContent{Parts: []geminiPart{{Text: strings.Join(system, "\n\n")}}}
	}
	var err error
	if out.Contents, err = geminiContents(msgs); err != nil {
		return nil, err
	}
	if err := geminiTools(req, &out); err != nil {
		return nil, err
	}
	gc := &geminiGenConfig{
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, MaxOutputTokens: req.MaxOutputTokens(),
		StopSequences: req.Stop, CandidateCount: req.N, PresencePenalty: req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty, Seed: req.Seed,
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if rf.JSONSchema != nil {
				gc.ResponseSchema = geminiSchema(rf.JSONSchema.Schema)
			}
		}
	}
	switch req.ReasoningEffort {
	case "":
	case "none":
		gc.ThinkingConfig = &geminiThinkingConfig{ThinkingBudget: ptr(int64(0))}
	default:
		if budget, ok := thinkingBudget(req); ok {
			gc.ThinkingConfig = &geminiThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: true}
		} else {
			w.add("reasoning_effort: unknown value %q, dropped", req.ReasoningEffort)
		}
	}
	if req.Logprobs != nil && *req.Logprobs {
		gc.ResponseLogprobs = true
		gc.Logprobs = req.TopLogprobs
	}
	if b, _ := json.Marshal(gc); string(b) != "{}" {
		out.GenerationConfig = gc
	}
	if req.ParallelToolCalls != nil {
		w.add("parallel_tool_calls: not supported by gemini, dropped")
	}
	if len(req.LogitBias) > 0 {
		w.add("logit_bias: not supported by gemini, dropped")
	}
	if req.User != "" {
		w.add("user: not supported by gemini, dropped")
	}
	if len(req.Metadata) > 0 {
		w.add("metadata: not supported by gemini, dropped")
	}
	return json.Marshal(&out)
}

func geminiTools(req *schema.ChatRequest, out *geminiRequest) error {
	if len(req.Tools) > 0 {
		decls := make([]geminiFunctionDecl, 0, len(req.Tools))
		for i, t := range req.Tools {
			if t.Type != "" && t.Type != "function" {
				return reqErr("tools", "tools[%d]: type %q not supported by gemini", i, t.Type)
			}
			decls = append(decls, geminiFunctionDecl{Name: t.Function.Name, Description: t.Function.Description, Parameters: geminiSchema(t.Function.Parameters)})
		}
		out.Tools = []geminiTool{{FunctionDeclarations: decls}}
	}
	tc, err := parseToolChoice(req.ToolChoice)
	if err != nil {
		return err
	}
	switch tc.Mode {
	case "auto":
		out.ToolConfig = &geminiToolConfig{FunctionCallingConfig: geminiFCConfig{Mode: "AUTO"}}
	case "none":
		out.ToolConfig = &geminiToolConfig{FunctionCallingConfig: geminiFCConfig{Mode: "NONE"}}
	case "required":
		out.ToolConfig = &geminiToolConfig{FunctionCallingConfig: geminiFCConfig{Mode: "ANY"}}
	case "function":
		out.ToolConfig = &geminiToolConfig{FunctionCallingConfig: geminiFCConfig{Mode: "ANY", AllowedFunctionNames: []string{tc.Name}}}
	}
	return nil
}

// geminiContents converts the conversation. Consecutive tool results form one user turn, because Gemini matches
// the function responses of a turn against the function calls of the previous one.
func geminiContents(msgs []schema.Message) ([]geminiContent, error) {
	names := toolNames(msgs)
	out := make([]geminiContent, 0, len(msgs))
	appendParts := func(role string, parts []geminiPart) {
		if len(parts) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Parts = append(out[n-1].Parts, parts...)
			return
		}
		out = append(out, geminiContent{Role: role, Parts: parts})
	}
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case "user":
			parts, err := geminiParts(m, i)
			if err != nil {
				return nil, err
			}
			appendParts("user", parts)
		case "assistant":
			parts, err := geminiParts(m, i)
			if err != nil {
				return nil, err
			}
			for _, tc := range m.ToolCalls {
				_, sig := splitGeminiCallID(tc.ID)
				parts = append(parts, geminiPart{FunctionCall: &geminiFunctionCall{Name: tc.Function.Name, Args: argsObject(tc.Function.Arguments)}, ThoughtSignature: sig})
			}
			appendParts("model", parts)
		case "tool", "function":
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return nil, reqErr("messages", "messages[%d]: tool result %q answers no known tool call", i, m.ToolCallID)
			}
			appendParts("user", []geminiPart{{FunctionResponse: &geminiFunctionResponse{Name: name, Response: geminiToolResponse(m.Text())}}})
		default:
			return nil, reqErr("messages", "messages[%d]: unknown role %q", i, m.Role)
		}
	}
	if len(out) == 0 {
		return nil, reqErr("messages", "no user or assistant message to send")
	}
	return out, nil
}

// geminiToolResponse wraps a tool result: Gemini wants an object, so a JSON object result is sent as is and
// anything else under "result".
func geminiToolResponse(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(map[string]string{"result": text})
	return b
}

func geminiParts(m *schema.Message, i int) ([]geminiPart, error) {
	parts, err := m.Parts()
	if err != nil {
		return nil, reqErr("messages", "messages[%d].content: %v", i, err)
	}
	out := make([]geminiPart, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "text":
			if p.Text == "" {
				continue
			}
			out = append(out, geminiPart{Text: p.Text})
		case "image_url":
			if p.ImageURL == nil {
				return nil, reqErr("messages", "messages[%d]: image_url part without url", i)
			}
			u := p.ImageURL.URL
			if mime, data, ok := parseDataURL(u); ok {
				out = append(out, geminiPart{InlineData: &geminiBlob{MimeType: mime, Data: data}})
			} else if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "gs://") {
				out = append(out, geminiPart{FileData: &geminiFile{MimeType: guessImageMime(u), FileURI: u}})
			} else {
				return nil, reqErr("messages", "messages[%d]: image url must be http(s), gs:// or a base64 data URL", i)
			}
		case "input_audio":
			var a struct{ Data, Format string }
			_ = json.Unmarshal(p.InputAudio, &a)
			out = append(out, geminiPart{InlineData: &geminiBlob{MimeType: "audio/" + a.Format, Data: a.Data}})
		case "file":
			var f struct {
				FileData string `json:"file_data"`
			}
			_ = json.Unmarshal(p.File, &f)
			mime, data, ok := parseDataURL(f.FileData)
			if !ok {
				return nil, reqErr("messages", "messages[%d]: only inline base64 files (file_data) can be sent to gemini", i)
			}
			out = append(out, geminiPart{InlineData: &geminiBlob{MimeType: mime, Data: data}})
		default:
			return nil, reqErr("messages", "messages[%d]: content part %q not supported by gemini", i, p.Type)
		}
	}
	return out, nil
}
