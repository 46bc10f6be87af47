package provider

import (
	"net/http"

	"github.com/weir-gateway/weir/internal/dialects"
)

// ForwardHeaders picks the caller headers an upstream of dialect d should see: trace context always, and Anthropic's
// version and beta flags when the upstream speaks Anthropic.
func ForwardHeaders(in http.Header, d dialects.Dialect) http.Header {
	var h http.Header
	add := func(k string) {
		if v := in[k]; len(v) > 0 {
			if h == nil {
				h = http.Header{}
			}
			h[k] = v
		}
	}
	add("Traceparent")
	add("Tracestate")
	if d == dialects.Anthropic {
		add("Anthropic-Version")
		add("Anthropic-Beta")
	}
	return h
}
