package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
)

// TestAnthropicErrorTypes pins the names Anthropic's SDKs get for each of the gateway's error types, since
// translate.AnthropicError, which renders them, spells the gateway's types as strings of its own.
func TestAnthropicErrorTypes(t *testing.T) {
	for _, tc := range []struct {
		status int
		typ    string
		want   string
	}{
		{400, gateway.TypeInvalidRequest, "invalid_request_error"},
		{401, gateway.TypeAuthentication, "authentication_error"},
		{403, gateway.TypePermission, "permission_error"},
		{404, gateway.TypeNotFound, "not_found_error"},
		{429, gateway.TypeRateLimit, "rate_limit_error"},
		{429, gateway.TypeOverloaded, "overloaded_error"},
		{504, gateway.TypeTimeout, "timeout_error"},
		{500, gateway.TypeAPI, "api_error"},
		{502, "server_error", "api_error"},
		{413, gateway.TypeInvalidRequest, "request_too_large"},
	} {
		w := httptest.NewRecorder()
		writeAnthropicError(w, &gateway.Error{Status: tc.status, Type: tc.typ, Message: "m<", RetryAfter: 1500 * time.Millisecond})
		want := `{"type":"error","error":{"type":"` + tc.want + `","message":"m\u003c"}}`
		if w.Code != tc.status || w.Body.String() != want || w.Header().Get("Content-Type") != "application/json" ||
			w.Header().Get("Retry-After") != "2" {
			t.Errorf("%d %s: %d %s %v", tc.status, tc.typ, w.Code, w.Body, w.Header())
		}
	}
	w := httptest.NewRecorder()
	writeAnthropicError(w, &gateway.Error{Status: http.StatusBadGateway, Raw: []byte(`{"raw":true}`)})
	if w.Body.String() != `{"raw":true}` {
		t.Errorf("raw body not passed through: %s", w.Body)
	}
}
