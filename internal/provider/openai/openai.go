// Package openai is the provider for OpenAI and every API that copies it (Azure OpenAI, Groq, Mistral,
// DeepSeek, Together, Fireworks, OpenRouter, xAI, Cerebras, Perplexity, Ollama, vLLM, and any base_url).
// It speaks the OpenAI dialect, so the gateway hands it the caller's body with only the model rewritten.
package openai

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

func init() {
	for typ := range flavors {
		if typ == "azure" {
			provider.Register(typ, New)
			continue
		}
		// The other types have no settings of their own: api_version or deployments on them is an unknown field.
		provider.Register(typ, func(cfg provider.Common, _ struct{}) (provider.Provider, error) { return New(cfg, Azure{}) })
	}
}

// Azure are the settings of an azure entry beyond the shared ones.
type Azure struct {
	// APIVersion is the api-version query parameter of every call; default DefaultAzureAPIVersion.
	APIVersion string `yaml:"api_version"`
	// Deployments maps a model to its deployment name; a model not listed is its own deployment name.
	Deployments map[string]string `yaml:"deployments"`
}

// Provider sends OpenAI-dialect calls to one upstream.
type Provider struct {
	name       string
	typ        string
	base       string
	azure      bool
	apiVersion string
	deploy     map[string]string
	headers    http.Header
	client     *http.Client
	paths      map[provider.Op]string // full URLs per operation, computed once
	ops        map[provider.Op]bool   // what this upstream offers
}

var opPaths = map[provider.Op]string{
	provider.OpChat:        "/chat/completions",
	provider.OpCompletions: "/completions",
	provider.OpEmbeddings:  "/embeddings",
	provider.OpResponses:   "/responses",
}

// New builds a provider of any OpenAI-family type; az is read for type azure only.
func New(cfg provider.Common, az Azure) (provider.Provider, error) {
	fl := flavors[cfg.Type]
	var ps confkit.Problems
	base := cfg.BaseURL
	if base == "" {
		base = fl.baseURL
	}
	if base == "" {
		ps = append(ps, confkit.Problem{Path: "base_url", Msg: fmt.Sprintf("required for type %s", cfg.Type)})
	} else if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps = append(ps, confkit.Problem{Path: "base_url", Msg: fmt.Sprintf("%q is not an http(s) URL", base)})
	}
	nonEmpty := 0
	for _, k := range cfg.Keys {
		if k.Value != "" {
			nonEmpty++
		}
	}
	if fl.needsKey && nonEmpty == 0 {
		msg := "at least one key is required"
		if len(cfg.Keys) > 0 {
			msg = "every key is empty (is its ${VAR} set?)"
		}
		ps = append(ps, confkit.Problem{Path: "keys", Msg: msg})
	}
	ops, opsProblems := opsFor(cfg)
	ps = append(ps, opsProblems...)
	if len(ps) > 0 {
		return nil, ps
	}
	p := &Provider{
		name:       cfg.Name,
		typ:        cfg.Type,
		base:       strings.TrimRight(base, "/"),
		azure:      cfg.Type == "azure",
		apiVersion: az.APIVersion,
		deploy:     az.Deployments,
		headers:    provider.ConfiguredHeader(cfg.Headers),
		client:     provider.NewHTTPClient(cfg),
		paths:      map[provider.Op]string{},
		ops:        ops,
	}
	if p.azure && p.apiVersion == "" {
		p.apiVersion = DefaultAzureAPIVersion
	}
	for op, path := range opPaths {
		p.paths[op] = p.base + path
	}
	return p, nil
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is OpenAI for every flavor.
func (p *Provider) Dialect() dialects.Dialect { return dialects.OpenAI }

// Supports reports the operations this upstream has.
func (p *Provider) Supports(op provider.Op) bool { return p.ops[op] }

// Send posts the call's body to the operation's endpoint.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	u, err := p.url(c)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(c.Body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = jsonCT
	if c.Stream {
		h["Accept"] = sseAccept
	}
	if c.Key != nil {
		if p.azure {
			h["Api-Key"] = []string{c.Key.Value}
		} else {
			h["Authorization"] = []string{"Bearer " + c.Key.Value}
		}
	}
	for k, v := range p.headers {
		h[k] = v
	}
	for k, v := range c.Header {
		h[k] = v
	}
	return p.client.Do(req)
}

var (
	jsonCT    = []string{"application/json"}
	sseAccept = []string{"text/event-stream"}
)

func (p *Provider) url(c *provider.Call) (string, error) {
	if !p.azure {
		u, ok := p.paths[c.Op]
		if !ok {
			return "", fmt.Errorf("provider %s (%s) has no %s endpoint", p.name, p.typ, c.Op)
		}
		return u, nil
	}
	// Azure addresses a deployment, not a model, and versions every call.
	dep := c.Model
	if d, ok := p.deploy[c.Model]; ok {
		dep = d
	}
	path, ok := opPaths[c.Op]
	if !ok {
		return "", fmt.Errorf("provider %s (azure) has no %s endpoint", p.name, c.Op)
	}
	if c.Op == provider.OpResponses {
		return p.base + "/openai/responses?api-version=" + url.QueryEscape(p.apiVersion), nil
	}
	return p.base + "/openai/deployments/" + url.PathEscape(dep) + path + "?api-version=" + url.QueryEscape(p.apiVersion), nil
}

// ListModels asks the upstream's /models endpoint.
func (p *Provider) ListModels(ctx context.Context, key *provider.Key) ([]string, error) {
	if p.azure {
		return nil, nil // Azure lists deployments through its management API, not this one
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := provider.NewGet(ctx, p.base+"/models", p.headers)
	if err != nil {
		return nil, err
	}
	if key != nil {
		req.Header.Set("Authorization", "Bearer "+key.Value)
	}
	return listModels(p.client, req)
}
