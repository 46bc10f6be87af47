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

func TestSendRawPaths(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	defer srv.Close()
	tests := []struct {
		name, typ, base string
		call            provider.RawCall
		wantPath        string
		wantQuery       string
		wantHeader      [2]string
	}{
		{"openai images", "openai", srv.URL + "/v1", provider.RawCall{Op: provider.OpImages, Method: "POST", Model: "dall-e-3"},
			"/v1/images/generations", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"openai file content", "openai", srv.URL + "/v1", provider.RawCall{Op: provider.OpFiles, Method: "GET", Path: "/files/file-1/content"},
			"/v1/files/file-1/content", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"groq transcription", "groq", srv.URL + "/openai/v1", provider.RawCall{Op: provider.OpTranscriptions, Method: "POST", Model: "whisper-large-v3"},
			"/openai/v1/audio/transcriptions", "", [2]string{"Authorization", "Bearer sk-1"}},
		{"azure speech by deployment", "azure", srv.URL, provider.RawCall{Op: provider.OpSpeech, Method: "POST", Model: "tts"},
			"/openai/deployments/tts/audio/speech", "api-version=" + DefaultAzureAPIVersion, [2]string{"Api-Key", "sk-1"}},
		{"azure batches at the resource", "azure", srv.URL, provider.RawCall{Op: provider.OpBatches, Method: "GET", Path: "/batches", RawQuery: "limit=5"},
			"/openai/batches", "api-version=" + DefaultAzureAPIVersion + "&limit=5", [2]string{"Api-Key", "sk-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(provider.Common{Name: "p", Type: tc.typ, BaseURL: tc.base, Keys: []provider.KeyConfig{{Value: "sk-1"}}}, Azure{})
			if err != nil {
				t.Fatal(err)
			}
			c := tc.call
			c.Key = &provider.Key{Value: "sk-1"}
			c.Header = http.Header{"Authorization": {"Bearer wk-caller"}}
			if c.Method == "POST" {
				c.Body, c.ContentLength = strings.NewReader(`{"x":1}`), 7
			}
			resp, err := p.(provider.RawSender).SendRaw(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got.URL.Path != tc.wantPath || got.URL.RawQuery != tc.wantQuery || got.Method != c.Method {
				t.Fatalf("%s %s?%s", got.Method, got.URL.Path, got.URL.RawQuery)
			}
			if got.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Fatalf("header %s = %q", tc.wantHeader[0], got.Header.Get(tc.wantHeader[0]))
			}
			if strings.Contains(got.Header.Get("Authorization"), "wk-caller") {
				t.Fatal("the caller's credential reached the upstream")
			}
			if c.Method == "POST" && body != `{"x":1}` {
				t.Fatalf("body %q", body)
			}
		})
	}
}

func TestEndpointsSetting(t *testing.T) {
	p, err := New(provider.Common{Name: "v", Type: "vllm", Endpoints: []string{"chat", "rerank"}}, Azure{})
	if err != nil {
		t.Fatal(err)
	}
	s := p.(provider.OpSupporter)
	if !s.Supports(provider.OpChat) || !s.Supports(provider.OpRerank) || s.Supports(provider.OpResponses) || !s.Supports(provider.OpNative) {
		t.Fatal("endpoints: [chat, rerank] not honoured")
	}
	if _, err := New(provider.Common{Name: "v", Type: "vllm", Endpoints: []string{"chat", "telepathy"}}, Azure{}); err == nil ||
		!strings.Contains(err.Error(), "endpoints[1]") {
		t.Fatalf("unknown endpoint: %v", err)
	}
	d, _ := New(provider.Common{Name: "o", Type: "openai", Keys: []provider.KeyConfig{{Value: "k"}}}, Azure{})
	if ds := d.(provider.OpSupporter); !ds.Supports(provider.OpImages) || ds.Supports(provider.OpRerank) {
		t.Fatal("openai's defaults")
	}
}
