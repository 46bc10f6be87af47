package translate

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path"
	"strings"

	"github.com/weir-gateway/weir/internal/schema"
)

// parseDataURL splits "data:<mime>;base64,<data>"; ok is false for anything else (remote URLs).
func parseDataURL(u string) (mime, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mime, isB64 := strings.CutSuffix(meta, ";base64")
	if !isB64 {
		return "", "", false
	}
	if i := strings.IndexByte(mime, ';'); i >= 0 { // drop parameters such as charset
		mime = mime[:i]
	}
	if mime == "" {
		mime = "application/octet-stream"
	}
	return mime, data, true
}

// guessImageMime derives a MIME type from a URL's extension, for dialects that need one alongside a URI.
func guessImageMime(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	switch strings.ToLower(path.Ext(u)) {
	case ".png":
		return "image/png"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".pdf":
		return "application/pdf"
	default:
		return "image/jpeg"
	}
}

// toolChoice is the hub tool_choice reduced to a mode and, for a forced function, its name.
type toolChoice struct {
	Mode string // "" (unset), auto, none, required, function
	Name string
}

func parseToolChoice(raw json.RawMessage) (toolChoice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return toolChoice{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return toolChoice{}, reqErr("tool_choice", "invalid value")
		}
		switch s {
		case "auto", "none", "required":
			return toolChoice{Mode: s}, nil
		}
		return toolChoice{}, reqErr("tool_choice", "unknown value %q", s)
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Function.Name == "" {
		return toolChoice{}, reqErr("tool_choice", "expected \"auto\", \"none\", \"required\" or a named function")
	}
	return toolChoice{Mode: "function", Name: obj.Function.Name}, nil
}

// Thinking budgets per reasoning_effort, and the inverse used for budget-based callers. The numbers follow the
// providers' own guidance: 1024 is Anthropic's minimum budget.
func effortBudget(effort string) (int64, bool) {
	switch effort {
	case "minimal", "low":
		return 1024, true
	case "medium":
		return 8192, true
	case "high":
		return 24576, true
	}
	return 0, false
}

// thinkingBudget is the budget a budget-based target should use: the caller's own when it gave one.
func thinkingBudget(req *schema.ChatRequest) (int64, bool) {
	if req.ThinkingBudget > 0 {
		return req.ThinkingBudget, true
	}
	return effortBudget(req.ReasoningEffort)
}

func budgetEffort(budget int64) string {
	switch {
	case budget <= 2048:
		return "low"
	case budget <= 12288:
		return "medium"
	default:
		return "high"
	}
}

// argsObject turns a tool call's JSON-text arguments into the object other dialects embed; models occasionally
// produce invalid or empty arguments, which become {} rather than failing the whole turn.
func argsObject(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return json.RawMessage("{}")
	}
	return b
}

// compactJSON renders a JSON value as the arguments string OpenAI expects.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "{}"
	}
	return b.String()
}

// collectSystem splits system/developer messages from the conversation: every dialect but OpenAI and Cohere keeps
// the system prompt outside the message list. A system message after the first turn is hoisted with a warning.
func collectSystem(msgs []schema.Message, w *warnings) (system []string, rest []schema.Message) {
	rest = make([]schema.Message, 0, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.Role == "system" || m.Role == "developer" {
			if len(rest) > 0 {
				w.add("messages[%d]: %s message after the conversation started moved to the system prompt", i, m.Role)
			}
			if t := m.Text(); t != "" {
				system = append(system, t)
			}
			continue
		}
		rest = append(rest, *m)
	}
	return system, rest
}

// toolNames maps tool_call ids to function names: Gemini answers tool results by name, not id.
func toolNames(msgs []schema.Message) map[string]string {
	names := map[string]string{}
	for i := range msgs {
		for _, tc := range msgs[i].ToolCalls {
			names[tc.ID] = tc.Function.Name
		}
	}
	return names
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func ptr[T any](v T) *T { return &v }
