package vertex

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

var _ provider.RawSender = (*Provider)(nil)

func TestSendRaw(t *testing.T) {
	tok := newTokenServer(t, "ya29.test-token")
	sa := serviceAccount(t, tok.URL, "sa-project")
	const pre = "/v1/projects/sa-project/locations/us-east5/publishers/google/models/"
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		name    string
		path    string
		query   string
		header  http.Header
		uri     string
		headers map[string]string
	}{
		{"generate (v1beta caller)", "/v1beta/models/gemini-2.0-flash:generateContent", "", http.Header{"Content-Type": {"application/json"}},
			pre + "gemini-2.0-flash:generateContent",
			map[string]string{"Authorization": "Bearer ya29.test-token", "Content-Type": "application/json", "Accept": "", "X-Team": "t"}},
		{"stream (v1 caller)", "/v1/models/gemini-2.0-flash:streamGenerateContent", "alt=sse", nil,
			pre + "gemini-2.0-flash:streamGenerateContent?alt=sse",
			map[string]string{"Accept": "text/event-stream", "Content-Type": "application/json"}},
		{"count tokens", "/v1beta/models/gemini-2.5-pro:countTokens", "", nil, pre + "gemini-2.5-pro:countTokens", nil},
		{"caller credentials dropped", "/v1beta/models/m:streamGenerateContent", "alt=sse&key=wk-caller",
			http.Header{"Authorization": {"Bearer wk-caller"}, "X-Goog-Api-Key": {"wk-caller"}, "X-Weir-Vk": {"wk-caller"},
				"Traceparent": {"00-a-b-01"}},
			pre + "m:streamGenerateContent?alt=sse",
			map[string]string{"Authorization": "Bearer ya29.test-token", "X-Goog-Api-Key": "", "X-Weir-Vk": "", "Traceparent": "00-a-b-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last, _ := recorder(t)
			p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: sa}}, Headers: map[string]string{"X-Team": "t"}}, Settings: Settings{Region: "us-east5"}})
			resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost,
				Path: tc.path, RawQuery: tc.query, Header: tc.header, Body: strings.NewReader(body), ContentLength: int64(len(body)),
				Key: &provider.Key{Value: sa}})
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
			for k, vs := range got.Header {
				for _, v := range vs {
					if strings.Contains(v, "wk-caller") {
						t.Errorf("caller credential forwarded in %s", k)
					}
				}
			}
		})
	}
}

func TestSendRawRejects(t *testing.T) {
	tok := newTokenServer(t, "x")
	p := build(t, entry{Common: provider.Common{BaseURL: "http://127.0.0.1:1", Keys: []provider.KeyConfig{{Value: serviceAccount(t, tok.URL, "p")}}}, Settings: Settings{Region: "us-east5"}})
	for _, path := range []string{"", "/v1beta/models/m", "/v1beta/tunedModels/m:generateContent", "/v1beta/models/:generateContent",
		"/v1beta/models/claude-sonnet-4-5@20250929:generateContent", "/models/m:generateContent",
		"/v1beta/models/m:generateContent/../../x", "/v1beta/models/m:x?y", "/v1beta/../x/models/m:generateContent"} {
		resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost, Path: path})
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := map[bool]string{true: `"status":"INVALID_ARGUMENT"`, false: `"status":"NOT_FOUND"`}[strings.Contains(path, "claude")]
		if !strings.Contains(string(b), want) || resp.StatusCode != map[bool]int{true: 400, false: 404}[strings.Contains(path, "claude")] {
			t.Errorf("%q: %d %s", path, resp.StatusCode, b)
		}
	}
	if tok.minted.Load() != 0 {
		t.Errorf("a token was minted for a call that was never sent")
	}
	if !p.Supports(provider.OpNative) {
		t.Error("OpNative not supported")
	}
}

func TestSendRawMockUpstream(t *testing.T) {
	tok := newTokenServer(t, "ya29.mock")
	ts := httptest.NewServer(mockupstream.New(mockupstream.Options{APIKey: "ya29.mock"}))
	t.Cleanup(ts.Close)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: serviceAccount(t, tok.URL, "proj")}}}, Settings: Settings{Region: "us-east5"}})
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct{ method, query, ct string }{
		{"generateContent", "", "application/json"},
		{"streamGenerateContent", "alt=sse", "text/event-stream"},
	} {
		resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost,
			Path: "/v1beta/models/gemini-2.5-flash:" + tc.method, RawQuery: tc.query, Body: strings.NewReader(body),
			ContentLength: int64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ct) || !strings.Contains(string(b), `"usageMetadata"`) {
			t.Fatalf("%s: %d %s %s", tc.method, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}
