package config

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
)

// Defaults. Pool and queue sizes follow what one pod on two cores sustains (see docs/benchmarks.md).
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultMaxBodyBytes      = 32 << 20
	DefaultMaxUploadBytes    = 512 << 20 // OpenAI's own limit for a file
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultInitialPoolSize   = 500
	DefaultQueueTimeout      = 30 * time.Second
	DefaultConcurrency       = 256
	DefaultBufferSize        = 1024
	DefaultTimeout           = 60 * time.Second
	DefaultConnectTimeout    = 10 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultUploadReadTimeout = 10 * time.Minute // 512 MiB at under 1 MB/s
)

// DefaultDataDir is the user's state directory for Weir, $XDG_STATE_HOME/weir, else ~/.local/state/weir, so a
// gateway started without a config leaves nothing in the working directory. Only when no home directory is
// known is it the working directory.
func DefaultDataDir() string {
	// The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "weir")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "state", "weir")
	}
	return "."
}

// ApplyDefaults fills every unset field.
func (c *Config) ApplyDefaults() {
	c.MCP.ApplyDefaults()
	if c.Server.Addr == "" {
		c.Server.Addr = DefaultAddr
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Server.MaxUploadBytes == 0 {
		c.Server.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if c.Server.ShutdownTimeout == 0 {
		c.Server.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	if c.Server.ReadHeaderTimeout == 0 {
		c.Server.ReadHeaderTimeout = Duration(DefaultReadHeaderTimeout)
	}
	if c.Server.ReadTimeout == 0 {
		c.Server.ReadTimeout = Duration(DefaultReadTimeout)
	}
	if c.Server.UploadReadTimeout == 0 {
		c.Server.UploadReadTimeout = Duration(DefaultUploadReadTimeout)
	}
	if c.Server.DataDir == "" {
		c.Server.DataDir = os.Getenv("WEIR_DATA_DIR")
	}
	if c.Server.DataDir == "" {
		c.Server.DataDir = DefaultDataDir()
	}
	if c.Server.IdleTimeout == 0 {
		c.Server.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if c.Client.InitialPoolSize == 0 {
		c.Client.InitialPoolSize = DefaultInitialPoolSize
	}
	if c.Client.QueueTimeout == 0 {
		c.Client.QueueTimeout = Duration(DefaultQueueTimeout)
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		if p.Concurrency == 0 {
			p.Concurrency = DefaultConcurrency
		}
		if p.BufferSize == 0 {
			p.BufferSize = DefaultBufferSize
		}
		if p.Timeout == 0 {
			p.Timeout = Duration(DefaultTimeout)
		}
		if p.ConnectTimeout == 0 {
			p.ConnectTimeout = Duration(DefaultConnectTimeout)
		}
		if p.StreamIdleTimeout == 0 {
			p.StreamIdleTimeout = p.Timeout
		}
		for j := range p.Keys {
			if p.Keys[j].Weight == 0 {
				p.Keys[j].Weight = 1
			}
		}
	}
}

// Validate checks what can be checked without knowing provider types (those validate themselves).
func (c *Config) Validate() Problems {
	var ps Problems
	add := func(path, format string, a ...any) {
		ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf(format, a...)})
	}
	if c.Server.MaxUploadBytes < 0 {
		add("server.max_upload_bytes", "must be positive")
	}
	if c.Server.MaxBodyBytes < 0 {
		add("server.max_body_bytes", "must be positive")
	}
	if c.Server.ReadTimeout < 0 {
		add("server.read_timeout", "must be positive")
	}
	if c.Server.UploadReadTimeout < 0 {
		add("server.upload_read_timeout", "must be positive")
	}
	if c.Client.InitialPoolSize < 0 {
		add("client.initial_pool_size", "must not be negative")
	}
	seen := map[string]int{}
	for i, p := range c.Providers {
		at := fmt.Sprintf("providers[%d]", i)
		switch {
		case p.Name == "":
			add(at+".name", "required")
		case strings.ContainsAny(p.Name, "/ \t"):
			add(at+".name", "%q must not contain '/' or spaces: models are addressed as name/model", p.Name)
		default:
			if j, dup := seen[p.Name]; dup {
				add(at+".name", "%q is already the name of providers[%d]", p.Name, j)
			}
			seen[p.Name] = i
		}
		if p.Type == "" {
			add(at+".type", "required")
		}
		if p.Concurrency < 0 {
			add(at+".concurrency", "must be positive")
		}
		if p.BufferSize < 0 {
			add(at+".buffer_size", "must not be negative")
		}
		for j, k := range p.Keys {
			if k.Weight < 0 {
				add(fmt.Sprintf("%s.keys[%d].weight", at, j), "must not be negative")
			}
		}
	}
	names := map[string]bool{}
	for _, p := range c.Providers {
		names[p.Name] = true
	}
	for _, err := range router.Validate(c.Models, func(n string) bool { return names[n] }) {
		path, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			path, msg = "models", err.Error()
		}
		ps = append(ps, Problem{Path: path, Msg: msg})
	}
	for i, gp := range c.Governance.Providers {
		if gp.Name != "" && !names[gp.Name] {
			add(fmt.Sprintf("governance.providers[%d].name", i), "unknown provider %q (not under providers:)", gp.Name)
		}
	}
	if err := c.Governance.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			path, msg, ok := strings.Cut(line, ": ")
			if !ok {
				path, msg = "governance", line
			}
			ps = append(ps, Problem{Path: path, Msg: msg})
		}
	}
	ps = append(ps, c.MCP.Validate()...)
	if c.Routing.Cooldown != nil {
		for _, err := range router.ValidateBreaker("routing.cooldown", *c.Routing.Cooldown) {
			path, msg, _ := strings.Cut(err.Error(), ": ")
			ps = append(ps, Problem{Path: path, Msg: msg})
		}
	}
	return ps
}

//go:embed default.yaml
var defaultYAML []byte

// EnvProviders maps an API-key environment variable to the provider it enables in the zero-config default.
var EnvProviders = []struct{ Env, Name, Type string }{
	{"OPENAI_API_KEY", "openai", "openai"},
	{"ANTHROPIC_API_KEY", "anthropic", "anthropic"},
	{"GEMINI_API_KEY", "gemini", "gemini"},
	{"GROQ_API_KEY", "groq", "groq"},
	{"MISTRAL_API_KEY", "mistral", "mistral"},
	{"DEEPSEEK_API_KEY", "deepseek", "deepseek"},
	{"TOGETHER_API_KEY", "together", "together"},
	{"FIREWORKS_API_KEY", "fireworks", "fireworks"},
	{"OPENROUTER_API_KEY", "openrouter", "openrouter"},
	{"XAI_API_KEY", "xai", "xai"},
	{"CEREBRAS_API_KEY", "cerebras", "cerebras"},
	{"PERPLEXITY_API_KEY", "perplexity", "perplexity"},
	{"COHERE_API_KEY", "cohere", "cohere"},
}

// Default is the configuration used when no file is given: the built-in mock provider plus one provider for
// each API key found in the environment whose type is known (typeKnown filters types not compiled in).
func Default(lookup func(string) (string, bool), typeKnown func(string) bool) (*Config, error) {
	cfg, err := Parse(defaultYAML, lookup)
	if err != nil {
		return nil, fmt.Errorf("embedded default config: %w", err)
	}
	for _, e := range EnvProviders {
		v, ok := lookup(e.Env)
		if !ok || v == "" || !typeKnown(e.Type) {
			continue
		}
		cfg.Providers = append(cfg.Providers, provider.Config{Common: provider.Common{Name: e.Name, Type: e.Type, Keys: []provider.KeyConfig{{Value: v}}}})
	}
	cfg.ApplyDefaults()
	return cfg, nil
}
