package mcp

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/confkit"
)

// Config is the `mcp:` section: the upstream MCP servers Weir aggregates behind /mcp.
type Config struct {
	Servers []ServerConfig `yaml:"servers"`
	// ToolListTTL is how long a server's tool, resource and prompt lists are kept before they are fetched
	// again (a server's list_changed notification refreshes them at once). Default 5m.
	ToolListTTL confkit.Duration `yaml:"tool_list_ttl"`
	// Separator joins a server's name and a tool's name in the names clients see ("github__create_issue").
	// Default "__". Server names must not contain it.
	Separator string `yaml:"separator"`
	// CallTimeout bounds one tool call (and one resource read or prompt get) on an upstream. Default 60s.
	CallTimeout confkit.Duration `yaml:"call_timeout"`
	// MaxArgumentBytes bounds a tool call's arguments, as JSON. Default 1 MiB.
	MaxArgumentBytes int64 `yaml:"max_argument_bytes"`
	// AgentMaxDepth bounds the model calls of one agent-mode request (a chat, Responses or messages request
	// whose mcp tools Weir runs, internal/gateway/agent). Default 10.
	AgentMaxDepth int `yaml:"agent_max_depth"`
}

// ServerConfig is one upstream MCP server.
type ServerConfig struct {
	// Name prefixes the server's tools and prompts, and names it in allow-lists, metrics and /mcp/{name}.
	Name string `yaml:"name"`
	// Transport is streamable-http, sse or stdio.
	Transport string `yaml:"transport"`
	// URL is the endpoint of a streamable-http or sse server.
	URL string `yaml:"url"`
	// Headers are sent with every request to a remote server (${ENV} is expanded, like every value).
	Headers map[string]string `yaml:"headers"`
	// Command is a stdio server's program and arguments; Env adds to Weir's environment for it.
	Command []string          `yaml:"command"`
	Env     map[string]string `yaml:"env"`
	// OAuth gets the remote server's bearer token with the OAuth 2.0 client-credentials grant.
	OAuth *OAuthConfig `yaml:"oauth"`
	// ToolPrices is the price in USD of one call of a tool (its name on this server, or "*" for every other
	// tool), charged to the calling key's budget.
	ToolPrices map[string]float64 `yaml:"tool_prices"`
	// CallTimeout overrides mcp.call_timeout for this server.
	CallTimeout confkit.Duration `yaml:"call_timeout"`
}

// OAuthConfig is a client-credentials grant.
type OAuthConfig struct {
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	TokenURL     string   `yaml:"token_url"`
	Scopes       []string `yaml:"scopes"`
	// Audience, when set, is sent as the audience parameter some authorization servers require.
	Audience string `yaml:"audience"`
}

// Transports.
const (
	TransportStreamable = "streamable-http"
	TransportSSE        = "sse"
	TransportStdio      = "stdio"
)

// Defaults.
const (
	DefaultToolListTTL      = 5 * time.Minute
	DefaultSeparator        = "__"
	DefaultCallTimeout      = 60 * time.Second
	DefaultMaxArgumentBytes = 1 << 20
	DefaultAgentMaxDepth    = 10
)

// ApplyDefaults fills what is unset.
func (c *Config) ApplyDefaults() {
	if c.ToolListTTL == 0 {
		c.ToolListTTL = confkit.Duration(DefaultToolListTTL)
	}
	if c.Separator == "" {
		c.Separator = DefaultSeparator
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = confkit.Duration(DefaultCallTimeout)
	}
	if c.MaxArgumentBytes == 0 {
		c.MaxArgumentBytes = DefaultMaxArgumentBytes
	}
	if c.AgentMaxDepth == 0 {
		c.AgentMaxDepth = DefaultAgentMaxDepth
	}
}

// Validate names every problem by its path under "mcp".
func (c *Config) Validate() confkit.Problems {
	var ps confkit.Problems
	add := func(path, format string, a ...any) {
		ps = append(ps, confkit.Problem{Path: "mcp." + path, Msg: fmt.Sprintf(format, a...)})
	}
	if c.ToolListTTL < 0 {
		add("tool_list_ttl", "must not be negative")
	}
	if c.AgentMaxDepth < 0 {
		add("agent_max_depth", "must not be negative")
	}
	if c.CallTimeout < 0 {
		add("call_timeout", "must not be negative")
	}
	if c.MaxArgumentBytes < 0 {
		add("max_argument_bytes", "must not be negative")
	}
	sep := c.Separator
	if sep == "" {
		sep = DefaultSeparator
	}
	if strings.ContainsAny(sep, " \t/") {
		add("separator", "%q must not contain spaces or '/'", sep)
	}
	seen := map[string]int{}
	for i, s := range c.Servers {
		at := fmt.Sprintf("servers[%d]", i)
		switch {
		case s.Name == "":
			add(at+".name", "required")
		case strings.Contains(s.Name, sep):
			add(at+".name", "%q must not contain the separator %q", s.Name, sep)
		case strings.ContainsAny(s.Name, " \t/"):
			add(at+".name", "%q must not contain spaces or '/' (it is a path segment of /mcp/{server})", s.Name)
		default:
			if j, dup := seen[s.Name]; dup {
				add(at+".name", "%q is already the name of servers[%d]", s.Name, j)
			}
			seen[s.Name] = i
		}
		switch s.Transport {
		case TransportStreamable, TransportSSE:
			if u, err := url.Parse(s.URL); s.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(at+".url", "an http or https URL is required for transport %s", s.Transport)
			}
			if len(s.Command) > 0 {
				add(at+".command", "only for transport stdio")
			}
			if len(s.Env) > 0 {
				add(at+".env", "only for transport stdio")
			}
		case TransportStdio:
			if len(s.Command) == 0 || s.Command[0] == "" {
				add(at+".command", "required for transport stdio: the program and its arguments")
			}
			if s.URL != "" {
				add(at+".url", "not for transport stdio")
			}
			if len(s.Headers) > 0 {
				add(at+".headers", "not for transport stdio")
			}
			if s.OAuth != nil {
				add(at+".oauth", "not for transport stdio")
			}
		case "":
			add(at+".transport", "required: streamable-http, sse or stdio")
		default:
			add(at+".transport", "%q: want streamable-http, sse or stdio", s.Transport)
		}
		if o := s.OAuth; o != nil {
			if o.ClientID == "" {
				add(at+".oauth.client_id", "required")
			}
			if u, err := url.Parse(o.TokenURL); o.TokenURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				add(at+".oauth.token_url", "an http or https URL is required")
			}
		}
		for tool, p := range s.ToolPrices {
			if p < 0 {
				add(at+".tool_prices."+tool, "must not be negative")
			}
		}
		if s.CallTimeout < 0 {
			add(at+".call_timeout", "must not be negative")
		}
	}
	return ps
}
