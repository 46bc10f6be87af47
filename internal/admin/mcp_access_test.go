package admin

import (
	"strings"
	"testing"
)

// TestAdminMCPAccess: the admin API sets a key's and a team's MCP allow-list, shows it back, and the principal
// enforces it; an empty entry is refused naming its field.
func TestAdminMCPAccess(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	mustCode := func(want int, method, path, body string) map[string]any {
		t.Helper()
		code, m, raw := f.do(method, path, "", body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, raw)
		}
		return m
	}
	mustCode(201, "POST", "/api/teams", `{"id":"tools-team","mcp":{"servers":["gh"]}}`)
	k := mustCode(201, "POST", "/api/keys", `{"id":"agent","team":"tools-team","mcp":{"servers":["gh","fs"],"tools":["gh__read_*"]}}`)
	if m, ok := k["mcp"].(map[string]any); !ok || m["tools"].([]any)[0] != "gh__read_*" {
		t.Fatalf("create answer's mcp: %v", k["mcp"])
	}
	p := f.gov.Authenticate(k["key"].(string))
	if !p.AllowsMCPTool("gh", "gh__read_file") || p.AllowsMCPTool("gh", "gh__delete_repo") || p.AllowsMCPServer("fs") {
		t.Fatal("the key's MCP allow-list (narrowed by its team's) is not what the admin API set")
	}
	if m := mustCode(200, "GET", "/api/teams/tools-team", ""); m["mcp"] == nil {
		t.Fatalf("team shows no mcp: %v", m)
	}
	mustCode(200, "PATCH", "/api/keys/agent", `{"mcp":{"servers":["gh"],"tools":["*"]}}`)
	if !f.gov.Principal("agent").AllowsMCPTool("gh", "gh__delete_repo") {
		t.Fatal("PATCH did not widen the key's tools")
	}
	code, m, raw := f.do("POST", "/api/keys", "", `{"id":"bad","mcp":{"tools":[""]}}`)
	if p, msg := errParam(m); code != 400 || p != "mcp.tools[0]" || !strings.HasPrefix(msg, "mcp.tools[0]: must not be empty") {
		t.Fatalf("empty tool glob: %d %s", code, raw)
	}
}
