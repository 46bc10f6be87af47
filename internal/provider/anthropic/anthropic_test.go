package anthropic

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

type seen struct {
	Method, URI string
	Header      http.Header
	Body        string
}

// recorder answers every request with status and body, remembering the last request.
func recorder(t *testing.T, status int, body string) (*httptest.Server, func() seen) {
	t.Helper()
	var mu sync.Mutex
	var last seen
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), string(b)}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts, func() seen { mu.Lock(); defer mu.Unlock(); return last }
}

func build(t *testing.T, cfg provider.Common, s Settings) *Provider {
	t.Helper()
	cfg.Type = "anthropic"
	if cfg.Name == "" {
		cfg.Name = "claude"
	}
	p, err := New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

func TestNewProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  provider.Common
		want string
	}{
		{"no keys", provider.Common{}, "keys: at least one key is required"},
		{"empty key", provider.Common{Keys: []provider.KeyConfig{{Value: ""}}}, "keys: every key is empty (is its ${VAR} set?)"},
		{"bad base", provider.Common{BaseURL: "ftp://x", Keys: []provider.KeyConfig{{Value: "k"}}}, `base_url: "ftp://x" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Type = "anthropic"
			_, err := New(tc.cfg, Settings{})
			ps, ok := err.(confkit.Problems)
			if !ok || ps.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSend(t *testing.T) {
	const body = `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name    string
		cfg     provider.Common // BaseURL is prefixed with the test server
		s       Settings
		suffix  string // appended to the server URL as base_url
		call    provider.Call
		uri     string
		headers map[string]string // "" means must be absent
	}{
		{
			name: "chat", call: provider.Call{Op: provider.OpChat},
			uri: "/v1/messages",
			headers: map[string]string{"X-Api-Key": "sk-ant-1", "Anthropic-Version": "2023-06-01",
				"Content-Type": "application/json", "Accept": "", "Authorization": ""},
		},
		{
			name: "messages stream", call: provider.Call{Op: provider.OpMessages, Stream: true},
			uri:     "/v1/messages",
			headers: map[string]string{"Accept": "text/event-stream", "X-Api-Key": "sk-ant-1"},
		},
		{
			name: "count tokens", call: provider.Call{Op: provider.OpCountTokens},
			uri:     "/v1/messages/count_tokens",
			headers: map[string]string{"X-Api-Key": "sk-ant-1", "Anthropic-Version": "2023-06-01"},
		},
		{
			name: "caller version and beta",
			call: provider.Call{Op: provider.OpMessages, Header: http.Header{
				"Anthropic-Version": {"2024-01-01"}, "Anthropic-Beta": {"prompt-caching-2024-07-31"}, "Traceparent": {"00-abc-def-01"}}},
			uri: "/v1/messages",
			headers: map[string]string{"Anthropic-Version": "2024-01-01", "Anthropic-Beta": "prompt-caching-2024-07-31",
				"Traceparent": "00-abc-def-01"},
		},
		{
			name: "api_version and headers", s: Settings{APIVersion: "2099-01-01"}, cfg: provider.Common{Headers: map[string]string{"x-team": "a"}},
			call:    provider.Call{Op: provider.OpChat},
			uri:     "/v1/messages",
			headers: map[string]string{"Anthropic-Version": "2099-01-01", "X-Team": "a"},
		},
		{
			name: "base_url with /v1 and a path prefix", suffix: "/proxy/v1/",
			call: provider.Call{Op: provider.OpChat},
			uri:  "/proxy/v1/messages",
		},
		{
			name: "caller cannot replace the key", call: provider.Call{Op: provider.OpChat, Header: http.Header{"X-Api-Key": {"stolen"}}},
			uri:     "/v1/messages",
			headers: map[string]string{"X-Api-Key": "sk-ant-1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last := recorder(t, 200, `{"id":"msg_1"}`)
			cfg := tc.cfg
			cfg.BaseURL = ts.URL + tc.suffix
			cfg.Keys = []provider.KeyConfig{{Value: "sk-ant-1"}}
			p := build(t, cfg, tc.s)
			c := tc.call
			c.Model = "claude-sonnet-4-5"
			c.Body = []byte(body)
			c.Key = &provider.Key{Value: "sk-ant-1"}
			resp, err := p.Send(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := last()
			if got.Method != http.MethodPost || got.URI != tc.uri {
				t.Errorf("got %s %s, want POST %s", got.Method, got.URI, tc.uri)
			}
			if got.Body != body || string(c.Body) != body {
				t.Errorf("body changed: sent %s, call %s", got.Body, c.Body)
			}
			for k, v := range tc.headers {
				if g := got.Header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestSendReturnsUpstreamAnswerUnchanged(t *testing.T) {
	ts, _ := recorder(t, 429, `{"type":"error","error":{"type":"rate_limit_error"}}`)
	p := build(t, provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: "k"}}}, Settings{})
	resp, err := p.Send(context.Background(), &provider.Call{Op: provider.OpMessages, Body: []byte(`{}`), Key: &provider.Key{Value: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || !strings.Contains(string(b), "rate_limit_error") {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
}

func TestSupports(t *testing.T) {
	p := build(t, provider.Common{Keys: []provider.KeyConfig{{Value: "k"}}}, Settings{})
	for op, want := range map[provider.Op]bool{
		provider.OpChat: true, provider.OpMessages: true, provider.OpCountTokens: true,
		provider.OpEmbeddings: false, provider.OpResponses: false, provider.OpCompletions: false,
	} {
		if p.Supports(op) != want {
			t.Errorf("Supports(%s) = %v", op, !want)
		}
	}
	if _, err := p.Send(context.Background(), &provider.Call{Op: provider.OpEmbeddings}); err == nil {
		t.Error("embeddings: want an error")
	}
	if p.Dialect() != dialects.Anthropic || p.Name() != "claude" || p.base != DefaultBaseURL {
		t.Errorf("dialect %s name %s base %s", p.Dialect(), p.Name(), p.base)
	}
}

func TestListModels(t *testing.T) {
	var pages []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/models" || r.Header.Get("X-Api-Key") != "k" ||
			r.Header.Get("Anthropic-Version") != DefaultVersion {
			http.Error(w, "bad request "+r.URL.String(), 400)
			return
		}
		pages = append(pages, r.URL.RawQuery)
		if r.URL.Query().Get("after_id") == "" {
			io.WriteString(w, `{"data":[{"id":"claude-a"},{"id":"claude-b"}],"has_more":true,"last_id":"claude-b"}`)
			return
		}
		io.WriteString(w, `{"data":[{"id":"claude-c"}],"has_more":false,"last_id":"claude-c"}`)
	}))
	defer ts.Close()
	p := build(t, provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: "k"}}}, Settings{})
	ids, err := p.ListModels(context.Background(), &provider.Key{Value: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "claude-a,claude-b,claude-c" || len(pages) != 2 || pages[1] != "limit=1000&after_id=claude-b" {
		t.Fatalf("ids %v pages %v", ids, pages)
	}
}

// TestMockUpstream checks the wire against the in-repo fake Anthropic API.
func TestMockUpstream(t *testing.T) {
	m := mockupstream.New(mockupstream.Options{APIKey: "sk-mock"})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: "sk-mock"}}}, Settings{})
	for _, op := range []provider.Op{provider.OpMessages, provider.OpCountTokens} {
		resp, err := p.Send(context.Background(), &provider.Call{Op: op, Model: "claude-x",
			Body: []byte(`{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`),
			Key:  &provider.Key{Value: "sk-mock"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", op, resp.StatusCode, b)
		}
	}
}
