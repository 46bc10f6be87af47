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
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/admin"
	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/mcp"
	_ "github.com/weir-gateway/weir/internal/provider/anthropic"
	_ "github.com/weir-gateway/weir/internal/provider/bedrock"
	_ "github.com/weir-gateway/weir/internal/provider/gemini"
	_ "github.com/weir-gateway/weir/internal/provider/mock"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

// publicRoutes are the only routes that may answer without a credential. A new route must be added here
// deliberately, or be registered as inference or admin.
var publicRoutes = map[string]bool{
	"GET /v1/models": true, "GET /models": true, "GET /metrics": true, "GET /healthz": true, "GET /readyz": true,
	"GET /debug/pools": true, "/": true, "GET /v1/models/{id}": true, "GET /models/{id}": true,
}

// TestEveryRouteIsProtected walks every registered route: inference routes refuse a caller without a virtual
// key (enforced) and a key over its budget, in the route's own error format; admin routes refuse a remote caller
// without the admin token; public routes are exactly the allow-list.
func TestEveryRouteIsProtected(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	gov, err := governance.New(ctx, st, governance.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer gov.Close(ctx)
	const secret = "wk-routes-test-0123456789abcdef"
	gc := governance.Config{VirtualKeys: []governance.VirtualKeyConfig{
		{ID: "broke", Value: secret, Budget: &governance.BudgetConfig{MaxUSD: 0.000000001, Reset: "1d"}},
		{ID: "owner", Value: ownerSecret}, {ID: "other", Value: otherSecret}}}
	if _, err := gov.Seed(ctx, &gc); err != nil {
		t.Fatal(err)
	}
	// Spend the whole budget, so that even a request that costs nothing (reading a stored response) is refused.
	res, d := gov.Admit(ctx, gov.Authenticate(secret), "", governance.Estimate{Cost: 1})
	if d != nil {
		t.Fatal(d.Message)
	}
	res.Settle(schema.Usage{}, 1)
	up := newRecorder(t)
	cfg, err := config.Parse([]byte(`providers:
  - {name: mock, type: mock}
  - {name: oa, type: openai, base_url: `+up.URL+`/v1, keys: [{value: sk-up}]}
  - {name: an, type: anthropic, base_url: `+up.URL+`, keys: [{value: sk-up}]}
  - {name: gm, type: gemini, base_url: `+up.URL+`/v1beta, keys: [{value: sk-up}], models: [gem]}
  - {name: br, type: bedrock, base_url: `+up.URL+`, region: us-east-1, access_key_id: AKIDTEST, secret_access_key: secret, models: [brm]}
`), func(string) (string, bool) { return "", false })
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
	defer db.Close()
	objs, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	eng.SetObjects(objs)
	s := New(eng, Governance{Service: gov, Enforce: true}, Observability{}, log)
	admin.Mount(s.Mount(RouteAdmin), admin.Config{Gov: gov, Token: "admin-token", Store: st, Models: s.Catalog().List, Log: log}) // as cmd/weir does
	var mcpCfg mcp.Config
	mcpCfg.ApplyDefaults()
	mcpHandler := mcp.New(mcpCfg, mcp.Options{Gov: gov, Log: log}).Handler()
	inference := s.Mount(RouteInference) // as cmd/weir's startMCP does
	inference.Handle("/mcp", mcpHandler)
	inference.Handle("/mcp/{server}", mcpHandler)

	seen := map[RouteKind]int{}
	mcpRoutes := 0 // the MCP gateway's, mounted above as cmd/weir mounts it
	for _, rt := range s.Routes() {
		seen[rt.Kind]++
		if strings.Contains(rt.Pattern, "/mcp") {
			mcpRoutes++
		}
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, path = "GET", rt.Pattern
		}
		path = strings.NewReplacer("{id}", "x", "{name}", "x", "{call...}", "mock/echo:generateContent", "{model}", "mock%2Fecho",
			"{action}", "converse", "{path...}", "v1/anything", "{version}", "v1beta", "{server}", "x").Replace(path)
		upload := method == "POST" && (strings.HasSuffix(path, "/edits") || strings.HasSuffix(path, "/variations") || strings.HasSuffix(path, "/transcriptions") ||
			strings.HasSuffix(path, "/translations") || strings.HasSuffix(path, "/files"))
		send := func(header ...string) (int, string) {
			body, ct := `{"model":"mock/echo","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"input":"hi","prompt":"hi"}`, "application/json"
			if upload {
				body, ct = multipartBody(t)
			}
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			r.Header.Set("Content-Type", ct)
			r.RemoteAddr = "192.0.2.1:1234" // not loopback
			r.Pattern = rt.Pattern
			for i := 0; i+1 < len(header); i += 2 {
				r.Header.Set(header[i], header[i+1])
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			b, _ := io.ReadAll(w.Result().Body)
			return w.Code, string(b)
		}
		switch rt.Kind {
		case RouteInference:
			if strings.HasPrefix(path, "/mcp") {
				// MCP's refusal is a JSON-RPC error; a key over its budget is refused per tool call, which needs
				// an upstream tool (internal/mcp's tests and test/e2e's TestMCPGateway).
				if code, body := send("Accept", "application/json, text/event-stream"); code != http.StatusUnauthorized || !strings.Contains(body, `"jsonrpc":"2.0"`) {
					t.Errorf("%s without a key: %d %s", rt.Pattern, code, body)
				}
				continue
			}
			anthropic := strings.Contains(rt.Pattern, "/messages") || strings.HasPrefix(path, "/anthropic")
			code, body := send()
			if code != http.StatusUnauthorized || (anthropic != strings.Contains(body, `"type":"error"`)) {
				t.Errorf("%s without a key: %d %s", rt.Pattern, code, body)
			}
			code, body = send("Authorization", "Bearer "+secret)
			if code != http.StatusTooManyRequests || !strings.Contains(body, "budget") {
				t.Errorf("%s over budget: %d %s", rt.Pattern, code, body)
			}
		case RouteAdmin:
			if code, body := send(); code != http.StatusUnauthorized && code != http.StatusForbidden {
				t.Errorf("%s without the admin token: %d %s", rt.Pattern, code, body)
			}
		case RoutePublic:
			if !publicRoutes[rt.Pattern] {
				t.Errorf("%s is public but not in the allow-list: register it as inference or admin", rt.Pattern)
			}
		}
	}
	if seen[RouteInference] < 10 || seen[RouteAdmin] < 5 || mcpRoutes != 2 {
		t.Fatalf("routes by kind: %v, MCP routes %d", seen, mcpRoutes)
	}
	walkNativeRoutes(t, s, objs, up)
}

// multipartBody is an upload naming the model mock/echo, with a small file.
func multipartBody(t *testing.T) (string, string) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("model", "mock/echo")
	_ = mw.WriteField("purpose", "batch")
	fw, err := mw.CreateFormFile("file", "a.wav")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte("RIFF"))
	_ = mw.Close()
	return b.String(), mw.FormDataContentType()
}

const (
	ownerSecret = "wk-routes-owner-0123456789abcdef"
	otherSecret = "wk-routes-other-0123456789abcdef"
)

// recorder is an upstream that answers every call with an empty JSON object and remembers the paths it saw.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.paths = append(rec.paths, r.Method+" "+r.URL.EscapedPath())
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) seen() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.paths...)
}

// nativeObjectPaths are paths, below a native prefix's API version, that name objects of the provider account
// or list them ({id} is an object another key owns, where Weir tracks the kind). A key that does not own the
// object must never reach the upstream with any of them, whatever the method and however the path is encoded.
var nativeObjectPaths = map[string][]string{
	"/openai": {"files", "files/{file}", "files/{file}/content", "batches", "batches/{batch}", "batches/{batch}/cancel",
		"responses/{resp}", "responses/{resp}/input_items", "responses/{resp}/cancel", "uploads", "uploads/upload_1",
		"uploads/upload_1/parts", "uploads/upload_1/complete", "uploads/upload_1/cancel", "vector_stores", "vector_stores/vs_1",
		"vector_stores/vs_1/files", "vector_stores/vs_1/file_batches/vsfb_1", "vector_stores/vs_1/search", "fine_tuning/jobs",
		"fine_tuning/jobs/ftjob-1", "fine_tuning/jobs/ftjob-1/cancel", "fine_tuning/jobs/ftjob-1/events", "assistants",
		"assistants/asst_1", "threads/thread_1", "threads/thread_1/messages", "threads/thread_1/runs/run_1", "containers",
		"containers/cntr_1/files/cfile_1/content", "conversations/conv_1/items", "chat/completions", "chat/completions/chatcmpl-1",
		"chat/completions/chatcmpl-1/messages", "realtime/sessions", "realtime/client_secrets", "videos/video_1/content",
		"evals/eval_1/runs", "organization/projects", "organization/usage/completions"},
	"/anthropic": {"messages/batches", "messages/batches/{msgbatch}", "messages/batches/{msgbatch}/results",
		"messages/batches/{msgbatch}/cancel", "files", "files/file_1", "files/file_1/content", "skills", "skills/skill_1",
		"organizations/api_keys", "organizations/usage_report/messages"},
}

// nativeEncodings spell a path below a native prefix: plainly (with and without the API version), and in every
// way a guard that checks the decoded path, or a proxy that decodes once more, would read differently.
var nativeEncodings = []struct {
	name  string
	spell func(p string) string
	plain bool
}{
	{"plain", func(p string) string { return p }, true},
	{"v1", func(p string) string { return "v1/" + p }, true},
	{"encoded slash", func(p string) string { return "v1/" + strings.ReplaceAll(p, "/", "%2F") }, false},
	{"encoded slash lower", func(p string) string { return strings.ReplaceAll(p, "/", "%2f") }, false},
	{"double-encoded slash", func(p string) string { return "v1/" + strings.ReplaceAll(p, "/", "%252F") }, false},
	{"triple-encoded slash", func(p string) string { return strings.ReplaceAll(p, "/", "%25252F") }, false},
	{"encoded backslash", func(p string) string { return "v1/" + strings.ReplaceAll(p, "/", "%5C") }, false},
	{"double-encoded backslash", func(p string) string { return "v1/" + strings.ReplaceAll(p, "/", "%255C") }, false},
	{"dot-dot", func(p string) string { return "v1/chat/../" + p }, false},
	{"encoded dot-dot", func(p string) string { return "v1/chat/%2e%2e/" + p }, false},
	{"encoded dot-dot upper", func(p string) string { return "v1/chat/%2E%2E/" + p }, false},
	{"half-encoded dot-dot", func(p string) string { return "v1/chat/.%2e/" + p }, false},
	{"double-encoded dot-dot", func(p string) string { return "%252e%252e/" + p }, false},
	{"double-encoded dot-dot in v1", func(p string) string { return "v1/x/%252e%252e/" + p }, false},
	{"encoded dot", func(p string) string { return "%2e/" + p }, false},
	{"double-encoded dot", func(p string) string { return "v1/%252e/" + p }, false},
	{"encoded query", func(p string) string { return "v1/" + p + "%3F" }, false},
	{"double-encoded query", func(p string) string { return "v1/" + p + "%253Fx=1" }, false},
	{"double-encoded query before", func(p string) string { return "v1/chat%253F/../" + p }, false},
	{"encoded fragment", func(p string) string { return "v1/" + p + "%23" }, false},
	{"double-encoded fragment", func(p string) string { return p + "%2523x" }, false},
	{"encoded nul", func(p string) string { return "v1/" + p + "%00" }, false},
	{"encoded newline", func(p string) string { return p + "%0a" }, false},
	{"empty segment", func(p string) string { return "v1//" + p }, false},
	{"trailing slash", func(p string) string { return "v1/" + p + "/" }, false},
}

// walkNativeRoutes walks the native routes with object paths in every encoding and every method, as a key that
// owns none of the objects: nothing reaches the upstream, listings are the caller's own (empty), and the
// answer is in the route's dialect. The owner, and a stateless call, do reach it (so the walk can tell).
func walkNativeRoutes(t *testing.T, s *Server, objs affinity.Store, up *recorder) {
	ctx := context.Background()
	ids := map[string]string{"{file}": "file-owned", "{batch}": "batch_owned", "{resp}": "resp_owned", "{msgbatch}": "msgbatch_owned"}
	for _, r := range []affinity.Record{
		{ID: "file-owned", Kind: affinity.KindFile, Owner: "owner", Provider: "oa"},
		{ID: "batch_owned", Kind: affinity.KindBatch, Owner: "owner", Provider: "oa"},
		{ID: "resp_owned", Kind: affinity.KindResponse, Owner: "owner", Provider: "oa"},
		{ID: "msgbatch_owned", Kind: affinity.KindMessageBatch, Owner: "owner", Provider: "an"},
	} {
		r.Object = []byte(`{"id":"` + r.ID + `"}`)
		if err := objs.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	send := func(method, path, body, key string) (int, string) {
		r := httptest.NewRequest(method, "http://weir"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = "192.0.2.1:1234"
		if key != "" {
			r.Header.Set("Authorization", "Bearer "+key)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(b)
	}
	reached := func(before int) []string { return up.seen()[before:] }

	// The walk can see a call reach the upstream: the owner's, and a stateless one.
	before := len(up.seen())
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/openai/files/file-owned", "", "GET /v1/files/file-owned"},
		{"GET", "/openai/v1/batches/batch_owned", "", "GET /v1/batches/batch_owned"},
		{"GET", "/anthropic/messages/batches/msgbatch_owned", "", "GET /v1/messages/batches/msgbatch_owned"},
		{"POST", "/openai/chat/completions", `{"model":"oa/gpt-x","messages":[]}`, "POST /v1/chat/completions"},
		{"GET", "/openai/models/ft:gpt-4o:acme::1", "", "GET /v1/models/ft:gpt-4o:acme::1"},
	} {
		code, body := send(c.method, c.path, c.body, ownerSecret)
		got := reached(before)
		if code != 200 || len(got) != 1 || got[0] != c.want {
			t.Errorf("owner %s %s: %d %s, upstream saw %v, want %s", c.method, c.path, code, body, got, c.want)
		}
		before = len(up.seen())
	}

	walked := 0
	for prefix, paths := range nativeObjectPaths {
		anthropic := prefix == "/anthropic"
		for _, p := range paths {
			for k, v := range ids {
				p = strings.ReplaceAll(p, k, v)
			}
			for _, enc := range nativeEncodings {
				spelled := enc.spell(p)
				plain := enc.plain || spelled == p || spelled == "v1/"+p // no '/' in p to encode
				path := prefix + "/" + spelled
				for _, method := range []string{"GET", "POST", "DELETE"} {
					if method == "POST" && p == "chat/completions" && plain {
						continue // a chat: GET lists the stored ones, POST makes one
					}
					walked++
					before := len(up.seen())
					model := `{"model":"oa/x"}` // else the first provider by name, the mock, would be asked
					if anthropic {
						model = `{"model":"an/x"}`
					}
					code, body := send(method, path, model, "")
					// 405 (with Allow) for a method the object's route does not serve: refused before any key is read.
					if code != http.StatusUnauthorized && !redirect(code) && code != http.StatusMethodNotAllowed {
						t.Errorf("%s %s without a key: %d %s", method, path, code, body)
					}
					code, body = send(method, path, model, otherSecret)
					if got := reached(before); len(got) > 0 {
						t.Errorf("%s %s (%s) reached the upstream as %v: %d %s", method, path, enc.name, got, code, body)
						continue
					}
					list := method == "GET" && plain && (p == "files" && !anthropic || p == "batches" || p == "messages/batches")
					switch {
					case redirect(code): // the router cleans a literal "..", "//" by a redirect: nothing served
					case list:
						if code != 200 || strings.Contains(body, "owned") {
							t.Errorf("%s %s: %d %s, want the caller's own (empty) list", method, path, code, body)
						}
					case code < 400 || anthropic != strings.Contains(body, `"type":"error"`):
						t.Errorf("%s %s (%s): %d %s", method, path, enc.name, code, body)
					case !plain && code != http.StatusBadRequest && code != http.StatusNotFound:
						// 400 from the catch-alls; 404 from a unified route whose {id} then names no object of the key
						t.Errorf("%s %s (%s): %d %s, want 400", method, path, enc.name, code, body)
					}
				}
			}
		}
	}

	// /gemini and /bedrock name a model in one segment: the same encodings of another resource are refused there.
	for _, enc := range nativeEncodings[2:] {
		for _, path := range []string{
			"/gemini/v1beta/models/" + enc.spell("gem/../../files/abc") + ":generateContent",
			"/bedrock/model/" + enc.spell("brm/../../async-invoke/abc") + "/converse",
		} {
			walked++
			before := len(up.seen())
			code, body := send("POST", path, `{}`, otherSecret)
			if got := reached(before); len(got) > 0 || (code != 400 && code != 404 && !redirect(code)) {
				t.Errorf("POST %s (%s): %d %s, upstream saw %v", path, enc.name, code, body, got)
			}
		}
	}
	// Gemini's long-running methods make objects Weir could neither charge nor keep to their owner.
	for _, m := range []string{"batchGenerateContent", "asyncBatchEmbedContent", "predictLongRunning"} {
		before := len(up.seen())
		if code, body := send("POST", "/gemini/v1beta/models/gem:"+m, `{}`, otherSecret); code != 403 || len(reached(before)) > 0 {
			t.Errorf("gemini :%s: %d %s", m, code, body)
		}
	}
	t.Logf("walked %d native requests", walked)
}

func redirect(code int) bool { return code >= 300 && code < 400 }
