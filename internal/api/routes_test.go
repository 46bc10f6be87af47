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
		{ID: "broke", Value: secret, Budget: &governance.BudgetConfig{MaxUSD: 0.000000001, Reset: "1d"}}}}
	if _, err := gov.Seed(ctx, &gc); err != nil {
		t.Fatal(err)
	}
	// Spend the whole budget, so that even a request that costs nothing (reading a stored response) is refused.
	res, d := gov.Admit(ctx, gov.Authenticate(secret), "", governance.Estimate{Cost: 1})
	if d != nil {
		t.Fatal(d.Message)
	}
	res.Settle(schema.Usage{}, 1)
	cfg, err := config.Parse([]byte("providers:\n  - {name: mock, type: mock}\n"), func(string) (string, bool) { return "", false })
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
	s := New(eng, Governance{Service: gov, Enforce: true, AdminToken: "admin-token", Store: st}, Observability{}, log)

	seen := map[RouteKind]int{}
	for _, rt := range s.Routes() {
		seen[rt.Kind]++
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, path = "GET", rt.Pattern
		}
		path = strings.NewReplacer("{id}", "x", "{name}", "x", "{call...}", "mock/echo:generateContent", "{model}", "mock%2Fecho",
			"{action}", "converse", "{path...}", "v1/anything", "{version}", "v1beta").Replace(path)
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
	if seen[RouteInference] < 10 || seen[RouteAdmin] < 5 {
		t.Fatalf("routes by kind: %v", seen)
	}
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
