package vertex

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/provider/gemini"
)

// sendImages serves OpenAI's images/generations on Vertex's Google image models, translated as the gemini
// provider translates it (gemini.SendImages): Imagen through
// {base}/publishers/google/models/{model}:predict, Gemini image models through :generateContent, with the
// bearer token minted as in Send. Claude models make no images: they are refused 400 without being sent.
func (p *Provider) sendImages(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	if isClaude(c.Model) {
		return gemini.Refusal(http.StatusBadRequest, fmt.Sprintf("model %s is a Claude model: it does not generate images", c.Model)), nil
	}
	return gemini.SendImages(ctx, c, func(ctx context.Context, model, action string, body []byte) (*http.Response, error) {
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
		u := p.base + "/publishers/google/models/" + url.PathEscape(model) + ":" + action
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		h := gemini.ImagesHeaders(c.Header)
		for k, v := range p.headers {
			h[k] = v
		}
		h["Authorization"] = []string{tok.Type() + " " + tok.AccessToken}
		req.Header = h
		return p.client.Do(req)
	})
}
