// Package gemini is the provider for the Google AI Studio Gemini API (generativelanguage.googleapis.com). It
// speaks the Gemini generateContent dialect and authenticates with the x-goog-api-key header. Gemini on
// Vertex AI is the vertex provider.
package gemini

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
		headers: http.Header{},
		client:  provider.NewHTTPClient(cfg),
	}
	for k, v := range cfg.Headers {
		p.headers.Set(k, v)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(c.Body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = jsonCT
	if c.Stream && c.Op == provider.OpChat {
		h["Accept"] = sseAccept
	}
	for k, v := range p.headers {
		h[k] = v
	}
	for k, v := range c.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	if c.Key != nil {
		h["X-Goog-Api-Key"] = []string{c.Key.Value}
	}
	return p.client.Do(req)
}

// ListModels pages through GET {base}/models, returning ids without the "models/" prefix.
func (p *Provider) ListModels(ctx context.Context, key *provider.Key) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var ids []string
	token := ""
	for page := 0; page < 20; page++ {
		u := p.base + "/models?pageSize=1000"
		if token != "" {
			u += "&pageToken=" + url.QueryEscape(token)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range p.headers {
			req.Header[k] = v
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
			return nil, err
		}
		for _, m := range list.Models {
			ids = append(ids, strings.TrimPrefix(m.Name, "models/"))
		}
		if list.NextPageToken == "" || list.NextPageToken == token {
			break
		}
		token = list.NextPageToken
	}
	return ids, nil
}
