package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

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
