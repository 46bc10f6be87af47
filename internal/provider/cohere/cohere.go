// Package cohere is the provider for Cohere's v2 API (api.cohere.com). It speaks the Cohere Chat v2 dialect
// and authenticates with a Bearer key. Streaming is chosen by the body's "stream" field, which the translator
// sets; the URL is the same.
package cohere

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

func init() { provider.Register("cohere", New) }

// DefaultBaseURL is used when base_url is unset.
const DefaultBaseURL = "https://api.cohere.com"

// Provider sends Cohere-dialect calls to one upstream.
type Provider struct {
	name    string
	base    string
	urls    map[provider.Op]string
	headers http.Header
	client  *http.Client
}

var opPaths = map[provider.Op]string{
	provider.OpChat:       "/v2/chat",
	provider.OpEmbeddings: "/v2/embed",
	provider.OpRerank:     "/v2/rerank",
}

// New builds a cohere provider. Fields used: base_url, keys, headers and the timeouts; the type has no
// settings of its own.
func New(cfg provider.Common, _ struct{}) (provider.Provider, error) {
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
	base = strings.TrimRight(base, "/")
	for _, v := range []string{"/v2", "/v1"} { // the paths carry the version
		base = strings.TrimSuffix(base, v)
	}
	p := &Provider{
		name:    cfg.Name,
		base:    base,
		urls:    map[provider.Op]string{},
		headers: provider.ConfiguredHeader(cfg.Headers),
		client:  provider.NewHTTPClient(cfg),
	}
	for op, path := range opPaths {
		p.urls[op] = base + path
	}
	return p, nil
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is Cohere Chat v2.
func (p *Provider) Dialect() dialects.Dialect { return dialects.Cohere }

// Supports reports chat and embeddings.
func (p *Provider) Supports(op provider.Op) bool {
	return op == provider.OpChat || op == provider.OpEmbeddings || op == provider.OpRerank || op == provider.OpNative
}

// SendRaw sends a rerank (at /v2/rerank unless the call names a path) or a call to the provider's own routes.
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	u := p.base + c.Path
	if c.Path == "" {
		u = p.urls[provider.OpRerank]
	}
	req, err := provider.NewRawRequest(ctx, c, u)
	if err != nil {
		return nil, err
	}
	for k, v := range p.headers {
		req.Header[k] = v
	}
	if c.Key != nil {
		req.Header["Authorization"] = []string{"Bearer " + c.Key.Value}
	}
	return p.client.Do(req)
}

// Send posts the call's body to /v2/chat, /v2/embed or /v2/rerank with the headers of provider.NewJSONPost and
// the key as a Bearer token.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	u, ok := p.urls[c.Op]
	if !ok {
		return nil, fmt.Errorf("provider %s (cohere) has no %s endpoint", p.name, c.Op)
	}
	req, err := provider.NewJSONPost(ctx, u, c.Body, c.Stream, p.headers, c.Header)
	if err != nil {
		return nil, err
	}
	if c.Key != nil {
		req.Header["Authorization"] = []string{"Bearer " + c.Key.Value}
	}
	return p.client.Do(req)
}

// ListModels pages through GET /v1/models (Cohere has no v2 model list).
func (p *Provider) ListModels(ctx context.Context, key *provider.Key) ([]string, error) {
	return provider.ListPages(ctx, func(ctx context.Context, token string) ([]string, string, error) {
		req, err := provider.NewGet(ctx, provider.PageURL(p.base+"/v1/models?page_size=1000", "page_token", token), p.headers)
		if err != nil {
			return nil, "", err
		}
		if key != nil {
			req.Header.Set("Authorization", "Bearer "+key.Value)
		}
		var list struct {
			Models []struct {
				Name string `json:"name"`
			} `json:"models"`
			NextPageToken string `json:"next_page_token"`
		}
		if err := provider.GetJSON(p.client, req, &list); err != nil {
			return nil, "", err
		}
		ids := make([]string, 0, len(list.Models))
		for _, m := range list.Models {
			ids = append(ids, m.Name)
		}
		return ids, list.NextPageToken, nil
	})
}
