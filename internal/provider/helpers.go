package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/weir-gateway/weir/internal/confkit"
)

// GetJSON performs req and decodes a 200 answer into v (at most 8 MiB); model listings use it.
func GetJSON(c *http.Client, req *http.Request, v any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Redacted(), resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(v)
}

// Shared and never modified, so that setting them costs Send no allocation.
var (
	jsonType   = []string{"application/json"}
	eventsType = []string{"text/event-stream"}
)

// NewJSONPost builds the POST of a JSON body to u that the providers' Send makes (all but openai's, whose
// configured and call headers may replace its key), so that the headers' precedence is the same for them. Headers, later winning: Content-Type, Accept: text/event-stream when stream
// is set, the configured headers, then the call's headers (canonicalised, so a caller's "x-foo" replaces a
// configured "X-Foo" instead of both being sent). The provider sets its credential afterwards, so that neither
// the configuration nor a caller can replace it.
func NewJSONPost(ctx context.Context, u string, body []byte, stream bool, configured, call http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = jsonType
	if stream {
		h["Accept"] = eventsType
	}
	for k, v := range configured {
		h[k] = v
	}
	for k, v := range call {
		h[http.CanonicalHeaderKey(k)] = v
	}
	return req, nil
}

// ConfiguredHeader is the headers of a provider entry as every provider keeps them: canonical, so that a call's
// header of any case replaces the configured one.
func ConfiguredHeader(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// NewGet builds a GET of u with the configured headers, as model listings send it; the provider adds its
// credential.
func NewGet(ctx context.Context, u string, configured http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range configured {
		req.Header[k] = v
	}
	return req, nil
}

// PageURL is u, which has a query already, asking for the page at cursor with the query parameter param; the
// first page (cursor "") is u itself.
func PageURL(u, param, cursor string) string {
	if cursor == "" {
		return u
	}
	return u + "&" + param + "=" + url.QueryEscape(cursor)
}

// Bounds of ListPages: the gateway refreshes the listings one provider after another, so an upstream that is
// slow or never stops paging must not hold up the rest.
const (
	listTimeout = 10 * time.Second
	listPages   = 20
)

// ListPages collects a paged model listing. page fetches the page at cursor ("" for the first) and returns
// its ids and the next cursor. Paging stops at an empty cursor, at a cursor equal to the last one (an upstream
// repeating itself would otherwise loop to the bound), or after 20 pages; an error from page ends the listing
// with that error and no ids. The whole listing has 10 s.
func ListPages(ctx context.Context, page func(ctx context.Context, cursor string) (ids []string, next string, err error)) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	var all []string
	cursor := ""
	for range listPages {
		ids, next, err := page(ctx, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, ids...)
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return all, nil
}

// RequireKey reports a problem unless at least one key has a value, naming the likely cause when every
// configured key is empty (an unset ${VAR}).
func RequireKey(keys []KeyConfig) confkit.Problems {
	for _, k := range keys {
		if k.Value != "" {
			return nil
		}
	}
	msg := "at least one key is required"
	if len(keys) > 0 {
		msg = "every key is empty (is its ${VAR} set?)"
	}
	return confkit.Problems{{Path: "keys", Msg: msg}}
}

// NewRawRequest builds the upstream request of a RawCall addressed to u, with the call's headers; the provider
// adds its own headers and credentials.
func NewRawRequest(ctx context.Context, c *RawCall, u string) (*http.Request, error) {
	if c.RawQuery != "" {
		u += "?" + c.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, u, c.Body)
	if err != nil {
		return nil, err
	}
	if c.Body != nil {
		req.ContentLength = c.ContentLength
	}
	for k, v := range c.Header {
		if !credentialHeaders[http.CanonicalHeaderKey(k)] {
			req.Header[k] = v
		}
	}
	return req, nil
}

// credentialHeaders are never forwarded from a caller: the provider authenticates with its own key.
var credentialHeaders = map[string]bool{"Authorization": true, "X-Api-Key": true, "Api-Key": true,
	"X-Goog-Api-Key": true, "X-Weir-Vk": true, "Cookie": true}
