package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// The issue's example must load as written.
const issueExample = `
server:
  addr: "0.0.0.0:8080"
client:
  initial_pool_size: 1000        # pre-allocated request objects/workers, see below
  drop_excess_requests: true     # shed load when a provider queue is full
providers:
  - name: openai                 # unique; models are addressed as "openai/<model>"
    type: openai                 # adapter
    base_url: https://api.openai.com/v1   # optional: the type's default
    keys:
      - value: ${OPENAI_API_KEY}
        weight: 3
      - value: ${OPENAI_API_KEY_2}
        weight: 1
        models: [gpt-4o-mini]    # optional restriction
    concurrency: 200             # workers for this provider
    buffer_size: 2000            # queue length in front of them
    timeout: 60s
  - name: local
    type: openai                 # any OpenAI-compatible server (vLLM, Ollama, LM Studio, llama.cpp)
    base_url: http://127.0.0.1:8000/v1
`

func TestParseIssueExample(t *testing.T) {
	cfg, err := Parse([]byte(issueExample), env(map[string]string{"OPENAI_API_KEY": "sk-one"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "0.0.0.0:8080" || cfg.Client.InitialPoolSize != 1000 || !cfg.Client.DropExcessRequests {
		t.Fatalf("server/client: %+v %+v", cfg.Server, cfg.Client)
	}
	p := cfg.Providers[0]
	if p.Keys[0].Value != "sk-one" || p.Keys[0].Weight != 3 || p.Keys[1].Value != "" || p.Keys[1].Models[0] != "gpt-4o-mini" {
		t.Fatalf("keys: %+v", p.Keys)
	}
	if p.Concurrency != 200 || p.BufferSize != 2000 || p.Timeout.D() != time.Minute {
		t.Fatalf("pool: %+v", p)
	}
	l := cfg.Providers[1]
	if l.Concurrency != DefaultConcurrency || l.Timeout.D() != DefaultTimeout || l.StreamIdleTimeout.D() != DefaultTimeout {
		t.Fatalf("defaults not applied: %+v", l)
	}
	if cfg.Server.MaxBodyBytes != DefaultMaxBodyBytes || cfg.Client.QueueTimeout.D() != DefaultQueueTimeout {
		t.Fatalf("server defaults: %+v", cfg.Server)
	}
}

func TestParseJSON(t *testing.T) {
	cfg, err := Parse([]byte(`{"providers":[{"name":"a","type":"openai","base_url":"http://x/v1","timeout":"2s"}]}`), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Providers[0].Timeout.D() != 2*time.Second {
		t.Fatalf("timeout %v", cfg.Providers[0].Timeout.D())
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings, each must appear among the problems
	}{
		{"unknown fields everywhere", "servr: {}\nproviders:\n  - name: x\n    type: openai\n    bogus_field: 1\n    keys: [{value: a, wieght: 2}]\n",
			[]string{"servr: unknown field", "providers[0].bogus_field: unknown field", "providers[0].keys[0].wieght: unknown field"}},
		{"missing name and type", "providers:\n  - base_url: http://x\n", []string{"providers[0].name: required", "providers[0].type: required"}},
		{"duplicate names", "providers:\n  - {name: a, type: mock}\n  - {name: a, type: mock}\n", []string{`providers[1].name: "a" is already the name of providers[0]`}},
		{"slash in name", "providers:\n  - {name: a/b, type: mock}\n", []string{"providers[0].name"}},
		{"bad duration", "providers:\n  - {name: a, type: mock, timeout: soon}\n", []string{"not a duration"}},
		{"wrong type", "client:\n  initial_pool_size: many\n", []string{"initial_pool_size"}},
		{"not yaml", "providers: [\n", []string{"not valid YAML"}},
		{"governance provider levels", "providers:\n  - {name: a, type: mock}\ngovernance:\n  providers:\n" +
			"    - {name: nope, rate_limits: {rpm: 5}}\n    - {name: a, rate_limits: {rpm: -1}, budget: {max_usd: -1, reset: 2d}}\n" +
			"    - {name: a, budget: {max_usd: 1}}\n    - {name: \"\"}\n",
			[]string{`governance.providers[0].name: unknown provider "nope"`, "governance.providers[1].rate_limits.rpm: must be between",
				"governance.providers[1].budget.max_usd: must be >= 0", "governance.providers[1].budget.reset", `governance.providers[2].name: duplicate "a"`,
				"governance.providers[3].name: required", "governance.providers[3]: set a budget, rate_limits or both"}},
		{"cluster counters", "cluster:\n  counters: memcached\n", []string{`cluster.counters: "memcached": want one of [auto gossip ring redis]`}},
		{"redis counters without a url", "cluster:\n  counters: redis\n", []string{"cluster.redis.url: required"}},
		{"redis on_error", "cluster:\n  counters: redis\n  redis: {url: \"redis://127.0.0.1:6379\", on_error: maybe}\n",
			[]string{`cluster.redis.on_error: "maybe": want open or closed`}},
		{"redis bad url", "cluster:\n  counters: redis\n  redis: {url: \"http://x\"}\n", []string{"cluster.redis.url: "}},
		{"mcp section", "mcp:\n  tool_ttl: 5m\n  servers:\n    - {name: gh, transport: streamable-http, url: \"http://x/mcp\", oauth: {client_id: c, token_url: \"http://x/t\", scope: [a]}}\n" +
			"    - {name: fs, transport: stdio}\ngovernance:\n  virtual_keys:\n    - {id: k, mcp: {servers: [gh], tool: [x]}}\n    - {id: j, mcp: {tools: [\"\"]}}\n",
			[]string{"mcp.tool_ttl: unknown field", "mcp.servers[0].oauth.scope: unknown field", "governance.virtual_keys[0].mcp.tool: unknown field"}},
		{"mcp values", "mcp:\n  servers:\n    - {name: fs, transport: stdio}\ngovernance:\n  virtual_keys:\n    - {id: j, mcp: {tools: [\"\"]}}\n",
			[]string{"mcp.servers[0].command: required for transport stdio", "governance.virtual_keys[0].mcp.tools[0]: must not be empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), env(nil))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ps.Error(), w) {
					t.Errorf("problems %q lack %q", ps.Error(), w)
				}
			}
		})
	}
}

func TestExpansion(t *testing.T) {
	doc := "server:\n  addr: \"127.0.0.1:${PORT}\"\n  max_body_bytes: ${MAX}\nproviders:\n  - name: a\n    type: openai\n    base_url: ${URL:-http://fallback/v1}\n    keys: [{value: '${KEY}'}]\n"
	cfg, err := Parse([]byte(doc), env(map[string]string{"PORT": "9000", "MAX": "1024", "KEY": "a: b # not yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9000" || cfg.Server.MaxBodyBytes != 1024 {
		t.Fatalf("server %+v", cfg.Server)
	}
	if cfg.Providers[0].BaseURL != "http://fallback/v1" || cfg.Providers[0].Keys[0].Value != "a: b # not yaml" {
		t.Fatalf("provider %+v", cfg.Providers[0])
	}
}

func TestDefault(t *testing.T) {
	known := func(typ string) bool { return typ != "anthropic" }
	cfg, err := Default(env(map[string]string{"OPENAI_API_KEY": "sk-x", "GROQ_API_KEY": "gsk", "ANTHROPIC_API_KEY": "a"}), known)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range cfg.Providers {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "mock,openai,groq" {
		t.Fatalf("providers %s", got)
	}
	if cfg.Server.Addr != DefaultAddr {
		t.Fatalf("addr %s", cfg.Server.Addr)
	}
	if cfg.Server.ReadTimeout.D() != DefaultReadTimeout || cfg.Server.UploadReadTimeout.D() != DefaultUploadReadTimeout {
		t.Fatalf("read timeouts %v %v", cfg.Server.ReadTimeout, cfg.Server.UploadReadTimeout)
	}
}

func TestServerSection(t *testing.T) {
	cfg, err := Parse([]byte("server:\n  read_timeout: 5s\n  upload_read_timeout: 1m\n  allowed_hosts: [weir.internal]\nproviders:\n  - {name: m, type: mock}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Server; s.ReadTimeout.D() != 5*time.Second || s.UploadReadTimeout.D() != time.Minute || len(s.AllowedHosts) != 1 || s.AllowedHosts[0] != "weir.internal" {
		t.Fatalf("server %+v", s)
	}
	_, err = Parse([]byte("server:\n  read_timeout: -1s\n  upload_read_timeout: -1s\nproviders:\n  - {name: m, type: mock}\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "server.read_timeout") || !strings.Contains(err.Error(), "server.upload_read_timeout") {
		t.Fatalf("negative timeouts: %v", err)
	}
}

const routingExample = `
providers:
  - {name: azure-east, type: azure, base_url: "https://east.example.com", keys: [{value: k}]}
  - {name: openai, type: openai, keys: [{value: k}]}
  - {name: anthropic, type: anthropic, keys: [{value: k}]}
models:
  - name: smart                      # what callers send as "model"
    strategy: weighted               # weighted | least-busy | lowest-latency | round-robin
    targets:
      - { provider: azure-east, model: gpt-4o, weight: 70 }
      - { provider: openai,     model: gpt-4o, weight: 30 }
    fallbacks: [claude]             # other aliases or "provider/model", tried in order
    retries: { max: 2, backoff: 200ms, max_backoff: 5s }   # per target, with jitter
    timeout: 30s
  - name: claude
    targets:
      - { provider: anthropic, model: claude-sonnet-4-5 }
`

func TestParseRoutingExample(t *testing.T) {
	cfg, err := Parse([]byte(routingExample), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models[0]
	if m.Name != "smart" || len(m.Targets) != 2 || m.Targets[0].Weight != 70 || m.Retries.Backoff != 200*time.Millisecond ||
		m.Retries.MaxBackoff != 5*time.Second || m.Timeout != 30*time.Second || m.Fallbacks[0] != "claude" {
		t.Fatalf("alias: %+v", m)
	}
	bad := strings.Replace(routingExample, "provider: openai,", "provider: nope,", 1)
	bad = strings.Replace(bad, "timeout: 30s", "timeout: later", 1)
	_, err = Parse([]byte(bad), env(nil))
	if err == nil || !strings.Contains(err.Error(), "models[0].timeout") {
		t.Fatalf("want a timeout problem, got %v", err)
	}
	bad = strings.Replace(routingExample, "provider: openai,", "provider: nope,", 1)
	_, err = Parse([]byte(bad), env(nil))
	if err == nil || !strings.Contains(err.Error(), `models[0].targets[1].provider`) {
		t.Fatalf("want an unknown provider problem, got %v", err)
	}
}

func TestResponsesRetention(t *testing.T) {
	none := env(nil)
	cfg, err := Parse([]byte("providers:\n  - {name: a, type: mock}\n"), none)
	if err != nil || cfg.Responses.RetentionOrDefault() != DefaultResponsesRetention || DefaultResponsesRetention != 720*time.Hour {
		t.Fatalf("default retention: %v %v", cfg.Responses.RetentionOrDefault(), err)
	}
	cfg, err = Parse([]byte("responses:\n  retention: ${KEEP:-48h}\n"), none)
	if err != nil || cfg.Responses.RetentionOrDefault() != 48*time.Hour {
		t.Fatalf("retention 48h: %+v %v", cfg.Responses, err)
	}
	cfg, err = Parse([]byte(`{"responses": {"retention": "2160h"}}`), none)
	if err != nil || cfg.Responses.RetentionOrDefault() != 90*24*time.Hour {
		t.Fatalf("JSON retention: %+v %v", cfg.Responses, err)
	}
	for doc, want := range map[string]string{
		"responses:\n  retention: -1h\n":  "responses.retention: must not be negative",
		"responses:\n  retention: soon\n": "responses.retention",
		"responses:\n  ttl: 1h\n":         "responses.ttl: unknown field",
	} {
		_, err := Parse([]byte(doc), none)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
	if out, err := Marshal(&Config{Responses: Responses{Retention: Duration(time.Hour)}}); err != nil || !strings.Contains(string(out), "retention: 1h0m0s") {
		t.Errorf("Marshal: %s %v", out, err)
	}
}

func TestServerBasePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bad      bool
	}{
		{"", "", false}, {"/weir", "/weir", false}, {"/a/b-c/", "/a/b-c", false},
		{"weir", "", true}, {"/we ir", "", true}, {"https://x/weir", "", true}, {"/a//b", "", true},
	} {
		cfg, err := Parse([]byte("server:\n  base_path: \""+tc.in+"\"\nproviders:\n  - {name: m, type: mock}\n"), env(nil))
		if tc.bad != (err != nil) {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if err == nil && (cfg.Server.BasePath != tc.want || cfg.Server.UISessionTTL.D() != DefaultUISessionTTL) {
			t.Errorf("%q: base_path %q ttl %v", tc.in, cfg.Server.BasePath, cfg.Server.UISessionTTL.D())
		}
	}
}

// TestParseMCPExample: the mcp section as docs/mcp.md shows it, with ${ENV} in headers and oauth.
func TestParseMCPExample(t *testing.T) {
	doc := `
mcp:
  servers:
    - name: github
      transport: streamable-http
      url: https://api.githubcopilot.com/mcp/
      headers: { Authorization: "Bearer ${GITHUB_TOKEN}" }
    - name: fs
      transport: stdio
      command: ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/data"]
      env: { NODE_ENV: production }
    - name: internal
      transport: streamable-http
      url: https://tools.internal/mcp
      oauth: { client_id: weir, client_secret: "${SECRET}", token_url: https://auth.internal/token, scopes: [tools.read] }
      tool_prices: { search: 0.002, "*": 0.0005 }
  tool_list_ttl: 5m
governance:
  teams: [{ id: eng, mcp: { servers: [github, fs] } }]
  virtual_keys: [{ id: ci, team: eng, mcp: { tools: ["github__get_*"] } }]
`
	cfg, err := Parse([]byte(doc), env(map[string]string{"GITHUB_TOKEN": "ghp_x", "SECRET": "s3"}))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.MCP
	if len(m.Servers) != 3 || m.Servers[0].Headers["Authorization"] != "Bearer ghp_x" || m.Servers[2].OAuth.ClientSecret != "s3" ||
		m.Servers[1].Command[3] != "/data" || m.Separator != "__" || m.ToolListTTL.D() != 5*time.Minute || m.Servers[2].ToolPrices["*"] != 0.0005 {
		t.Fatalf("mcp: %+v", m)
	}
	if k := cfg.Governance.VirtualKeys[0]; k.MCP == nil || k.MCP.Tools[0] != "github__get_*" || cfg.Governance.Teams[0].MCP.Servers[1] != "fs" {
		t.Fatalf("governance mcp allow-lists: %+v %+v", k, cfg.Governance.Teams[0])
	}
}
