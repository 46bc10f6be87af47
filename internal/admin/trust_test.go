package admin

import (
	"net/http"
	"strings"
	"testing"
)

// adminPath turns an admin route's pattern into a method and a path that reaches it.
func adminPath(pattern string) (string, string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "GET", pattern
	}
	return method, strings.NewReplacer("{id}", "x", "{name}", "x").Replace(path)
}

// TestAdminLoopbackTrustRefusesOtherHosts: without an admin token the admin API trusts loopback callers, and a
// browser on the same machine is one. A DNS-rebinding page's requests name the page's own host, so every admin
// route must refuse a Host that is not loopback (or configured), and still answer the loopback names.
func TestAdminLoopbackTrustRefusesOtherHosts(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	f.a.c.AllowedHosts = []string{"weir.internal"}
	n := 0
	for _, pattern := range f.mux.routes {
		n++
		method, path := adminPath(pattern)
		for _, host := range []string{"attacker.example", "attacker.example:8080", "127.0.0.1.attacker.example", "localhost.attacker.example", "10.0.0.1:8080", ""} {
			code, m, body := f.doHeaders("127.0.0.1:5555", method, path, "{}", "Host", host)
			if e, _ := m["error"].(map[string]any); code != http.StatusForbidden || e["code"] != "admin_host_not_allowed" {
				t.Errorf("%s with Host %q: %d %s", pattern, host, code, body)
			}
		}
		for _, host := range []string{"localhost", "localhost:8080", "LOCALHOST:8080", "weir.localhost:8080", "127.0.0.1:8080", "127.1.2.3", "[::1]:8080", "weir.internal:8080"} {
			code, m, body := f.doHeaders("127.0.0.1:5555", method, path, "{}", "Host", host)
			if e, _ := m["error"].(map[string]any); code == http.StatusForbidden || e["code"] == "admin_host_not_allowed" {
				t.Errorf("%s with Host %q: %d %s", pattern, host, code, body)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d admin routes", n)
	}
	// With a token the Host does not matter: the token is the trust.
	tf := newAdminFixture(t, "s3cret-admin", nil)
	if code, _, body := tf.doHeaders("192.0.2.1:5555", "GET", "/api/keys", "", "Host", "weir.example.com", "Authorization", "Bearer s3cret-admin"); code != http.StatusOK {
		t.Errorf("token, public host: %d %s", code, body)
	}
}

// TestAdminRefusesCrossSiteWrites: a page of another site can POST to the admin API without a CORS preflight
// (text/plain, forms). Every state-changing admin route refuses a cross-site Origin or Sec-Fetch-Site, with or
// without a token, and a non-JSON body while trusting loopback; local tools (no Origin) still work.
func TestAdminRefusesCrossSiteWrites(t *testing.T) {
	for _, token := range []string{"", "s3cret-admin"} {
		f := newAdminFixture(t, token, nil)
		auth := []string{}
		if token != "" {
			auth = []string{"Authorization", "Bearer " + token}
		}
		n := 0
		for _, pattern := range f.mux.routes {
			method, path := adminPath(pattern)
			if method == "GET" {
				continue
			}
			n++
			for _, tc := range []struct {
				header []string
				status int
				code   string
			}{
				{[]string{"Origin", "https://attacker.example"}, http.StatusForbidden, "cross_site_request"},
				{[]string{"Origin", "http://localhost:9999"}, http.StatusForbidden, "cross_site_request"},
				{[]string{"Origin", "null"}, http.StatusForbidden, "cross_site_request"},
				{[]string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden, "cross_site_request"},
				{[]string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden, "cross_site_request"},
				{[]string{"Sec-Fetch-Site", "cross-site", "Origin", "http://localhost:8080"}, http.StatusForbidden, "cross_site_request"},
			} {
				code, m, body := f.doHeaders("127.0.0.1:5555", method, path, "{}", append(tc.header, auth...)...)
				if e, _ := m["error"].(map[string]any); code != tc.status || e["code"] != tc.code {
					t.Errorf("token %q, %s with %v: %d %s", token, pattern, tc.header, code, body)
				}
			}
			// Same-origin pages (Origin equal to the Host) and tools that send no Origin are not refused.
			for _, h := range [][]string{{"Origin", "http://localhost:8080", "Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "none"}, nil} {
				code, m, body := f.doHeaders("127.0.0.1:5555", method, path, "{}", append(h, auth...)...)
				if e, _ := m["error"].(map[string]any); e["code"] == "cross_site_request" || code == http.StatusUnsupportedMediaType {
					t.Errorf("token %q, %s with %v: %d %s", token, pattern, h, code, body)
				}
			}
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
				code, _, body := f.doHeaders("127.0.0.1:5555", method, path, "{}", append([]string{"Content-Type", ct}, auth...)...)
				if want := token == ""; want != (code == http.StatusUnsupportedMediaType) {
					t.Errorf("token %q, %s with Content-Type %q: %d %s", token, pattern, ct, code, body)
				}
			}
		}
		if n < 10 {
			t.Fatalf("only %d state-changing admin routes", n)
		}
	}
}
