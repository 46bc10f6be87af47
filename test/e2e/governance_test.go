package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// vk is a fixed, valid virtual key secret for seeding.
func vk(n int) string { return fmt.Sprintf("wk-e2e%037d", n) }

// govConfig is a gateway in front of the mock upstream ("up", model mock-model priced in the built-in table),
// its store in its own directory, with the given client and governance sections.
func govConfig(upURL, dataDir, rest string) string {
	return fmt.Sprintf(`
server:
  data_dir: %s
providers:
  - name: up
    type: openai
    base_url: %s/v1
    keys: [{value: sk-test}]
    timeout: 5s
%s`, dataDir, upURL, rest)
}

func chat(ctx context.Context, c openai.Client, model string, opts ...option.RequestOption) (*openai.ChatCompletion, error) {
	return c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}, opts...)
}

func apiStatus(t *testing.T, err error) (int, *openai.Error) {
	t.Helper()
	if err == nil {
		return 200, nil
	}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return apiErr.StatusCode, apiErr
}

// adminCall sends an admin API request and decodes the answer.
func adminCall(t *testing.T, g *gateway, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// usageOf returns the usage entries of a key from GET /api/usage, by "subject metric".
func usageOf(t *testing.T, g *gateway, key, token string) map[string]map[string]any {
	t.Helper()
	code, m := adminCall(t, g, "GET", "/api/usage?key="+key, token, "")
	if code != 200 {
		t.Fatalf("usage: %d %v", code, m)
	}
	out := map[string]map[string]any{}
	for _, u := range m["usage"].([]any) {
		u := u.(map[string]any)
		out[u["subject"].(string)+" "+u["metric"].(string)] = u
	}
	return out
}

func TestGovernanceModelAllowListAndRateLimitHeaders(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, govConfig(url, t.TempDir(), `
client:
  enforce_governance_header: true
governance:
  virtual_keys:
    - id: app
      value: `+vk(1)+`
      models: [up/mock-model]
      rate_limits: { rpm: 10, tpm: 100000 }
`))
	c := client(g, option.WithAPIKey(vk(1)))
	ctx := context.Background()

	var httpResp *http.Response
	resp, err := chat(ctx, c, "up/mock-model", option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("allowed model: %v", err)
	}
	if resp.Choices[0].Message.Content == "" {
		t.Fatal("empty answer")
	}
	if httpResp.Header.Get("x-ratelimit-limit-requests") != "10" || httpResp.Header.Get("x-ratelimit-remaining-requests") != "9" {
		t.Fatalf("rate headers on success: %v", httpResp.Header)
	}

	_, err = chat(ctx, c, "up/gpt-4o")
	if code, e := apiStatus(t, err); code != 403 || !strings.Contains(e.Message, "gpt-4o") {
		t.Fatalf("forbidden model: %d %v", code, err)
	}

	for i := 2; i <= 10; i++ {
		if _, err := chat(ctx, c, "up/mock-model"); err != nil {
			t.Fatalf("request %d of 10: %v", i, err)
		}
	}
	_, err = chat(ctx, c, "up/mock-model")
	code, e := apiStatus(t, err)
	if code != 429 || e.Code != "rate_limit_exceeded" || !strings.Contains(e.Message, "rpm 10") {
		t.Fatalf("11th request: %d %v", code, err)
	}
	h := e.Response.Header
	for _, name := range []string{"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
		"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens", "Retry-After"} {
		if h.Get(name) == "" {
			t.Errorf("429 lacks %s (headers %v)", name, h)
		}
	}
	if h.Get("x-ratelimit-limit-requests") != "10" || h.Get("x-ratelimit-remaining-requests") != "0" || h.Get("x-ratelimit-limit-tokens") != "100000" {
		t.Errorf("429 figures: %v", h)
	}
}

func TestGovernanceBudgetStopsKeyAfterCrossingChargesStreamsIncluded(t *testing.T) {
	// Every answer reports 2000 completion tokens: 2000 × $0.000002 = $0.004 for mock-model, plus the prompt.
	// max_tokens 1 keeps the up-front estimate tiny, so the budget is crossed by the charges themselves.
	_, url := startUpstream(t, mockupstream.Options{Chunks: 1000})
	dir := t.TempDir()
	g := startGateway(t, govConfig(url, dir, `
governance:
  virtual_keys:
    - id: spender
      value: `+vk(2)+`
      budget: { max_usd: 0.01, reset: 1d }
`))
	c := client(g, option.WithAPIKey(vk(2)))
	ctx := context.Background()
	stream := func() error {
		// No stream_options from the caller: the gateway must still get usage from the upstream and charge it.
		s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model", MaxTokens: openai.Int(1),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}})
		n := 0
		for s.Next() {
			n++
		}
		if err := s.Err(); err != nil {
			return err
		}
		if n == 0 {
			return errors.New("empty stream")
		}
		return nil
	}
	spent := func() float64 {
		u := usageOf(t, g, "spender", "")["key:spender spend/1d"]
		if u == nil {
			t.Fatal("no spend counter")
		}
		return u["spent_usd"].(float64)
	}
	if err := stream(); err != nil {
		t.Fatalf("stream 1: %v", err)
	}
	one := spent()
	if one < 0.004 || one > 0.0045 {
		t.Fatalf("one stream charged $%v, want about $0.004", one)
	}
	if err := stream(); err != nil {
		t.Fatalf("stream 2: %v", err)
	}
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model", MaxTokens: openai.Int(1),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}); err != nil {
		t.Fatalf("request 3 (spend $%v before it): %v", 2*one, err)
	}
	total := spent()
	if total <= 0.01 {
		t.Fatalf("after 3 charges spend is $%v, want past the $0.01 budget", total)
	}
	t.Logf("charge per request $%v; spend after 3 requests $%v (budget $0.01)", one, total)
	for i, try := range []func() error{stream, func() error {
		_, err := chat(ctx, c, "up/mock-model")
		return err
	}} {
		code, e := apiStatus(t, try())
		if code != 429 || e.Code != "budget_exceeded" || !strings.Contains(e.Message, "budget $0.01/1d") {
			t.Fatalf("request %d after the budget: %d %v", 4+i, code, e)
		}
	}
	if got := spent(); got != total {
		t.Fatalf("refused requests changed spend: $%v -> $%v", total, got)
	}
}

func TestGovernanceRestartKeepsSpendAndCounters(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	cfg := govConfig(url, t.TempDir(), `
governance:
  virtual_keys:
    - id: durable
      value: `+vk(3)+`
      rate_limits: { rpm: 10 }
      budget: { max_usd: 5, reset: 1d }
`)
	g := startGateway(t, cfg)
	c := client(g, option.WithAPIKey(vk(3)))
	ctx := context.Background()
	for i := range 4 {
		if _, err := chat(ctx, c, "up/mock-model"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	before := usageOf(t, g, "durable", "")
	g.stop()

	g2 := startGateway(t, cfg)
	after := usageOf(t, g2, "durable", "")
	if after["key:durable rpm"]["used"] != 4.0 {
		t.Fatalf("rpm used after restart: %v (before %v)", after["key:durable rpm"], before["key:durable rpm"])
	}
	sb, sa := before["key:durable spend/1d"]["spent_usd"], after["key:durable spend/1d"]["spent_usd"]
	if sa != sb || sa.(float64) <= 0 {
		t.Fatalf("spend before restart %v, after %v", sb, sa)
	}
	c2 := client(g2, option.WithAPIKey(vk(3)))
	for i := 5; i <= 10; i++ {
		if _, err := chat(ctx, c2, "up/mock-model"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if code, _ := apiStatus(t, func() error { _, err := chat(ctx, c2, "up/mock-model"); return err }()); code != 429 {
		t.Fatalf("11th request across the restart: %d, want 429", code)
	}
}

func TestGovernanceEnforceHeader(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	ctx := context.Background()
	for _, enforce := range []bool{true, false} {
		t.Run(fmt.Sprintf("enforce=%v", enforce), func(t *testing.T) {
			g := startGateway(t, govConfig(url, t.TempDir(), fmt.Sprintf(`
client:
  enforce_governance_header: %v
governance:
  virtual_keys:
    - { id: ok, value: %s }
`, enforce, vk(4))))
			_, err := chat(ctx, client(g), "up/mock-model") // the SDK sends "Bearer unused": not a virtual key
			code, _ := apiStatus(t, err)
			if want := map[bool]int{true: 401, false: 200}[enforce]; code != want {
				t.Fatalf("no virtual key: %d, want %d", code, want)
			}
			_, err = chat(ctx, client(g, option.WithAPIKey(vk(99))), "up/mock-model")
			if code, _ := apiStatus(t, err); code != 401 {
				t.Fatalf("unknown virtual key: %d, want 401", code)
			}
			_, err = chat(ctx, client(g, option.WithAPIKey("wk-short")), "up/mock-model")
			if code, _ := apiStatus(t, err); code != 401 {
				t.Fatalf("malformed virtual key: %d, want 401", code)
			}
			if _, err := chat(ctx, client(g, option.WithAPIKey(vk(4))), "up/mock-model"); err != nil {
				t.Fatalf("valid virtual key: %v", err)
			}
			status, _, body := post(t, g.URL+"/v1/chat/completions", `{"model":"up/mock-model","messages":[{"role":"user","content":"hi"}]}`, "x-weir-vk", vk(4))
			if status != 200 {
				t.Fatalf("x-weir-vk: %d %s", status, body)
			}
		})
	}
}

func TestAdminAPIRoundTripAndDisable(t *testing.T) {
	const token = "e2e-admin-token"
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, govConfig(url, t.TempDir(), `
client:
  enforce_governance_header: true
`), "WEIR_ADMIN_TOKEN="+token)
	ctx := context.Background()

	if code, _ := adminCall(t, g, "GET", "/api/keys", "", ""); code != 401 {
		t.Fatalf("admin API without token: %d", code)
	}
	if code, _ := adminCall(t, g, "GET", "/api/keys", "not-it", ""); code != 401 {
		t.Fatalf("admin API with a wrong token: %d", code)
	}
	must := func(want int, method, path, body string) map[string]any {
		t.Helper()
		code, m := adminCall(t, g, method, path, token, body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, m)
		}
		return m
	}
	must(201, "POST", "/api/customers", `{"id":"acme","name":"Acme","budget":{"max_usd":100,"reset":"1M"}}`)
	must(201, "POST", "/api/teams", `{"id":"platform","customer":"acme","budget":{"max_usd":20,"reset":"1d"}}`)
	code, m := adminCall(t, g, "POST", "/api/keys", token, `{"id":"ci-bot","team":"platform","budget":{"max_usd":1,"reset":"2d"}}`)
	if e, _ := m["error"].(map[string]any); code != 400 || e["param"] != "budget.reset" {
		t.Fatalf("bad reset: %d %v", code, m)
	}
	k := must(201, "POST", "/api/keys", `{"id":"ci-bot","team":"platform","models":["up/mock-model"],"rate_limits":{"rpm":100}}`)
	secretV := k["key"].(string)
	list := must(200, "GET", "/api/keys", "")
	if raw, _ := json.Marshal(list); strings.Contains(string(raw), secretV) {
		t.Fatal("list returns the secret")
	}
	got := must(200, "GET", "/api/keys/ci-bot", "")
	if got["hint"] != "wk-…"+secretV[len(secretV)-4:] || got["key"] != nil {
		t.Fatalf("get: %v", got)
	}

	c := client(g, option.WithAPIKey(secretV))
	if _, err := chat(ctx, c, "up/mock-model"); err != nil {
		t.Fatalf("key made through the admin API: %v", err)
	}
	u := usageOf(t, g, "ci-bot", token)
	if u["key:ci-bot rpm"]["used"] != 1.0 || u["team:platform spend/1d"]["spent_usd"].(float64) <= 0 || u["customer:acme spend/1M"] == nil {
		t.Fatalf("usage: %v", u)
	}

	must(200, "POST", "/api/keys/ci-bot/disable", "")
	_, err := chat(ctx, c, "up/mock-model")
	if code, _ := apiStatus(t, err); code != 401 {
		t.Fatalf("request right after disable: %d, want 401", code)
	}
	must(200, "POST", "/api/keys/ci-bot/enable", "")
	if _, err := chat(ctx, c, "up/mock-model"); err != nil {
		t.Fatalf("after enable: %v", err)
	}
	r := must(200, "POST", "/api/keys/ci-bot/rotate", "")
	if _, err := chat(ctx, c, "up/mock-model"); err == nil {
		t.Fatal("old secret works after rotate")
	}
	if _, err := chat(ctx, client(g, option.WithAPIKey(r["key"].(string))), "up/mock-model"); err != nil {
		t.Fatalf("rotated secret: %v", err)
	}
	must(204, "DELETE", "/api/keys/ci-bot", "")
	must(204, "DELETE", "/api/teams/platform", "")
	must(204, "DELETE", "/api/customers/acme", "")
	p := must(200, "GET", "/api/pricing?model=mock-model", "")
	if p["input_cost_per_token"] != 0.000001 {
		t.Fatalf("pricing: %v", p)
	}

	// No token configured: loopback callers (this test) are served.
	g2 := startGateway(t, govConfig(url, t.TempDir(), ""))
	if code, _ := adminCall(t, g2, "GET", "/api/customers", "", ""); code != 200 {
		t.Fatalf("loopback without an admin token: %d", code)
	}
}

func TestGovernanceConcurrentAdmissionExact(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, govConfig(url, t.TempDir(), `
client:
  enforce_governance_header: true
governance:
  virtual_keys:
    - id: hammer
      value: `+vk(5)+`
      rate_limits: { rpm: 50 }
`))
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200, MaxConnsPerHost: 200}}
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		durs   []time.Duration
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions",
				strings.NewReader(`{"model":"up/mock-model","messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("Authorization", "Bearer "+vk(5))
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := hc.Do(req)
			defer func() { mu.Lock(); durs = append(durs, time.Since(t0)); mu.Unlock() }()
			code := -1
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			counts[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	// Connections dialed but never used count as active for 5 s in the server's graceful shutdown.
	hc.CloseIdleConnections()
	slices.Sort(durs)
	t.Logf("200 concurrent requests, rpm 50: %v; latency p50 %v max %v", counts, durs[len(durs)/2], durs[len(durs)-1])
	if counts[200] != 50 || counts[429] != 150 {
		t.Fatalf("statuses %v, want exactly 50 × 200 and 150 × 429", counts)
	}
}
