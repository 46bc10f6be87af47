package gemini

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

// SendRaw passes a call to the provider's own API (the /gemini native route) through as it is. c.Path starts
// with the API version the caller's SDK addresses ("/v1beta/models/m:generateContent"), so it replaces the
// version that ends base_url: the caller's SDK knows which version its request is written for. The API key goes
// in x-goog-api-key as in Send; the caller's own credentials (headers, ?key=) are never forwarded. A native path
// that does not name a model's method is answered 404 without being sent (see refusal). OpenAI's
// images/generations is translated for Google's image models instead (see SendImages).
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	if c.Op == provider.OpImages {
		return p.sendImages(ctx, c)
	}
	if c.Op == provider.OpNative {
		if err := checkModelPath(c.Path); err != nil {
			return Refusal(http.StatusNotFound, err.Error()), nil
		}
	}
	rc := *c
	rc.Header = RawHeaders(c.Header, c.Method, c.RawQuery)
	rc.RawQuery = DropQueryKey(c.RawQuery)
	req, err := provider.NewRawRequest(ctx, &rc, p.rawURL(c.Path))
	if err != nil {
		return nil, err
	}
	h := req.Header
	for k, v := range p.headers {
		h[k] = v
	}
	if c.Key != nil {
		h["X-Goog-Api-Key"] = []string{c.Key.Value}
	}
	return p.client.Do(req)
}

// checkModelPath accepts a native call's path only in the form /{version}/models/{model}:{method}, the model
// one escaped segment and the method a name, so that no caller-chosen path segment ("..", or a '/' or '?'
// unescaped from the caller's URL) can point Weir's key at another resource of the API.
func checkModelPath(path string) error {
	bad := fmt.Errorf("path %q is not /{version}/models/{model}:{method}", path)
	rest, ok := strings.CutPrefix(path, "/")
	ver, rest, ok2 := strings.Cut(rest, "/")
	rest, ok3 := strings.CutPrefix(rest, "models/")
	i := strings.LastIndexByte(rest, ':')
	if !ok || !ok2 || !ok3 || !isAPIVersion(ver) || i <= 0 || strings.ContainsAny(rest[:i], "/?#") || !IsMethod(rest[i+1:]) {
		return bad
	}
	return nil
}

// IsMethod reports whether s is a custom method name: generateContent, streamGenerateContent, countTokens.
func IsMethod(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// Refusal is the answer to a call SendRaw does not send because the upstream could only refuse it (or must not
// see it): an error written as Google's APIs write theirs, {"error":{"code","message","status"}}. A caller's
// mistake thus reaches the gateway as the client error it is, not as a failure of the provider, which would be
// retried and count against the provider's circuit breaker.
func Refusal(status int, msg string) *http.Response {
	st := "INVALID_ARGUMENT"
	if status == http.StatusNotFound {
		st = "NOT_FOUND"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}})
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}},
		Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b))}
}

// rawURL joins path to the API root: base_url without its trailing version segment when path names its own
// version, base_url itself otherwise.
func (p *Provider) rawURL(path string) string {
	if v, _, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/"); ok && isAPIVersion(v) {
		if root, last, ok := cutLastSegment(p.base); ok && isAPIVersion(last) {
			return root + path
		}
	}
	return p.base + path
}

// cutLastSegment splits the last path segment off a URL without query ("https://h/a/v1beta" → "https://h/a",
// "v1beta"); ok is false when the URL has no path.
func cutLastSegment(u string) (root, last string, ok bool) {
	scheme := strings.Index(u, "://")
	if scheme < 0 {
		return "", "", false
	}
	host := scheme + len("://")
	slash := strings.IndexByte(u[host:], '/')
	if slash < 0 {
		return "", "", false
	}
	i := strings.LastIndexByte(u, '/')
	return u[:i], u[i+1:], i >= host+slash
}

// isAPIVersion reports whether s looks like a Google API version segment: v1, v1beta, v1alpha, v2beta3.
func isAPIVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9' {
		return false
	}
	rest := strings.TrimLeft(s[1:], "0123456789")
	for _, stage := range []string{"alpha", "beta"} {
		if r, ok := strings.CutPrefix(rest, stage); ok {
			rest = strings.TrimLeft(r, "0123456789")
			break
		}
	}
	return rest == ""
}

// RawHeaders keeps the caller headers the Gemini API reads (content type, accept, trace context) and nothing
// else: no credential of the caller's reaches the upstream.
func RawHeaders(in http.Header, method, query string) http.Header {
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

// DropQueryKey removes an API key given as ?key= (the caller's, not the provider's) from a query string.
func DropQueryKey(q string) string {
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
