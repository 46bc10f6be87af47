package mcp

import (
	"net/http"
	"strings"
	"testing"
)

// TestUnknownServerNeedsAKey: /mcp/{server} names a server only to a caller with a key; without one it is the
// same 401 as any other request.
func TestUnknownServerNeedsAKey(t *testing.T) {
	f := newFixture(t, diffKeys, ServerConfig{})
	h := f.g.Handler()
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`
	for _, c := range []struct {
		name, key, path string
		status          int
		want            string
	}{
		{"unknown server, no key", "-", "/mcp/nope", http.StatusUnauthorized, "a virtual key is required"},
		{"known server, no key", "-", "/mcp/tools", http.StatusUnauthorized, "a virtual key is required"},
		{"unknown server, a key", "", "/mcp/nope", http.StatusNotFound, "no MCP server named nope"},
	} {
		st, _, b := diffPost(h, diffCase{body: body, key: c.key, path: c.path})
		if st != c.status || !strings.Contains(string(b), c.want) || !strings.Contains(string(b), `"jsonrpc":"2.0"`) {
			t.Errorf("%s: %d %s; want %d with %q", c.name, st, b, c.status, c.want)
		}
	}
}
