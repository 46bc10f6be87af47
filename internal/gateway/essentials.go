package gateway

import (
	"errors"
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
		return true
	})
	switch {
	case !e.model.Exists() || e.model.Type == gjson.Null:
		return e, errNoModel
	case e.model.Type != gjson.String:
		return e, errModelString
	case e.model.Str == "":
		return e, errNoModel
	}
	return e, nil
}

// unsafeString views b as a string without copying. The results of parsing it alias b, so they must not
// outlive the request's buffer; values kept longer are cloned.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
