package governance

import (
	"errors"
	"fmt"
	"strings"

	"github.com/weir-gateway/weir/internal/store"
)

// MCPAccessConfig is a key's or team's `mcp:` allow-list in the config: the MCP servers and the tools (globs
// over namespaced names such as "github__create_*") it may use. See store.MCPAccess for the rule.
type MCPAccessConfig struct {
	Servers []string `yaml:"servers"`
	Tools   []string `yaml:"tools"`
}

func (c *MCPAccessConfig) toStore() *store.MCPAccess {
	if c == nil {
		return nil
	}
	return &store.MCPAccess{Servers: c.Servers, Tools: c.Tools}
}

// CheckMCPAccess finds the first empty entry of an allow-list: its field ("servers[0]") and the problem.
func CheckMCPAccess(a *store.MCPAccess) (field string, err error) {
	if a == nil {
		return "", nil
	}
	for i, s := range a.Servers {
		if s == "" {
			return fmt.Sprintf("servers[%d]", i), errEmpty
		}
	}
	for i, t := range a.Tools {
		if t == "" {
			return fmt.Sprintf("tools[%d]", i), errEmpty
		}
	}
	return "", nil
}

var errEmpty = errors.New("must not be empty")

// mcpRule is one resolved allow-list.
type mcpRule struct {
	servers map[string]bool // nil: any server
	tools   []string        // nil: any tool of an allowed server
}

func newMCPRule(a *store.MCPAccess) *mcpRule {
	if a == nil || (len(a.Servers) == 0 && len(a.Tools) == 0) {
		return nil
	}
	r := &mcpRule{tools: a.Tools}
	if len(a.Servers) > 0 {
		r.servers = make(map[string]bool, len(a.Servers))
		for _, s := range a.Servers {
			r.servers[s] = true
		}
	}
	return r
}

func (r *mcpRule) server(name string) bool { return r != nil && (r.servers == nil || r.servers[name]) }

func (r *mcpRule) tool(server, name string) bool {
	if !r.server(server) {
		return false
	}
	if r.tools == nil {
		return true
	}
	for _, g := range r.tools {
		if Glob(g, name) {
			return true
		}
	}
	return false
}

// mcpAccess is a principal's MCP permissions: its key's rule narrowed by its team's. A key without a rule
// inherits its team's; with neither, nothing is allowed.
type mcpAccess struct {
	key, team *mcpRule
}

func (a mcpAccess) rules() (first, ceiling *mcpRule) {
	if a.key == nil {
		return a.team, nil
	}
	return a.key, a.team
}

// AllowsMCPServer reports whether the key may use the MCP server at all (its resources and prompts, and the
// tools its tool allow-list lets through). Deny by default: a key and team without an `mcp` allow-list may not.
func (p *Principal) AllowsMCPServer(server string) bool {
	if p == nil {
		return false
	}
	r, ceil := p.mcp.rules()
	return r.server(server) && (ceil == nil || ceil.server(server))
}

// AllowsMCPTool reports whether the key may list and call tool of server, whose namespaced name is name
// (what the tool globs match). Deny by default, as AllowsMCPServer.
func (p *Principal) AllowsMCPTool(server, name string) bool {
	if p == nil {
		return false
	}
	r, ceil := p.mcp.rules()
	return r.tool(server, name) && (ceil == nil || ceil.tool(server, name))
}

// Glob matches name against pattern, where '*' matches any run of characters (including none) and every other
// character matches itself. Tool names carry '/', '.' and '-', so path.Match's rules do not fit.
func Glob(pattern, name string) bool {
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == name
	}
	if !strings.HasPrefix(name, pattern[:star]) {
		return false
	}
	name, pattern = name[star:], pattern[star+1:]
	// Each further literal segment is matched at its leftmost place; the last one must end the name.
	for {
		star = strings.IndexByte(pattern, '*')
		if star < 0 {
			return strings.HasSuffix(name, pattern)
		}
		seg := pattern[:star]
		i := strings.Index(name, seg)
		if i < 0 {
			return false
		}
		name, pattern = name[i+len(seg):], pattern[star+1:]
	}
}
