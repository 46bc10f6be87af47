package openai

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
		az              Azure
		op              provider.Op
		wantPath        string
		wantQuery       string
		wantHeader      [2]string
	}{
		{"openai chat", "openai", srv.URL + "/v1", Azure{}, provider.OpChat, "/v1/chat/completions", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"groq embeddings", "groq", srv.URL + "/openai/v1", Azure{}, provider.OpEmbeddings, "/openai/v1/embeddings", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"azure deployment", "azure", srv.URL, Azure{Deployments: map[string]string{"gpt-4o": "prod-4o"}},
			provider.OpChat, "/openai/deployments/prod-4o/chat/completions", "api-version=" + DefaultAzureAPIVersion, [2]string{"Api-Key", "sk-1"}},
		{"azure responses", "azure", srv.URL, Azure{APIVersion: "2025-04-01-preview"},
			provider.OpResponses, "/openai/responses", "api-version=2025-04-01-preview", [2]string{"Api-Key", "sk-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := provider.Common{Name: "p", Type: tc.typ, BaseURL: tc.base, Keys: []provider.KeyConfig{{Value: "sk-1"}},
				Headers: map[string]string{"X-Extra": "1"}}
			p, err := New(cfg, tc.az)
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
		cfg  provider.Common
		want string
	}{
		{provider.Common{Name: "a", Type: "azure", Keys: []provider.KeyConfig{{Value: "k"}}}, "base_url: required"},
		{provider.Common{Name: "g", Type: "groq"}, "keys: at least one key"},
		{provider.Common{Name: "g", Type: "groq", Keys: []provider.KeyConfig{{Value: ""}}}, "every key is empty"},
		{provider.Common{Name: "o", Type: "openai", BaseURL: "ftp://x"}, "not an http(s) URL"},
	} {
		_, err := New(tc.cfg, Azure{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
