package governance

import (
	"context"
	"testing"

	"github.com/weir-gateway/weir/internal/schema"
)

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"tools__add", "tools__add", true},
		{"tools__add", "tools__add2", false},
		{"*", "", true},
		{"*", "anything/at.all", true},
		{"local__*", "local__echo", true},
		{"local__*", "tools__echo", false},
		{"*__echo", "local__echo", true},
		{"*__echo", "local__echo2", false},
		{"gh__*_issue", "gh__create_issue", true},
		{"gh__*_issue", "gh__create_issues", false},
		{"a*b*c", "axbycbc", true},
		{"a*b*c", "axbyc_", false},
		{"ab*ba", "aba", false},
		{"", "", true},
		{"", "x", false},
	} {
		if got := Glob(c.pattern, c.name); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b", "axxb")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := Glob(pattern, name)
		// A pattern without '*' matches only itself; '*' alone matches everything.
		if !containsStar(pattern) && got != (pattern == name) {
			t.Fatalf("Glob(%q, %q) = %v for a literal pattern", pattern, name, got)
		}
		if !Glob("*", name) || !Glob("*"+name, name) || !Glob(name+"*", name) {
			t.Fatalf("a star does not match around %q", name)
		}
	})
}

func containsStar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return true
		}
	}
	return false
}

// TestMCPAccess: deny by default; a key's list, its team's list inherited, or the key's narrowed by the team's.
func TestMCPAccess(t *testing.T) {
	cfg := &Config{
		Teams: []TeamConfig{
			{ID: "open", MCP: &MCPAccessConfig{Servers: []string{"gh", "fs"}}},
			{ID: "none"},
		},
		VirtualKeys: []VirtualKeyConfig{
			{ID: "bare"},
			{ID: "own", MCP: &MCPAccessConfig{Servers: []string{"gh"}, Tools: []string{"gh__read_*"}}},
			{ID: "toolsonly", MCP: &MCPAccessConfig{Tools: []string{"fs__*"}}},
			{ID: "inherit", Team: "open"},
			{ID: "narrow", Team: "open", MCP: &MCPAccessConfig{Servers: []string{"gh", "db"}}},
			{ID: "teamnone", Team: "none", MCP: &MCPAccessConfig{Servers: []string{"gh"}}},
			{ID: "empty", MCP: &MCPAccessConfig{}},
		},
	}
	s, _ := newService(t, memStore(t), newClock(), cfg)
	for _, c := range []struct {
		key, server, tool    string
		wantServer, wantTool bool
	}{
		{"bare", "gh", "gh__read_file", false, false},
		{"empty", "gh", "gh__read_file", false, false},
		{"own", "gh", "gh__read_file", true, true},
		{"own", "gh", "gh__write_file", true, false},
		{"own", "fs", "fs__read_file", false, false},
		{"toolsonly", "fs", "fs__list", true, true},
		{"toolsonly", "gh", "gh__list", true, false},
		{"inherit", "fs", "fs__list", true, true},
		{"inherit", "db", "db__query", false, false},
		{"narrow", "gh", "gh__x", true, true},
		{"narrow", "fs", "fs__x", false, false}, // not in the key's list
		{"narrow", "db", "db__x", false, false}, // not in the team's
		{"teamnone", "gh", "gh__x", true, true},
	} {
		p := s.Principal(c.key)
		if got := p.AllowsMCPServer(c.server); got != c.wantServer {
			t.Errorf("%s AllowsMCPServer(%s) = %v", c.key, c.server, got)
		}
		if got := p.AllowsMCPTool(c.server, c.tool); got != c.wantTool {
			t.Errorf("%s AllowsMCPTool(%s) = %v", c.key, c.tool, got)
		}
	}
	var nilP *Principal
	if nilP.AllowsMCPTool("gh", "gh__x") {
		t.Error("a nil principal is allowed a tool")
	}
	// The allow-list survives the store: a new service reading the same rows decides the same.
	st := memStore(t)
	newService(t, st, newClock(), cfg)
	s2, _ := newService(t, st, newClock(), nil)
	if !s2.Principal("own").AllowsMCPTool("gh", "gh__read_x") || s2.Principal("own").AllowsMCPTool("gh", "gh__write") {
		t.Error("the key's MCP allow-list was not persisted")
	}
	if !s2.Principal("inherit").AllowsMCPServer("fs") {
		t.Error("the team's MCP allow-list was not persisted")
	}
}

func TestAdmitCallLimits(t *testing.T) {
	cfg := &Config{VirtualKeys: []VirtualKeyConfig{{ID: "k", Models: []string{"only/this"}, RateLimits: &RateLimits{RPM: 2}}}}
	s, _ := newService(t, memStore(t), newClock(), cfg)
	p := s.Principal("k")
	for i := range 2 {
		r, d := s.AdmitCall(context.Background(), p, Estimate{})
		if d != nil {
			t.Fatalf("call %d refused: %v (a model allow-list must not refuse a tool call)", i, d)
		}
		r.Settle(schema.Usage{}, 0)
	}
	if _, d := s.AdmitCall(context.Background(), p, Estimate{}); d == nil || d.Code != "rate_limit_exceeded" {
		t.Fatalf("third call: %v, want rate_limit_exceeded", d)
	}
}
