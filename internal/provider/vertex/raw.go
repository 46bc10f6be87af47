package vertex

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/provider/gemini"
)

// SendRaw passes a Gemini call of the native /gemini route through as it is. The caller's SDK addresses AI
// Studio's layout, "/{version}/models/{model}:{method}"; Vertex serves the same bodies at
// "{base}/publishers/google/models/{model}:{method}", with its own API version in base. The bearer token is
// minted as in Send; the caller's own credentials (headers, ?key=) are never forwarded. Claude models are not
// served here (their native API is Anthropic's): they are refused 400, and any other path 404, without being
// sent (see gemini.Refusal). OpenAI's images/generations is translated for Google's image models instead (see
// sendImages).
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	if c.Op == provider.OpImages {
		return p.sendImages(ctx, c)
	}
	u, status, err := p.rawURL(c)
	if err != nil {
		return gemini.Refusal(status, err.Error()), nil
	}
	ts := p.tokens
	if c.Key != nil {
		if k, ok := p.byKey[c.Key.Value]; ok {
			ts = k
		}
	}
	tok, err := ts.Token()
	if err != nil {
		return nil, fmt.Errorf("provider %s (vertex): getting an access token: %w", p.name, err)
	}
	rc := *c
	rc.Header = gemini.RawHeaders(c.Header, c.Method, c.RawQuery)
	rc.RawQuery = gemini.DropQueryKey(c.RawQuery)
	req, err := provider.NewRawRequest(ctx, &rc, u)
	if err != nil {
		return nil, err
	}
	h := req.Header
	for k, v := range p.headers {
		h[k] = v
	}
	h["Authorization"] = []string{tok.Type() + " " + tok.AccessToken}
	return p.client.Do(req)
}

// rawURL maps "/{version}/models/{model}:{method}" to the model's Vertex endpoint; a path it cannot map is
// refused with the status returned.
func (p *Provider) rawURL(c *provider.RawCall) (string, int, error) {
	bad := fmt.Errorf("path %q is not /{version}/models/{model}:{method}", c.Path)
	rest := strings.TrimPrefix(c.Path, "/")
	if _, after, ok := strings.Cut(rest, "/"); ok && strings.HasPrefix(after, "models/") {
		rest = strings.TrimPrefix(after, "models/")
	} else {
		return "", http.StatusNotFound, bad
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 || strings.ContainsAny(rest[:i], "/?#") || !gemini.IsMethod(rest[i+1:]) {
		return "", http.StatusNotFound, bad
	}
	seg, method := rest[:i], rest[i+1:]
	model, err := url.PathUnescape(seg)
	if err != nil {
		return "", http.StatusNotFound, bad
	}
	if isClaude(model) {
		return "", http.StatusBadRequest, fmt.Errorf("model %s is a Claude model: Vertex AI serves it with Anthropic's Messages API, not generateContent", model)
	}
	return p.base + "/publishers/google/models/" + url.PathEscape(model) + ":" + method, 0, nil
}
