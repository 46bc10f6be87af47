package translate

// Hub (OpenAI) chat request → Anthropic Messages request.
//
// | OpenAI parameter                 | Anthropic                                                         |
// |----------------------------------|-------------------------------------------------------------------|
// | system/developer messages        | top-level system (later ones hoisted, warning)                    |
// | tool messages                    | tool_result blocks in a user turn (consecutive ones merged)       |
// | image_url data:/https            | image source base64 / url                                         |
// | file (file_data PDF)             | document base64; file_id → RequestError                           |
// | input_audio                      | RequestError (no audio input)                                     |
// | max_tokens/max_completion_tokens | max_tokens, 4096 when absent (Anthropic requires it)              |
// | temperature > 1                  | clamped to 1 (Anthropic range 0–1), warning                       |
// | stop                             | stop_sequences                                                    |
// | n > 1                            | RequestError (one answer only)                                    |
// | tool_choice                      | auto/any/tool/none; parallel_tool_calls=false → disable_parallel… |
// | response_format json_object      | dropped, warning (no JSON mode)                                   |
// | response_format json_schema      | strict → RequestError; otherwise dropped, warning                 |
// | reasoning_effort                 | thinking.budget_tokens (temperature/top_k dropped, warning)       |
// | user                             | metadata.user_id                                                  |
// | presence/frequency_penalty, seed, logprobs, logit_bias, metadata | dropped, warning                  |

import (
	"encoding/json"
	"strings"

	"github.com/weir-gateway/weir/internal/schema"
)

const anthropicDefaultMaxTokens = 4096

func encodeAnthropicRequest(req *schema.ChatRequest, w *warnings) ([]byte, error) {
	out := anthropicRequest{Model: req.Model, Stream: req.Stream, TopP: req.TopP, TopK: req.TopK}
	if req.N != nil && *req.N > 1 {
		return nil, reqErr("n", "anthropic returns a single choice; n must be 1")
	}
	system, msgs := collectSystem(req.Messages, w)
	if len(system) > 0 {
		out.System, _ = json.Marshal(strings.Join(system, "\n\n"))
	}
	var err error
	if out.Messages, err = anthropicMessages(msgs, w); err != nil {
		return nil, err
	}
	out.MaxTokens = req.MaxOutputTokens()
	if out.MaxTokens <= 0 {
		out.MaxTokens = anthropicDefaultMaxTokens
	}
	if req.Temperature != nil {
		t := *req.Temperature
		if t > 1 {
			w.add("temperature: %g above anthropic's maximum, clamped to 1", t)
			t = 1
		}
		out.Temperature = &t
	}
	out.StopSequences = req.Stop
	if err := anthropicTools(req, &out, w); err != nil {
		return nil, err
	}
	if err := rejectJSONMode(req, "anthropic", w); err != nil {
		return nil, err
	}
	if req.ReasoningEffort != "" {
		anthropicThinkingFor(req, &out, w)
	}
	if req.User != "" {
		out.Metadata = &anthropicMetadata{UserID: req.User}
	}
	dropUnsupported(req, "anthropic", w)
	return json.Marshal(&out)
}

// rejectJSONMode handles response_format for dialects without a JSON mode (Anthropic, Bedrock): a strict schema is
// a promise about the answer's shape that cannot be kept, so it is refused; looser requests are dropped.
func rejectJSONMode(req *schema.ChatRequest, target string, w *warnings) error {
	rf := req.ResponseFormat
	if rf == nil || rf.Type == "" || rf.Type == "text" {
		return nil
	}
	if rf.Type == "json_schema" && rf.JSONSchema != nil && rf.JSONSchema.Strict != nil && *rf.JSONSchema.Strict {
		return reqErr("response_format", "%s cannot enforce a strict json_schema", target)
	}
	w.add("response_format: %s has no JSON mode, %s dropped", target, rf.Type)
	return nil
}

// dropUnsupported reports the sampling knobs Anthropic and Bedrock do not have.
func dropUnsupported(req *schema.ChatRequest, target string, w *warnings) {
	if req.PresencePenalty != nil {
		w.add("presence_penalty: not supported by %s, dropped", target)
	}
	if req.FrequencyPenalty != nil {
		w.add("frequency_penalty: not supported by %s, dropped", target)
	}
	if req.Seed != nil {
		w.add("seed: not supported by %s, dropped", target)
	}
	if req.Logprobs != nil && *req.Logprobs {
		w.add("logprobs: not supported by %s, dropped", target)
	}
	if len(req.LogitBias) > 0 {
		w.add("logit_bias: not supported by %s, dropped", target)
	}
	if len(req.Metadata) > 0 {
		w.add("metadata: not supported by %s, dropped", target)
	}
}

func anthropicThinkingFor(req *schema.ChatRequest, out *anthropicRequest, w *warnings) {
	budget, ok := thinkingBudget(req)
	if !ok { // "none" or unknown: no thinking
		return
	}
	if req.MaxOutputTokens() <= 0 {
		// The budget counts against max_tokens, so leave the default room for the answer itself.
		out.MaxTokens = budget + anthropicDefaultMaxTokens
	} else if out.MaxTokens <= budget {
		budget = out.MaxTokens - 1
	}
	if budget < 1024 {
		w.add("reasoning_effort: max_tokens %d leaves no room for anthropic's 1024-token minimum thinking budget, dropped", out.MaxTokens)
		return
	}
	out.Thinking = &anthropicThinking{Type: "enabled", BudgetTokens: budget}
	// Extended thinking refuses custom temperature and top_k.
	if out.Temperature != nil {
		w.add("temperature: not allowed with anthropic thinking, dropped")
		out.Temperature = nil
	}
	if out.TopK != nil {
		w.add("top_k: not allowed with anthropic thinking, dropped")
		out.TopK = nil
	}
}

func anthropicTools(req *schema.ChatRequest, out *anthropicRequest, w *warnings) error {
	for i, t := range req.Tools {
		if t.Type != "" && t.Type != "function" {
			return reqErr("tools", "tools[%d]: type %q not supported by anthropic", i, t.Type)
		}
		schemaJSON := t.Function.Parameters
		if len(schemaJSON) == 0 || string(schemaJSON) == "null" {
			schemaJSON = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, anthropicTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schemaJSON})
	}
	tc, err := parseToolChoice(req.ToolChoice)
	if err != nil {
		return err
	}
	switch tc.Mode {
	case "auto":
		out.ToolChoice = &anthropicChoice{Type: "auto"}
	case "none":
		out.ToolChoice = &anthropicChoice{Type: "none"}
	case "required":
		out.ToolChoice = &anthropicChoice{Type: "any"}
	case "function":
		out.ToolChoice = &anthropicChoice{Type: "tool", Name: tc.Name}
	}
	if req.ParallelToolCalls != nil && !*req.ParallelToolCalls && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &anthropicChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	return nil
}

// anthropicMessages converts the non-system conversation. Anthropic wants tool results inside a user turn and
// merges consecutive same-role turns anyway, so merging here keeps each tool round in one user message.
func anthropicMessages(msgs []schema.Message, w *warnings) ([]anthropicMessage, error) {
	out := make([]anthropicMessage, 0, len(msgs))
	appendBlocks := func(role string, blocks []anthropicBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, anthropicMessage{Role: role, Content: blocks})
	}
	for i := range msgs {
		m := &msgs[i]
		switch m.Role {
		case "user":
			blocks, err := anthropicParts(m, i)
			if err != nil {
				return nil, err
			}
			appendBlocks("user", blocks)
		case "assistant":
			blocks, err := anthropicParts(m, i)
			if err != nil {
				return nil, err
			}
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: argsObject(tc.Function.Arguments)})
			}
			appendBlocks("assistant", blocks)
		case "tool", "function":
			content, _ := json.Marshal(m.Text())
			appendBlocks("user", []anthropicBlock{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content}})
		default:
			return nil, reqErr("messages", "messages[%d]: unknown role %q", i, m.Role)
		}
	}
	if len(out) == 0 {
		return nil, reqErr("messages", "no user or assistant message to send")
	}
	return out, nil
}

func anthropicParts(m *schema.Message, i int) ([]anthropicBlock, error) {
	parts, err := m.Parts()
	if err != nil {
		return nil, reqErr("messages", "messages[%d].content: %v", i, err)
	}
	blocks := make([]anthropicBlock, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "text":
			if p.Text == "" { // Anthropic rejects empty text blocks
				continue
			}
			blocks = append(blocks, anthropicBlock{Type: "text", Text: p.Text})
		case "image_url":
			if p.ImageURL == nil {
				return nil, reqErr("messages", "messages[%d]: image_url part without url", i)
			}
			if mime, data, ok := parseDataURL(p.ImageURL.URL); ok {
				blocks = append(blocks, anthropicBlock{Type: "image", Source: &anthropicSource{Type: "base64", MediaType: mime, Data: data}})
			} else if strings.HasPrefix(p.ImageURL.URL, "https://") || strings.HasPrefix(p.ImageURL.URL, "http://") {
				blocks = append(blocks, anthropicBlock{Type: "image", Source: &anthropicSource{Type: "url", URL: p.ImageURL.URL}})
			} else {
				return nil, reqErr("messages", "messages[%d]: image url must be http(s) or a base64 data URL", i)
			}
		case "file":
			var f struct {
				FileData string `json:"file_data"`
				Filename string `json:"filename"`
			}
			_ = json.Unmarshal(p.File, &f)
			mime, data, ok := parseDataURL(f.FileData)
			if !ok {
				return nil, reqErr("messages", "messages[%d]: only inline base64 files (file_data) can be sent to anthropic", i)
			}
			blocks = append(blocks, anthropicBlock{Type: "document", Title: f.Filename, Source: &anthropicSource{Type: "base64", MediaType: mime, Data: data}})
		default:
			return nil, reqErr("messages", "messages[%d]: content part %q not supported by anthropic", i, p.Type)
		}
	}
	return blocks, nil
}
