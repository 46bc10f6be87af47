package api

import (
	"net/http"
	"strconv"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/httpx"
)

// googleStatus maps HTTP statuses to the status names Google's APIs put in their errors.
var googleStatus = map[int]string{
	400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	408: "DEADLINE_EXCEEDED", 413: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
	502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
	405: "UNIMPLEMENTED", // a method the route does not serve
}

// writeGeminiError writes e as Google's APIs do: {"error":{"code","message","status"}}.
func writeGeminiError(w http.ResponseWriter, e *gateway.Error) {
	if writeRaw(w, e) {
		return
	}
	st, ok := googleStatus[e.Status]
	if !ok {
		st = "UNKNOWN"
	}
	httpx.WriteJSON(w, e.Status, map[string]any{"error": map[string]any{"code": e.Status, "message": e.Message, "status": st}})
}

// bedrockTypes maps statuses to the exception names AWS SDKs read from X-Amzn-ErrorType.
var bedrockTypes = map[int]string{
	400: "ValidationException", 401: "UnrecognizedClientException", 403: "AccessDeniedException",
	404: "ResourceNotFoundException", 408: "ModelTimeoutException", 413: "ValidationException",
	429: "ThrottlingException", 500: "InternalServerException", 502: "ServiceUnavailableException",
	503: "ServiceUnavailableException", 504: "ModelTimeoutException",
	405: "UnknownOperationException", // not InternalServerException, which AWS SDKs retry
}

// writeBedrockError writes e as Bedrock does: {"message"} with the exception name in X-Amzn-ErrorType.
func writeBedrockError(w http.ResponseWriter, e *gateway.Error) {
	if writeRaw(w, e) {
		return
	}
	typ, ok := bedrockTypes[e.Status]
	if !ok {
		typ = "InternalServerException"
	}
	w.Header().Set("X-Amzn-Errortype", typ)
	httpx.WriteJSON(w, e.Status, map[string]any{"message": e.Message})
}

// writeRaw writes the headers every dialect shares and, when e carries the upstream's own error body, that body.
func writeRaw(w http.ResponseWriter, e *gateway.Error) bool {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+999_999_999)/1_000_000_000), 10))
	}
	if e.Raw == nil {
		return false
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(e.Raw)
	return true
}
