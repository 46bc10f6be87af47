package gemini

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
	cfg.Type, cfg.Name = "gemini", "google"
	p, err := New(cfg, Settings{})
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
		s    Settings
		want string
	}{
		{"no keys", provider.Common{}, Settings{}, "keys: at least one key is required"},
		{"bad base", provider.Common{BaseURL: "localhost:1", Keys: k}, Settings{}, `base_url: "localhost:1" is not an http(s) URL`},
		{"version and base", provider.Common{BaseURL: "http://x/v1", Keys: k}, Settings{APIVersion: "v1"}, "api_version: put the version in base_url instead (e.g. https://generativelanguage.googleapis.com/v1beta)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Type = "gemini"
			_, err := New(tc.cfg, tc.s)
			ps, ok := err.(confkit.Problems)
			if !ok || ps.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	k := []provider.KeyConfig{{Value: "k"}}
	if p := build(t, provider.Common{Keys: k}); p.base != "https://generativelanguage.googleapis.com/v1beta" {
		t.Errorf("default base %s", p.base)
	}
	p, err := New(provider.Common{Keys: k}, Settings{APIVersion: "v1"})
	if err != nil || p.(*Provider).base != "https://generativelanguage.googleapis.com/v1" {
		t.Errorf("api_version base %+v %v", p, err)
	}
}

func TestSend(t *testing.T) {
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		name    string
		call    provider.Call
		uri     string
		headers map[string]string
	}{
		{"chat", provider.Call{Op: provider.OpChat, Model: "gemini-2.5-flash"},
			"/v1beta/models/gemini-2.5-flash:generateContent",
			map[string]string{"X-Goog-Api-Key": "AIza-1", "Content-Type": "application/json", "Accept": "", "Authorization": ""}},
		{"stream", provider.Call{Op: provider.OpChat, Model: "gemini-2.5-flash", Stream: true},
			"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
			map[string]string{"X-Goog-Api-Key": "AIza-1", "Accept": "text/event-stream"}},
		{"embeddings", provider.Call{Op: provider.OpEmbeddings, Model: "gemini-embedding-001"},
			"/v1beta/models/gemini-embedding-001:batchEmbedContents", map[string]string{"X-Goog-Api-Key": "AIza-1"}},
		{"count tokens", provider.Call{Op: provider.OpCountTokens, Model: "gemini-2.5-pro"},
			"/v1beta/models/gemini-2.5-pro:countTokens", map[string]string{"X-Goog-Api-Key": "AIza-1"}},
		{"models/ prefix kept once", provider.Call{Op: provider.OpChat, Model: "models/gemini-2.0-flash"},
			"/v1beta/models/gemini-2.0-flash:generateContent", nil},
		{"tuned model", provider.Call{Op: provider.OpChat, Model: "tunedModels/my-model-123"},
			"/v1beta/tunedModels/my-model-123:generateContent", nil},
		{"escaped model", provider.Call{Op: provider.OpChat, Model: "odd/name?x"},
			"/v1beta/models/odd%2Fname%3Fx:generateContent", nil},
		{"trace header", provider.Call{Op: provider.OpChat, Model: "m", Header: http.Header{"Traceparent": {"00-a-b-01"}}},
			"/v1beta/models/m:generateContent", map[string]string{"Traceparent": "00-a-b-01", "X-Team": "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last := recorder(t, 200, `{}`)
			p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta/", Keys: []provider.KeyConfig{{Value: "AIza-1"}},
				Headers: map[string]string{"X-Team": "t"}})
			c := tc.call
			c.Body = []byte(body)
			c.Key = &provider.Key{Value: "AIza-1"}
			resp, err := p.Send(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := last()
			if got.Method != http.MethodPost || got.URI != tc.uri {
				t.Errorf("got %s %s, want POST %s", got.Method, got.URI, tc.uri)
			}
			if got.Body != body {
				t.Errorf("body %s", got.Body)
			}
			if strings.Contains(got.URI, "key=") {
				t.Error("key in URL")
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
		provider.OpChat: true, provider.OpEmbeddings: true, provider.OpCountTokens: true,
		provider.OpMessages: false, provider.OpResponses: false, provider.OpCompletions: false,
	} {
		if p.Supports(op) != want {
			t.Errorf("Supports(%s) = %v", op, !want)
		}
	}
	if _, err := p.Send(context.Background(), &provider.Call{Op: provider.OpResponses, Model: "m"}); err == nil {
		t.Error("responses: want an error")
	}
	if p.Dialect() != dialects.Gemini {
		t.Error(p.Dialect())
	}
}

func TestListModels(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1beta/models" || r.Header.Get("X-Goog-Api-Key") != "k" {
			http.Error(w, "bad", 400)
			return
		}
		if r.URL.Query().Get("pageToken") == "" {
			io.WriteString(w, `{"models":[{"name":"models/gemini-a"}],"nextPageToken":"p2"}`)
			return
		}
		io.WriteString(w, `{"models":[{"name":"models/gemini-b"}]}`)
	}))
	defer ts.Close()
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "k"}}})
	ids, err := p.ListModels(context.Background(), &provider.Key{Value: "k"})
	if err != nil || strings.Join(ids, ",") != "gemini-a,gemini-b" {
		t.Fatalf("ids %v err %v", ids, err)
	}
}

func TestMockUpstream(t *testing.T) {
	ts := httptest.NewServer(mockupstream.New(mockupstream.Options{APIKey: "AIza-mock"}))
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "AIza-mock"}}})
	for _, c := range []provider.Call{
		{Op: provider.OpChat, Model: "gemini-2.5-flash", Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)},
		{Op: provider.OpChat, Model: "gemini-2.5-flash", Stream: true, Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)},
		{Op: provider.OpEmbeddings, Model: "gemini-embedding-001", Body: []byte(`{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hi"}]}}]}`)},
		{Op: provider.OpCountTokens, Model: "gemini-2.5-flash", Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)},
	} {
		c.Key = &provider.Key{Value: "AIza-mock"}
		resp, err := p.Send(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s stream=%v: %d %s", c.Op, c.Stream, resp.StatusCode, b)
		}
		if c.Stream && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("stream content type %s", resp.Header.Get("Content-Type"))
		}
	}
}
