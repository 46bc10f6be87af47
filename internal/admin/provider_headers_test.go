package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/secret"
)

// TestAdminProviderCredentialHeaders: a credential in config.headers (Authorization for a proxy, a
// subscription key) is a secret like keys[].value: stored encrypted, never in the clear config, answered
// masked; sending the mask back keeps it, and without an encryption key it is refused.
func TestAdminProviderCredentialHeaders(t *testing.T) {
	const body = `{"name":"oa","type":"openai","config":{"base_url":"http://x","headers":{"Authorization":"Bearer sk-proxy-123","x-custom-api-key":"k-456","X-Team":"blue"}}}`
	f := newAdminFixture(t, "", nil)
	if code, m, raw := f.do("POST", "/api/providers", "", body); code != http.StatusBadRequest || !strings.HasPrefix(errMessage(m), "config.headers.") {
		t.Fatalf("no encryption key: %d %s", code, raw)
	}
	c, err := secret.ParseKey(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	f = newAdminFixture(t, "", c)
	code, _, raw := f.do("POST", "/api/providers", "", body)
	if code != http.StatusCreated || strings.Contains(raw, "sk-proxy") || strings.Contains(raw, "k-456") ||
		!strings.Contains(raw, `"Authorization":"********"`) || !strings.Contains(raw, `"X-Custom-Api-Key":"********"`) || !strings.Contains(raw, `"X-Team":"blue"`) {
		t.Fatalf("create: %d %s", code, raw)
	}
	p, err := f.st.Providers().Get(context.Background(), "oa")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.Config), "sk-proxy") || strings.Contains(string(p.Config), "k-456") {
		t.Fatalf("stored config holds a secret: %s", p.Config)
	}
	secrets := map[string]string{}
	for _, k := range p.Keys {
		pt, err := c.DecryptString(k.Ciphertext)
		if err != nil {
			t.Fatal(err)
		}
		secrets[k.ID] = pt
	}
	if secrets["header:Authorization"] != "Bearer sk-proxy-123" || secrets["header:X-Custom-Api-Key"] != "k-456" || len(secrets) != 2 {
		t.Fatalf("stored secrets: %v", secrets)
	}
	for _, path := range []string{"/api/providers", "/api/providers/oa"} {
		if _, _, raw := f.do("GET", path, "", ""); strings.Contains(raw, "sk-proxy") || strings.Contains(raw, "k-456") || strings.Contains(raw, "header:") ||
			!strings.Contains(raw, `"Authorization":"********"`) {
			t.Fatalf("GET %s: %s", path, raw)
		}
	}
	// Sending back what GET answered keeps the secret; leaving the header out removes it.
	if code, _, raw := f.do("PUT", "/api/providers/oa", "", `{"type":"openai","config":{"headers":{"Authorization":"********"}}}`); code != http.StatusOK {
		t.Fatalf("put masked: %d %s", code, raw)
	}
	p, _ = f.st.Providers().Get(context.Background(), "oa")
	if len(p.Keys) != 1 || p.Keys[0].ID != "header:Authorization" {
		t.Fatalf("after put: %+v", p.Keys)
	}
	if pt, err := c.DecryptString(p.Keys[0].Ciphertext); err != nil || pt != "Bearer sk-proxy-123" {
		t.Fatalf("kept secret: %q %v", pt, err)
	}
	if code, m, raw := f.do("PUT", "/api/providers/oa", "", `{"type":"openai","config":{"headers":{"Proxy-Authorization":"********"}}}`); code != http.StatusBadRequest ||
		!strings.HasPrefix(errMessage(m), "config.headers.Proxy-Authorization") {
		t.Fatalf("mask with nothing stored: %d %s", code, raw)
	}
	if code, m, raw := f.do("PUT", "/api/providers/oa", "", `{"type":"openai","config":{"headers":{"authorization":"a","Authorization":"b"}}}`); code != http.StatusBadRequest ||
		!strings.HasPrefix(errMessage(m), "config.headers.") {
		t.Fatalf("the same header twice: %d %s", code, raw)
	}
	if code, m, raw := f.do("PUT", "/api/providers/oa", "", `{"type":"openai","keys":[{"id":"header:Authorization","value":"x"}]}`); code != http.StatusBadRequest ||
		!strings.HasPrefix(errMessage(m), "keys[0].id") {
		t.Fatalf("reserved key id: %d %s", code, raw)
	}
}

func errMessage(m map[string]any) string {
	_, msg := errParam(m)
	return msg
}
