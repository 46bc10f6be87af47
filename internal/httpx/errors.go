// Package httpx holds what Weir's two HTTP faces, the data plane (internal/api) and the admin API
// (internal/admin), answer alike: OpenAI-format errors and JSON answers, the Bearer credential, body-read errors,
// and the 404 or 405 for a path no route serves. It lets the two share them without importing each other.
package httpx

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/weir-gateway/weir/internal/gateway"
)

type openAIError struct {
	Error openAIErrorBody `json:"error"`
}

type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// WriteOpenAIError writes e as OpenAI does: {"error":{"message","type","param","code"}}.
func WriteOpenAIError(w http.ResponseWriter, e *gateway.Error) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + 999_999_999) / 1_000_000_000)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if e.Raw != nil {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_, _ = w.Write(e.Raw)
		return
	}
	body := openAIErrorBody{Message: e.Message, Type: e.Type}
	if e.Code != "" {
		body.Code = &e.Code
	}
	if e.Param != "" {
		body.Param = &e.Param
	}
	WriteJSON(w, e.Status, openAIError{Error: body})
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"could not encode the answer","type":"api_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
