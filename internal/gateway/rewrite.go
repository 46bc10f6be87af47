package gateway

import (
	"unicode/utf8"

	"github.com/tidwall/sjson"
)

// rewriteModel appends to dst the body with its "model" value replaced by model. Every other byte is kept, so
// fields the gateway does not know reach the upstream untouched.
func rewriteModel(dst, body []byte, e *essentials, model string) []byte {
	start := e.model.Index
	end := start + len(e.model.Raw)
	if e.model.Str == model || start <= 0 || end > len(body) {
		return append(dst, body...)
	}
	dst = append(dst, body[:start]...)
	dst = appendJSONString(dst, model)
	return append(dst, body[end:]...)
}

var streamOptionsUsage = []byte(`"stream_options":{"include_usage":true},`)

// askForUsage makes a streaming body request the usage chunk, so every stream can be metered even when the
// caller did not ask for usage (the relay then withholds that chunk from the caller).
func askForUsage(body []byte, e *essentials) []byte {
	if e.includeUsage {
		return body
	}
	if e.hasStreamOpt {
		if b, err := sjson.SetBytes(body, "stream_options.include_usage", true); err == nil {
			return b
		}
		return body
	}
	// Insert the member right after the opening brace; the body is a validated object.
	i := 0
	for i < len(body) && body[i] != '{' {
		i++
	}
	out := make([]byte, 0, len(body)+len(streamOptionsUsage))
	out = append(out, body[:i+1]...)
	out = append(out, streamOptionsUsage...)
	return append(out, body[i+1:]...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
