package passthrough

import (
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/reqbody"
)

// BodyModel reads the "model" of a pass-through JSON body with the same checks as a chat's: one object, one
// "model" (a string, or absent), routable. "" when it names none.
func BodyModel(body []byte) (string, *gateway.Error) {
	e, err := reqbody.Parse(body)
	switch err {
	case nil:
		return strings.Clone(e.Model.Str), nil // outlives the request buffer
	case reqbody.ErrNoModel:
		return "", nil
	case reqbody.ErrNotJSON, reqbody.ErrNotObject:
		return "", gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_json", "the request body must be a JSON object")
	case reqbody.ErrModelString, reqbody.ErrModelChars:
		return "", gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_model", "%s", err.Error())
	}
	return "", gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_request", "%s", err.Error())
}

// BadModel is the refusal of a model name that reqbody.ValidModel rejects.
func BadModel() *gateway.Error {
	return gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "invalid_model", "%s", reqbody.ErrModelChars.Error())
}
