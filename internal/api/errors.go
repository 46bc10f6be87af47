package api

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

// writeOpenAIError writes e as OpenAI does: {"error":{"message","type","param","code"}}.
func writeOpenAIError(w http.ResponseWriter, e *gateway.Error) {
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
	writeJSON(w, e.Status, openAIError{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"could not encode the answer","type":"api_error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
