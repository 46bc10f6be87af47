package mockupstream

import (
	"strconv"
	"unicode/utf8"
)

// Hand-rolled JSON appenders for the OpenAI hot path, where encoding/json's
// reflection would dominate the cost of a 5,000 RPS load test.

const hexDigits = "0123456789abcdef"

// appendStr appends s as a JSON string literal.
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }

// appendUsage appends an OpenAI usage object.
func appendUsage(b []byte, a *answer) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, a.in)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, a.out)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, a.total())
	return append(b, '}')
}
