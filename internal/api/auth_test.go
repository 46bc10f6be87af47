package api

import (
	"net/http"
	"testing"
)

// TestBearerSchemeIsCaseInsensitive: RFC 7235 makes the auth scheme case-insensitive, so a client sending
// "bearer wk-…" presents its key like one sending "Bearer wk-…", to the inference routes and the admin API.
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
	f := newAdminFixture(t, "s3cret-admin", nil)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		code, _, body := f.doHeaders("127.0.0.1:5555", "GET", "/api/keys", "", "Authorization", scheme+" s3cret-admin")
		if code != http.StatusOK {
			t.Errorf("admin token with scheme %q: %d %s", scheme, code, body)
		}
	}
}
