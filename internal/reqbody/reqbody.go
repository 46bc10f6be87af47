// Package reqbody is what the gateway reads and rewrites of a caller's JSON body, without re-encoding it: the
// essentials that route it (model, stream, stream_options, fallbacks), the token estimate that sizes its
// reservation, the in-place model rewrite and the request for stream usage. Plain functions of bytes, fuzzed;
// parsed values alias the body, so what outlives the request is cloned by the caller.
package reqbody

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/jsonstr"
)

// Essentials is what the gateway reads of a caller's body: just enough to route it. The body itself is kept
// as it came and forwarded without re-encoding.
type Essentials struct {
	Model        gjson.Result // the raw "model" value, with its byte offset for an in-place rewrite
	Stream       bool
	HasStreamOpt bool         // a stream_options object is given
	IncludeUsage bool         // stream_options.include_usage is true
	Fallbacks    gjson.Result // optional per-request fallbacks (Weir's own field)
}

var (
	ErrNotJSON     = errors.New("the request body is not valid JSON")
	ErrNotObject   = errors.New("the request body must be a JSON object")
	ErrModelString = errors.New(`"model" must be a string`)
	ErrNoModel     = errors.New(`"model" is required: name a model as "provider/model" (for example "mock/echo") or an alias`)
	ErrModelChars  = errors.New(`"model" may not hold control characters or invalid UTF-8`)
	// An upstream that keeps the other copy of a repeated key would serve (or stream) what was not priced.
	ErrTwoModels  = errors.New(`"model" is given more than once: name one model`)
	ErrTwoStreams = errors.New(`"stream" is given more than once`)
)

// Parse validates the body and reads model, stream and stream_options.include_usage in one pass
// over the top-level keys, without copying the body.
func Parse(body []byte) (Essentials, error) {
	var e Essentials
	if !gjson.ValidBytes(body) {
		return e, ErrNotJSON
	}
	root := gjson.Parse(unsafeString(body))
	if !root.IsObject() {
		return e, ErrNotObject
	}
	var models, streams int
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			e.Model = v
		case "stream":
			e.Stream = v.Type == gjson.True
		case "stream_options":
			e.HasStreamOpt = v.IsObject()
			e.IncludeUsage = v.Get("include_usage").Type == gjson.True
		case "fallbacks":
			e.Fallbacks = v
		}
		// Counted as Go's encoding/json matches a field (Unicode case folding: "Model", "ſtream"), the
		// loosest an upstream is known to be. EqualFold leaves at the first differing byte of most keys.
		if strings.EqualFold(k.Str, "model") {
			models++
		} else if strings.EqualFold(k.Str, "stream") {
			streams++
		}
		return true
	})
	switch {
	case models > 1:
		return e, ErrTwoModels
	case streams > 1:
		return e, ErrTwoStreams
	case !e.Model.Exists() || e.Model.Type == gjson.Null:
		return e, ErrNoModel
	case e.Model.Type != gjson.String:
		return e, ErrModelString
	case e.Model.Str == "":
		return e, ErrNoModel
	case !ValidModel(e.Model.Str):
		return e, ErrModelChars
	}
	return e, nil
}

// Fallbacks reads per-request fallbacks from the body's "fallbacks" array or the x-weir-fallbacks header.
func Fallbacks(ess *Essentials, h http.Header) []string {
	var out []string
	for _, f := range ess.Fallbacks.Array() {
		if s := f.String(); s != "" {
			out = append(out, s)
		}
	}
	if v := h.Get("X-Weir-Fallbacks"); v != "" {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// ValidModel reports whether a model name may be routed: valid UTF-8 without control characters. A NUL or a
// newline would otherwise reach the upstream's URL or a response header, and the request be charged for an
// answer that never came.
func ValidModel(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return false
		case c >= 0x80:
			return validRunes(s[i:])
		}
	}
	return true
}

func validRunes(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false // RuneError: invalid UTF-8 (a literal U+FFFD is refused too, and harmless to refuse)
		}
	}
	return true
}

// RewriteModel appends to dst the body with its "model" value replaced by model. Every other byte is kept, so
// fields the gateway does not know reach the upstream untouched.
func RewriteModel(dst, body []byte, e *Essentials, model string) []byte {
	start := e.Model.Index
	end := start + len(e.Model.Raw)
	if e.Model.Str == model || start <= 0 || end > len(body) {
		return append(dst, body...)
	}
	dst = append(dst, body[:start]...)
	dst = jsonstr.Append(dst, model)
	return append(dst, body[end:]...)
}

var streamOptionsUsage = []byte(`"stream_options":{"include_usage":true},`)

// AskForUsage makes a streaming body request the usage chunk, so every stream can be metered even when the
// caller did not ask for usage (the relay then withholds that chunk from the caller).
func AskForUsage(body []byte, e *Essentials) []byte {
	if e.IncludeUsage {
		return body
	}
	if e.HasStreamOpt {
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

// TokenEstimate is what admission reserves before the answer is known: the prompt at about four bytes a token
// and the completion cap (max_completion_tokens, max_tokens, or a default).
func TokenEstimate(body []byte) (prompt, maxOut int64) {
	prompt = int64(len(body)/4 + 1)
	// One pass over the top-level keys. Chat's names win over the Responses API's, then Gemini's and Bedrock
	// Converse's (the provider-native routes). A key given twice counts at its largest: upstreams differ on
	// which one they keep.
	var completion, tokens, other int64
	gjson.Parse(unsafeString(body)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "max_completion_tokens":
			completion = max(completion, v.Int())
		case "max_tokens":
			tokens = max(tokens, v.Int())
		case "max_output_tokens":
			other = max(other, v.Int())
		case "generationConfig":
			other = max(other, v.Get("maxOutputTokens").Int())
		case "inferenceConfig":
			other = max(other, v.Get("maxTokens").Int())
		}
		return true
	})
	for _, n := range [...]int64{completion, tokens, other} {
		if n > 0 {
			return prompt, n
		}
	}
	return prompt, DefaultCompletionEstimate
}

// DefaultCompletionEstimate is reserved when a request sets no max_tokens; settlement corrects it.
const DefaultCompletionEstimate = 512

// unsafeString views b as a string without copying. The results of parsing it alias b, so they must not
// outlive the request's buffer; values kept longer are cloned.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
