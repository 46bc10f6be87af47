package openai

import (
	"context"
	"net/http"
	"net/url"

	"github.com/weir-gateway/weir/internal/provider"
)

// deploymentOps are the operations Azure addresses through a deployment; the rest (files, batches) live at the
// resource's root.
var deploymentOps = map[provider.Op]bool{
	provider.OpChat: true, provider.OpCompletions: true, provider.OpEmbeddings: true, provider.OpImages: true,
	provider.OpImageEdits: true, provider.OpSpeech: true, provider.OpTranscriptions: true, provider.OpTranslations: true,
}

// SendRaw sends a call to a path below the API root as it is: a multipart upload, a file download, a batch.
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	u, q := p.rawURL(c)
	rc := *c
	rc.RawQuery = q
	req, err := provider.NewRawRequest(ctx, &rc, u)
	if err != nil {
		return nil, err
	}
	h := req.Header
	for k, v := range p.headers {
		h[k] = v
	}
	if c.Key != nil {
		if p.azure {
			h["Api-Key"] = []string{c.Key.Value}
		} else {
			h["Authorization"] = []string{"Bearer " + c.Key.Value}
		}
	}
	return p.client.Do(req)
}

// rawPaths are the default paths of the operations a RawCall may leave Path empty for.
var rawPaths = map[provider.Op]string{
	provider.OpImages: "/images/generations", provider.OpImageEdits: "/images/edits", provider.OpImageVariation: "/images/variations",
	provider.OpSpeech:         "/audio/speech",
	provider.OpTranscriptions: "/audio/transcriptions", provider.OpTranslations: "/audio/translations",
	provider.OpModerations: "/moderations", provider.OpRerank: "/rerank", provider.OpFiles: "/files",
	provider.OpBatches: "/batches",
}

// rawURL returns the URL (without query) and the query of a raw call.
func (p *Provider) rawURL(c *provider.RawCall) (string, string) {
	path := c.Path
	if path == "" {
		path = rawPaths[c.Op]
	}
	if !p.azure {
		return p.base + path, c.RawQuery
	}
	u := p.base + "/openai"
	if deploymentOps[c.Op] && c.Model != "" {
		dep := c.Model
		if d, ok := p.deploy[c.Model]; ok {
			dep = d
		}
		u += "/deployments/" + url.PathEscape(dep)
	}
	u += path
	q, _ := url.ParseQuery(c.RawQuery)
	if q.Get("api-version") == "" {
		q.Set("api-version", p.apiVersion)
	}
	return u, q.Encode()
}
