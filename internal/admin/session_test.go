package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/ui"
)

// TestAdminAcceptsUISessions: a web UI session stands in for the admin token on every admin route — reads with
// the cookie alone, state-changing calls only with the session's CSRF token too; a forged or absent session
// is refused like a missing token.
func TestAdminAcceptsUISessions(t *testing.T) {
	sessions := ui.NewSessions("s3cret-admin", time.Hour)
	f := newAdminFixtureWith(t, Config{Token: "s3cret-admin", Sessions: sessions})
	value, csrf := sessions.New()
	cookie := ui.CookieName + "=" + value
	n := 0
	for _, pattern := range f.mux.routes {
		method, path := adminPath(pattern)
		if pattern == "/api/" {
			continue
		}
		n++
		for _, tc := range []struct {
			name   string
			header []string
			refuse int // 0: not refused by the guard
			code   string
		}{
			{"no session", nil, http.StatusUnauthorized, "invalid_admin_token"},
			{"forged cookie", []string{"Cookie", ui.CookieName + "=forged.value", ui.CSRFHeader, csrf}, http.StatusUnauthorized, "invalid_admin_token"},
			{"cookie and CSRF", []string{"Cookie", cookie, ui.CSRFHeader, csrf}, 0, ""},
			{"cookie, wrong CSRF", []string{"Cookie", cookie, ui.CSRFHeader, "x" + csrf}, map[bool]int{true: http.StatusForbidden}[method != "GET"], "invalid_csrf_token"},
			{"cookie only", []string{"Cookie", cookie}, map[bool]int{true: http.StatusForbidden}[method != "GET"], "invalid_csrf_token"},
			{"cookie, CSRF, cross-site", []string{"Cookie", cookie, ui.CSRFHeader, csrf, "Origin", "https://attacker.example"},
				map[bool]int{true: http.StatusForbidden}[method != "GET"], "cross_site_request"},
		} {
			code, m, body := f.doHeaders("192.0.2.1:5555", method, path, "{}", append([]string{"Content-Type", "application/json"}, tc.header...)...)
			e, _ := m["error"].(map[string]any)
			if tc.refuse != 0 && (code != tc.refuse || e["code"] != tc.code) {
				t.Errorf("%s, %s: %d %s, want %d %s", pattern, tc.name, code, body, tc.refuse, tc.code)
			}
			if tc.refuse == 0 && (code == http.StatusUnauthorized || code == http.StatusForbidden) {
				t.Errorf("%s, %s: refused %d %s", pattern, tc.name, code, body)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d admin routes", n)
	}
}
