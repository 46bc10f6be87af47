package vertex

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

var (
	keyOnce sync.Once
	keyPEM  string
)

func rsaKey(t *testing.T) string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	return keyPEM
}

// tokenServer is a fake Google OAuth2 token endpoint for the JWT-bearer grant; it counts the tokens it mints.
type tokenServer struct {
	*httptest.Server
	minted atomic.Int64
}

func newTokenServer(t *testing.T, token string) *tokenServer {
	t.Helper()
	s := &tokenServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost ||
			r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || strings.Count(r.Form.Get("assertion"), ".") != 2 {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		s.minted.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, token)
	}))
	t.Cleanup(s.Close)
	return s
}

// serviceAccount returns a service-account JSON whose token_uri is the fake endpoint.
func serviceAccount(t *testing.T, tokenURI, project string) string {
	t.Helper()
	m := map[string]string{
		"type":           "service_account",
		"private_key_id": "kid-1",
		"private_key":    rsaKey(t),
		"client_email":   "weir@" + project + ".iam.gserviceaccount.com",
		"client_id":      "1234",
		"token_uri":      tokenURI,
	}
	if project != "" {
		m["project_id"] = project
	}
	b, _ := json.Marshal(m)
	return string(b)
}

type seen struct {
	Method, URI string
	Header      http.Header
	Body        string
}

func recorder(t *testing.T) (*httptest.Server, func() seen, *atomic.Int64) {
	t.Helper()
	var mu sync.Mutex
	var last seen
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = seen{r.Method, r.URL.RequestURI(), r.Header.Clone(), string(b)}
		mu.Unlock()
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(ts.Close)
	return ts, func() seen { mu.Lock(); defer mu.Unlock(); return last }, &n
}

// entry is a vertex entry as a test writes it: the shared fields and the type's settings together.
type entry struct {
	provider.Common
	Settings
}

func build(t *testing.T, cfg entry) *Provider {
	t.Helper()
	cfg.Type, cfg.Name = "vertex", "gcp"
	p, err := New(cfg.Common, cfg.Settings)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

func TestNewProblems(t *testing.T) {
	tok := newTokenServer(t, "x")
	sa := serviceAccount(t, tok.URL, "")
	for _, tc := range []struct {
		name string
		cfg  entry
		want string
	}{
		{"no project", entry{Common: provider.Common{Keys: []provider.KeyConfig{{Value: sa}}}, Settings: Settings{Region: "us-central1"}}, "project: required for type vertex"},
		{"no region", entry{Common: provider.Common{Keys: []provider.KeyConfig{{Value: sa}}}, Settings: Settings{Project: "p"}}, "region: required for type vertex (e.g. us-central1, europe-west4, global)"},
		{"key not JSON", entry{Common: provider.Common{Keys: []provider.KeyConfig{{Value: "AIza-not-json"}}}, Settings: Settings{Project: "p", Region: "us-central1"}},
			"keys[0].value: must be a Google credential JSON (service account): not JSON: invalid character 'A' looking for beginning of value"},
		{"missing file", entry{Settings: Settings{Project: "p", Region: "us-central1", CredentialsFile: "/nonexistent/sa.json"}},
			"credentials_file: open /nonexistent/sa.json: no such file or directory"},
		{"api version", entry{Common: provider.Common{Keys: []provider.KeyConfig{{Value: sa}}}, Settings: Settings{Project: "p", Region: "us-central1", APIVersion: "v2"}},
			`api_version: "v2" is not a Vertex API version (v1, v1beta1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Type = "vertex"
			_, err := New(tc.cfg.Common, tc.cfg.Settings)
			ps, ok := err.(confkit.Problems)
			if !ok || ps.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaultHosts(t *testing.T) {
	for region, want := range map[string]string{
		"us-central1":  "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1",
		"europe-west4": "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4",
		"global":       "https://aiplatform.googleapis.com/v1/projects/proj/locations/global",
		"us":           "https://aiplatform.us.rep.googleapis.com/v1/projects/proj/locations/us",
		"eu":           "https://aiplatform.eu.rep.googleapis.com/v1/projects/proj/locations/eu",
	} {
		if got := baseURL("", "v1", "proj", region); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
	if got := baseURL("http://proxy/", "v1", "p", "r"); got != "http://proxy/v1/projects/p/locations/r" {
		t.Error(got)
	}
	if got := baseURL("http://proxy/v1beta1/projects/x/locations/y/", "v1", "p", "r"); got != "http://proxy/v1beta1/projects/x/locations/y" {
		t.Error(got)
	}
}

func TestSend(t *testing.T) {
	tok := newTokenServer(t, "ya29.test-token")
	sa := serviceAccount(t, tok.URL, "sa-project") // project from the JSON
	const pre = "/v1/projects/sa-project/locations/us-east5"
	const gemBody = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	const claudeBody = `{"model":"claude-sonnet-4-5@20250929","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name     string
		call     provider.Call
		uri      string
		wantBody string // JSON fields checked with gjson: "path=value" or "!path" (absent)
		headers  map[string]string
	}{
		{"gemini chat", provider.Call{Op: provider.OpChat, Model: "gemini-2.5-pro", Body: []byte(gemBody)},
			pre + "/publishers/google/models/gemini-2.5-pro:generateContent", "",
			map[string]string{"Authorization": "Bearer ya29.test-token", "Content-Type": "application/json", "Accept": ""}},
		{"gemini stream", provider.Call{Op: provider.OpChat, Model: "gemini-2.5-pro", Body: []byte(gemBody), Stream: true},
			pre + "/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse", "",
			map[string]string{"Accept": "text/event-stream"}},
		{"gemini count", provider.Call{Op: provider.OpCountTokens, Model: "gemini-2.5-pro", Body: []byte(gemBody)},
			pre + "/publishers/google/models/gemini-2.5-pro:countTokens", "", nil},
		{"claude", provider.Call{Op: provider.OpMessages, Model: "claude-sonnet-4-5@20250929", Body: []byte(claudeBody)},
			pre + "/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", "anthropic_version=vertex-2023-10-16 !model max_tokens=10",
			map[string]string{"Authorization": "Bearer ya29.test-token"}},
		{"claude chat stream", provider.Call{Op: provider.OpChat, Model: "claude-sonnet-4-5@20250929", Stream: true,
			Body: []byte(`{"model":"claude-sonnet-4-5@20250929","stream":true,"messages":[]}`)},
			pre + "/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict", "anthropic_version=vertex-2023-10-16 !model stream=true",
			map[string]string{"Accept": "text/event-stream"}},
		{"claude keeps its anthropic_version", provider.Call{Op: provider.OpMessages, Model: "claude-3-haiku@20240307",
			Body: []byte(`{"anthropic_version":"vertex-2099-01-01","messages":[]}`)},
			pre + "/publishers/anthropic/models/claude-3-haiku@20240307:rawPredict", "anthropic_version=vertex-2099-01-01", nil},
		{"claude count tokens keeps model", provider.Call{Op: provider.OpCountTokens, Model: "claude-sonnet-4-5@20250929", Body: []byte(claudeBody)},
			pre + "/publishers/anthropic/models/count-tokens:rawPredict", "anthropic_version=vertex-2023-10-16 model=claude-sonnet-4-5@20250929", nil},
		{"caller headers", provider.Call{Op: provider.OpMessages, Model: "claude-x", Body: []byte(`{}`),
			Header: http.Header{"Anthropic-Beta": {"b1"}, "Traceparent": {"00-a-b-01"}, "Authorization": {"Bearer stolen"}}},
			pre + "/publishers/anthropic/models/claude-x:rawPredict", "anthropic_version=vertex-2023-10-16",
			map[string]string{"Anthropic-Beta": "b1", "Traceparent": "00-a-b-01", "Authorization": "Bearer ya29.test-token", "X-Team": "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, last, _ := recorder(t)
			p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: sa}}, Headers: map[string]string{"X-Team": "t"}}, Settings: Settings{Region: "us-east5"}})
			c := tc.call
			orig := string(c.Body)
			resp, err := p.Send(context.Background(), &c)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := last()
			if got.Method != http.MethodPost || got.URI != tc.uri {
				t.Errorf("got %s %s, want POST %s", got.Method, got.URI, tc.uri)
			}
			if string(c.Body) != orig {
				t.Errorf("call body modified: %s", c.Body)
			}
			if tc.wantBody == "" && got.Body != orig {
				t.Errorf("body changed: %s", got.Body)
			}
			for _, f := range strings.Fields(tc.wantBody) {
				if path, ok := strings.CutPrefix(f, "!"); ok {
					if gjson.Get(got.Body, path).Exists() {
						t.Errorf("%s present in %s", path, got.Body)
					}
					continue
				}
				path, v, _ := strings.Cut(f, "=")
				if g := gjson.Get(got.Body, path).String(); g != v {
					t.Errorf("%s = %q, want %q (body %s)", path, g, v, got.Body)
				}
			}
			for k, v := range tc.headers {
				if g := got.Header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

// TestTokenFetchedOnce sends many concurrent requests and expects one token from the token endpoint.
func TestTokenFetchedOnce(t *testing.T) {
	tok := newTokenServer(t, "ya29.once")
	dir := t.TempDir()
	file := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(file, []byte(serviceAccount(t, tok.URL, "x")), 0o600); err != nil {
		t.Fatal(err)
	}
	ts, last, n := recorder(t)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL}, Settings: Settings{Region: "us-central1", Project: "cfg-project", CredentialsFile: file}})
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			resp, err := p.Send(context.Background(), &provider.Call{Op: provider.OpChat, Model: "gemini-2.5-flash", Body: []byte(`{}`)})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n.Load() != 40 || tok.minted.Load() != 1 {
		t.Fatalf("upstream saw %d requests; %d tokens minted, want 1", n.Load(), tok.minted.Load())
	}
	got := last()
	if got.Header.Get("Authorization") != "Bearer ya29.once" ||
		!strings.HasPrefix(got.URI, "/v1/projects/cfg-project/locations/us-central1/") { // config project beats the JSON's
		t.Errorf("auth %q uri %s", got.Header.Get("Authorization"), got.URI)
	}
}

// TestKeysPickCredentials: each key holds a service account; the call's key chooses the token.
func TestKeysPickCredentials(t *testing.T) {
	tokA, tokB := newTokenServer(t, "token-a"), newTokenServer(t, "token-b")
	saA, saB := serviceAccount(t, tokA.URL, "p"), serviceAccount(t, tokB.URL, "p")
	ts, last, _ := recorder(t)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: saA}, {Value: saB}}}, Settings: Settings{Region: "global"}})
	for _, tc := range []struct {
		key  *provider.Key
		want string
	}{{&provider.Key{Value: saB}, "Bearer token-b"}, {&provider.Key{Value: saA}, "Bearer token-a"}, {nil, "Bearer token-a"}, {&provider.Key{Value: saB}, "Bearer token-b"}} {
		resp, err := p.Send(context.Background(), &provider.Call{Op: provider.OpChat, Model: "gemini-2.5-flash", Body: []byte(`{}`), Key: tc.key})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if g := last().Header.Get("Authorization"); g != tc.want {
			t.Errorf("got %q want %q", g, tc.want)
		}
	}
	if tokA.minted.Load() != 1 || tokB.minted.Load() != 1 {
		t.Errorf("minted a=%d b=%d", tokA.minted.Load(), tokB.minted.Load())
	}
}

func TestGoogleApplicationCredentialsEnv(t *testing.T) {
	tok := newTokenServer(t, "ya29.env")
	file := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(file, []byte(serviceAccount(t, tok.URL, "env-project")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", file)
	ts, last, _ := recorder(t)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL}, Settings: Settings{Region: "europe-west1"}})
	resp, err := p.Send(context.Background(), &provider.Call{Op: provider.OpChat, Model: "gemini-2.5-flash", Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := last()
	if got.Header.Get("Authorization") != "Bearer ya29.env" || !strings.HasPrefix(got.URI, "/v1/projects/env-project/locations/europe-west1/") {
		t.Errorf("auth %q uri %s", got.Header.Get("Authorization"), got.URI)
	}
}

func TestTokenError(t *testing.T) {
	tokSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid_grant"}`, 400)
	}))
	defer tokSrv.Close()
	ts, _, n := recorder(t)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: serviceAccount(t, tokSrv.URL, "p")}}}, Settings: Settings{Region: "us-central1"}})
	_, err := p.Send(context.Background(), &provider.Call{Op: provider.OpChat, Model: "gemini-2.5-flash", Body: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "access token") || n.Load() != 0 {
		t.Fatalf("err %v, upstream requests %d", err, n.Load())
	}
}

func TestDialectForAndSupports(t *testing.T) {
	tok := newTokenServer(t, "x")
	p := build(t, entry{Common: provider.Common{Keys: []provider.KeyConfig{{Value: serviceAccount(t, tok.URL, "p")}}}, Settings: Settings{Region: "us-east5"}})
	var _ interface {
		DialectFor(string) dialects.Dialect
	} = p
	for model, want := range map[string]dialects.Dialect{
		"claude-sonnet-4-5@20250929": dialects.Anthropic, "claude-3-haiku@20240307": dialects.Anthropic,
		"gemini-2.5-pro": dialects.Gemini, "gemini-2.0-flash-001": dialects.Gemini,
	} {
		if got := p.DialectFor(model); got != want {
			t.Errorf("DialectFor(%s) = %s", model, got)
		}
	}
	if p.Dialect() != dialects.Gemini {
		t.Error(p.Dialect())
	}
	for op, want := range map[provider.Op]bool{
		provider.OpChat: true, provider.OpMessages: true, provider.OpCountTokens: true,
		provider.OpEmbeddings: false, provider.OpResponses: false,
	} {
		if p.Supports(op) != want {
			t.Errorf("Supports(%s) = %v", op, !want)
		}
	}
	if _, err := p.Send(context.Background(), &provider.Call{Op: provider.OpEmbeddings, Model: "text-embedding-005"}); err == nil {
		t.Error("embeddings: want an error")
	}
}

func TestMockUpstream(t *testing.T) {
	tok := newTokenServer(t, "ya29.mock")
	ts := httptest.NewServer(mockupstream.New(mockupstream.Options{APIKey: "ya29.mock"}))
	t.Cleanup(ts.Close)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: serviceAccount(t, tok.URL, "proj")}}}, Settings: Settings{Region: "us-east5"}})
	for _, c := range []provider.Call{
		{Op: provider.OpChat, Model: "gemini-2.5-flash", Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)},
		{Op: provider.OpChat, Model: "gemini-2.5-flash", Stream: true, Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)},
		{Op: provider.OpMessages, Model: "claude-sonnet-4-5@20250929", Body: []byte(`{"model":"claude-sonnet-4-5@20250929","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)},
		{Op: provider.OpMessages, Model: "claude-sonnet-4-5@20250929", Stream: true, Body: []byte(`{"model":"claude-sonnet-4-5@20250929","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)},
		{Op: provider.OpCountTokens, Model: "claude-sonnet-4-5@20250929", Body: []byte(`{"model":"claude-sonnet-4-5@20250929","messages":[{"role":"user","content":"hi"}]}`)},
	} {
		resp, err := p.Send(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s stream=%v: %d %s", c.Op, c.Model, c.Stream, resp.StatusCode, b)
		}
	}
	if tok.minted.Load() != 1 {
		t.Errorf("minted %d tokens", tok.minted.Load())
	}
}

func TestNoCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir()) // no gcloud ADC file
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("GCE_METADATA_HOST", "")
	_, err := New(provider.Common{Type: "vertex"}, Settings{Region: "us-central1", Project: "p"})
	ps, ok := err.(confkit.Problems)
	if !ok || len(ps) != 1 || ps[0].Path != "credentials_file" || !strings.Contains(ps[0].Msg, "no Google credentials") {
		t.Fatalf("got %v", err)
	}
}
