package bedrock

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

var _ provider.RawSender = (*Provider)(nil)

func TestSendRawSignsRequest(t *testing.T) {
	const body = `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		name    string
		path    string // as the gateway builds it: the model url.PathEscape'd
		header  http.Header
		rawPath string
		headers map[string]string
	}{
		{"converse", "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse", http.Header{"Content-Type": {"application/json"}},
			"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
			map[string]string{"Content-Type": "application/json", "Accept": "application/json", "X-Team": "ml"}},
		{"converse stream", "/model/meta.llama3-70b-instruct-v1:0/converse-stream", nil,
			"/model/meta.llama3-70b-instruct-v1%3A0/converse-stream",
			map[string]string{"Accept": "application/vnd.amazon.eventstream", "Content-Type": "application/json"}},
		{"invoke keeps the caller's accept", "/model/amazon.titan-embed-text-v2:0/invoke", http.Header{"Accept": {"*/*"}},
			"/model/amazon.titan-embed-text-v2%3A0/invoke", map[string]string{"Accept": "*/*"}},
		{"invoke stream", "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke-with-response-stream",
			http.Header{"Accept": {"application/json"}, "X-Amzn-Bedrock-Accept": {"application/json"}},
			"/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream",
			map[string]string{"Accept": "application/vnd.amazon.eventstream", "X-Amzn-Bedrock-Accept": "application/json"}},
		{"inference profile ARN", "/model/arn:aws:bedrock:us-west-2:123456789012:application-inference-profile%2Fabc123/converse", nil,
			"/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse", nil},
		{"caller credentials dropped", "/model/m/converse",
			http.Header{"Authorization": {"Bearer wk-caller"}, "X-Api-Key": {"wk-caller"}, "X-Weir-Vk": {"wk-caller"},
				"X-Amz-Security-Token": {"wk-caller"}, "Cookie": {"wk-caller"}, "Traceparent": {"00-a-b-01"}},
			"/model/m/converse", map[string]string{"X-Api-Key": "", "X-Weir-Vk": "", "X-Amz-Security-Token": "", "Cookie": "",
				"Traceparent": "00-a-b-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last := recorder(t)
			p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Headers: map[string]string{"X-Team": "ml"}}, Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}})
			fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			p.now = func() time.Time { return fixed }
			resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost,
				Path: tc.path, RawQuery: "X-Amz-Security-Token=wk-caller", Header: tc.header, Body: strings.NewReader(body), ContentLength: -1})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := last()
			if got.Method != http.MethodPost || got.RawPath != tc.rawPath || got.Body != body || strings.Contains(got.URI, "?") {
				t.Errorf("got %s %s %s, want POST %s", got.Method, got.RawPath, got.Body, tc.rawPath)
			}
			auth := got.Header.Get("Authorization")
			wantPrefix := "AWS4-HMAC-SHA256 Credential=" + akid + "/20250102/" + region + "/bedrock/aws4_request, SignedHeaders="
			if !strings.HasPrefix(auth, wantPrefix) || !strings.Contains(auth, "Signature=") {
				t.Errorf("Authorization = %q", auth)
			}
			if !strings.Contains(auth, "content-length") || !strings.Contains(auth, "x-team") {
				t.Errorf("content-length or a configured header not signed: %s", auth)
			}
			if got.Header.Get("X-Amz-Date") != "20250102T030405Z" {
				t.Errorf("X-Amz-Date = %q", got.Header.Get("X-Amz-Date"))
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

// TestSendRawRejectsOtherPaths: other paths are answered as Bedrock would refuse them, without being sent.
func TestSendRawRejectsOtherPaths(t *testing.T) {
	p := build(t, entry{Common: provider.Common{BaseURL: "http://127.0.0.1:1"}, Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}})
	for _, path := range []string{"", "/model/m", "/model//converse", "/model/m/list", "/guardrail/g/version/1/apply", "/model/m/converse/x",
		"/model/../converse", "/model/%2E%2E/converse"} {
		resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost, Path: path})
		if err != nil {
			t.Fatalf("%q: %v", path, err) // the base URL refuses connections: an error would mean it was sent
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") == "" ||
			!strings.Contains(string(b), `"message":`) {
			t.Errorf("%q: %d %v %s", path, resp.StatusCode, resp.Header, b)
		}
	}
}

// TestSendRawMockUpstreamVerifiesSignature sends every native action to the in-repo fake Bedrock, which
// re-signs each request with the SDK signer and the secret and answers 403 on any mismatch.
func TestSendRawMockUpstreamVerifiesSignature(t *testing.T) {
	m := mockupstream.New(mockupstream.Options{AWSAccessKeyID: akid, AWSSecretKey: secret, AWSRegion: region})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	t.Cleanup(m.Close)
	converse := `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	invoke := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	calls := []struct{ model, action, body, ct, usage string }{
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", "converse", converse, "application/json", `"inputTokens"`},
		{"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0", "converse-stream",
			converse, "application/vnd.amazon.eventstream", `"inputTokens"`},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", "invoke", invoke, "application/json", `"input_tokens"`},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", "invoke-with-response-stream", invoke, "application/vnd.amazon.eventstream", `"bytes"`},
	}
	for _, tc := range []struct {
		name   string
		cfg    entry
		status int
	}{
		{"good", entry{Settings: Settings{AccessKeyID: akid, SecretAccessKey: secret}}, 200},
		{"good with session token", entry{Settings: Settings{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: "tok"}}, 200},
		{"wrong secret", entry{Settings: Settings{AccessKeyID: akid, SecretAccessKey: "nope"}}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.BaseURL, cfg.Region = ts.URL, region
			p := build(t, cfg)
			for _, c := range calls {
				// The gateway's path: the model url.PathEscape'd into the route's {model}.
				path := "/model/" + url.PathEscape(c.model) + "/" + c.action
				resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpNative, Method: http.MethodPost,
					Path: path, Model: c.model, Header: http.Header{"Content-Type": {"application/json"}},
					Body: strings.NewReader(c.body), ContentLength: int64(len(c.body))})
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("%s %s: %d %s", c.action, c.model, resp.StatusCode, b)
				}
				if tc.status != 200 {
					continue
				}
				if got := resp.Header.Get("Content-Type"); got != c.ct {
					t.Errorf("%s: content type %q", c.action, got)
				}
				if !strings.Contains(string(b), c.usage) {
					t.Errorf("%s: no %s in the answer", c.action, c.usage)
				}
				if got := m.LastRequest().Path; got != "/model/"+c.model+"/"+c.action {
					t.Errorf("mock saw path %s", got)
				}
			}
		})
	}
}

func TestSupportsNative(t *testing.T) {
	p := build(t, entry{Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}})
	if !p.Supports(provider.OpNative) {
		t.Error("OpNative not supported")
	}
}
