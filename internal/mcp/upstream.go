package mcp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/pricing"
)

// Server states, as GET /api/mcp/servers shows them.
const (
	StateConnecting = "connecting"
	StateUp         = "up"
	StateDown       = "down"
	StateStopped    = "stopped"
)

// Reconnect backoff: doubled after each failure, from minBackoff up to maxBackoff; reset once a session is up.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 30 * time.Second
	connectTimeout = 30 * time.Second
	// keepAlive pings a connected server this often; a server that stops answering is reconnected.
	keepAlive = 30 * time.Second
)

// upstream is one configured MCP server: its supervised session and its cached lists.
type upstream struct {
	cfg     ServerConfig
	g       *Gateway
	log     *slog.Logger
	timeout time.Duration

	sess  atomic.Pointer[sdk.ClientSession]
	relay atomic.Pointer[relay]   // sess's relay for /mcp's tools/calls, if it can have one
	cat   atomic.Pointer[catalog] // nil while the server is not up

	mu       sync.Mutex // guards the status fields below
	state    string
	lastErr  string
	since    time.Time
	restarts int

	refreshc chan struct{} // a list_changed notification arrived: fetch the lists again
	brokenc  chan struct{} // a call found the session unusable: reconnect
	first    chan struct{} // closed once the first connection attempt has succeeded or failed
	done     chan struct{}
}

// catalog is a server's lists as last fetched. It is replaced whole, never changed, so readers need no lock.
type catalog struct {
	tools     []*toolEntry
	byName    map[string]*toolEntry // by the server's own tool name
	resources []*sdk.Resource
	templates []*sdk.ResourceTemplate
	byURI     map[string]bool
	prompts   []*promptEntry
	prompt    map[string]*promptEntry
	fetched   time.Time
}

// toolEntry is one upstream tool as the gateway serves it.
type toolEntry struct {
	up   *upstream
	name string    // the server's name for it
	full string    // namespaced: server + separator + name
	tool *sdk.Tool // as the server lists it
	// named is tool under its namespaced name, what /mcp lists.
	named *sdk.Tool
	price pricing.Money
}

type promptEntry struct {
	name   string
	prompt *sdk.Prompt // as the server lists it
	named  *sdk.Prompt // under its namespaced name
}

func newUpstream(g *Gateway, cfg ServerConfig) *upstream {
	timeout := g.cfg.CallTimeout.D()
	if cfg.CallTimeout > 0 {
		timeout = cfg.CallTimeout.D()
	}
	return &upstream{cfg: cfg, g: g, log: g.log.With("mcp_server", cfg.Name, "transport", cfg.Transport), timeout: timeout,
		state: StateConnecting, since: time.Now(),
		refreshc: make(chan struct{}, 1), brokenc: make(chan struct{}, 1), first: make(chan struct{}), done: make(chan struct{})}
}

func (u *upstream) setState(state string, err error) {
	u.mu.Lock()
	if u.state != state {
		u.since = time.Now()
	}
	if state == StateDown && u.state == StateUp {
		u.restarts++
	}
	u.state = state
	if err != nil {
		u.lastErr = err.Error()
	}
	u.mu.Unlock()
	switch {
	case state == StateDown && err != nil:
		u.log.Warn("mcp server down", "err", err)
	case state == StateUp:
		u.log.Info("mcp server up", "tools", len(u.cat.Load().toolsOrNil()))
	}
}

func (c *catalog) toolsOrNil() []*toolEntry {
	if c == nil {
		return nil
	}
	return c.tools
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run keeps a session to the server until ctx ends: connect, fetch the lists, then wait for the session to
// end, a call to find it broken, the lists' TTL, or a list_changed notification; reconnect with backoff.
func (u *upstream) run(ctx context.Context) {
	defer close(u.done)
	var firstOnce sync.Once
	defer firstOnce.Do(func() { close(u.first) })
	backoff := minBackoff
	for {
		u.setState(StateConnecting, nil)
		sess, hc, endConn, err := u.connect(ctx)
		if err == nil {
			if err = u.refresh(ctx, sess); err != nil {
				_ = sess.Close()
			}
		}
		if err == nil {
			backoff = minBackoff
			u.sess.Store(sess)
			u.relay.Store(newRelay(u, sess, hc))
			u.setState(StateUp, nil)
			firstOnce.Do(func() { close(u.first) })
			err = u.serve(ctx, sess)
			u.sess.Store(nil)
			u.relay.Store(nil)
			u.cat.Store(nil)
			_ = sess.Close() // a stdio server's process is ended here
		}
		endConn()
		if ctx.Err() != nil {
			u.setState(StateStopped, nil)
			return
		}
		u.setState(StateDown, err)
		firstOnce.Do(func() { close(u.first) })
		select {
		case <-ctx.Done():
			u.setState(StateStopped, nil)
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// connect opens a session, over hc for a remote server. The SSE transport keeps its event stream on the
// context it connects with, so that context lives until endConn (after the session), and only a connection
// not made in connectTimeout cancels it.
func (u *upstream) connect(ctx context.Context) (sess *sdk.ClientSession, hc *http.Client, endConn context.CancelFunc, err error) {
	client := sdk.NewClient(&sdk.Implementation{Name: "weir", Version: u.g.opts.Version}, &sdk.ClientOptions{
		ToolListChangedHandler:     func(context.Context, *sdk.ToolListChangedRequest) { notify(u.refreshc) },
		PromptListChangedHandler:   func(context.Context, *sdk.PromptListChangedRequest) { notify(u.refreshc) },
		ResourceListChangedHandler: func(context.Context, *sdk.ResourceListChangedRequest) { notify(u.refreshc) },
		KeepAlive:                  keepAlive,
		Logger:                     u.g.sdkLog,
	})
	cctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(connectTimeout, cancel)
	if u.cfg.Transport != TransportStdio {
		hc = u.httpClient(cctx)
	}
	sess, err = client.Connect(cctx, u.transport(hc), nil)
	timer.Stop()
	if err != nil {
		cancel()
		return nil, nil, func() {}, err
	}
	return sess, hc, cancel, nil
}

// serve waits for the session's end; meanwhile it refreshes the lists when they expire or change.
func (u *upstream) serve(ctx context.Context, sess *sdk.ClientSession) error {
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	ttl := time.NewTicker(u.g.cfg.ToolListTTL.D())
	defer ttl.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-ended:
			if err == nil {
				err = errors.New("session closed by the server")
			}
			return err
		case <-u.brokenc:
			return errors.New("a call found the connection broken")
		case <-ttl.C:
		case <-u.refreshc:
		}
		if err := u.refresh(ctx, sess); err != nil {
			return err
		}
	}
}

// refresh fetches the server's tools, resources and prompts (those its capabilities declare) into a new catalog.
func (u *upstream) refresh(ctx context.Context, sess *sdk.ClientSession) error {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	caps := &sdk.ServerCapabilities{}
	if ir := sess.InitializeResult(); ir != nil && ir.Capabilities != nil {
		caps = ir.Capabilities
	}
	sep := u.g.cfg.Separator
	c := &catalog{byName: map[string]*toolEntry{}, byURI: map[string]bool{}, prompt: map[string]*promptEntry{}, fetched: time.Now()}
	if caps.Tools != nil {
		for t, err := range sess.Tools(ctx, nil) {
			if err != nil {
				return err
			}
			named := *t
			named.Name = u.cfg.Name + sep + t.Name
			e := &toolEntry{up: u, name: t.Name, full: named.Name, tool: t, named: &named, price: u.price(t.Name)}
			c.tools = append(c.tools, e)
			c.byName[t.Name] = e
		}
	}
	if caps.Resources != nil {
		for r, err := range sess.Resources(ctx, nil) {
			if err != nil {
				return err
			}
			c.resources = append(c.resources, r)
			c.byURI[r.URI] = true
		}
		for rt, err := range sess.ResourceTemplates(ctx, nil) {
			if err != nil {
				break // optional: a server with resources need not have templates
			}
			c.templates = append(c.templates, rt)
		}
	}
	if caps.Prompts != nil {
		for p, err := range sess.Prompts(ctx, nil) {
			if err != nil {
				return err
			}
			named := *p
			named.Name = u.cfg.Name + sep + p.Name
			e := &promptEntry{name: p.Name, prompt: p, named: &named}
			c.prompts = append(c.prompts, e)
			c.prompt[p.Name] = e
		}
	}
	u.cat.Store(c)
	return nil
}

// price is one call's price of tool.
func (u *upstream) price(tool string) pricing.Money {
	if p, ok := u.cfg.ToolPrices[tool]; ok {
		return pricing.FromUSD(p)
	}
	if p, ok := u.cfg.ToolPrices["*"]; ok {
		return pricing.FromUSD(p)
	}
	return 0
}

// Status is one server as GET /api/mcp/servers shows it.
type Status struct {
	Name      string    `json:"name"`
	Transport string    `json:"transport"`
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	Tools     int       `json:"tools"`
	// ToolNames are the server's own names of its tools, in listing order (empty unless up).
	ToolNames []string `json:"tool_names"`
	Resources int      `json:"resources"`
	Prompts   int      `json:"prompts"`
	// ListedAt is when the lists were last fetched (absent while the server is not up).
	ListedAt  *time.Time `json:"listed_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Restarts  int        `json:"restarts"`
}

func (u *upstream) status() Status {
	u.mu.Lock()
	s := Status{Name: u.cfg.Name, Transport: u.cfg.Transport, State: u.state, Since: u.since, LastError: u.lastErr, Restarts: u.restarts,
		ToolNames: []string{}}
	u.mu.Unlock()
	if c := u.cat.Load(); c != nil {
		s.Tools, s.Resources, s.Prompts = len(c.tools), len(c.resources), len(c.prompts)
		s.ToolNames = make([]string, len(c.tools))
		for i, t := range c.tools {
			s.ToolNames[i] = t.name
		}
		t := c.fetched
		s.ListedAt = &t
	}
	return s
}
