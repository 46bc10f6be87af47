package api

import (
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
)

// Governance configures how the API authenticates callers.
type Governance struct {
	Service *governance.Service
	// Enforce refuses inference requests without a valid virtual key.
	Enforce bool
}

// virtualKey finds the credential a caller presents, in the places each SDK puts it: Authorization: Bearer
// (OpenAI SDKs), x-api-key (Anthropic SDK), x-goog-api-key (Google SDKs), or x-weir-vk. Only x-weir-vk or a
// value shaped like a virtual key (wk-…) counts: callers that must send some provider-style key to satisfy their
// SDK are not mistaken for presenting a wrong one.
func virtualKey(h http.Header) (string, bool) {
	if v := h.Get("X-Weir-Vk"); v != "" {
		return v, true
	}
	if v, ok := httpx.Bearer(h); ok && strings.HasPrefix(v, governance.KeyPrefix) {
		return v, true
	}
	for _, name := range []string{"X-Api-Key", "X-Goog-Api-Key"} {
		if v := h.Get(name); strings.HasPrefix(v, governance.KeyPrefix) {
			return v, true
		}
	}
	return "", false
}

// principal authenticates the caller: nil with no error means an ungoverned request (allowed only when
// governance is not enforced).
func (s *Server) principal(r *http.Request) (*governance.Principal, *gateway.Error) {
	if s.gov.Service == nil {
		return nil, nil
	}
	secret, ok := virtualKey(r.Header)
	if !ok {
		if s.gov.Enforce {
			return nil, &gateway.Error{Status: http.StatusUnauthorized, Type: gateway.TypeAuthentication, Code: "missing_virtual_key",
				Message: "a virtual key is required: send it as Authorization: Bearer wk-…, x-api-key or x-weir-vk"}
		}
		return nil, nil
	}
	p := s.gov.Service.Authenticate(secret)
	if p == nil {
		return nil, &gateway.Error{Status: http.StatusUnauthorized, Type: gateway.TypeAuthentication, Code: "invalid_virtual_key",
			Message: "the virtual key is not valid, or it is disabled or expired"}
	}
	return p, nil
}
