package gateway

import (
	"net/http"

	"github.com/weir-gateway/weir/internal/reqbody"
)

// setModelHeader names the serving model in X-Weir-Model. A name that could break the header (a stored or
// configured one is not checked on the way in) is left out rather than copied.
func setModelHeader(h http.Header, model string) {
	if reqbody.ValidModel(model) {
		h["X-Weir-Model"] = []string{model}
	} else {
		delete(h, "X-Weir-Model")
	}
}
