package gemini

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
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		name    string
		base    string // appended to the test server's URL
		path    string
		query   string
		header  http.Header
		uri     string
		headers map[string]string
	}{
		{"generate", "/v1beta", "/v1beta/models/gemini-2.0-flash:generateContent", "",
			http.Header{"Content-Type": {"application/json"}},
			"/v1beta/models/gemini-2.0-flash:generateContent",
			map[string]string{"X-Goog-Api-Key": "AIza-1", "Content-Type": "application/json", "Accept": "", "X-Team": "t"}},
		{"stream keeps alt=sse and sets accept", "/v1beta/", "/v1beta/models/gemini-2.0-flash:streamGenerateContent", "alt=sse",
			nil, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
			map[string]string{"X-Goog-Api-Key": "AIza-1", "Accept": "text/event-stream", "Content-Type": "application/json"}},
		{"caller's version replaces base_url's", "/v1", "/v1beta/models/m:countTokens", "",
			nil, "/v1beta/models/m:countTokens", nil},
		{"base under a prefix", "/proxy/google/v1beta", "/v1alpha/models/m:generateContent", "",
			nil, "/proxy/google/v1alpha/models/m:generateContent", nil},
		{"base without a version", "", "/v1beta/models/m:generateContent", "",
			nil, "/v1beta/models/m:generateContent", nil},
		{"escaped model kept", "/v1beta", "/v1beta/models/odd%2Fname:generateContent", "",
			nil, "/v1beta/models/odd%2Fname:generateContent", nil},
		{"caller credentials dropped", "/v1beta", "/v1beta/models/m:streamGenerateContent", "key=wk-caller&alt=sse",
			http.Header{"Authorization": {"Bearer wk-caller"}, "X-Goog-Api-Key": {"wk-caller"}, "X-Api-Key": {"wk-caller"},
				"X-Weir-Vk": {"wk-caller"}, "Cookie": {"c=1"}, "Accept": {"*/*"}, "Traceparent": {"00-a-b-01"}},
			"/v1beta/models/m:streamGenerateContent?alt=sse",
			map[string]string{"X-Goog-Api-Key": "AIza-1", "Authorization": "", "X-Api-Key": "", "X-Weir-Vk": "", "Cookie": "",
				"Accept": "*/*", "Traceparent": "00-a-b-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last := recorder(t, 200, `{}`)
			p := build(t, provider.Common{BaseURL: ts.URL + tc.base, Keys: []provider.KeyConfig{{Value: "AIza-1"}},
				Headers: map[string]string{"X-Team": "t"}})
			c := provider.RawCall{Op: provider.OpNative, Method: http.MethodPost, Path: tc.path, RawQuery: tc.query,
				Model: "m", Header: tc.header, Body: strings.NewReader(body), ContentLength: int64(len(body)),
				Key: &provider.Key{Value: "AIza-1"}}
			resp, err := p.SendRaw(context.Background(), &c)
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
			for k, v := range tc.headers {
				if g := got.Header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
			if strings.Contains(got.URI, "wk-") {
				t.Errorf("caller key in URL %s", got.URI)
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

// TestSendRawRejectsOtherPaths: a native call reaches only a model's method, whatever the caller unescaped
// into the route's segments; any other path is answered 404, as Google's API would, without being sent.
func TestSendRawRejectsOtherPaths(t *testing.T) {
	ts, last := recorder(t, 200, `{}`)
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "k"}}})
	for _, path := range []string{"", "/v1beta/files", "/v1beta/models/m", "/v1beta/models/:generateContent",
		"/v1beta/models/m:generateContent/../../../files", "/v1beta/models/m:x?y", "/v1beta/models/m:gen.x",
		"/v1beta/../../files/models/m:generateContent", "/v1beta/tunedModels/m:generateContent", "/files/models/m:generateContent",
		"/v1beta/models/a/b:generateContent"} {
		resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost, Path: path,
			Key: &provider.Key{Value: "k"}})
		if err != nil {
			t.Fatalf("%q: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || !strings.Contains(string(b), `"status":"NOT_FOUND"`) {
			t.Errorf("%q: %d %s", path, resp.StatusCode, b)
		}
	}
	if got := last(); got.URI != "" {
		t.Errorf("sent %s", got.URI)
	}
}

func TestIsAPIVersion(t *testing.T) {
	for s, want := range map[string]bool{"v1": true, "v1beta": true, "v1alpha": true, "v2beta3": true, "v10": true,
		"v": false, "models": false, "vbeta": false, "v1gamma": false, "": false, "V1": false} {
		if isAPIVersion(s) != want {
			t.Errorf("isAPIVersion(%q) = %v", s, !want)
		}
	}
}

func TestDropQueryKey(t *testing.T) {
	for in, want := range map[string]string{"": "", "alt=sse": "alt=sse", "key=x": "", "key=x&alt=sse": "alt=sse",
		"alt=sse&key=x": "alt=sse", "apikey=1&alt=sse": "apikey=1&alt=sse", "%6Bey=x&alt=sse": "alt=sse"} {
		if got := DropQueryKey(in); got != want {
			t.Errorf("DropQueryKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSendRawMockUpstream passes generateContent and a streamed streamGenerateContent through to the in-repo
// upstream, which checks the API key.
func TestSendRawMockUpstream(t *testing.T) {
	ts := httptest.NewServer(mockupstream.New(mockupstream.Options{APIKey: "AIza-mock"}))
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "AIza-mock"}}})
	const body = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		method, query, ct string
	}{
		{"generateContent", "", "application/json"},
		{"streamGenerateContent", "alt=sse", "text/event-stream"},
		{"countTokens", "", "application/json"},
	} {
		for _, key := range []string{"AIza-mock", "wrong"} {
			resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost,
				Path: "/v1beta/models/gemini-2.0-flash:" + tc.method, RawQuery: tc.query,
				Header: http.Header{"Content-Type": {"application/json"}}, Body: strings.NewReader(body),
				ContentLength: int64(len(body)), Key: &provider.Key{Value: key}})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if key != "AIza-mock" {
				if resp.StatusCode != 401 {
					t.Errorf("%s with a wrong key: %d", tc.method, resp.StatusCode)
				}
				continue
			}
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ct) {
				t.Fatalf("%s: %d %s %s", tc.method, resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			if tc.method != "countTokens" && !strings.Contains(string(b), `"usageMetadata"`) {
				t.Errorf("%s: no usageMetadata in %s", tc.method, b)
			}
		}
	}
}

func TestSupportsNative(t *testing.T) {
	p := build(t, provider.Common{Keys: []provider.KeyConfig{{Value: "k"}}})
	if !p.Supports(provider.OpNative) {
		t.Error("OpNative not supported")
	}
}
