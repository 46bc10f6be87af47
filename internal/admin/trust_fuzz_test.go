package admin

import (
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/secret"
)

// FuzzHostAllowed: with nothing configured, only loopback names and addresses are allowed.
func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"localhost", "localhost:8080", "a.localhost", "127.0.0.1:1", "[::1]:80", "::1", "attacker.example",
		"localhost.attacker.example", "127.0.0.1.nip.io", "[::ffff:127.0.0.1]", "", ":80", "LOCALHOST."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		if !hostAllowed(host, nil) {
			return
		}
		h := strings.ToLower(host)
		if strings.Contains(h, "localhost") {
			return
		}
		for _, cut := range []string{h, strings.Trim(h, "[]")} {
			if i := strings.LastIndexByte(cut, ':'); i > 0 && !strings.Contains(cut[:i], ":") {
				cut = cut[:i]
			}
			cut = strings.TrimSuffix(strings.Trim(cut, "[]"), ".")
			if ip, err := netip.ParseAddr(cut); err == nil && ip.Unmap().IsLoopback() {
				return
			}
		}
		if strings.Contains(h, "127.") || strings.Contains(h, "::") {
			return // an address form the simple check above does not take apart; loopback by netip
		}
		t.Fatalf("%q allowed", host)
	})
}

// FuzzRefuseBrowser: any Origin, Sec-Fetch-Site and Content-Type is answered without a panic, and a write
// whose Origin names another host is always refused.
func FuzzRefuseBrowser(f *testing.F) {
	f.Add("https://attacker.example", "cross-site", "text/plain", "localhost:8080")
	f.Add("http://localhost:8080", "same-origin", "application/json; charset=utf-8", "localhost:8080")
	f.Add("null", "", "", "127.0.0.1")
	f.Fuzz(func(t *testing.T, origin, site, ct, host string) {
		r := httptest.NewRequest("POST", "/api/keys", strings.NewReader("{}"))
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		r.Header.Set("Content-Type", ct)
		e := refuseBrowser(r, true)
		if origin != "" && !strings.HasSuffix(strings.ToLower(origin), strings.ToLower(host)) && e == nil {
			t.Fatalf("origin %q host %q not refused", origin, host)
		}
	})
}

// FuzzSplitSecretHeaders: whatever config an admin sends, no credential header's value is left in the clear
// config.
func FuzzSplitSecretHeaders(f *testing.F) {
	f.Add(`{"headers":{"Authorization":"Bearer sk-1","X-Team":"a"}}`)
	f.Add(`{"headers":{"x-api-key":"********"}}`)
	f.Add(`{"headers":[]}`)
	f.Add(`{"base_url":"http://x"}`)
	c, err := secret.ParseKey(secret.GenerateKey())
	if err != nil {
		f.Fatal(err)
	}
	a := newAdmin(Config{Cipher: c})
	f.Fuzz(func(t *testing.T, config string) {
		out, keys, gerr := a.splitSecretHeaders([]byte(config), nil)
		if gerr != nil {
			return
		}
		for _, k := range keys {
			if _, err := c.DecryptString(k.Ciphertext); err != nil || !strings.HasPrefix(k.ID, headerKeyPrefix) {
				t.Fatalf("key %q: %v", k.ID, err)
			}
		}
		var obj struct {
			Headers map[string]any `json:"headers"`
		}
		if json.Unmarshal(out, &obj) != nil {
			return // not an object: stored as sent, and refused by its provider
		}
		for name := range obj.Headers {
			if credentialHeader(name) {
				t.Fatalf("credential header %q left in %s", name, out)
			}
		}
	})
}
