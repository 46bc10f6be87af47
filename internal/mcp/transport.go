package mcp

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/weir-gateway/weir/internal/telemetry"
)

// transport builds the SDK client transport of one server; a remote one's requests go through hc. A stdio
// server's process is started by Connect; closing the session closes its stdin and, after terminateAfter,
// terminates it.
func (u *upstream) transport(hc *http.Client) sdk.Transport {
	c := u.cfg
	switch c.Transport {
	case TransportStdio:
		cmd := exec.Command(c.Command[0], c.Command[1:]...)
		cmd.Env = os.Environ()
		for k, v := range c.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stderr = &logWriter{log: u.log}
		return &sdk.CommandTransport{Command: cmd, TerminateDuration: terminateAfter}
	case TransportSSE:
		return &sdk.SSEClientTransport{Endpoint: c.URL, HTTPClient: hc}
	default:
		return &sdk.StreamableClientTransport{Endpoint: c.URL, HTTPClient: hc, MaxRetries: -1}
	}
}

// terminateAfter is how long a stdio server has to exit after its stdin closes before it is sent SIGTERM.
const terminateAfter = 2 * time.Second

// httpClient is the remote server's client: its configured headers on every request, and a client-credentials
// token when oauth is set. Nothing of the calling client's request (its credential above all) is ever added.
func (u *upstream) httpClient(ctx context.Context) *http.Client {
	base := u.g.httpTransport
	var rt http.RoundTripper = headerTransport{base: base, headers: u.cfg.Headers}
	if o := u.cfg.OAuth; o != nil {
		cc := &clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL, Scopes: o.Scopes}
		if o.Audience != "" {
			cc.EndpointParams = map[string][]string{"audience": {o.Audience}}
		}
		// The token endpoint is reached without the server's headers; the token source caches and refreshes.
		tctx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: base, Timeout: 30 * time.Second})
		rt = &oauth2.Transport{Source: cc.TokenSource(tctx), Base: rt}
	}
	return &http.Client{Transport: rt}
}

// newHTTPTransport is the remote servers' connection pool. http.DefaultTransport keeps 2 idle connections per
// host: at a few hundred calls a second (and the several calls in flight that means) most calls would open a
// new TCP connection and leave one in TIME_WAIT.
func newHTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	return t
}

// headerTransport adds fixed headers, and the trace context when tracing is on, to each request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tracing := telemetry.TracingEnabled()
	if len(t.headers) == 0 && !tracing {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	if tracing {
		telemetry.InjectHeaders(r.Context(), r.Header) // the tool call's span, when the SDK sends with the call's context
	}
	return t.base.RoundTrip(r)
}

// logWriter sends a stdio server's stderr to the log, one record per line. exec's copier calls Write from one
// goroutine, which ends with the process.
type logWriter struct {
	log *slog.Logger
	buf []byte
}

// maxLogLine bounds a buffered stderr line; a longer one is logged in pieces.
const maxLogLine = 16 << 10

func (w *logWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) >= maxLogLine {
				w.log.Info("mcp server stderr", "line", string(w.buf))
				w.buf = w.buf[:0]
			}
			return len(p), nil
		}
		w.log.Info("mcp server stderr", "line", string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
}
