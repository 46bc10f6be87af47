package api

import (
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

// badModelProviders are oa (openai), an (anthropic), gm (gemini) and br (bedrock), all at one upstream.
func badModelProviders(url string) string {
	return `providers:
  - {name: an, type: anthropic, base_url: ` + url + `, keys: [{value: sk-up}]}
  - {name: br, type: bedrock, base_url: ` + url + `, region: us-east-1, access_key_id: AKIDTEST, secret_access_key: secret, models: [brm]}
  - {name: gm, type: gemini, base_url: ` + url + `/v1beta, keys: [{value: sk-up}], models: [gem]}
  - {name: oa, type: openai, base_url: ` + url + `/v1, keys: [{value: sk-up}]}
`
}

// badModelServer is a governed, enforcing server with gc's keys and the providers yaml names (given the
// recording upstream's URL).
func badModelServer(t *testing.T, gc governance.Config, yaml func(url string) string) (*Server, *recorder, *governance.Service) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	gov, err := governance.New(ctx, st, governance.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gov.Close(ctx) })
	if _, err := gov.Seed(ctx, &gc); err != nil {
		t.Fatal(err)
	}
	up := newRecorder(t)
	cfg, err := config.Parse([]byte(yaml(up.URL)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	eng, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	eng.SetGovernance(gov)
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "objects.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	objs, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	eng.SetObjects(objs)
	return New(eng, Governance{Service: gov, Enforce: true}, Observability{}, log), up, gov
}

const badModelKey = "wk-badmodel-0123456789abcdef0123"

// TestBadModelRefusedBeforeDispatchOnEveryRoute walks every governed POST route. Each that reads a model is sent
// models holding a control character or invalid UTF-8, and bodies that name "model" (or "stream") twice: each is
// refused with 400 in the route's own dialect, before any upstream is reached or anything charged. A route not
// classified below fails the test, so a new one must say whether it reads a model.
func TestBadModelRefusedBeforeDispatchOnEveryRoute(t *testing.T) {
	s, up, gov := badModelServer(t, governance.Config{VirtualKeys: []governance.VirtualKeyConfig{{ID: "bm", Value: badModelKey,
		RateLimits: &governance.RateLimits{RPM: 10000}, Budget: &governance.BudgetConfig{MaxUSD: 1, Reset: "1d"}}}}, badModelProviders)
	const json, form, path = 0, 1, 2 // where the route reads its model
	// By the pattern's path below its prefix (/v1, "", /openai/v1, /anthropic/v1).
	reads := map[string]int{
		"/chat/completions": json, "/completions": json, "/embeddings": json, "/responses": json,
		"/responses/input_tokens": json, "/images/generations": json, "/images/edits": form, "/images/variations": form,
		"/audio/speech": json, "/audio/transcriptions": form, "/audio/translations": form, "/moderations": json,
		"/rerank": json, "/v2/rerank": json, "/messages": json, "/messages/count_tokens": json, "/messages/batches": json,
		"/openai/{path...}": json, "/anthropic/{path...}": json,
		"/gemini/{version}/models/{call...}": path, "/bedrock/model/{model}/{action}": path,
	}
	noModel := map[string]bool{"/files": true, "/batches": true, "/batches/{id}/cancel": true, "/messages/batches/{id}/cancel": true}
	badModels := []string{"oa/gpt\x00x", "oa/gpt\nx", "oa/gpt\x7f", "oa/gpt\u0085", "oa/\xffgpt", "\x00"}
	walked := 0
	for _, rt := range s.Routes() {
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		if rt.Kind != RouteInference || (method != "POST" && method != "") {
			continue
		}
		rest := pattern
		for _, p := range []string{"/openai/v1", "/anthropic/v1", "/v1"} {
			if r, ok := strings.CutPrefix(pattern, p); ok && r != "" && !strings.HasPrefix(r, "/{") {
				rest = r
				break
			}
		}
		where, ok := reads[rest]
		if !ok {
			if !noModel[rest] {
				t.Errorf("%s: say whether this route reads a model (reads or noModel)", rt.Pattern)
			}
			continue
		}
		anthropicDialect := strings.Contains(pattern, "/messages") || strings.HasPrefix(pattern, "/anthropic")
		type call struct{ path, ct, body string }
		var calls []call
		for _, m := range badModels {
			if anthropicDialect {
				m = strings.Replace(m, "oa/", "an/", 1)
			}
			jsonBody := `{"model":` + quote(m) + `,"max_tokens":5,"messages":[{"role":"user","content":"hi"}],"input":"hi","prompt":"hi"}`
			switch {
			case rest == "/messages/batches":
				calls = append(calls, call{pattern, "application/json", `{"requests":[{"custom_id":"1","params":{"model":` + quote(m) + `,"max_tokens":5,"messages":[]}}]}`})
			case rest == "/openai/{path...}":
				calls = append(calls, call{"/openai/chat/completions", "application/json", jsonBody})
			case rest == "/anthropic/{path...}":
				calls = append(calls, call{"/anthropic/complete", "application/json", jsonBody})
			case where == json:
				calls = append(calls, call{pattern, "application/json", jsonBody})
			case where == form:
				body, ct := formWithModel(t, m)
				calls = append(calls, call{pattern, ct, body})
			case where == path && strings.HasPrefix(pattern, "/gemini"):
				calls = append(calls, call{"/gemini/v1beta/models/" + pathEscapeAll(strings.Replace(m, "oa/", "gm/", 1)) + ":generateContent", "application/json", `{"contents":[]}`})
			case where == path:
				calls = append(calls, call{"/bedrock/model/" + pathEscapeAll(strings.Replace(m, "oa/", "br/", 1)) + "/converse", "application/json", `{"messages":[]}`})
			}
		}
		if where == json && rest != "/messages/batches" {
			p := pattern
			switch rest {
			case "/openai/{path...}":
				p = "/openai/chat/completions"
			case "/anthropic/{path...}":
				p = "/anthropic/complete"
			}
			m1, m2 := "oa/cheap", "oa/dear"
			if anthropicDialect {
				m1, m2 = "an/cheap", "an/dear"
			}
			calls = append(calls,
				call{p, "application/json", `{"model":"` + m1 + `","max_tokens":5,"input":"hi","model":"` + m2 + `"}`},
				call{p, "application/json", `{"model":"` + m1 + `","Model":"` + m2 + `","input":"hi"}`},
				call{p, "application/json", `{"model":"` + m1 + `","mod\u0065l":"` + m2 + `","input":"hi"}`},
				call{p, "application/json", `{"model":"` + m1 + `","stream":false,"input":"hi","stream":true}`})
		}
		for _, c := range calls {
			walked++
			before := len(up.seen())
			r := httptest.NewRequest("POST", "http://weir"+c.path, strings.NewReader(c.body))
			r.Header.Set("Content-Type", c.ct)
			r.Header.Set("Authorization", "Bearer "+badModelKey)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			b, _ := io.ReadAll(w.Result().Body)
			body := string(b)
			if got := up.seen()[before:]; len(got) > 0 {
				t.Errorf("%s %q reached the upstream as %v: %d %s", rt.Pattern, c.body, got, w.Code, body)
				continue
			}
			if w.Code != http.StatusBadRequest {
				t.Errorf("%s %q: %d %s, want 400", rt.Pattern, c.body, w.Code, body)
				continue
			}
			switch {
			case strings.HasPrefix(c.path, "/gemini"):
				if !strings.Contains(body, `"status":"INVALID_ARGUMENT"`) {
					t.Errorf("%s: not a Gemini error: %s", c.path, body)
				}
			case strings.HasPrefix(c.path, "/bedrock"):
				if w.Header().Get("X-Amzn-Errortype") != "ValidationException" {
					t.Errorf("%s: not a Bedrock error: %v %s", c.path, w.Header(), body)
				}
			case anthropicDialect:
				if !strings.Contains(body, `"type":"error"`) || !strings.Contains(body, "invalid_request_error") {
					t.Errorf("%s: not an Anthropic error: %s", c.path, body)
				}
			default:
				if !strings.Contains(body, `"type":"invalid_request_error"`) || strings.Contains(body, `"type":"error"`) {
					t.Errorf("%s: not an OpenAI error: %s", c.path, body)
				}
			}
			if w.Header().Get("X-Weir-Model") != "" {
				t.Errorf("%s: X-Weir-Model %q on a refusal", c.path, w.Header().Get("X-Weir-Model"))
			}
		}
	}
	if walked < 100 {
		t.Fatalf("walked only %d requests", walked)
	}
	for _, ls := range gov.Peek(gov.Authenticate(badModelKey)) {
		if ls.Status.Used != 0 {
			t.Errorf("refused requests left %d on %s %s", ls.Status.Used, ls.Subject, ls.Limit)
		}
	}
	t.Logf("walked %d refused requests", walked)
}

// quote is s as a JSON string, escaping what JSON requires and leaving invalid UTF-8 bytes as they are.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '"' || c == '\\':
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pathEscapeAll percent-encodes every byte but letters and digits, so a control byte reaches the route encoded.
func pathEscapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// formWithModel is an upload naming model, with a small file.
func formWithModel(t *testing.T, model string) (string, string) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("model", model)
	fw, err := mw.CreateFormFile("file", "a.wav")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte("RIFF"))
	_ = mw.Close()
	return b.String(), mw.FormDataContentType()
}
