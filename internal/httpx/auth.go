package httpx

import (
	"net/http"
	"strings"
)

// Bearer is the credential of an Authorization: Bearer header. The scheme is case-insensitive (RFC 7235 §2.1),
// so "bearer wk-…" counts too.
func Bearer(h http.Header) (string, bool) {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(tok, " "), true
}
