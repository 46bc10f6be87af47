package e2e

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServerLimitsEndToEnd drives the real binary: an unfinished body is cut after server.read_timeout; with no
// admin token the admin API answers only loopback or configured Host names and refuses cross-site or non-JSON
// writes, while a local tool's plain JSON request still works; a wrong method is 405 with Allow.
func TestServerLimitsEndToEnd(t *testing.T) {
	g := startGateway(t, `
server:
  read_timeout: 300ms
  allowed_hosts: [weir.test]
providers:
  - {name: mock, type: mock}
`, "WEIR_ADMIN_TOKEN=")
	addr := strings.TrimPrefix(g.URL, "http://")

	// A body that never arrives: 408, and the connection closed well before the generous bound.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(got), "HTTP/1.1 408") {
		t.Fatalf("unfinished body: %q %v", got, err)
	}

	send := func(method, path, host, body string, header ...string) int {
		t.Helper()
		req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", method, path)
		}
		return resp.StatusCode
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		name, method, path, host, body string
		header                         []string
		want                           int
	}{
		{"rebinding host", "GET", "/api/keys", "attacker.example:" + port, "", nil, 403},
		{"loopback host", "GET", "/api/keys", "localhost:" + port, "", nil, 200},
		{"configured host", "GET", "/api/keys", "weir.test:" + port, "", nil, 200},
		{"text/plain write", "POST", "/api/keys", addr, `{"id":"a"}`, []string{"Content-Type", "text/plain"}, 415},
		{"cross-site write", "POST", "/api/keys", addr, `{"id":"a"}`, []string{"Content-Type", "application/json", "Origin", "https://attacker.example"}, 403},
		{"fetch metadata", "POST", "/api/keys", addr, `{"id":"a"}`, []string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"}, 403},
		{"local tool", "POST", "/api/keys", addr, `{"id":"a"}`, []string{"Content-Type", "application/json"}, 201},
		{"wrong method", "GET", "/v1/chat/completions", addr, "", nil, 405},
		{"wrong method, native prefix", "GET", "/anthropic/v1/messages", addr, "", nil, 405},
	} {
		if got := send(tc.method, tc.path, tc.host, tc.body, tc.header...); got != tc.want {
			t.Errorf("%s: %s %s Host %s: %d, want %d", tc.name, tc.method, tc.path, tc.host, got, tc.want)
		}
	}
}
