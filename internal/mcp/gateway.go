package mcp

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/requestlog"
)

// Options are what the gateway needs from the rest of Weir.
type Options struct {
	// Gov authenticates callers and admits their tool calls (rate limits, budgets). Required to serve /mcp.
	Gov *governance.Service
	Log *slog.Logger
	// Version is Weir's, sent to upstream servers as the client's version.
	Version string
	// HTTPTransport carries requests to remote servers (default: a keep-alive pool of up to 256 idle
	// connections per server).
	HTTPTransport http.RoundTripper
	// Metrics, when set, gets weir_mcp_tool_calls_total and weir_mcp_tool_call_duration_seconds.
	Metrics prometheus.Registerer
	// RequestLog, when set, gets one record per tool call; LogContent adds arguments and results, truncated
	// to LogContentBytes.
	RequestLog      *requestlog.Writer
	LogContent      bool
	LogContentBytes int
}

// Gateway owns the sessions to the configured MCP servers and serves their tools to governed callers.
type Gateway struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	sdkLog *slog.Logger // the SDK's own logging, warnings only: it logs every stateless request at info
	ups    []*upstream
	byName map[string]*upstream
	obs    *observer
	// httpTransport carries requests to remote servers: Options.HTTPTransport or a pool of Weir's own.
	httpTransport http.RoundTripper

	// fastCalls counts the tools/calls the fast path answered; noFastPath sends every request to the SDK
	// handler (the tests compare the two).
	fastCalls  atomic.Int64
	noFastPath bool
	// relayedCalls counts the calls a relay made (the rest of the fast path's went through the SDK client).
	relayedCalls atomic.Int64

	startOnce sync.Once
	cancel    context.CancelFunc
}

// New builds the gateway; Start connects to the servers. cfg must be validated with its defaults applied.
func New(cfg Config, opts Options) *Gateway {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, opts: opts, log: opts.Log, byName: map[string]*upstream{},
		sdkLog: slog.New(minLevel{Handler: opts.Log.Handler(), min: slog.LevelWarn})}
	g.obs = newObserver(opts)
	g.httpTransport = opts.HTTPTransport
	if g.httpTransport == nil {
		g.httpTransport = newHTTPTransport()
	}
	for _, sc := range cfg.Servers {
		u := newUpstream(g, sc)
		g.ups = append(g.ups, u)
		g.byName[sc.Name] = u
	}
	return g
}

// Enabled reports whether any server is configured.
func (g *Gateway) Enabled() bool { return g != nil && len(g.ups) > 0 }

// Start connects to every server and keeps each connected (stdio servers started and restarted with backoff)
// until Close. It waits up to StartupWait for every server's first connection attempt, so the first tools/list
// after start is complete; a server that is down or slow holds up neither the others nor Start beyond that.
func (g *Gateway) Start(ctx context.Context) {
	g.startOnce.Do(func() {
		ctx, g.cancel = context.WithCancel(ctx)
		for _, u := range g.ups {
			go u.run(ctx)
		}
		deadline := time.NewTimer(StartupWait)
		defer deadline.Stop()
		for _, u := range g.ups {
			select {
			case <-u.first:
			case <-deadline.C:
				return
			}
		}
	})
}

// StartupWait bounds how long Start waits for the servers' first connections.
const StartupWait = 5 * time.Second

// Close ends every session (stdio servers' processes are ended) and waits for the supervisors to stop.
func (g *Gateway) Close() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	for _, u := range g.ups {
		<-u.done
	}
	if t, ok := g.httpTransport.(*http.Transport); ok && g.opts.HTTPTransport == nil {
		t.CloseIdleConnections()
	}
}

// Servers reports each server's state, in configuration order.
func (g *Gateway) Servers() []Status {
	out := make([]Status, 0, len(g.ups))
	for _, u := range g.ups {
		out = append(out, u.status())
	}
	return out
}

// Filter narrows Tools to some servers and tools (an agent loop's request names them). Empty fields do not
// narrow; the principal's allow-list always applies.
type Filter struct {
	// Servers are server names.
	Servers []string
	// Tools are tool names as their server names them (not namespaced), as the Responses API's allowed_tools.
	Tools []string
}

// Tool is one tool a principal may call.
type Tool struct {
	// Server is the owning server's name.
	Server string
	// Name is the namespaced name to call it by (server + separator + the server's name for it).
	Name string
	// Def is the tool's definition under its namespaced name: description, input and output schemas.
	Def *sdk.Tool
	// Price is what one call costs the key, in USD.
	Price float64
}

// Tools lists the tools p may call, narrowed by f, in configuration then server order. Servers that are down
// contribute none. It never contacts a server (the lists are cached).
func (g *Gateway) Tools(ctx context.Context, p *governance.Principal, f Filter) ([]Tool, error) {
	var out []Tool
	for _, u := range g.ups {
		if len(f.Servers) > 0 && !slices.Contains(f.Servers, u.cfg.Name) {
			continue
		}
		for _, e := range g.allowedTools(p, u) {
			if len(f.Tools) > 0 && !slices.Contains(f.Tools, e.name) {
				continue
			}
			out = append(out, Tool{Server: u.cfg.Name, Name: e.full, Def: e.named, Price: e.price.USDFloat()})
		}
	}
	return out, nil
}

// allowedTools is u's tools that p may see and call.
func (g *Gateway) allowedTools(p *governance.Principal, u *upstream) []*toolEntry {
	if !p.AllowsMCPServer(u.cfg.Name) {
		return nil
	}
	c := u.cat.Load()
	if c == nil {
		return nil
	}
	out := make([]*toolEntry, 0, len(c.tools))
	for _, e := range c.tools {
		if p.AllowsMCPTool(u.cfg.Name, e.full) {
			out = append(out, e)
		}
	}
	return out
}

// split finds the server of a namespaced name and the server's own name.
func (g *Gateway) split(name string) (*upstream, string) {
	server, rest, ok := strings.Cut(name, g.cfg.Separator)
	if !ok {
		return nil, ""
	}
	return g.byName[server], rest
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
