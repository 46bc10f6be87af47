package provider

import (
	"net"
	"net/http"
	"time"
)

// NewHTTPClient returns a client tuned for one upstream: a keep-alive pool sized to the provider's worker count
// (so steady load never dials), HTTP/2 when the upstream offers it over TLS, and dial and header timeouts. The
// total deadline comes from the request's context, not from the client, so streams are not cut off.
func NewHTTPClient(cfg Common) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout.D(), KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   max(cfg.Concurrency, 16),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.ConnectTimeout.D(),
		ResponseHeaderTimeout: cfg.Timeout.D(),
		ExpectContinueTimeout: time.Second,
		// The gateway reads usage from answers and streams them through as they come: compression would
		// force it to inflate every byte and hide chunk boundaries.
		DisableCompression: true,
		WriteBufferSize:    16 << 10,
		ReadBufferSize:     16 << 10,
	}
	return &http.Client{
		Transport: t,
		// Redirects from an LLM API are not expected; following them could replay a body to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
