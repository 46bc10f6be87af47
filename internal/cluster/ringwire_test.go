package cluster

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/schema"
)

// ringNet runs ring-mode nodes without memberlist, each with a real governance service wired as its lender:
// the test says which members each node sees, a tick runs every node's delta tick and hands its deltas to the
// peers it sees, and lease messages wait in a queue until the test pumps them. Ownership changes, lost or
// refused reports and window rollovers so replay exactly.
type ringNet struct {
	t     *testing.T
	clk   *clock
	names []string
	nodes map[string]*Node
	govs  map[string]*governance.Service

	mu   sync.Mutex
	q    []wireMsg
	drop func(m wireMsg) bool // lose a message (nil: none)
}

type wireMsg struct {
	to string
	b  []byte
}

func newRingNet(t *testing.T, limits governance.RateLimits, at time.Time, names ...string) *ringNet {
	r := &ringNet{t: t, clk: &clock{}, names: names, nodes: map[string]*Node{}, govs: map[string]*governance.Service{}}
	r.clk.ns.Store(at.UnixNano())
	cfg := Config{Enabled: true, Counters: CountersRing, Ring: RingConfig{LeaseTimeout: time.Hour}}.WithDefaults()
	for _, name := range names {
		g := ringGovAt(t, limits, r.clk.now)
		n := &Node{cfg: cfg, name: name, src: g, st: NewState(), refs: map[string]governance.CounterRef{},
			gens: map[governance.Counter]uint64{}, strictX: map[string]int64{}, peers: map[string]*peer{},
			opt: Options{Now: r.clk.now}, log: discardLog()}
		n.startVer = uint64(time.Now().UnixNano())
		n.lastVer = n.startVer
		n.initRing()
		n.leaseWire = func(to memberlist.Address, b []byte) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.q = append(r.q, wireMsg{to.Name, append([]byte(nil), b...)})
			return nil
		}
		g.SetLender(n)
		r.nodes[name], r.govs[name] = n, g
	}
	return r
}

// see sets the members viewer's memberlist reports alive (itself included).
func (r *ringNet) see(viewer string, members ...string) {
	n := r.nodes[viewer]
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	for name, p := range n.peers {
		if p.state == "alive" {
			p.state = "dead"
		}
		n.peers[name] = p
	}
	for _, m := range members {
		n.peers[m] = &peer{addr: m, state: "alive"}
	}
	n.alive.Store(int64(len(members)))
	n.ringDirty = true
}

// tick runs the delta tick of the named nodes (every node if none), in order, each handing its deltas to the
// peers it sees alive, then delivers the lease messages.
func (r *ringNet) tick(names ...string) {
	if len(names) == 0 {
		names = r.names
	}
	for _, name := range names {
		n := r.nodes[name]
		recs := n.changes()
		n.sendQueued()
		to := n.alivePeers()
		for _, b := range encodeDeltas(name, recs, maxPacket) {
			for _, a := range to {
				r.nodes[a.Name].receive(b)
			}
		}
		r.pump()
	}
}

// pump delivers queued lease messages (and the answers they cause) until none is left.
func (r *ringNet) pump() {
	for {
		r.mu.Lock()
		if len(r.q) == 0 {
			r.mu.Unlock()
			return
		}
		m := r.q[0]
		r.q = r.q[1:]
		r.mu.Unlock()
		if r.drop != nil && r.drop(m) {
			continue
		}
		if n := r.nodes[m.to]; n != nil {
			(*delegate)(n).NotifyMsg(m.b)
		}
	}
}

// admit sends one request to the named node's governance (a refused leased counter borrows from its owner: the
// lease messages are pumped meanwhile) and reports whether it was admitted.
func (r *ringNet) admit(name string) bool { return r.admitTokens(name, 0) }

// admitRoundRobin sends n requests, one node after another, delivering what each sends before the next, and
// returns how many were admitted.
func (r *ringNet) admitRoundRobin(n int) int64 {
	var admitted int64
	for i := range n {
		if r.admit(r.names[i%len(r.names)]) {
			admitted++
		}
		r.tick()
	}
	return admitted
}

// admitTokens is admit for a request of the given tokens (estimated and used).
func (r *ringNet) admitTokens(name string, tokens int64) bool {
	g := r.govs[name]
	done := make(chan bool, 1)
	go func() {
		res, d := g.Admit(context.Background(), g.Authenticate(ringSecret), "mock/echo", governance.Estimate{Tokens: tokens})
		if d == nil {
			res.Settle(schema.Usage{PromptTokens: tokens}, 0)
		}
		done <- d == nil
	}()
	for {
		select {
		case ok := <-done:
			return ok
		case <-time.After(100 * time.Microsecond):
			r.pump()
		}
	}
}

// used is the named node's view of key k's rpm count (what GET /api/usage shows).
func (r *ringNet) used(name string) int64 { return r.usedOf(name, "rpm") }

func (r *ringNet) usedOf(name, metric string) int64 {
	for _, ref := range r.govs[name].Counters() {
		if ref.Subject == "key:k" && ref.Metric == metric {
			return ref.Counter.Peek(r.clk.now().UnixNano(), ref.Limit).Used
		}
	}
	r.t.Fatalf("%s: no key:k %s counter", name, metric)
	return 0
}

func (r *ringNet) leaseLeft(name string) int64 { return r.leaseLeftOf(name, "rpm") }

func (r *ringNet) leaseLeftOf(name, metric string) int64 {
	for _, ref := range r.govs[name].Counters() {
		if ref.Subject == "key:k" && ref.Metric == metric {
			lc := ref.Counter.(governance.Leasable)
			return lc.LeaseLeft(lc.LeaseWindow(r.clk.now().UnixNano()))
		}
	}
	return 0
}

// checkViews fails unless every node reads want.
func (r *ringNet) checkViews(want int64) {
	r.t.Helper()
	for _, name := range r.names {
		if got := r.used(name); got != want {
			views := map[string]int64{}
			for _, m := range r.names {
				views[m] = r.used(m)
			}
			r.t.Fatalf("nodes read %v, want all %d", views, want)
		}
	}
}

// TestRingOwnerChangeLeavesNoStaleCount replays the e2e runs' "node0 reads one above the admissions": node0
// starts first and owns key k's rpm counter on the ring of itself and node1; node2 joins and owns it on the ring
// of three; in the next minute 30 requests are admitted round-robin. Every node must then read exactly 30. (The
// defect: node1's first tick asked node0 for a unit without any traffic, so node0's ledger charged node1 one
// unit in the first minute, and when node0 lost the counter its view kept that charge — in the next minute as
// the previous window's share.)
func TestRingOwnerChangeLeavesNoStaleCount(t *testing.T) {
	r := newRingNet(t, governance.RateLimits{RPM: 100}, time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC), "node0", "node1", "node2")
	id := counterID("key:k", "rpm")
	r.see("node0", "node0")
	r.tick("node0")
	r.see("node0", "node0", "node1")
	r.see("node1", "node0", "node1")
	r.tick("node0", "node1")
	if o := r.nodes["node1"].ownerOf(id); o != "node0" {
		t.Fatalf("owner on the ring of node0 and node1: %q, want node0 (the test's premise)", o)
	}
	for _, name := range r.names {
		r.see(name, r.names...)
	}
	r.tick()
	r.tick()
	if o := r.nodes["node0"].ownerOf(id); o != "node2" {
		t.Fatalf("owner on the ring of three: %q, want node2 (the test's premise)", o)
	}
	r.checkViews(0)

	r.clk.ns.Add(int64(55 * time.Second)) // 12:01:05
	r.tick()
	if admitted := r.admitRoundRobin(30); admitted != 30 {
		t.Fatalf("admitted %d of 30 (rpm 100)", admitted)
	}
	// The owner counts the units its lessees hold unused until they return them (idleReturn after their last use).
	r.tick()
	time.Sleep(idleReturn + 50*time.Millisecond)
	r.tick()
	r.checkViews(30)
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestRingOwnerChangeDropsFormerOwnersUnits: units a lessee holds from a counter's former owner are not known to
// the new one (its report of them can arrive before the new owner has built its ring, and is then refused), so
// they must not be spent: node1 takes a lease from node0, node2 joins and owns the counter before it hears
// node1's report; node0 and node2 then take the whole limit, and node1 must admit nothing more — the 20-process
// run's 101 of rpm 100.
func TestRingOwnerChangeDropsFormerOwnersUnits(t *testing.T) {
	r := newRingNet(t, governance.RateLimits{RPM: 100}, time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC), "node0", "node1", "node2")
	r.see("node0", "node0", "node1")
	r.see("node1", "node0", "node1")
	r.tick("node0", "node1")
	var admitted int64
	for range 5 {
		if !r.admit("node1") {
			t.Fatal("node1 refused within the limit")
		}
		admitted++
		r.tick("node0", "node1")
	}
	t.Logf("node1 holds %d units from node0", r.leaseLeft("node1"))
	if left := r.leaseLeft("node1"); left == 0 {
		t.Fatal("node1 holds no units from node0 (the test's premise)")
	}
	for _, name := range r.names {
		r.see(name, r.names...)
	}
	pushPull(r.nodes["node2"], r.nodes["node0"]) // the join's state exchange: node2 learns node1's 5
	r.tick("node1", "node0")                     // node1 reports to node2, which has no ring yet: refused
	r.tick("node2")
	r.tick()
	for i := range 300 {
		if r.admit([]string{"node0", "node2"}[i%2]) {
			admitted++
		}
		r.tick()
	}
	for range 20 {
		if r.admit("node1") {
			admitted++
		}
		r.tick()
	}
	t.Logf("admitted %d for rpm 100", admitted)
	if admitted > 100 {
		t.Fatalf("admitted %d, want at most 100: units granted by the former owner were spent on top of the new owner's", admitted)
	}
	if admitted < 100 {
		t.Fatalf("admitted %d, want the limit reached", admitted)
	}
}

// TestRingWindowRollLeavesNoStaleCharge: lessees holding unused units when the minute turns cannot spend them
// any more (a lease is for one window), so the owner must not keep counting them in the previous minute's share:
// 30 admitted round-robin late in a minute, read 6 s into the next, every node reads ceil(30 × 54/60) = 27.
func TestRingWindowRollLeavesNoStaleCharge(t *testing.T) {
	r := newRingNet(t, governance.RateLimits{RPM: 100}, time.Date(2030, 1, 1, 12, 0, 50, 0, time.UTC), "node0", "node1", "node2")
	for _, name := range r.names {
		r.see(name, r.names...)
	}
	r.tick()
	if admitted := r.admitRoundRobin(30); admitted != 30 {
		t.Fatalf("admitted %d of 30 (rpm 100)", admitted)
	}
	held := r.leaseLeft("node0") + r.leaseLeft("node1")
	if held == 0 {
		t.Fatal("the lessees hold no units at the end of the minute (the test's premise)")
	}
	r.clk.ns.Add(int64(16 * time.Second)) // 12:01:06
	r.tick()
	r.tick()
	t.Logf("the lessees held %d unused units when the minute turned", held)
	r.checkViews(27)
}

// TestRingShortLeaseIsHandedBack: two lessees each hold 50 tokens of tpm 1,000 and the owner has 30 left, so
// no one can serve a request of 100 on its own though 130 are free. A lessee that cannot serve a request from
// its lease must hand the remainder back when it asks, so the owner can grant from the pooled room: the second
// lessee's request is admitted. (Kept instead, the remainders stayed stranded at the lessees: the simulation's
// $1 budget admitted 97–99 requests of $0.01 of 100 that way.)
func TestRingShortLeaseIsHandedBack(t *testing.T) {
	r := newRingNet(t, governance.RateLimits{TPM: 1000}, time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC), "node0", "node1", "node2")
	for _, name := range r.names {
		r.see(name, r.names...)
	}
	r.tick()
	owner := r.nodes["node0"].ownerOf(counterID("key:k", "tpm"))
	var lessees []string
	for _, name := range r.names {
		if name != owner {
			lessees = append(lessees, name)
		}
	}
	// Small requests on the lessees: their top-ups grow to batches of tens of tokens.
	var tokens int64
	for _, name := range lessees {
		for i := 0; r.leaseLeftOf(name, "tpm") < 60; i++ {
			if i == 50 {
				t.Fatalf("%s holds %d tokens after 50 requests, want a lease of 60 (the test's premise)", name, r.leaseLeftOf(name, "tpm"))
			}
			if !r.admitTokens(name, 7) {
				t.Fatalf("%s refused 7 tokens well within the limit", name)
			}
			tokens += 7
			r.tick()
		}
	}
	// Each lessee spends its lease down to 50 (no tick: no top-up), then the owner takes all but 30 of its room.
	for _, name := range lessees {
		for r.leaseLeftOf(name, "tpm") > 50 {
			if !r.admitTokens(name, 1) {
				t.Fatalf("%s refused a token from its lease", name)
			}
			tokens++
		}
	}
	room := 1000 - r.usedOf(owner, "tpm")
	if !r.admitTokens(owner, room-30) {
		t.Fatalf("the owner refused %d tokens of its room of %d", room-30, room)
	}
	tokens += room - 30
	// 130 tokens are free: 50 at each lessee and 30 at the owner.
	first, second := r.admitTokens(lessees[0], 100), r.admitTokens(lessees[1], 100)
	t.Logf("%d tokens admitted before; the lessees' requests of 100 admitted: %v, %v", tokens, first, second)
	if !first && !second {
		t.Fatal("neither lessee admitted a request of 100 with 130 tokens free in the cluster: remainders stranded")
	}
	if first && second {
		t.Fatal("both lessees admitted a request of 100 with 130 tokens free")
	}
}

// TestRingLostAnswerIsResynced: the owner grants a lessee units but the answer is lost. The lessee times out and
// falls back; the owner charges it the units it never received. Once the fallback is over the lessee must report
// its actual charge, or the owner counts the lost units until that node's next request — for the rest of the
// window if none comes (the simulation's "every node sees a burst" then never converged).
func TestRingLostAnswerIsResynced(t *testing.T) {
	r := newRingNet(t, governance.RateLimits{RPM: 100}, time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC), "node0", "node1", "node2")
	for _, name := range r.names {
		r.see(name, r.names...)
		r.nodes[name].cfg.Ring.LeaseTimeout = 20 * time.Millisecond
		r.nodes[name].cfg.Ring.FallbackFor = 50 * time.Millisecond
	}
	r.tick()
	id := counterID("key:k", "rpm")
	owner := r.nodes["node0"].ownerOf(id)
	lessee := "node0"
	if owner == lessee {
		lessee = "node1"
	}
	// A lessee with traffic asks for batches of 10; its first answer is lost.
	n := r.nodes[lessee]
	n.mu.Lock()
	l := n.lesseeByID[id]
	n.mu.Unlock()
	l.mu.Lock()
	l.want = 10
	l.mu.Unlock()
	lost := 0
	r.drop = func(m wireMsg) bool {
		if m.to == lessee && m.b[1] == kindLeaseResp && lost == 0 {
			lost++
			return true
		}
		return false
	}
	if !r.admit(lessee) {
		t.Fatalf("%s refused within the limit", lessee)
	}
	if lost != 1 || n.leaseFallbacks.Load() != 1 {
		t.Fatalf("answers lost %d, fallbacks %d: want the answer lost and a fallback (the test's premise)",
			lost, n.leaseFallbacks.Load())
	}
	r.tick()
	if u := r.used(owner); u != 10 {
		t.Fatalf("the owner reads %d, want the 10 units it granted in the lost answer (the test's premise)", u)
	}
	time.Sleep(60 * time.Millisecond) // past the fallback
	r.tick()
	r.tick()
	r.checkViews(1)
}

// TestRingFallbackTakesTheOwnersRoom: above ring.auto_above members a lessee whose owner does not answer grants
// itself 1/alive of the headroom it knows. Its view counts only units spent, not the units the owner leased to
// other nodes, so the headroom is capped by the room the owner reported in its last answer: B holds 24 unused
// units the owner counts and A's view does not.
func TestRingFallbackTakesTheOwnersRoom(t *testing.T) {
	r := newRingNet(t, governance.RateLimits{RPM: 100}, time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC), "node0", "node1", "node2")
	for _, name := range r.names {
		r.see(name, r.names...)
		r.nodes[name].cfg.Ring.AutoAbove = 1 // three members count as a large cluster
		r.nodes[name].cfg.Ring.LeaseTimeout = 20 * time.Millisecond
		r.nodes[name].cfg.Ring.FallbackFor = time.Minute
	}
	r.tick()
	id := counterID("key:k", "rpm")
	owner := r.nodes["node0"].ownerOf(id)
	var lessees []string
	for _, name := range r.names {
		if name != owner {
			lessees = append(lessees, name)
		}
	}
	a, b := lessees[0], lessees[1]
	lesseeOf := func(name string) *lessee {
		n := r.nodes[name]
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.lesseeByID[id]
	}
	lb := lesseeOf(b)
	lb.mu.Lock()
	lb.want = 40
	lb.mu.Unlock()
	if !r.admit(b) { // granted min(40, 100 / (2 × 2 other members)) = 25, one spent
		t.Fatalf("%s refused within the limit", b)
	}
	if !r.admit(a) {
		t.Fatalf("%s refused within the limit", a)
	}
	r.tick()
	for r.leaseLeft(a) > 0 { // spend A's lease (no tick: no top-up)
		if !r.admit(a) {
			t.Fatalf("%s refused from its lease", a)
		}
	}
	la := lesseeOf(a)
	la.mu.Lock()
	ownerRoom := la.roomSeen
	la.mu.Unlock()
	viewRoom := 100 - r.used(a)
	if held := r.leaseLeft(b); held < 20 || viewRoom-ownerRoom < held {
		t.Fatalf("%s holds %d units; %s's view has %d free, the owner said %d (the test's premise: the view misses the units held)",
			b, held, a, viewRoom, ownerRoom)
	}
	r.drop = func(m wireMsg) bool { return m.to == a && m.b[1] == kindLeaseResp }
	if !r.admit(a) {
		t.Fatalf("%s refused on its fallback", a)
	}
	if fb := r.nodes[a].leaseFallbacks.Load(); fb != 1 {
		t.Fatalf("%s fell back %d times, want once (the test's premise)", a, fb)
	}
	// The fallback granted room/3 and the admission took one of them.
	if got := r.leaseLeft(a) + 1; got != ownerRoom/3 {
		t.Fatalf("%s granted itself %d units on its fallback, want %d/3 = %d (the owner's room, not its view's %d)",
			a, got, ownerRoom, ownerRoom/3, viewRoom)
	}
}
