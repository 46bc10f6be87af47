package api

import (
	"net/http"
	"testing"
)

// TestBearerSchemeIsCaseInsensitive: RFC 7235 makes the auth scheme case-insensitive, so a client sending
// "bearer wk-…" presents its key like one sending "Bearer wk-…" (the admin API's side: TestAdminTokenBearerScheme).
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer wk-a", "wk-a", true},
		{"bearer wk-a", "wk-a", true},
		{"BEARER wk-a", "wk-a", true},
		{"bEaReR  wk-a", "wk-a", true},
		{"Basic wk-a", "", false},
		{"Bearerwk-a", "", false},
		{"", "", false},
	} {
		h := http.Header{"Authorization": {tc.header}}
		got, ok := virtualKey(h)
		if ok != tc.ok || got != tc.want {
			t.Errorf("virtualKey(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
