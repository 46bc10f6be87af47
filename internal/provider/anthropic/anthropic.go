// Package anthropic is the provider for Anthropic's native Messages API (api.anthropic.com or any proxy that
// copies its paths). It speaks the Anthropic dialect: the gateway hands it Messages bodies, and it only adds
// the URL, the x-api-key header and the anthropic-version header.
package anthropic

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

func init() { provider.Register("anthropic", New) }

const (
	// DefaultBaseURL is used when base_url is unset.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version header sent when neither api_version nor the caller sets one.
	DefaultVersion = "2023-06-01"
)

// Provider sends Anthropic-dialect calls to one upstream.
type Provider struct {
	name     string
	base     string
	messages string // full URL of /v1/messages
	count    string // full URL of /v1/messages/count_tokens
	version  []string
	headers  http.Header
	client   *http.Client
}

// Settings are the fields of an anthropic entry beyond the shared ones.
type Settings struct {
	// APIVersion is the anthropic-version header sent when the caller sends none; default DefaultVersion.
	APIVersion string `yaml:"api_version"`
}

// New builds an anthropic provider. Shared fields used: base_url, keys, headers and the timeouts.
func New(cfg provider.Common, s Settings) (provider.Provider, error) {
	var ps confkit.Problems
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps = append(ps, confkit.Problem{Path: "base_url", Msg: fmt.Sprintf("%q is not an http(s) URL", base)})
	}
	ps = append(ps, provider.RequireKey(cfg.Keys)...)
	if len(ps) > 0 {
		return nil, ps
	}
	// Accept both "https://api.anthropic.com" and ".../v1": the paths below carry the version.
	base = strings.TrimSuffix(strings.TrimRight(base, "/"), "/v1")
	version := s.APIVersion
	if version == "" {
		version = DefaultVersion
	}
	p := &Provider{
		name:     cfg.Name,
		base:     base,
		messages: base + "/v1/messages",
		count:    base + "/v1/messages/count_tokens",
		version:  []string{version},
		headers:  provider.ConfiguredHeader(cfg.Headers),
		client:   provider.NewHTTPClient(cfg),
	}
	return p, nil
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is Anthropic Messages.
func (p *Provider) Dialect() dialects.Dialect { return dialects.Anthropic }

// Supports reports chat and messages (both /v1/messages) and count_tokens.
func (p *Provider) Supports(op provider.Op) bool {
	switch op {
	case provider.OpChat, provider.OpMessages, provider.OpCountTokens, provider.OpMessageBatches, provider.OpNative:
		return true
	}
	return false
}

// Send posts the call's body to /v1/messages or /v1/messages/count_tokens with the headers of
// provider.NewJSONPost (so a caller's anthropic-version or anthropic-beta is forwarded), anthropic-version
// unless they set it, then x-api-key.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	var u string
	switch c.Op {
	case provider.OpChat, provider.OpMessages:
		u = p.messages
	case provider.OpCountTokens:
		u = p.count
	default:
		return nil, fmt.Errorf("provider %s (anthropic) has no %s endpoint", p.name, c.Op)
	}
	req, err := provider.NewJSONPost(ctx, u, c.Body, c.Stream, p.headers, c.Header)
	if err != nil {
		return nil, err
	}
	h := req.Header
	// The default version yields to a configured or a caller's one.
	if _, ok := h["Anthropic-Version"]; !ok {
		h["Anthropic-Version"] = p.version
	}
	if c.Key != nil {
		h["X-Api-Key"] = []string{c.Key.Value}
	}
	return p.client.Do(req)
}

// ListModels pages through GET /v1/models.
func (p *Provider) ListModels(ctx context.Context, key *provider.Key) ([]string, error) {
	return provider.ListPages(ctx, func(ctx context.Context, after string) ([]string, string, error) {
		req, err := provider.NewGet(ctx, provider.PageURL(p.base+"/v1/models?limit=1000", "after_id", after), p.headers)
		if err != nil {
			return nil, "", err
		}
		req.Header["Anthropic-Version"] = p.version
		if key != nil {
			req.Header.Set("X-Api-Key", key.Value)
		}
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool   `json:"has_more"`
			LastID  string `json:"last_id"`
		}
		if err := provider.GetJSON(p.client, req, &list); err != nil {
			return nil, "", err
		}
		ids := make([]string, 0, len(list.Data))
		for _, m := range list.Data {
			ids = append(ids, m.ID)
		}
		if !list.HasMore {
			return ids, "", nil
		}
		return ids, list.LastID, nil
	})
}

// SendRaw sends a call to a path of the Anthropic API (message batches, the provider's own routes) with the
// same headers as Send.
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	req, err := provider.NewRawRequest(ctx, c, p.base+c.Path)
	if err != nil {
		return nil, err
	}
	h := req.Header
	if len(h["Anthropic-Version"]) == 0 {
		h["Anthropic-Version"] = p.version
	}
	for k, v := range p.headers {
		h[k] = v
	}
	if c.Key != nil {
		h["X-Api-Key"] = []string{c.Key.Value}
	}
	return p.client.Do(req)
}
