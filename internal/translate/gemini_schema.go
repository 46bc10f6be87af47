package translate

import (
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
)

// Gemini's responseSchema and functionDeclarations.parameters take an OpenAPI 3.0 subset and reject JSON Schema
// keywords outside it (additionalProperties, $schema, … which OpenAI strict schemas always carry), so schemas
// are filtered through an allowlist of keywords Gemini documents.
var geminiSchemaKeys = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"maxItems": true, "minItems": true, "properties": true, "required": true, "minProperties": true,
	"maxProperties": true, "minLength": true, "maxLength": true, "pattern": true, "example": true, "anyOf": true,
	"propertyOrdering": true, "default": true, "items": true, "minimum": true, "maximum": true,
}

func geminiSchema(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	b, err := json.Marshal(cleanGeminiSchema(v))
	if err != nil {
		return raw
	}
	return b
}

func cleanGeminiSchema(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		switch {
		case k == "type":
			// JSON Schema ["string","null"] becomes OpenAPI type + nullable.
			if arr, ok := val.([]any); ok {
				for _, t := range arr {
					if s, _ := t.(string); s == "null" {
						out["nullable"] = true
					} else if _, set := out["type"]; !set {
						out["type"] = t
					}
				}
				continue
			}
			out[k] = val
		case k == "const":
			out["enum"] = []any{val}
		case k == "properties":
			if props, ok := val.(map[string]any); ok {
				cp := make(map[string]any, len(props))
				for name, s := range props {
					cp[name] = cleanGeminiSchema(s)
				}
				out[k] = cp
			}
		case k == "items":
			out[k] = cleanGeminiSchema(val)
		case k == "anyOf" || k == "oneOf":
			if arr, ok := val.([]any); ok {
				cp := make([]any, len(arr))
				for i, s := range arr {
					cp[i] = cleanGeminiSchema(s)
				}
				out["anyOf"] = cp
			}
		case geminiSchemaKeys[k]:
			out[k] = val
		}
	}
	return out
}

// Gemini function calls carry no id (older models) and, on thinking models, an opaque thoughtSignature that must
// come back with the call in the next turn. Weir is stateless, so the id it invents is derived from the call
// itself (stable across retries) and carries the signature after a separator; the request encoder splits it off.
const geminiSigSep = "__ts__"

func geminiCallID(upstreamID, responseID string, index int, name, args, signature string) string {
	id := upstreamID
	if id == "" {
		h := fnv.New64a()
		h.Write([]byte(responseID))
		h.Write([]byte{0})
		h.Write([]byte(strconv.Itoa(index)))
		h.Write([]byte{0})
		h.Write([]byte(name))
		h.Write([]byte{0})
		h.Write([]byte(args))
		id = "call_" + strconv.FormatUint(h.Sum64(), 36)
	}
	if signature != "" {
		id += geminiSigSep + signature
	}
	return id
}

// splitGeminiCallID returns the upstream id part (empty when synthesized) and the thought signature.
func splitGeminiCallID(id string) (upstreamID, signature string) {
	base, sig, _ := strings.Cut(id, geminiSigSep)
	if strings.HasPrefix(base, "call_") {
		return "", sig
	}
	return base, sig
}
