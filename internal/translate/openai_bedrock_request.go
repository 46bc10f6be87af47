package translate

// Hub (OpenAI) chat request → Bedrock Converse request. The model goes in the URL, not the body.
//
// | OpenAI parameter            | Bedrock Converse                                                       |
// |-----------------------------|------------------------------------------------------------------------|
// | system/developer messages   | system text blocks                                                     |
// | tool messages               | toolResult blocks in a user turn (consecutive ones merged)             |
// | image_url data:             | image bytes (png/jpeg/gif/webp; other types → RequestError)            |
// | image_url s3://             | image s3Location                                                       |
// | image_url http(s)           | RequestError: Converse cannot fetch remote URLs                        |
// | file (file_data)            | document bytes (pdf only); otherwise RequestError                      |
// | input_audio                 | RequestError                                                           |
// | max_tokens, temperature, top_p, stop | inferenceConfig                                               |
// | n > 1                       | RequestError                                                           |
// | tools / tool_choice         | toolConfig tools + toolChoice auto/any/tool; "none" drops the tools (kept, with a warning, when the history holds tool blocks, which Bedrock requires) |
// | response_format             | json_object dropped with a warning; strict json_schema → RequestError |
// | reasoning_effort            | Claude models: additionalModelRequestFields.thinking; others dropped  |
// | top_k                       | Claude models: additionalModelRequestFields.top_k; others dropped     |
// | penalties, seed, logprobs, logit_bias, user, metadata | dropped, warning                            |

import (
	"encoding/json"
	"strings"

	"github.com/weir-gateway/weir/internal/schema"
)

func encodeBedrockRequest(req *schema.ChatRequest, w *warnings) ([]byte, error) {
	var out bedrockRequest
	if req.N != nil && *req.N > 1 {
		return nil, reqErr("n", "bedrock returns a single choice; n must be 1")
	}
	system, msgs := collectSystem(req.Messages, w)
	for _, s := range system {
		out.System = append(out.System, bedrockBlock{Text: ptr(s)})
	}
	var err error
	var sawTools bool
	if out.Messages, sawTools, err = bedrockMessages(msgs); err != nil {
		return nil, err
	}
	inf := &bedrockInference{MaxTokens: req.MaxOutputTokens(), Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	if err := bedrockTools(req, &out, sawTools, w); err != nil {
		return nil, err
	}
	if err := rejectJSONMode(req, "bedrock", w); err != nil {
		return nil, err
	}
	claude := strings.Contains(strings.ToLower(req.Model), "anthropic") || strings.Contains(strings.ToLower(req.Model), "claude")
	extra := map[string]any{}
	if req.TopK != nil {
		if claude {
			extra["top_k"] = *req.TopK
		} else {
			w.add("top_k: not supported by bedrock model %s, dropped", req.Model)
		}
	}
	if budget, ok := thinkingBudget(req); ok {
		if claude {
			if inf.MaxTokens <= 0 {
				inf.MaxTokens = budget + anthropicDefaultMaxTokens
			} else if inf.MaxTokens <= budget {
				budget = inf.MaxTokens - 1
			}
			if budget >= 1024 {
				extra["thinking"] = anthropicThinking{Type: "enabled", BudgetTokens: budget}
				// Claude's thinking refuses custom temperature and top_k.
				if _, ok := extra["top_k"]; ok {
					delete(extra, "top_k")
					w.add("top_k: not allowed with claude thinking, dropped")
				}
				if inf.Temperature != nil {
					inf.Temperature = nil
					w.add("temperature: not allowed with claude thinking, dropped")
				}
			} else {
				w.add("reasoning_effort: max_tokens too small for a thinking budget, dropped")
			}
		} else {
			w.add("reasoning_effort: not supported by bedrock model %s, dropped", req.Model)
		}
	}
	if len(extra) > 0 {
		out.AdditionalModelRequestFields, _ = json.Marshal(extra)
	}
	if inf.MaxTokens > 0 || inf.Temperature != nil || inf.TopP != nil || len(inf.StopSequences) > 0 {
		out.InferenceConfig = inf
	}
	dropUnsupported(req, "bedrock", w)
	if req.User != "" {
		w.add("user: not supported by bedrock, dropped")
	}
	if req.ParallelToolCalls != nil {
		w.add("parallel_tool_calls: not supported by bedrock, dropped")
	}
	return json.Marshal(&out)
}

func bedrockTools(req *schema.ChatRequest, out *bedrockRequest, historyHasTools bool, w *warnings) error {
	tc, err := parseToolChoice(req.ToolChoice)
	if err != nil {
		return err
	}
	if len(req.Tools) == 0 {
		return nil
	}
	if tc.Mode == "none" && !historyHasTools {
		return nil // Converse has no "none": not offering the tools means the same
	}
	cfg := &bedrockToolConfig{}
	for i, t := range req.Tools {
		if t.Type != "" && t.Type != "function" {
			return reqErr("tools", "tools[%d]: type %q not supported by bedrock", i, t.Type)
		}
		spec := bedrockToolSpec{Name: t.Function.Name, Description: t.Function.Description}
		spec.InputSchema.JSON = t.Function.Parameters
		if len(spec.InputSchema.JSON) == 0 || string(spec.InputSchema.JSON) == "null" {
			spec.InputSchema.JSON = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		cfg.Tools = append(cfg.Tools, bedrockTool{ToolSpec: spec})
	}
	switch tc.Mode {
	case "auto":
		cfg.ToolChoice = json.RawMessage(`{"auto":{}}`)
	case "required":
		cfg.ToolChoice = json.RawMessage(`{"any":{}}`)
	case "function":
		cfg.ToolChoice, _ = json.Marshal(map[string]any{"tool": map[string]string{"name": tc.Name}})
	case "none":
		w.add("tool_choice: bedrock has no \"none\" and needs the tools for the tool history; sent as auto")
	}
	out.ToolConfig = cfg
	return nil
}

func bedrockMessages(msgs []schema.Message) (out []bedrockMessage, sawTools bool, err error) {
	out = make([]bedrockMessage, 0, len(msgs))
	appendBlocks := func(role string, blocks []bedrockBlock) {
		if len(blocks) == 0 {
			return
		}
		// Converse requires alternating roles, so same-role neighbours are merged.
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, bedrockMessage{Role: role, Content: blocks})
	}
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case "user":
			blocks, err := bedrockParts(m, i)
			if err != nil {
				return nil, false, err
			}
			appendBlocks("user", blocks)
		case "assistant":
			blocks, err := bedrockParts(m, i)
			if err != nil {
				return nil, false, err
			}
			for _, tc := range m.ToolCalls {
				sawTools = true
				blocks = append(blocks, bedrockBlock{ToolUse: &bedrockToolUse{ToolUseID: tc.ID, Name: tc.Function.Name, Input: argsObject(tc.Function.Arguments)}})
			}
			appendBlocks("assistant", blocks)
		case "tool", "function":
			sawTools = true
			appendBlocks("user", []bedrockBlock{{ToolResult: &bedrockToolResult{ToolUseID: m.ToolCallID, Content: []bedrockBlock{{Text: ptr(m.Text())}}}}})
		default:
			return nil, false, reqErr("messages", "messages[%d]: unknown role %q", i, m.Role)
		}
	}
	if len(out) == 0 {
		return nil, false, reqErr("messages", "no user or assistant message to send")
	}
	return out, sawTools, nil
}

func bedrockParts(m *schema.Message, i int) ([]bedrockBlock, error) {
	parts, err := m.Parts()
	if err != nil {
		return nil, reqErr("messages", "messages[%d].content: %v", i, err)
	}
	out := make([]bedrockBlock, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "text":
			if p.Text == "" { // Converse rejects blank text blocks
				continue
			}
			out = append(out, bedrockBlock{Text: ptr(p.Text)})
		case "image_url":
			if p.ImageURL == nil {
				return nil, reqErr("messages", "messages[%d]: image_url part without url", i)
			}
			u := p.ImageURL.URL
			if mime, data, ok := parseDataURL(u); ok {
				f, ok := bedrockImageFormat(mime)
				if !ok {
					return nil, reqErr("messages", "messages[%d]: image type %s not supported by bedrock", i, mime)
				}
				out = append(out, bedrockBlock{Image: &bedrockMedia{Format: f, Source: bedrockSource{Bytes: data}}})
			} else if strings.HasPrefix(u, "s3://") {
				f, _ := bedrockImageFormat(guessImageMime(u))
				src := bedrockSource{S3Location: &struct {
					URI string `json:"uri"`
				}{URI: u}}
				out = append(out, bedrockBlock{Image: &bedrockMedia{Format: f, Source: src}})
			} else {
				return nil, reqErr("messages", "messages[%d]: bedrock cannot fetch image URLs; send the image as a base64 data URL", i)
			}
		case "file":
			var f struct {
				FileData string `json:"file_data"`
				Filename string `json:"filename"`
			}
			_ = json.Unmarshal(p.File, &f)
			mime, data, ok := parseDataURL(f.FileData)
			if !ok || mime != "application/pdf" {
				return nil, reqErr("messages", "messages[%d]: only inline base64 PDF files can be sent to bedrock", i)
			}
			out = append(out, bedrockBlock{Document: &bedrockMedia{Format: "pdf", Name: bedrockDocName(f.Filename), Source: bedrockSource{Bytes: data}}})
		default:
			return nil, reqErr("messages", "messages[%d]: content part %q not supported by bedrock", i, p.Type)
		}
	}
	return out, nil
}

// bedrockDocName keeps the characters Converse allows in a document name (letters, digits, spaces, hyphens,
// parentheses, brackets); it rejects anything else, dots included.
func bedrockDocName(name string) string {
	name = strings.TrimSuffix(name, ".pdf")
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" -()[]", r):
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "document"
	}
	return b.String()
}
