package relay

import (
	"bytes"

	"github.com/weir-gateway/weir/internal/schema"
)

// Streamed is what a relayed stream carried: the usage the upstream reported, and the bytes of generated text
// relayed, from which the output of a stream cut before its usage report is estimated.
type Streamed struct {
	Usage    schema.Usage
	SawUsage bool // a usage report was seen (OpenAI streams report it only at the end)
	// Text counts the bytes of generated text (content, reasoning, refusals, tool arguments) in the events relayed.
	Text int64
}

// deltaKey is searched without its opening quote: 'd' is rarer than '"' in JSON, which makes the search faster.
var deltaKey = []byte(`delta":`)

// deltaText counts the bytes of generated text in one SSE data line: a "delta" that is a string (Responses API
// events) or the text members of a "delta" object (OpenAI chat chunks, Anthropic content_block_delta), in every
// delta of the line. Other members (roles, ids, types, stop reasons) are not generated text. Escapes are counted
// as written: an estimate, read without allocating.
func deltaText(line []byte) int64 {
	var n int64
	for {
		i := bytes.Index(line, deltaKey)
		if i < 0 {
			return n
		}
		quoted := i > 0 && line[i-1] == '"'
		line = line[i+len(deltaKey):]
		if !quoted {
			continue
		}
		c, used := valueText(line)
		n += c
		line = line[used:]
	}
}

// textKeys are the delta members that carry generated text.
func textKey(k []byte) bool {
	switch string(k) { // no allocation: the conversion is only compared
	case "content", "text", "reasoning_content", "reasoning", "refusal", "arguments", "partial_json", "thinking":
		return true
	}
	return false
}

// valueText scans the JSON value at the start of b and returns the bytes of generated text in it and how many
// bytes it used. A malformed or truncated value counts what was seen.
func valueText(b []byte) (int64, int) {
	i := skipSpace(b, 0)
	if i < len(b) && b[i] == '"' {
		end := stringEnd(b, i)
		if end < 0 {
			return 0, len(b)
		}
		return int64(end - i - 1), end + 1
	}
	if i >= len(b) || (b[i] != '{' && b[i] != '[') {
		return 0, i
	}
	var (
		n     int64
		stack [32]byte // the open containers: '{' or '['
		depth int
		key   []byte // the member name a value in the current object belongs to
		isKey bool   // the next string in the current object is a member name
	)
	for i < len(b) {
		switch c := b[i]; c {
		case '{', '[':
			if depth == len(stack) {
				return n, i
			}
			stack[depth] = c
			depth++
			isKey, key = c == '{', nil
		case '}', ']':
			depth--
			if depth == 0 {
				return n, i + 1
			}
			isKey = false
		case ',':
			isKey = stack[depth-1] == '{'
		case '"':
			end := stringEnd(b, i)
			if end < 0 {
				return n, len(b)
			}
			switch {
			case isKey:
				key, isKey = b[i+1:end], false
			case stack[depth-1] == '{' && textKey(key):
				n += int64(end - i - 1)
			}
			i = end
		}
		i++
	}
	return n, len(b)
}

// stringEnd returns the index of the quote closing the JSON string opening at b[i], or -1.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}
