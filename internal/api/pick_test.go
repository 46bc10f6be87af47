package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/governance"
)

// TestNoModelCallGoesToAProviderTheKeyMayUse: a call that names no model and no X-Weir-Provider (a file upload,
// a native model list), or a bare model on a native route, goes to the first provider offering it that the key may use, not to the first one
// configured (which refused the key with 403).
func TestNoModelCallGoesToAProviderTheKeyMayUse(t *testing.T) {
	const key = "wk-pick-0123456789abcdef0123456789"
	s, up, _ := badModelServer(t, governance.Config{VirtualKeys: []governance.VirtualKeyConfig{{ID: "obonly", Value: key, Providers: []string{"ob"}}}},
		func(url string) string {
			return `providers:
  - {name: oa, type: openai, base_url: ` + url + `/a/v1, keys: [{value: sk-up}]}
  - {name: ob, type: openai, base_url: ` + url + `/b/v1, keys: [{value: sk-up}]}
`
		})
	upload, ct := formWithModel(t, "")
	for _, c := range []struct{ method, path, ct, body, want string }{
		{"POST", "/v1/files", ct, upload, "POST /b/v1/files"},
		{"GET", "/openai/v1/models", "", "", "GET /b/v1/models"},
		// A bare model on a native route goes to a provider of that dialect the key may use.
		{"POST", "/openai/chat/completions", "application/json", `{"model":"gpt-x","messages":[]}`, "POST /b/v1/chat/completions"},
	} {
		before := len(up.seen())
		r := httptest.NewRequest(c.method, "http://weir"+c.path, strings.NewReader(c.body))
		if c.ct != "" {
			r.Header.Set("Content-Type", c.ct)
		}
		r.Header.Set("Authorization", "Bearer "+key)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Result().Body)
		got := up.seen()[before:]
		if w.Code != http.StatusOK || len(got) != 1 || got[0] != c.want {
			t.Errorf("%s %s: %d %s, upstream saw %v, want %s", c.method, c.path, w.Code, b, got, c.want)
		}
	}
}
