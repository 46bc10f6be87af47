package gateway

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// essentials is what the gateway reads of a caller's body: just enough to route it. The body itself is kept
// as it came and forwarded without re-encoding.
type essentials struct {
	model        gjson.Result // the raw "model" value, with its byte offset for an in-place rewrite
	stream       bool
	hasStreamOpt bool
	includeUsage bool
	fallbacks    gjson.Result // optional per-request fallbacks
}

var (
	errNotJSON     = errors.New("the request body is not valid JSON")
	errNotObject   = errors.New("the request body must be a JSON object")
	errModelString = errors.New(`"model" must be a string`)
	errNoModel     = errors.New(`"model" is required: name a model as "provider/model" (for example "mock/echo") or an alias`)
	errModelChars  = errors.New(`"model" may not hold control characters or invalid UTF-8`)
	// An upstream that keeps the other copy of a repeated key would serve (or stream) what was not priced.
	errTwoModels  = errors.New(`"model" is given more than once: name one model`)
	errTwoStreams = errors.New(`"stream" is given more than once`)
)

// parseEssentials validates the body and reads model, stream and stream_options.include_usage in one pass
// over the top-level keys, without copying the body.
func parseEssentials(body []byte) (essentials, error) {
	var e essentials
	if !gjson.ValidBytes(body) {
		return e, errNotJSON
	}
	root := gjson.Parse(unsafeString(body))
	if !root.IsObject() {
		return e, errNotObject
	}
	var models, streams int
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			e.model = v
		case "stream":
			e.stream = v.Type == gjson.True
		case "stream_options":
			e.hasStreamOpt = v.IsObject()
			e.includeUsage = v.Get("include_usage").Type == gjson.True
		case "fallbacks":
			e.fallbacks = v
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
		return e, errTwoModels
	case streams > 1:
		return e, errTwoStreams
	case !e.model.Exists() || e.model.Type == gjson.Null:
		return e, errNoModel
	case e.model.Type != gjson.String:
		return e, errModelString
	case e.model.Str == "":
		return e, errNoModel
	case !ValidModel(e.model.Str):
		return e, errModelChars
	}
	return e, nil
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

// BodyModel reads the "model" of a pass-through JSON body with the same checks as a chat's: one object, one
// "model" (a string, or absent), routable. "" when it names none.
func BodyModel(body []byte) (string, *Error) {
	e, err := parseEssentials(body)
	switch err {
	case nil:
		return strings.Clone(e.model.Str), nil // outlives the request buffer
	case errNoModel:
		return "", nil
	case errNotJSON, errNotObject:
		return "", errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "the request body must be a JSON object")
	case errModelString, errModelChars:
		return "", errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_model", "%s", err.Error())
	}
	return "", errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
}

// BadModel is the refusal of a model name that ValidModel rejects.
func BadModel() *Error {
	return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_model", "%s", errModelChars.Error())
}

// unsafeString views b as a string without copying. The results of parsing it alias b, so they must not
// outlive the request's buffer; values kept longer are cloned.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// setModelHeader names the serving model in X-Weir-Model. A name that could break the header (a stored or
// configured one is not checked on the way in) is left out rather than copied.
func setModelHeader(h http.Header, model string) {
	if ValidModel(model) {
		h["X-Weir-Model"] = []string{model}
	} else {
		delete(h, "X-Weir-Model")
	}
}
