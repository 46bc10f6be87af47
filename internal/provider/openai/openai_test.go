package openai

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/provider"
)

func TestSendURLAndAuth(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.WriteHeader(200)
	}))
	defer srv.Close()
	tests := []struct {
		name, typ, base string
		cfg             func(*config.Provider)
		op              provider.Op
		wantPath        string
		wantQuery       string
		wantHeader      [2]string
	}{
		{"openai chat", "openai", srv.URL + "/v1", nil, provider.OpChat, "/v1/chat/completions", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"groq embeddings", "groq", srv.URL + "/openai/v1", nil, provider.OpEmbeddings, "/openai/v1/embeddings", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"azure deployment", "azure", srv.URL, func(c *config.Provider) { c.Deployments = map[string]string{"gpt-4o": "prod-4o"} },
			provider.OpChat, "/openai/deployments/prod-4o/chat/completions", "api-version=" + DefaultAzureAPIVersion, [2]string{"Api-Key", "sk-1"}},
		{"azure responses", "azure", srv.URL, func(c *config.Provider) { c.APIVersion = "2025-04-01-preview" },
			provider.OpResponses, "/openai/responses", "api-version=2025-04-01-preview", [2]string{"Api-Key", "sk-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Provider{Name: "p", Type: tc.typ, BaseURL: tc.base, Keys: []config.Key{{Value: "sk-1"}},
				Headers: map[string]string{"X-Extra": "1"}}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			all := config.Config{Providers: []config.Provider{cfg}}
			all.ApplyDefaults()
			cfg = all.Providers[0]
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			key := &provider.Key{Value: "sk-1"}
			resp, err := p.Send(context.Background(), &provider.Call{Op: tc.op, Model: "gpt-4o", Body: []byte(`{"model":"gpt-4o"}`), Key: key})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got.URL.Path != tc.wantPath || got.URL.RawQuery != tc.wantQuery {
				t.Fatalf("url %s?%s", got.URL.Path, got.URL.RawQuery)
			}
			if got.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1] || got.Header.Get("X-Extra") != "1" {
				t.Fatalf("headers %v", got.Header)
			}
			if body != `{"model":"gpt-4o"}` {
				t.Fatalf("body changed: %s", body)
			}
		})
	}
}

func TestNewValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.Provider
		want string
	}{
		{config.Provider{Name: "a", Type: "azure", Keys: []config.Key{{Value: "k"}}}, "base_url: required"},
		{config.Provider{Name: "g", Type: "groq"}, "keys: at least one key"},
		{config.Provider{Name: "g", Type: "groq", Keys: []config.Key{{Value: ""}}}, "every key is empty"},
		{config.Provider{Name: "o", Type: "openai", BaseURL: "ftp://x"}, "not an http(s) URL"},
		{config.Provider{Name: "o", Type: "openai", APIVersion: "1"}, "only for type azure"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
