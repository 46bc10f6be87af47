package vertex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/weir-gateway/weir/internal/provider"
)

// SendRaw passes a Gemini call of the native /gemini route through as it is. The caller's SDK addresses AI
// Studio's layout, "/{version}/models/{model}:{method}"; Vertex serves the same bodies at
// "{base}/publishers/google/models/{model}:{method}", with its own API version in base. The bearer token is
// minted as in Send; the caller's own credentials (headers, ?key=) are never forwarded. Claude models are not
// served here (their native API is Anthropic's): they are refused 400, and any other path 404, without being
// sent (see refusal). OpenAI's images/generations is translated for Google's image models instead (see
// sendImages).
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	if c.Op == provider.OpImages {
		return p.sendImages(ctx, c)
	}
	u, status, err := p.rawURL(c)
	if err != nil {
		return refusal(status, err.Error()), nil
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
	rc.Header = rawHeaders(c.Header, c.Method, c.RawQuery)
	rc.RawQuery = dropQueryKey(c.RawQuery)
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
	if i <= 0 || strings.ContainsAny(rest[:i], "/?#") || !isMethod(rest[i+1:]) {
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

// refusal is the answer to a call SendRaw does not send because the upstream could only refuse it (or must not
// see it): an error written as Google's APIs write theirs, {"error":{"code","message","status"}}. A caller's
// mistake thus reaches the gateway as the client error it is, not as a failure of the provider, which would be
// retried and count against the provider's circuit breaker.
func refusal(status int, msg string) *http.Response {
	st := "INVALID_ARGUMENT"
	if status == http.StatusNotFound {
		st = "NOT_FOUND"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}})
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b))}
}

// isMethod reports whether s is a custom method name: generateContent, streamGenerateContent, countTokens. A
// method is never a path: no '/', '.', '?' the caller could have unescaped into it.
func isMethod(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// rawHeaders keeps the caller headers the Gemini API reads (content type, accept, trace context) and nothing
// else: no credential of the caller's reaches the upstream. (The same as the gemini provider's.)
func rawHeaders(in http.Header, method, query string) http.Header {
	h := http.Header{}
	for _, k := range []string{"Content-Type", "Accept", "Traceparent", "Tracestate"} {
		if v := in[k]; len(v) > 0 {
			h[k] = v
		}
	}
	if len(h["Content-Type"]) == 0 && method != http.MethodGet && method != http.MethodDelete {
		h["Content-Type"] = jsonCT
	}
	if len(h["Accept"]) == 0 {
		if q, _ := url.ParseQuery(query); q.Get("alt") == "sse" {
			h["Accept"] = sseAccept
		}
	}
	return h
}

// dropQueryKey removes an API key given as ?key= (the caller's, not the provider's) from a query string.
func dropQueryKey(q string) string {
	if q == "" {
		return q
	}
	parts := strings.Split(q, "&")
	kept := parts[:0]
	for _, s := range parts {
		name, _, _ := strings.Cut(s, "=")
		if n, _ := url.QueryUnescape(name); n == "key" {
			continue
		}
		kept = append(kept, s)
	}
	return strings.Join(kept, "&")
}
