package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

type adminFixture struct {
	t   *testing.T
	a   *admin
	mux *testMux
	gov *governance.Service
	st  store.Store
}

// testMux is a ServeMux that remembers the patterns registered on it, as the data plane's server does.
type testMux struct {
	*http.ServeMux
	routes []string
}

func (m *testMux) Handle(pattern string, h http.Handler) {
	m.routes = append(m.routes, pattern)
	m.ServeMux.Handle(pattern, h)
}

func newAdminFixture(t *testing.T, token string, c *secret.Cipher) *adminFixture {
	return newAdminFixtureWith(t, Config{Token: token, Cipher: c})
}

// newAdminFixtureWith mounts the admin API with c, over a fresh store and governance service.
func newAdminFixtureWith(t *testing.T, c Config) *adminFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gov, err := governance.New(ctx, st, governance.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	c.Gov, c.Store, c.Log = gov, st, slog.New(slog.DiscardHandler)
	a, mux := newAdmin(c), &testMux{ServeMux: http.NewServeMux()}
	a.mount(mux)
	return &adminFixture{t: t, a: a, mux: mux, gov: gov, st: st}
}

// do sends a request from loopback with the given token ("" for none) and decodes the JSON answer.
func (f *adminFixture) do(method, path, token, body string) (int, map[string]any, string) {
	return f.doFrom("127.0.0.1:5555", method, path, token, body)
}

func (f *adminFixture) doFrom(remote, method, path, token, body string) (int, map[string]any, string) {
	f.t.Helper()
	if token != "" {
		return f.doHeaders(remote, method, path, body, "Authorization", "Bearer "+token)
	}
	return f.doHeaders(remote, method, path, body)
}

// doHeaders sends a request as a local client (curl, the CLI) would: Host localhost, a JSON body; header pairs
// are set after, so they can change either.
func (f *adminFixture) doHeaders(remote, method, path, body string, header ...string) (int, map[string]any, string) {
	f.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = remote
	r.Host = "localhost:8080"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			r.Host = header[i+1]
			continue
		}
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	raw, _ := io.ReadAll(w.Result().Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return w.Code, m, string(raw)
}

func errParam(m map[string]any) (string, string) {
	e, _ := m["error"].(map[string]any)
	p, _ := e["param"].(string)
	msg, _ := e["message"].(string)
	return p, msg
}

func TestAdminAuthToken(t *testing.T) {
	f := newAdminFixture(t, "s3cret-admin", nil)
	if code, _, _ := f.do("GET", "/api/customers", "", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _, _ := f.do("GET", "/api/customers", "wrong", ""); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	if code, _, body := f.doFrom("203.0.113.9:4000", "GET", "/api/customers", "s3cret-admin", ""); code != 200 {
		t.Fatalf("right token from afar: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", "/api/nope", "", ""); code != 401 {
		t.Fatalf("unknown admin route without token: %d (must not reveal routes)", code)
	}
}

// TestAdminTokenBearerScheme: RFC 7235 makes the auth scheme case-insensitive, for the admin token too
// (the inference routes' side: TestBearerSchemeIsCaseInsensitive in internal/api).
func TestAdminTokenBearerScheme(t *testing.T) {
	f := newAdminFixture(t, "s3cret-admin", nil)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		code, _, body := f.doHeaders("127.0.0.1:5555", "GET", "/api/keys", "", "Authorization", scheme+" s3cret-admin")
		if code != http.StatusOK {
			t.Errorf("admin token with scheme %q: %d %s", scheme, code, body)
		}
	}
}

func TestAdminAuthLoopbackOnlyWithoutToken(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	code, m, _ := f.doFrom("10.1.2.3:4000", "GET", "/api/customers", "", "")
	if _, msg := errParam(m); code != 403 || !strings.Contains(msg, "WEIR_ADMIN_TOKEN") {
		t.Fatalf("remote without token: %d %v", code, m)
	}
	for _, remote := range []string{"127.0.0.1:1", "[::1]:1", "[::ffff:127.0.0.1]:1"} {
		if code, _, _ := f.doFrom(remote, "GET", "/api/customers", "", ""); code != 200 {
			t.Fatalf("loopback %s: %d", remote, code)
		}
	}
}

func TestAdminValidationNamesTheField(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	cases := []struct{ path, body, param, msgPrefix string }{
		{"/api/customers", `{"id":"acme","budget":{"max_usd":1,"reset":"2d"}}`, "budget.reset", "budget.reset: must be one of 1m,1h,1d,1w,1M"},
		{"/api/customers", `{"id":"acme","budget":{"max_usd":-1}}`, "budget.max_usd", "budget.max_usd:"},
		{"/api/customers", `{"id":"acme","rate_limits":{"rpm":-5}}`, "rate_limits.rpm", "rate_limits.rpm:"},
		{"/api/customers", `{"id":"has space"}`, "id", "id:"},
		{"/api/customers", `{"id":"acme","colour":"red"}`, "colour", "colour: unknown field"},
		{"/api/keys", `{"id":"k","max_concurrent":"x"}`, "max_concurrent", "max_concurrent: must be a number"},
		{"/api/keys", `{"id":"k","team":"ghost"}`, "team", "team: unknown team"},
		{"/api/keys", `{"id":"k","provider_limits":{"openai":{"tpm":-1}}}`, "provider_limits.openai.tpm", "provider_limits.openai.tpm:"},
		{"/api/teams", `{"id":"t","customer":"ghost"}`, "customer", "customer: unknown customer"},
		{"/api/providers", `{"name":"p","type":"openai","config":{"api_key":"sk-x"}}`, "config.api_key", "config.api_key:"},
	}
	for _, c := range cases {
		code, m, body := f.do("POST", c.path, "", c.body)
		p, msg := errParam(m)
		if code != 400 || p != c.param || !strings.HasPrefix(msg, c.msgPrefix) {
			t.Errorf("POST %s %s: %d param=%q msg=%q (%s)", c.path, c.body, code, p, msg, body)
		}
		if typ := m["error"].(map[string]any)["type"]; typ != "invalid_request_error" {
			t.Errorf("type %v", typ)
		}
	}
}

func TestAdminKeyLifecycle(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	mustCode := func(want int, method, path, body string) map[string]any {
		t.Helper()
		code, m, raw := f.do(method, path, "", body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, raw)
		}
		return m
	}
	mustCode(201, "POST", "/api/customers", `{"id":"acme","budget":{"max_usd":100,"reset":"1M"}}`)
	mustCode(409, "POST", "/api/customers", `{"id":"acme"}`)
	mustCode(201, "POST", "/api/teams", `{"id":"platform","customer":"acme","budget":{"max_usd":"20.5","reset":"1d"}}`)
	k := mustCode(201, "POST", "/api/keys", `{"id":"ci-bot","team":"platform","models":["mock/*"],"rate_limits":{"rpm":10},"budget":{"max_usd":0.01,"reset":"1d"}}`)
	secretV, _ := k["key"].(string)
	if !strings.HasPrefix(secretV, "wk-") || k["hint"] != "wk-…"+secretV[len(secretV)-4:] {
		t.Fatalf("create answer: %v", k)
	}
	if b := k["budget"].(map[string]any); b["max_usd"] != 0.01 {
		t.Fatalf("budget echoed as %v", b)
	}
	if p := f.gov.Authenticate(secretV); p == nil || p.CustomerID() != "acme" {
		t.Fatalf("new key does not authenticate under acme: %v", p)
	}
	for _, path := range []string{"/api/keys", "/api/keys/ci-bot"} {
		_, _, raw := f.do("GET", path, "", "")
		if strings.Contains(raw, secretV) || strings.Contains(raw, secretV[3:20]) || !strings.Contains(raw, "wk-…") {
			t.Fatalf("GET %s leaks the secret or lacks the hint: %s", path, raw)
		}
	}
	// Disable takes effect at once; enable restores.
	mustCode(200, "POST", "/api/keys/ci-bot/disable", "")
	if f.gov.Authenticate(secretV) != nil {
		t.Fatal("disabled key still authenticates")
	}
	mustCode(200, "POST", "/api/keys/ci-bot/enable", "")
	if f.gov.Authenticate(secretV) == nil {
		t.Fatal("enabled key does not authenticate")
	}
	// A disabled team disables its keys.
	mustCode(200, "POST", "/api/teams/platform/disable", "")
	if f.gov.Authenticate(secretV) != nil {
		t.Fatal("key of a disabled team still authenticates")
	}
	mustCode(200, "POST", "/api/teams/platform/enable", "")
	// Rotate: the old secret stops, the new one works.
	r := mustCode(200, "POST", "/api/keys/ci-bot/rotate", "")
	newSecret := r["key"].(string)
	if f.gov.Authenticate(secretV) != nil || f.gov.Authenticate(newSecret) == nil {
		t.Fatal("rotate did not replace the secret")
	}
	// PATCH changes one field and keeps the rest.
	m := mustCode(200, "PATCH", "/api/keys/ci-bot", `{"rate_limits":{"rpm":3}}`)
	if m["rate_limits"].(map[string]any)["rpm"] != 3.0 || m["team"] != "platform" || m["budget"] == nil {
		t.Fatalf("patch: %v", m)
	}
	if f.gov.Authenticate(newSecret) == nil {
		t.Fatal("patch lost the secret")
	}
	// PUT replaces: no budget now.
	m = mustCode(200, "PUT", "/api/keys/ci-bot", `{"team":"platform"}`)
	if m["budget"] != nil || m["rate_limits"] != nil {
		t.Fatalf("put: %v", m)
	}
	mustCode(400, "PUT", "/api/keys/ci-bot", `{"id":"other"}`)
	mustCode(409, "DELETE", "/api/teams/platform", "")
	mustCode(409, "DELETE", "/api/customers/acme", "")
	mustCode(204, "DELETE", "/api/keys/ci-bot", "")
	if f.gov.Authenticate(newSecret) != nil {
		t.Fatal("deleted key authenticates")
	}
	mustCode(404, "GET", "/api/keys/ci-bot", "")
	mustCode(204, "DELETE", "/api/teams/platform", "")
	mustCode(204, "DELETE", "/api/customers/acme", "")
	list := mustCode(200, "GET", "/api/customers", "")
	if d := list["data"].([]any); len(d) != 0 {
		t.Fatalf("customers left: %v", d)
	}
}

func TestAdminProvidersSecretsWriteOnly(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	code, m, _ := f.do("POST", "/api/providers", "", `{"name":"oa","type":"openai","keys":[{"value":"sk-live-123"}]}`)
	if p, msg := errParam(m); code != 400 || p != "keys[0].value" || !strings.Contains(msg, "WEIR_ENCRYPTION_KEY") {
		t.Fatalf("without an encryption key: %d %v", code, m)
	}
	if code, _, raw := f.do("POST", "/api/providers", "", `{"name":"oa","type":"openai","config":{"base_url":"http://x"}}`); code != 201 {
		t.Fatalf("secretless provider without an encryption key: %d %s", code, raw)
	}

	c, err := secret.ParseKey(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	f = newAdminFixture(t, "", c)
	code, _, raw := f.do("POST", "/api/providers", "", `{"name":"oa","type":"openai","config":{"base_url":"http://x"},"keys":[{"id":"main","value":"sk-live-123","weight":2}]}`)
	if code != 201 || strings.Contains(raw, "sk-live-123") || !strings.Contains(raw, `"has_value":true`) {
		t.Fatalf("create: %d %s", code, raw)
	}
	p, err := f.st.Providers().Get(context.Background(), "oa")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := c.DecryptString(p.Keys[0].Ciphertext); err != nil || pt != "sk-live-123" {
		t.Fatalf("stored secret: %q %v", pt, err)
	}
	// Replacing without a value keeps the stored secret of the same key id.
	if code, _, raw := f.do("PUT", "/api/providers/oa", "", `{"type":"openai","keys":[{"id":"main","weight":5}]}`); code != 200 || strings.Contains(raw, "sk-live") {
		t.Fatalf("put: %d %s", code, raw)
	}
	p, _ = f.st.Providers().Get(context.Background(), "oa")
	if pt, err := c.DecryptString(p.Keys[0].Ciphertext); err != nil || pt != "sk-live-123" || p.Keys[0].Weight != 5 {
		t.Fatalf("after put: %q %v %+v", pt, err, p.Keys[0])
	}
	for _, path := range []string{"/api/providers", "/api/providers/oa"} {
		if _, _, raw := f.do("GET", path, "", ""); strings.Contains(raw, "sk-live") || strings.Contains(raw, "ciphertext") {
			t.Fatalf("GET %s leaks: %s", path, raw)
		}
	}
	if code, _, _ := f.do("DELETE", "/api/providers/oa", "", ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := f.do("GET", "/api/providers/oa", "", ""); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
}

func TestAdminUsageAndPricing(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	f.do("POST", "/api/customers", "", `{"id":"acme","budget":{"max_usd":1,"reset":"1M"}}`)
	_, k, _ := f.do("POST", "/api/keys", "", `{"id":"k1","customer":"acme","rate_limits":{"rpm":5,"tpm":1000},"budget":{"max_usd":0.01,"reset":"1d"}}`)
	p := f.gov.Authenticate(k["key"].(string))
	for range 2 {
		res, d := f.gov.Admit(context.Background(), p, "mock-model", governance.Estimate{Tokens: 10})
		if d != nil {
			t.Fatal(d)
		}
		res.Settle(schema.Usage{PromptTokens: 100, CompletionTokens: 50, TotalTokens: 150}, 2500*pricing.MicroUSD)
	}
	code, m, raw := f.do("GET", "/api/usage?key=k1", "", "")
	if code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	got := map[string]map[string]any{}
	for _, u := range m["usage"].([]any) {
		u := u.(map[string]any)
		got[u["subject"].(string)+" "+u["metric"].(string)] = u
	}
	if u := got["key:k1 rpm"]; u == nil || u["used"] != 2.0 || u["remaining"] != 3.0 || u["max"] != 5.0 {
		t.Fatalf("rpm usage: %v (%s)", u, raw)
	}
	if u := got["key:k1 tpm"]; u == nil || u["used"] != 300.0 {
		t.Fatalf("tpm usage: %v", u)
	}
	if u := got["key:k1 spend/1d"]; u == nil || u["spent_usd"] != 0.005 || u["remaining_usd"] != 0.005 || u["period"] != "1d" {
		t.Fatalf("key spend: %v", u)
	}
	if u := got["customer:acme spend/1M"]; u == nil || u["spent_usd"] != 0.005 {
		t.Fatalf("customer spend via key: %v", u)
	}
	_, m, raw = f.do("GET", "/api/usage?customer=acme", "", "")
	if us := m["usage"].([]any); len(us) != 1 || us[0].(map[string]any)["spent_usd"] != 0.005 {
		t.Fatalf("customer usage: %s", raw)
	}
	if code, _, _ := f.do("GET", "/api/usage?key=k1&team=x", "", ""); code != 400 {
		t.Fatalf("two subjects: %d", code)
	}
	if code, _, _ := f.do("GET", "/api/usage?key=ghost", "", ""); code != 404 {
		t.Fatalf("unknown key: %d", code)
	}
	_, m, raw = f.do("GET", "/api/usage", "", "")
	if d := m["data"].([]any); len(d) != 2 {
		t.Fatalf("all usage: %s", raw)
	}

	code, m, raw = f.do("GET", "/api/pricing?model=mock-model", "", "")
	if code != 200 || m["input_cost_per_token"] != 0.000001 || m["output_usd_per_million_tokens"] != 2.0 {
		t.Fatalf("pricing: %d %s", code, raw)
	}
	if code, _, _ := f.do("GET", "/api/pricing?model=no-such-model-xyz", "", ""); code != 404 {
		t.Fatalf("unknown model price: %d", code)
	}
}

func TestPicoUSD(t *testing.T) {
	for _, c := range []struct {
		pico  int64
		shift int
		want  string
	}{{1_000_000, 0, "0.000001"}, {2_500_000, 6, "2.5"}, {7_500, 0, "0.0000000075"}, {0, 0, "0"}, {3_000_000_000_000, 0, "3"}} {
		if got := picoUSD(c.pico, c.shift); string(got) != c.want {
			t.Errorf("picoUSD(%d,%d) = %s, want %s", c.pico, c.shift, got, c.want)
		}
	}
}

// TestAdminCustomersAndTeamsCRUD drives the shared entity routes: list filter, PATCH keeps what it does not
// name, PUT replaces but keeps the creation time, a path/body id mismatch is refused, unknown ids are 404.
func TestAdminCustomersAndTeamsCRUD(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	mustCode := func(want int, method, path, body string) map[string]any {
		t.Helper()
		code, m, raw := f.do(method, path, "", body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, raw)
		}
		return m
	}
	created := mustCode(201, "POST", "/api/customers", `{"id":"acme","name":"Acme","budget":{"max_usd":100,"reset":"1M"}}`)["created_at"]
	mustCode(201, "POST", "/api/customers", `{"id":"initech"}`)
	mustCode(201, "POST", "/api/teams", `{"id":"platform","customer":"acme"}`)
	mustCode(201, "POST", "/api/teams", `{"id":"tps","customer":"initech"}`)
	if m := mustCode(200, "GET", "/api/teams?customer=acme", ""); len(m["data"].([]any)) != 1 {
		t.Fatalf("filtered list: %v", m)
	}
	m := mustCode(200, "PATCH", "/api/customers/acme", `{"name":"Acme Corp"}`)
	if m["name"] != "Acme Corp" || m["budget"] == nil || m["created_at"] != created {
		t.Fatalf("PATCH: %v", m)
	}
	m = mustCode(200, "PUT", "/api/customers/acme", `{"name":"Acme"}`)
	if m["budget"] != nil || m["created_at"] != created {
		t.Fatalf("PUT replaces but keeps created_at: %v", m)
	}
	mustCode(400, "PUT", "/api/teams/platform", `{"id":"other"}`)
	mustCode(404, "PATCH", "/api/teams/ghost", `{"name":"x"}`)
	mustCode(404, "POST", "/api/customers/ghost/disable", "")
	if m := mustCode(200, "POST", "/api/customers/initech/disable", ""); m["disabled"] != true {
		t.Fatalf("disable: %v", m)
	}
	mustCode(204, "DELETE", "/api/teams/tps", "")
	mustCode(404, "GET", "/api/teams/tps", "")
}

// TestAdminTypeErrorNamesAnObject: a wire struct given as another JSON type is "an object" in the message,
// not the Go type's name (which names this package).
func TestAdminTypeErrorNamesAnObject(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	for _, body := range []string{`{"id":"acme","budget":5}`, `{"id":"acme","rate_limits":"x"}`} {
		code, m, raw := f.do("POST", "/api/customers", "", body)
		if _, msg := errParam(m); code != 400 || !strings.Contains(msg, "must be an object, not ") {
			t.Errorf("POST %s: %d %s", body, code, raw)
		}
	}
}
