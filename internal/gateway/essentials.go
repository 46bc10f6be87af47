package gateway

import (
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/reqbody"
)

// BodyModel reads the "model" of a pass-through JSON body with the same checks as a chat's: one object, one
// "model" (a string, or absent), routable. "" when it names none.
func BodyModel(body []byte) (string, *Error) {
	e, err := reqbody.Parse(body)
	switch err {
	case nil:
		return strings.Clone(e.Model.Str), nil // outlives the request buffer
	case reqbody.ErrNoModel:
		return "", nil
	case reqbody.ErrNotJSON, reqbody.ErrNotObject:
		return "", errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "the request body must be a JSON object")
	case reqbody.ErrModelString, reqbody.ErrModelChars:
		return "", errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_model", "%s", err.Error())
	}
	return "", errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
}

// BadModel is the refusal of a model name that ValidModel rejects.
func BadModel() *Error {
	return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_model", "%s", reqbody.ErrModelChars.Error())
}

// setModelHeader names the serving model in X-Weir-Model. A name that could break the header (a stored or
// configured one is not checked on the way in) is left out rather than copied.
func setModelHeader(h http.Header, model string) {
	if reqbody.ValidModel(model) {
		h["X-Weir-Model"] = []string{model}
	} else {
		delete(h, "X-Weir-Model")
	}
}
