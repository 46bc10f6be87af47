package bedrock

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

const (
	akid   = "AKIDEXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	region = "us-west-2"
)

type seen struct {
	Method, URI, RawPath string
	Header               http.Header
	Body                 string
}

func recorder(t *testing.T) (*httptest.Server, func() seen) {
	t.Helper()
	var mu sync.Mutex
	var last seen
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = seen{r.Method, r.URL.RequestURI(), r.URL.EscapedPath(), r.Header.Clone(), string(b)}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(ts.Close)
	return ts, func() seen { mu.Lock(); defer mu.Unlock(); return last }
}

// entry is a bedrock entry as a test writes it: the shared fields and the type's settings together.
type entry struct {
	provider.Common
	Settings
}

func build(t *testing.T, cfg entry) *Provider {
	t.Helper()
	cfg.Type, cfg.Name = "bedrock", "aws"
	p, err := New(cfg.Common, cfg.Settings)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

func TestNewProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  entry
		want string
	}{
		{"no region", entry{Settings: Settings{AccessKeyID: akid, SecretAccessKey: secret}}, "region: required for type bedrock: set it here, or set AWS_REGION or AWS_DEFAULT_REGION, or region in the shared AWS config profile"},
		{"no secret", entry{Settings: Settings{Region: region, AccessKeyID: akid}}, "secret_access_key: required with access_key_id"},
		{"no id", entry{Settings: Settings{Region: region, SecretAccessKey: secret}}, "access_key_id: required with secret_access_key"},
		{"token alone", entry{Settings: Settings{Region: region, SessionToken: "t"}}, "session_token: only with access_key_id and secret_access_key"},
		{"keys", entry{Common: provider.Common{Keys: []provider.KeyConfig{{Value: "k"}}}, Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}},
			"keys: not used by type bedrock (set access_key_id and secret_access_key, or use the AWS default chain)"},
		{"bad base", entry{Common: provider.Common{BaseURL: "bedrock.local"}, Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}},
			`base_url: "bedrock.local" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			tc.cfg.Type = "bedrock"
			_, err := New(tc.cfg.Common, tc.cfg.Settings)
			ps, ok := err.(confkit.Problems)
			if !ok || ps.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	p := build(t, entry{Settings: Settings{Region: "eu-central-1", AccessKeyID: akid, SecretAccessKey: secret}})
	for _, tc := range []struct {
		op     provider.Op
		model  string
		stream bool
		want   string
	}{
		{provider.OpChat, "anthropic.claude-3-5-sonnet-20240620-v1:0", false,
			"https://bedrock-runtime.eu-central-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"},
		{provider.OpChat, "eu.anthropic.claude-3-5-sonnet-20240620-v1:0", true,
			"https://bedrock-runtime.eu-central-1.amazonaws.com/model/eu.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"},
		{provider.OpEmbeddings, "amazon.titan-embed-text-v2:0", false,
			"https://bedrock-runtime.eu-central-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke"},
		{provider.OpChat, "arn:aws:bedrock:eu-central-1:123456789012:application-inference-profile/abc123", false,
			"https://bedrock-runtime.eu-central-1.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aeu-central-1%3A123456789012%3Aapplication-inference-profile%2Fabc123/converse"},
	} {
		got, err := p.URL(tc.op, tc.model, tc.stream)
		if err != nil || got != tc.want {
			t.Errorf("URL(%s, %s, %v) = %s, %v; want %s", tc.op, tc.model, tc.stream, got, err, tc.want)
		}
	}
	if _, err := p.URL(provider.OpMessages, "m", false); err == nil {
		t.Error("messages: want an error")
	}
}

func TestSendSignsRequest(t *testing.T) {
	const body = `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`
	for _, tc := range []struct {
		name    string
		cfg     entry
		call    provider.Call
		rawPath string
		headers map[string]string
	}{
		{"converse", entry{}, provider.Call{Op: provider.OpChat, Model: "anthropic.claude-3-5-sonnet-20240620-v1:0"},
			"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
			map[string]string{"Content-Type": "application/json", "X-Amz-Security-Token": "", "Accept": ""}},
		{"converse stream with session token", entry{Settings: Settings{SessionToken: "SESSION"}},
			provider.Call{Op: provider.OpChat, Model: "meta.llama3-70b-instruct-v1:0", Stream: true},
			"/model/meta.llama3-70b-instruct-v1%3A0/converse-stream",
			map[string]string{"X-Amz-Security-Token": "SESSION"}},
		{"invoke embeddings", entry{}, provider.Call{Op: provider.OpEmbeddings, Model: "amazon.titan-embed-text-v2:0"},
			"/model/amazon.titan-embed-text-v2%3A0/invoke", map[string]string{"Accept": "application/json"}},
		{"headers are signed", entry{Common: provider.Common{Headers: map[string]string{"X-Team": "ml"}}},
			provider.Call{Op: provider.OpChat, Model: "m", Header: http.Header{"Traceparent": {"00-a-b-01"}}},
			"/model/m/converse", map[string]string{"X-Team": "ml", "Traceparent": "00-a-b-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last := recorder(t)
			cfg := tc.cfg
			cfg.BaseURL, cfg.Region, cfg.AccessKeyID, cfg.SecretAccessKey = ts.URL, region, akid, secret
			p := build(t, cfg)
			fixed := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			p.now = func() time.Time { return fixed }
			c := tc.call
			c.Body = []byte(body)
			resp, err := p.Send(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := last()
			if got.Method != http.MethodPost || got.RawPath != tc.rawPath || got.Body != body {
				t.Errorf("got %s %s %s, want POST %s", got.Method, got.RawPath, got.Body, tc.rawPath)
			}
			auth := got.Header.Get("Authorization")
			wantPrefix := "AWS4-HMAC-SHA256 Credential=" + akid + "/20250102/" + region + "/bedrock/aws4_request, SignedHeaders="
			if !strings.HasPrefix(auth, wantPrefix) || !strings.Contains(auth, "Signature=") {
				t.Errorf("Authorization = %q", auth)
			}
			for k := range tc.headers {
				if tc.headers[k] != "" && !strings.Contains(auth, strings.ToLower(k)) {
					t.Errorf("%s not signed: %s", k, auth)
				}
			}
			if got.Header.Get("X-Amz-Date") != "20250102T030405Z" {
				t.Errorf("X-Amz-Date = %q", got.Header.Get("X-Amz-Date"))
			}
			for k, v := range tc.headers {
				if g := got.Header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// TestMockUpstreamVerifiesSignature sends every operation to the in-repo fake Bedrock, which re-signs each
// request with the SDK signer and the secret and answers 403 on any mismatch.
func TestMockUpstreamVerifiesSignature(t *testing.T) {
	m := mockupstream.New(mockupstream.Options{AWSAccessKeyID: akid, AWSSecretKey: secret, AWSRegion: region})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	t.Cleanup(m.Close)
	calls := []provider.Call{
		{Op: provider.OpChat, Model: "anthropic.claude-3-5-sonnet-20240620-v1:0", Body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)},
		{Op: provider.OpChat, Model: "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0", Stream: true,
			Body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)},
		{Op: provider.OpEmbeddings, Model: "amazon.titan-embed-text-v2:0", Body: []byte(`{"inputText":"hello"}`)},
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
				resp, err := p.Send(context.Background(), &c)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("%s %s: %d %s", c.Op, c.Model, resp.StatusCode, b)
				}
				if tc.status == 200 && c.Stream && resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
					t.Errorf("stream content type %q", resp.Header.Get("Content-Type"))
				}
			}
		})
	}
	if got := m.LastRequest().Path; !strings.HasPrefix(got, "/model/amazon.titan-embed-text-v2:0/invoke") {
		t.Errorf("mock saw path %s", got)
	}
}

// TestDefaultChain takes credentials from the environment when the config names none.
func TestDefaultChain(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", akid)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	m := mockupstream.New(mockupstream.Options{AWSAccessKeyID: akid, AWSSecretKey: secret, AWSRegion: region})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL}, Settings: Settings{Region: region}})
	for range 3 {
		resp, err := p.Send(context.Background(), &provider.Call{Op: provider.OpChat, Model: "m",
			Body: []byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
}

func TestSupports(t *testing.T) {
	p := build(t, entry{Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}})
	for op, want := range map[provider.Op]bool{
		provider.OpChat: true, provider.OpEmbeddings: true,
		provider.OpMessages: false, provider.OpCountTokens: false, provider.OpResponses: false,
	} {
		if p.Supports(op) != want {
			t.Errorf("Supports(%s) = %v", op, !want)
		}
	}
	if p.Dialect() != dialects.Bedrock {
		t.Error(p.Dialect())
	}
}
