package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/httpx"
)

// TestWrongMethodIs405: every route answers a method it does not serve with 405 and an Allow header naming
// the ones it does, in the route's own error format — not 404 from a catch-all, and not a pass-through to a
// provider for the unified routes under /openai/v1 and /anthropic/v1.
func TestWrongMethodIs405(t *testing.T) {
	s := newTestAPI(t, true)
	n := 0
	for _, rt := range s.Routes() {
		method, pattern, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			continue // a catch-all serves every method
		}
		path := strings.NewReplacer("{id}", "x", "{name}", "x", "{call...}", "mock/echo:generateContent", "{model}", "mock",
			"{action}", "converse", "{version}", "v1beta").Replace(pattern)
		for _, m := range httpx.ProbeMethods {
			probe := httptest.NewRequest(m, path, nil)
			if _, p := s.mux.Handler(probe); strings.HasPrefix(p, m+" ") {
				continue // another route serves this method here
			}
			n++
			r := httptest.NewRequest(m, path, nil)
			r.RemoteAddr, r.Host = "127.0.0.1:5555", "localhost"
			r.Header.Set("Authorization", "Bearer admin-token") // for the admin routes: a 405 there follows authentication
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			b, _ := io.ReadAll(w.Result().Body)
			body := string(b)
			if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Header().Get("Allow"), method) {
				t.Errorf("%s %s (route %s): %d Allow %q %s", m, path, rt.Pattern, w.Code, w.Header().Get("Allow"), body)
				continue
			}
			var dialect bool
			switch {
			case strings.Contains(pattern, "/messages") || strings.HasPrefix(pattern, "/anthropic/"):
				dialect = strings.Contains(body, `"type":"error"`) && strings.Contains(body, `"invalid_request_error"`)
			case strings.HasPrefix(pattern, "/gemini/"):
				dialect = strings.Contains(body, `"code":405`) && strings.Contains(body, `"status":"UNIMPLEMENTED"`)
			case strings.HasPrefix(pattern, "/bedrock/"):
				dialect = w.Header().Get("X-Amzn-Errortype") == "UnknownOperationException" && strings.HasPrefix(body, `{"message":`)
			default:
				dialect = strings.Contains(body, `"type":"invalid_request_error"`) && strings.Contains(body, `"code":"method_not_allowed"`)
			}
			if !dialect {
				t.Errorf("%s %s (route %s): not in the route's error format: %s", m, path, rt.Pattern, body)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d wrong-method requests", n)
	}
}
