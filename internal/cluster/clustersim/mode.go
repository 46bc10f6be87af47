package clustersim

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/weir-gateway/weir/internal/cluster"
	"github.com/weir-gateway/weir/internal/governance"
)

// ModeEnv lists the counter-sharing modes the simulation runs, comma-separated (each test has its default list).
const ModeEnv = "WEIR_CLUSTER_MODE"

// A Mode is one way of sharing governance counters among nodes: today's full-mesh gossip, and the tiers that
// plug in beside it (an ownership ring, a Redis store). The harness drives every mode the same way.
type Mode interface {
	Name() string
	// Start makes node env.Index of a cluster share env.Gov's counters with the nodes started before it.
	Start(ctx context.Context, env NodeEnv) (Member, error)
}

// NodeEnv is what the harness hands a mode for one node.
type NodeEnv struct {
	Index int
	Name  string
	Gov   *governance.Service
	// Join lists the gossip addresses of nodes already started (empty for the first).
	Join []string
	// Transport is a memberlist transport (in memory or on loopback sockets) that counts the bytes it sends; a
	// memberlist-based mode passes it on (cluster.Options.Transport). Nil for a StoreMode.
	Transport memberlist.NodeAwareTransport
	// Addr is Transport's address, the one later nodes join.
	Addr string
	// Store is the counter store the node's governance uses (a StoreMode's), else nil.
	Store governance.CounterStore
	// N is the size of the cluster being started.
	N int
	// Run names this run of the harness (unique within the process): a store shared between runs keeps each
	// run's counts apart by it.
	Run    string
	Key    []byte
	Logger *slog.Logger
	// Now is the clock every node and its governance share.
	Now func() time.Time
}

// Member is a running node of some mode.
type Member interface {
	Stop()
	// Alive is how many members this node sees, itself included.
	Alive() int
	// PayloadOut is the counter payload this node has sent (for memberlist modes, cluster.Stats.GossipBytesOut).
	PayloadOut() uint64
	// Queued is how many updates wait to be sent (0 where the mode has no queue).
	Queued() int
}

// A StoreMode keeps the counters in a store every node uses (cluster.counters: redis) instead of sharing them
// among the nodes: the harness builds each node's governance on the store Store returns, gives the node no
// memberlist transport, and measures the bytes and CPU the store reports.
type StoreMode interface {
	Mode
	// Store is node env's counter store (governance.Options.Counters) and what closes it.
	Store(ctx context.Context, env NodeEnv) (governance.CounterStore, func(), error)
	// StoreStats is what every node together has sent to the store so far, and the store's own CPU time.
	StoreStats(ctx context.Context) (sent uint64, cpu time.Duration, err error)
}

var (
	modesMu sync.Mutex
	modes   = map[string]Mode{}
)

// Register adds a mode (call it from an init function in the file that defines the mode).
func Register(m Mode) {
	modesMu.Lock()
	defer modesMu.Unlock()
	modes[m.Name()] = m
}

// Lookup returns the named mode, or an error listing the registered ones.
func Lookup(name string) (Mode, error) {
	if name == "" {
		name = "gossip"
	}
	modesMu.Lock()
	defer modesMu.Unlock()
	if m, ok := modes[name]; ok {
		return m, nil
	}
	var names []string
	for n := range modes {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("cluster mode %q: want one of %v", name, names)
}

// ConfigMode is a mode that is cluster.Start with a variation of the cluster config: gossip is the plain
// config; a tier selected by config keys is one Register(ConfigMode{...}) away.
type ConfigMode struct {
	ModeName  string
	Configure func(*cluster.Config) // nil: the defaults
}

// Name implements Mode.
func (m ConfigMode) Name() string { return m.ModeName }

// Start implements Mode.
func (m ConfigMode) Start(ctx context.Context, env NodeEnv) (Member, error) {
	cfg := cluster.Config{Enabled: true, Name: env.Name, Bind: env.Addr, Join: env.Join}
	if m.Configure != nil {
		m.Configure(&cfg)
	}
	n, err := cluster.Start(ctx, cfg, env.Gov, cluster.Options{Logger: env.Logger, Key: env.Key, Transport: env.Transport,
		Now: env.Now})
	if err != nil {
		return nil, err
	}
	env.Gov.SetLender(n) // ring mode: a leased counter that refused asks its owner (as cmd/weir wires it)
	return configMember{n, env.Gov}, nil
}

type configMember struct {
	n   *cluster.Node
	gov *governance.Service
}

func (m configMember) Stop()              { m.gov.SetLender(nil); m.n.Stop() }
func (m configMember) Alive() int         { return m.n.NumAlive() }
func (m configMember) PayloadOut() uint64 { return m.n.Stats().GossipBytesOut }
func (m configMember) Queued() int        { return m.n.Stats().Queued }

// MaxDelay is the largest delta propagation delay this node measured (see Delayer).
func (m configMember) MaxDelay() time.Duration { return m.n.Stats().MaxDelay }

// Delayer is implemented by a Member that measures how late other nodes' updates reach it.
type Delayer interface{ MaxDelay() time.Duration }

// gossip is every node admitting on the sum of everyone's gossiped counts (cluster.counters: gossip); ring gives
// each counter an owner on a consistent-hash ring that leases batches to the others; auto is the default config
// (ring above cluster.ring.auto_above members). Ring and auto nodes get a Lender, as cmd/weir gives them.
func init() {
	Register(ConfigMode{ModeName: "gossip", Configure: func(c *cluster.Config) { c.Counters = cluster.CountersGossip }})
	Register(ConfigMode{ModeName: "ring", Configure: func(c *cluster.Config) { c.Counters = cluster.CountersRing }})
	Register(ConfigMode{ModeName: "auto"})
}

// gossip-direct sends deltas straight to every peer at any size; gossip-16 is the design before direct_fanout
// (deltas ride memberlist's gossip above 16 members), kept so its row of the table can be reproduced.
func init() {
	Register(ConfigMode{ModeName: "gossip-direct", Configure: func(c *cluster.Config) {
		c.Counters, c.DirectFanout = cluster.CountersGossip, 1<<20
	}})
	Register(ConfigMode{ModeName: "gossip-16", Configure: func(c *cluster.Config) {
		c.Counters, c.DirectFanout = cluster.CountersGossip, 16
	}})
}
