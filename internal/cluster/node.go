package cluster

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/weir-gateway/weir/internal/governance"
)

// Source is what the cluster layer needs from governance: every live counter (*governance.Service has it).
type Source interface {
	Counters() []governance.CounterRef
}

// generationer is implemented by governance's counters; a counter without it is re-read every delta tick.
type generationer interface{ Generation() uint64 }

// Options are the non-config inputs of a Node.
type Options struct {
	Logger *slog.Logger
	// Key is the gossip key (nil: unencrypted, only with Config.Insecure).
	Key []byte
	// Now is the clock shared with governance (default time.Now).
	Now func() time.Time
	// Transport carries memberlist's packets and streams (default: memberlist's own UDP/TCP transport on
	// Config.Bind). The cluster simulation wraps one to count every byte on the wire.
	Transport memberlist.Transport
}

// Node is one member of the cluster.
type Node struct {
	cfg  Config
	opt  Options
	log  *slog.Logger
	src  Source
	name string
	ml   *memberlist.Memberlist
	q    *memberlist.TransmitLimitedQueue

	startVer uint64 // versions below this are from an earlier run of a node with our name

	mu      sync.Mutex
	st      *State
	refs    map[string]governance.CounterRef // counter id → ref
	gens    map[governance.Counter]uint64
	strictX map[string]int64 // counter id → extra remote count strict mode added to the current window
	lastVer uint64
	ticks   int

	// peersMu guards peers and ringDirty. It is taken alone or under mu; no other lock of the node is taken and
	// no memberlist call made while it is held: memberlist calls the event delegate with its node lock held, and the delegate takes only
	// peersMu, so it never waits for mu — held around memberlist calls (lease requests sent on a delta tick),
	// which wait for the node lock: the two would deadlock.
	peersMu sync.Mutex
	peers   map[string]*peer

	bytesOut, bytesIn atomic.Uint64
	maxDelay          atomic.Int64 // largest observed delta propagation delay (ns, by the sender's version clock)
	lastDelay         atomic.Int64

	// Ring mode (ringmode.go, lease.go); guarded by mu unless noted.
	ringOn     bool
	ringDirty  bool // membership changed since the ring was built (guarded by peersMu)
	ring       *Ring
	owners     map[string]string                           // counter id → owner, for the current ring
	ledgers    map[string]*ledger                          // counters this node owns: what it charged each lessee
	lesseeByID map[string]*lessee                          // counters this node leases from their owner
	lessees    sync.Map                                    // governance.Counter → *lessee, for Borrow (no lock)
	reqSeq     atomic.Uint64                               // lease request ids: start at the start time, so they grow across restarts
	callsMu    sync.Mutex                                  // guards calls
	calls      map[uint64]*leaseCall                       // lease requests in flight
	leaseWire  func(to memberlist.Address, b []byte) error // tests without memberlist: carries lease messages
	outMu      sync.Mutex                                  // guards outbox
	outbox     []leaseOut                                  // lease messages to send once no lock is held

	leaseAsks, leaseFallbacks atomic.Uint64
	alive                     atomic.Int64 // alive members at the last delta tick (no lock needed to read it)

	stop chan struct{}
	wg   sync.WaitGroup
}

type peer struct {
	addr      string
	state     string
	lastState time.Time
	since     time.Time
}

// Member is one row of GET /api/cluster.
type Member struct {
	Name      string    `json:"name"`
	Addr      string    `json:"addr"`
	State     string    `json:"state"` // alive, dead (failed or left), gone (known only from peers' state)
	Self      bool      `json:"self,omitempty"`
	LastState time.Time `json:"last_state,omitzero"` // when counter state from this node last arrived
	Since     time.Time `json:"since,omitzero"`      // when the state last changed
}

// Start creates the memberlist node, joins the configured peers (retrying in the background) and starts
// exchanging counters with them.
func Start(ctx context.Context, cfg Config, src Source, opt Options) (*Node, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.Key == nil && !cfg.Insecure {
		return nil, ErrNoKey
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	n := &Node{cfg: cfg, opt: opt, log: opt.Logger, src: src, st: NewState(),
		refs: map[string]governance.CounterRef{}, gens: map[governance.Counter]uint64{}, strictX: map[string]int64{},
		peers: map[string]*peer{}, stop: make(chan struct{})}
	n.startVer = uint64(time.Now().UnixNano())
	n.lastVer = n.startVer
	n.initRing()

	mc := memberlist.DefaultLANConfig()
	host, port, _ := splitHostPort(cfg.Bind)
	mc.BindAddr, mc.BindPort = host, port
	if cfg.Advertise != "" {
		ah, ap, _ := splitHostPort(cfg.Advertise)
		mc.AdvertiseAddr, mc.AdvertisePort = ah, ap
	}
	n.name = cfg.Name
	if n.name == "" {
		hn, _ := os.Hostname()
		if hn == "" {
			hn = "weir"
		}
		p := port
		if cfg.Advertise != "" {
			p = mc.AdvertisePort
		}
		n.name = hn + ":" + strconv.Itoa(p)
	}
	mc.Name = n.name
	mc.GossipInterval = cfg.GossipInterval
	mc.PushPullInterval = 10 * time.Second
	mc.Transport = opt.Transport
	mc.Delegate = (*delegate)(n)
	mc.Events = (*events)(n)
	mc.Logger = log.New(&mlLog{l: n.log}, "", 0)
	if opt.Key != nil {
		kr, err := memberlist.NewKeyring(nil, opt.Key)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", KeyEnv, err)
		}
		mc.Keyring = kr
	} else {
		n.log.Warn("cluster: gossip is NOT encrypted or authenticated (cluster.insecure: true)")
	}
	// memberlist's goroutines may call the delegate (GetBroadcasts) as soon as Create starts them, before n.ml is
	// set: the queue exists first and counts members through an atomic pointer.
	var mlp atomic.Pointer[memberlist.Memberlist]
	n.q = &memberlist.TransmitLimitedQueue{RetransmitMult: mc.RetransmitMult, NumNodes: func() int {
		if ml := mlp.Load(); ml != nil {
			return ml.NumMembers()
		}
		return 1
	}}
	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("cluster: start gossip on %s: %w", cfg.Bind, err)
	}
	n.ml = ml
	mlp.Store(ml)
	self := ml.LocalNode()
	n.peersMu.Lock()
	n.peers[n.name] = &peer{addr: self.Address(), state: "alive", since: time.Now()}
	n.ringDirty = true
	n.peersMu.Unlock()
	n.log.Info("cluster: gossip started", "name", n.name, "addr", self.Address(), "encrypted", opt.Key != nil,
		"join", cfg.Join)

	n.join(ctx)
	n.wg.Add(2)
	go n.deltaLoop()
	go n.joinLoop()
	return n, nil
}

// Name is this node's member name.
func (n *Node) Name() string { return n.name }

// Addr is this node's gossip address.
func (n *Node) Addr() string { return n.ml.LocalNode().Address() }

// NumAlive is the number of alive members, this node included.
func (n *Node) NumAlive() int { return n.ml.NumMembers() }

// Stop leaves the cluster (so peers mark us left at once, not after failure detection) and shuts down.
func (n *Node) Stop() {
	select {
	case <-n.stop:
		return
	default:
	}
	n.flush() // last counts out first
	n.returnLeases()
	close(n.stop)
	n.wg.Wait()
	if err := n.ml.Leave(time.Second); err != nil {
		n.log.Debug("cluster: leave", "err", err)
	}
	_ = n.ml.Shutdown()
}

// Members lists every node seen, with its state and when its counter state last arrived.
func (n *Node) Members() []Member {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	out := make([]Member, 0, len(n.peers))
	for name, p := range n.peers {
		out = append(out, Member{Name: name, Addr: p.addr, State: p.state, Self: name == n.name,
			LastState: p.lastState, Since: p.since})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Stats are counters for metrics.
type Stats struct {
	Alive          int
	GossipBytesOut uint64
	GossipBytesIn  uint64
	Entries        int
	// Queued is the number of delta batches waiting to ride memberlist's gossip (clusters above Config.DirectFanout).
	Queued int
	// LastDelay and MaxDelay are delta propagation delays as measured by the sender's clock (clock skew adds in).
	LastDelay, MaxDelay time.Duration
	// Ring is true while counters are shared in ring mode; LeaseRequests counts lease requests sent to owners,
	// LeaseFallbacks the lease requests that went unanswered, putting a counter on its fallback.
	Ring                          bool
	LeaseRequests, LeaseFallbacks uint64
}

// Stats reports gossip figures.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	e, ring := n.st.Len(), n.ringOn
	n.mu.Unlock()
	return Stats{Alive: n.ml.NumMembers(), GossipBytesOut: n.bytesOut.Load(), GossipBytesIn: n.bytesIn.Load(),
		Entries: e, Queued: n.q.NumQueued(), LastDelay: time.Duration(n.lastDelay.Load()), MaxDelay: time.Duration(n.maxDelay.Load()),
		Ring: ring, LeaseRequests: n.leaseAsks.Load(), LeaseFallbacks: n.leaseFallbacks.Load()}
}

// Snapshot is the body of GET /api/cluster: this node's view of the members and its gossip figures.
type Snapshot struct {
	Self  string `json:"self"`
	Alive int    `json:"alive"`
	// Counters is the sharing mode in effect: gossip or ring (cluster.counters auto picks by size).
	Counters       string   `json:"counters"`
	LeaseRequests  uint64   `json:"lease_requests"`
	LeaseFallbacks uint64   `json:"lease_fallbacks"`
	Members        []Member `json:"members"`
	Entries        int      `json:"entries"`
	GossipBytesOut uint64   `json:"gossip_bytes_out"`
	GossipBytesIn  uint64   `json:"gossip_bytes_in"`
	// Delta propagation delays in milliseconds, by the sender's clock (clock skew adds in).
	PropagationDelayLastMS float64 `json:"propagation_delay_last_ms"`
	PropagationDelayMaxMS  float64 `json:"propagation_delay_max_ms"`
}

// Snapshot reports the members and gossip figures for GET /api/cluster.
func (n *Node) Snapshot() Snapshot {
	st := n.Stats()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	mode := "gossip"
	if st.Ring {
		mode = "ring"
	}
	return Snapshot{Self: n.name, Alive: st.Alive, Members: n.Members(), Entries: st.Entries, Counters: mode,
		LeaseRequests: st.LeaseRequests, LeaseFallbacks: st.LeaseFallbacks,
		GossipBytesOut: st.GossipBytesOut, GossipBytesIn: st.GossipBytesIn,
		PropagationDelayLastMS: ms(st.LastDelay), PropagationDelayMaxMS: ms(st.MaxDelay)}
}

// nextVer is called with mu held.
func (n *Node) nextVer() uint64 {
	v := uint64(time.Now().UnixNano())
	if v <= n.lastVer {
		v = n.lastVer + 1
	}
	n.lastVer = v
	return v
}

func (n *Node) deltaLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.DeltaInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.flush()
		}
	}
}

// directFanout is Config.DirectFanout's default: up to this many members, deltas go straight to every peer (one
// UDP packet each, lowest delay); above it they ride memberlist's gossip (GetBroadcasts), where each reaches
// only a dozen peers and the rest wait for push/pull. It was 16; 20 and 50 real processes under a burst admitted
// 357 and 354 of rpm 100 that way and 139 and 123 with direct deltas (docs/cluster.md, "Scaling").
const directFanout = 64

// maxPacket keeps a delta inside one UDP datagram on a 1500-byte MTU after memberlist's headers and encryption.
const maxPacket = 1200

// flush sends this node's changed counts to its peers.
func (n *Node) flush() {
	// Read before changes takes mu: memberlist calls our event delegate (which takes mu) with its node lock held,
	// so asking it for the member count under mu could deadlock.
	n.alive.Store(int64(n.ml.NumMembers()))
	recs := n.changes()
	n.sendQueued() // the tick's lease requests, reports and returns
	if len(recs) > 0 {
		n.send(encodeDeltas(n.name, recs, maxPacket))
	}
}

// changes finds this node's changed counts and records them in the state; it also picks up counters governance
// created since the last tick, applies the remote view to them and does the tick's ring upkeep (with n.alive
// as flush last read it).
func (n *Node) changes() []rec {
	now := n.opt.Now().UnixNano()
	refs := n.src.Counters()
	var recs []rec
	n.mu.Lock()
	n.ticks++
	sweep := n.ticks%200 == 0
	var seen map[string]bool
	if sweep {
		seen = make(map[string]bool, len(refs))
	}
	rebuilt := n.updateRing()
	for _, r := range refs {
		id := counterID(r.Subject, r.Metric)
		if sweep {
			seen[id] = true
		}
		old, known := n.refs[id]
		if !known || old.Counter != r.Counter || old.Limit != r.Limit {
			n.refs[id] = r
			known = false
		}
		changed := true
		if g, ok := r.Counter.(generationer); ok {
			gen := g.Generation()
			if last, ok := n.gens[r.Counter]; ok && last == gen && known {
				changed = false
			}
			n.gens[r.Counter] = gen
		}
		if changed {
			recs = n.collect(r, now, recs)
		}
		if !known || rebuilt || n.cfg.Strict && n.st.m[id] != nil {
			n.applyLocked(id, now)
		}
		n.ringCounter(id, r, now, changed)
	}
	if sweep {
		for id, r := range n.refs {
			if !seen[id] {
				delete(n.refs, id)
				delete(n.gens, r.Counter)
				delete(n.strictX, id)
				n.dropRingCounter(id, r.Counter)
			}
		}
		n.st.Prune(2)
		n.pruneLedgers(2)
	}
	n.mu.Unlock()
	return recs
}

// collect records r's local slots that differ from what we last published; mu held.
func (n *Node) collect(r governance.CounterRef, now int64, recs []rec) []rec {
	for _, sl := range r.Counter.Local(now) {
		k := Key{r.Subject, r.Metric, sl.Start.UnixNano()}
		cur, ok := n.st.Get(n.name, k)
		if ok && cur.Ver < n.startVer {
			// Our own count from before a restart, learnt from a peer: take it back so we don't admit it twice,
			// and republish it under this run's versions.
			if cur.Count > sl.Count {
				r.Counter.Restore(now, governance.Slot{Start: sl.Start, Count: cur.Count})
				sl.Count = cur.Count
			}
		} else if ok && cur.Count == sl.Count || !ok && sl.Count == 0 {
			continue
		}
		e := Entry{Ver: n.nextVer(), Count: sl.Count}
		n.st.Merge(n.name, k, e)
		recs = append(recs, rec{k, e})
	}
	return recs
}

func (n *Node) send(msgs [][]byte) {
	if n.ml.NumMembers() > n.cfg.DirectFanout {
		for _, b := range msgs {
			n.q.QueueBroadcast(broadcast(b))
		}
		return
	}
	for _, to := range n.alivePeers() {
		for _, b := range msgs {
			if err := n.ml.SendToAddress(to, b); err != nil {
				n.log.Debug("cluster: send delta", "to", to.Name, "err", err)
				continue
			}
			n.bytesOut.Add(uint64(len(b)))
		}
	}
}

// alivePeers lists the other alive members' addresses as the event delegate recorded them. Not ml.Members():
// memberlist updates the *Node values it returns in place (a member's new incarnation or address), so reading
// their fields outside its lock is a data race.
func (n *Node) alivePeers() []memberlist.Address {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	out := make([]memberlist.Address, 0, len(n.peers))
	for name, p := range n.peers {
		if name != n.name && p.state == "alive" && p.addr != "" {
			out = append(out, memberlist.Address{Addr: p.addr, Name: name})
		}
	}
	return out
}

// peerAddr is member name's address as the event delegate recorded it (see alivePeers).
func (n *Node) peerAddr(name string) (memberlist.Address, bool) {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	p := n.peers[name]
	if p == nil || p.addr == "" {
		return memberlist.Address{}, false
	}
	return memberlist.Address{Addr: p.addr, Name: name}, true
}

// applyLocked sets a counter's remote view from the state: per window, the sum of every other node's latest
// count (dead nodes included). In strict mode the current window also carries the part of the headroom the
// other live nodes may use. mu held.
func (n *Node) applyLocked(id string, now int64) {
	r, ok := n.refs[id]
	if !ok {
		return
	}
	ws := n.st.m[id]
	// The ledger's windows are set even when this node no longer owns the counter (dropLedger): without its
	// charges they get the gossiped counts alone, instead of keeping the charges in the remote count.
	led := n.ledgers[id]
	owned := led != nil && n.ringOn && n.ownerLocked(id) == n.name
	if len(ws) == 0 && led == nil {
		return
	}
	starts := make([]int64, 0, 2)
	for s := range ws {
		starts = append(starts, s)
	}
	if led != nil {
		for s := range led.windows {
			if _, ok := ws[s]; !ok {
				starts = append(starts, s)
			}
		}
	}
	slices.Sort(starts) // ascending: a period counter keeps the last one set
	var strictStart int64
	strict := n.cfg.Strict && r.Limit > 0 && !n.ringOn
	if strict {
		ls := r.Counter.Local(now)
		strictStart = ls[len(ls)-1].Start.UnixNano()
	}
	for _, s := range starts {
		var sum int64
		for node, e := range ws[s] {
			// Other nodes' counts, and ours from before a restart until the next tick takes them back.
			if node != n.name || e.Ver < n.startVer {
				sum += e.Count
			}
		}
		if owned {
			sum += ledgerExtra(led.windows[s], ws[s], n.name)
		}
		if strict && s == strictStart {
			sum += n.strictExtra(id, r, now, sum)
		}
		r.Counter.SetRemote(now, governance.Slot{Start: time.Unix(0, s).UTC(), Count: sum})
	}
}

// strictExtra: once a limit's cluster-wide headroom H is below a quarter of the limit, this node may use only
// H / live nodes of it; the rest is shown to it as other nodes' usage. Recomputed every tick, so a node's share
// shrinks geometrically as the headroom is used, and a node alone with the traffic still reaches the limit.
func (n *Node) strictExtra(id string, r governance.CounterRef, now, remote int64) int64 {
	live := n.alive.Load() // not n.ml.NumMembers(): mu is held (see flush)
	prevX := n.strictX[id]
	if live <= 1 {
		n.strictX[id] = 0
		return 0
	}
	used := r.Counter.Peek(now, r.Limit).Used - prevX // actual view: undo our own inflation
	h := r.Limit - used
	var x int64
	if h > 0 && h*4 < r.Limit {
		x = h - h/live
	}
	n.strictX[id] = x
	return x
}

// receive merges a message's entries and applies the changed counters.
func (n *Node) receive(b []byte) {
	n.bytesIn.Add(uint64(len(b)))
	kind, groups, err := decode(b)
	if err != nil {
		n.log.Debug("cluster: bad message", "err", err)
		return
	}
	now := n.opt.Now().UnixNano()
	wall := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	touched := map[string]bool{}
	for _, g := range groups {
		var newest uint64
		for _, x := range g.recs {
			if g.node == n.name && x.e.Ver >= n.startVer {
				continue // our own current entries, echoed back in a full state
			}
			if n.st.Merge(g.node, x.k, x.e) {
				touched[counterID(x.k.Subject, x.k.Metric)] = true
			}
			newest = max(newest, x.e.Ver)
		}
		if g.node != n.name {
			n.peersMu.Lock()
			if p := n.peers[g.node]; p != nil && kind == kindDelta {
				p.lastState = wall
			} else if p == nil {
				n.peers[g.node] = &peer{state: "gone", lastState: wall} // known only from another node's state
			} else if kind == kindFull && p.lastState.IsZero() {
				p.lastState = wall
			}
			n.peersMu.Unlock()
		}
		if kind == kindDelta && newest > 0 {
			d := wall.UnixNano() - int64(newest)
			n.lastDelay.Store(d)
			if d > n.maxDelay.Load() {
				n.maxDelay.Store(d)
			}
		}
	}
	for id := range touched {
		if r, ok := n.refs[id]; ok && n.hasOwnOld(id) {
			delete(n.gens, r.Counter) // the next tick takes back our pre-restart counts and republishes them
		}
		n.applyLocked(id, now)
	}
}

// hasOwnOld reports whether the state holds an entry of ours from an earlier run for counter id.
func (n *Node) hasOwnOld(id string) bool {
	for _, ns := range n.st.m[id] {
		if e, ok := ns[n.name]; ok && e.Ver < n.startVer {
			return true
		}
	}
	return false
}

// join resolves the join list and joins every address not already a member.
func (n *Node) join(ctx context.Context) {
	addrs := n.resolve(ctx)
	if len(addrs) == 0 {
		return
	}
	known := map[string]bool{n.ml.LocalNode().Address(): true}
	for _, a := range n.alivePeers() { // not ml.Members(): see alivePeers
		known[a.Addr] = true
	}
	var todo []string
	for _, a := range addrs {
		if !known[a] {
			todo = append(todo, a)
		}
	}
	if len(todo) == 0 {
		return
	}
	got, err := n.ml.Join(todo)
	if err != nil && got == 0 && n.ml.NumMembers() <= 1 {
		if low := strings.ToLower(err.Error()); strings.Contains(low, "decrypt") || strings.Contains(low, "encrypt") {
			n.log.Error("cluster: not joining: peers use a different cluster key ("+KeyEnv+
				" must be the same on every node)", "peers", todo, "err", err)
		} else {
			n.log.Warn("cluster: no peer reachable yet; running alone and retrying", "peers", todo, "err", err)
		}
		return
	}
	if got > 0 {
		n.log.Info("cluster: joined", "contacted", got, "members", n.ml.NumMembers())
	}
}

// resolve expands the join list: host:port as is (host names resolved), dns:name:port to every address.
func (n *Node) resolve(ctx context.Context) []string {
	var out []string
	selfAddrs := map[string]bool{n.ml.LocalNode().Address(): true, n.cfg.Bind: true}
	for _, j := range n.cfg.Join {
		hp := strings.TrimPrefix(j, "dns:")
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); ip != nil {
			a := net.JoinHostPort(ip.String(), port)
			if !selfAddrs[a] {
				out = append(out, a)
			}
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ips, err := net.DefaultResolver.LookupHost(rctx, host)
		cancel()
		if err != nil {
			n.log.Debug("cluster: resolve", "name", host, "err", err)
			continue
		}
		for _, ip := range ips {
			if a := net.JoinHostPort(ip, port); !selfAddrs[a] {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (n *Node) joinLoop() {
	defer n.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		d := n.cfg.RejoinInterval
		if n.ml.NumMembers() <= 1 && d > 5*time.Second {
			d = 5 * time.Second
		}
		select {
		case <-n.stop:
			return
		case <-time.After(d):
			n.join(ctx)
		}
	}
}

// delegate implements memberlist.Delegate.
type delegate Node

func (d *delegate) NodeMeta(limit int) []byte { return nil }

func (d *delegate) NotifyMsg(b []byte) {
	if len(b) >= 2 && b[0] == magic && (b[1] == kindLeaseReq || b[1] == kindLeaseResp) {
		(*Node)(d).receiveLease(b)
		return
	}
	if len(b) > 0 {
		(*Node)(d).receive(b)
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	bs := d.q.GetBroadcasts(overhead, limit)
	for _, b := range bs {
		d.bytesOut.Add(uint64(len(b)))
	}
	return bs
}

// LocalState is the full state for push/pull: every node's entries, so a joining or restarted node learns the
// current windows (and its own earlier counts) at once.
func (d *delegate) LocalState(join bool) []byte {
	n := (*Node)(d)
	n.mu.Lock()
	defer n.mu.Unlock()
	b := encodeFull(n.st)
	n.bytesOut.Add(uint64(len(b)))
	return b
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	if len(buf) > 0 {
		(*Node)(d).receive(buf)
	}
}

type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}

// events implements memberlist.EventDelegate.
type events Node

// set records a member's state. memberlist passes only the embedded Node to event delegates, whose State field
// it never updates, so the state comes from the event: joined or updated → alive, gone → dead (failed or left;
// memberlist does not tell the two apart here). Suspicion raises no event.
func (e *events) set(m *memberlist.Node, st string) {
	n := (*Node)(e)
	n.peersMu.Lock() // not mu: see peersMu
	defer n.peersMu.Unlock()
	p := n.peers[m.Name]
	if p == nil {
		p = &peer{}
		n.peers[m.Name] = p
	}
	if p.state != st {
		p.since = time.Now()
		n.ringDirty = true
	}
	p.addr, p.state = m.Address(), st
}

func (e *events) NotifyJoin(m *memberlist.Node) {
	e.set(m, "alive")
	if m.Name != e.name {
		e.log.Info("cluster: member joined", "name", m.Name, "addr", m.Address())
	}
}

func (e *events) NotifyLeave(m *memberlist.Node) {
	e.set(m, "dead")
	e.log.Warn("cluster: member gone; its counts still apply until their windows end", "name", m.Name)
}

func (e *events) NotifyUpdate(m *memberlist.Node) { e.set(m, "alive") }

// mlLog routes memberlist's log lines to slog; a failure to decrypt means a peer with another key.
type mlLog struct{ l *slog.Logger }

func (w *mlLog) Write(p []byte) (int, error) {
	s := strings.TrimSpace(string(p))
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "decrypt") || strings.Contains(low, "encryption"):
		w.l.Error("cluster: refused gossip from a node using a different cluster key ("+KeyEnv+")", "detail", s)
	case strings.Contains(s, "[ERR]"):
		w.l.Warn("cluster: memberlist", "msg", s)
	case strings.Contains(s, "[WARN]"):
		w.l.Warn("cluster: memberlist", "msg", s)
	default:
		w.l.Debug("cluster: memberlist", "msg", s)
	}
	return len(p), nil
}

var _ io.Writer = (*mlLog)(nil)
