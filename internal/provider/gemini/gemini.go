// Package gemini is the provider for the Google AI Studio Gemini API (generativelanguage.googleapis.com). It
// speaks the Gemini generateContent dialect and authenticates with the x-goog-api-key header. Gemini on
// Vertex AI is the vertex provider.
package gemini

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

func init() { provider.Register("gemini", New) }

const (
	// DefaultHost is the AI Studio API root; the API version is appended to it.
	DefaultHost = "https://generativelanguage.googleapis.com"
	// DefaultAPIVersion is used when neither base_url nor api_version names one.
	DefaultAPIVersion = "v1beta"
)

// Provider sends Gemini-dialect calls to one upstream.
type Provider struct {
	name    string
	base    string // including the API version, e.g. https://generativelanguage.googleapis.com/v1beta
	headers http.Header
	client  *http.Client
}

// Settings are the fields of a gemini entry beyond the shared ones.
type Settings struct {
	// APIVersion is the version path put after DefaultHost when base_url is unset; default DefaultAPIVersion.
	APIVersion string `yaml:"api_version"`
}

// New builds a gemini provider. Shared fields used: base_url (including the version path), keys, headers and
// the timeouts.
func New(cfg provider.Common, s Settings) (provider.Provider, error) {
	var ps confkit.Problems
	base := cfg.BaseURL
	if base == "" {
		v := s.APIVersion
		if v == "" {
			v = DefaultAPIVersion
		}
		base = DefaultHost + "/" + v
	} else if s.APIVersion != "" {
		ps = append(ps, confkit.Problem{Path: "api_version", Msg: "put the version in base_url instead (e.g. " + DefaultHost + "/v1beta)"})
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps = append(ps, confkit.Problem{Path: "base_url", Msg: fmt.Sprintf("%q is not an http(s) URL", base)})
	}
	ps = append(ps, provider.RequireKey(cfg.Keys)...)
	if len(ps) > 0 {
		return nil, ps
	}
	p := &Provider{
		name:    cfg.Name,
		base:    strings.TrimRight(base, "/"),
		headers: provider.ConfiguredHeader(cfg.Headers),
		client:  provider.NewHTTPClient(cfg),
	}
	return p, nil
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is Gemini generateContent.
func (p *Provider) Dialect() dialects.Dialect { return dialects.Gemini }

// Supports reports chat, embeddings and count_tokens, the native /gemini routes, and image generations on
// Imagen and Gemini image models (SendRaw).
func (p *Provider) Supports(op provider.Op) bool {
	switch op {
	case provider.OpChat, provider.OpEmbeddings, provider.OpCountTokens, provider.OpNative, provider.OpImages:
		return true
	}
	return false
}

var (
	jsonCT    = []string{"application/json"}
	sseAccept = []string{"text/event-stream"}
)

// URL returns the endpoint of op for model: {base}/models/{model}:{method}. A model already naming its
// collection ("models/x", "tunedModels/x") is used as is.
func (p *Provider) URL(op provider.Op, model string, stream bool) (string, error) {
	var method string
	switch op {
	case provider.OpChat:
		method = ":generateContent"
		if stream {
			method = ":streamGenerateContent?alt=sse"
		}
	case provider.OpEmbeddings:
		method = ":batchEmbedContents"
	case provider.OpCountTokens:
		method = ":countTokens"
	default:
		return "", fmt.Errorf("has no %s endpoint", op)
	}
	if model == "" {
		return "", fmt.Errorf("no model given")
	}
	return p.base + "/" + modelPath(model) + method, nil
}

// modelPath is "models/{model}" with the model id escaped as a path segment; a "tunedModels/x" or
// "models/x" name keeps its collection.
func modelPath(model string) string {
	if coll, id, ok := strings.Cut(model, "/"); ok && (coll == "models" || coll == "tunedModels") {
		return coll + "/" + url.PathEscape(id)
	}
	return "models/" + url.PathEscape(model)
}

// Send posts the call's body to the model's method. The API key goes in x-goog-api-key, never in the URL,
// so it cannot leak into logs of the URL.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	u, err := p.URL(c.Op, c.Model, c.Stream)
	if err != nil {
		return nil, fmt.Errorf("provider %s (gemini): %w", p.name, err)
	}
	// Only generateContent streams; the other methods answer in one piece.
	req, err := provider.NewJSONPost(ctx, u, c.Body, c.Stream && c.Op == provider.OpChat, p.headers, c.Header)
	if err != nil {
		return nil, err
	}
	if c.Key != nil {
		req.Header["X-Goog-Api-Key"] = []string{c.Key.Value}
	}
	return p.client.Do(req)
}

// ListModels pages through GET {base}/models, returning ids without the "models/" prefix.
func (p *Provider) ListModels(ctx context.Context, key *provider.Key) ([]string, error) {
	return provider.ListPages(ctx, func(ctx context.Context, token string) ([]string, string, error) {
		req, err := provider.NewGet(ctx, provider.PageURL(p.base+"/models?pageSize=1000", "pageToken", token), p.headers)
		if err != nil {
			return nil, "", err
		}
		if key != nil {
			req.Header.Set("X-Goog-Api-Key", key.Value)
		}
		var list struct {
			Models []struct {
				Name string `json:"name"`
			} `json:"models"`
			NextPageToken string `json:"nextPageToken"`
		}
		if err := provider.GetJSON(p.client, req, &list); err != nil {
			return nil, "", err
		}
		ids := make([]string, 0, len(list.Models))
		for _, m := range list.Models {
			ids = append(ids, strings.TrimPrefix(m.Name, "models/"))
		}
		return ids, list.NextPageToken, nil
	})
}
