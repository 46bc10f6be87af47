package cohere

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

func build(t *testing.T, cfg provider.Common) *Provider {
	t.Helper()
	cfg.Type, cfg.Name = "cohere", "co"
	p, err := New(cfg, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

func TestNewProblems(t *testing.T) {
	k := []provider.KeyConfig{{Value: "k"}}
	for _, tc := range []struct {
		name string
		cfg  provider.Common
		want string
	}{
		{"no keys", provider.Common{}, "keys: at least one key is required"},
		{"empty keys", provider.Common{Keys: []provider.KeyConfig{{}, {}}}, "keys: every key is empty (is its ${VAR} set?)"},
		{"bad base", provider.Common{BaseURL: "::", Keys: k}, `base_url: "::" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Type = "cohere"
			_, err := New(tc.cfg, struct{}{})
			ps, ok := err.(confkit.Problems)
			if !ok || ps.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSend(t *testing.T) {
	const body = `{"model":"command-r-plus","messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name    string
		suffix  string
		call    provider.Call
		uri     string
		headers map[string]string
	}{
		{"chat", "", provider.Call{Op: provider.OpChat},
			"/v2/chat", map[string]string{"Authorization": "Bearer co-1", "Content-Type": "application/json", "Accept": ""}},
		{"chat stream", "", provider.Call{Op: provider.OpChat, Stream: true},
			"/v2/chat", map[string]string{"Authorization": "Bearer co-1", "Accept": "text/event-stream"}},
		{"embed", "", provider.Call{Op: provider.OpEmbeddings}, "/v2/embed", map[string]string{"Authorization": "Bearer co-1"}},
		{"rerank", "", provider.Call{Op: provider.OpRerank}, "/v2/rerank", map[string]string{"Authorization": "Bearer co-1"}},
		{"base with /v2", "/v2/", provider.Call{Op: provider.OpChat}, "/v2/chat", nil},
		{"trace", "", provider.Call{Op: provider.OpChat, Header: http.Header{"Traceparent": {"00-a-b-01"}}},
			"/v2/chat", map[string]string{"Traceparent": "00-a-b-01", "X-Client-Name": "weir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last := recorder(t, 200, `{}`)
			p := build(t, provider.Common{BaseURL: ts.URL + tc.suffix, Keys: []provider.KeyConfig{{Value: "co-1"}},
				Headers: map[string]string{"X-Client-Name": "weir"}})
			c := tc.call
			c.Model, c.Body, c.Key = "command-r-plus", []byte(body), &provider.Key{Value: "co-1"}
			resp, err := p.Send(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := last()
			if got.Method != http.MethodPost || got.URI != tc.uri || got.Body != body {
				t.Errorf("got %s %s %s, want POST %s", got.Method, got.URI, got.Body, tc.uri)
			}
			for k, v := range tc.headers {
				if g := got.Header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestSupports(t *testing.T) {
	p := build(t, provider.Common{Keys: []provider.KeyConfig{{Value: "k"}}})
	for op, want := range map[provider.Op]bool{
		provider.OpChat: true, provider.OpEmbeddings: true, provider.OpRerank: true,
		provider.OpMessages: false, provider.OpCountTokens: false, provider.OpResponses: false,
	} {
		if p.Supports(op) != want {
			t.Errorf("Supports(%s) = %v", op, !want)
		}
	}
	if p.Dialect() != dialects.Cohere || p.base != DefaultBaseURL {
		t.Error(p.Dialect(), p.base)
	}
	if _, err := p.Send(context.Background(), &provider.Call{Op: provider.OpResponses}); err == nil {
		t.Error("responses: want an error")
	}
}

func TestListModels(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "bad", 400)
			return
		}
		if r.URL.Query().Get("page_token") == "" {
			io.WriteString(w, `{"models":[{"name":"command-a"}],"next_page_token":"n"}`)
			return
		}
		io.WriteString(w, `{"models":[{"name":"embed-v4.0"}]}`)
	}))
	defer ts.Close()
	p := build(t, provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: "k"}}})
	ids, err := p.ListModels(context.Background(), &provider.Key{Value: "k"})
	if err != nil || strings.Join(ids, ",") != "command-a,embed-v4.0" {
		t.Fatalf("ids %v err %v", ids, err)
	}
}

func TestMockUpstream(t *testing.T) {
	ts := httptest.NewServer(mockupstream.New(mockupstream.Options{APIKey: "co-mock"}))
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: "co-mock"}}})
	for _, c := range []provider.Call{
		{Op: provider.OpChat, Body: []byte(`{"model":"command-a","messages":[{"role":"user","content":"hi"}]}`)},
		{Op: provider.OpChat, Stream: true, Body: []byte(`{"model":"command-a","stream":true,"messages":[{"role":"user","content":"hi"}]}`)},
		{Op: provider.OpEmbeddings, Body: []byte(`{"model":"embed-v4.0","texts":["hi"],"input_type":"search_document","embedding_types":["float"]}`)},
		{Op: provider.OpRerank, Body: []byte(`{"model":"rerank-v3.5","query":"q","documents":["a","b"]}`)},
	} {
		c.Key = &provider.Key{Value: "co-mock"}
		resp, err := p.Send(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.Op, resp.StatusCode, b)
		}
	}
}
