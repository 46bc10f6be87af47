package cluster

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

const benchSecret = "wk-CIbot0123456789abcdefghijABCDEFGHIJ0123456"

// benchGov is a real governance service with a key, its team and its customer (7 counters: key rpm/tpm/rpd/
// budget, team tpm/budget, customer rpm/budget, and more) — the same shape as governance's BenchmarkAdmit.
func benchGov(b testing.TB) *governance.Service {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	s, err := governance.New(ctx, st, governance.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	cfg := &governance.Config{
		Customers: []governance.CustomerConfig{{ID: "acme", Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1M"},
			RateLimits: &governance.RateLimits{RPM: 1 << 38}}},
		Teams: []governance.TeamConfig{{ID: "platform", Customer: "acme", Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1d"},
			RateLimits: &governance.RateLimits{TPM: 1 << 39}}},
		VirtualKeys: []governance.VirtualKeyConfig{{ID: "k", Value: benchSecret, Team: "platform",
			RateLimits: &governance.RateLimits{RPM: 1 << 38, TPM: 1 << 39, RPD: 1 << 38},
			Budget:     &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1d"}}},
	}
	if _, err := s.Seed(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	return s
}

// withRemoteState gives every counter of src the state of peers other nodes, the way the cluster layer
// leaves it after receiving their deltas: an entry per node and window in the State, summed into SetRemote.
// No memberlist is started; the admission path never touches it.
func withRemoteState(b *testing.B, src Source, peers int) *Node {
	n := &Node{name: "self", src: src, st: NewState(), refs: map[string]governance.CounterRef{},
		gens: map[governance.Counter]uint64{}, strictX: map[string]int64{}, peers: map[string]*peer{},
		opt: Options{Now: time.Now}}
	n.startVer = uint64(time.Now().UnixNano())
	now := time.Now().UnixNano()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range src.Counters() {
		id := counterID(r.Subject, r.Metric)
		n.refs[id] = r
		for p := range peers {
			for _, sl := range r.Counter.Local(now) {
				n.st.Merge("peer"+itoa(p), Key{r.Subject, r.Metric, sl.Start.UnixNano()}, Entry{Ver: n.startVer + 1, Count: 1000})
			}
		}
		n.applyLocked(id, now)
	}
	if peers > 0 && n.st.Len() == 0 {
		b.Fatal("no remote state")
	}
	return n
}

func benchAdmit(b *testing.B, nodes int) {
	s := benchGov(b)
	p := s.Authenticate(benchSecret)
	if p == nil {
		b.Fatal("no principal")
	}
	ctx := context.Background()
	// Create the counters (they are made on first use), then load the other nodes' state into them.
	r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3})
	if d != nil {
		b.Fatal(d.Message)
	}
	r.Settle(schema.Usage{PromptTokens: 1, CompletionTokens: 1}, 3)
	withRemoteState(b, s, nodes-1)
	for _, ref := range s.Counters() {
		if got := ref.Counter.Peek(time.Now().UnixNano(), ref.Limit).Used; got < int64(nodes-1)*1000 {
			b.Fatalf("%s %s: used %d without the other nodes' counts", ref.Subject, ref.Metric, got)
		}
	}
	if len(s.Counters()) < 7 {
		b.Fatalf("%d counters, want at least 7", len(s.Counters()))
	}
	u := schema.Usage{PromptTokens: 1, CompletionTokens: 1}
	b.ReportAllocs()
	for b.Loop() {
		r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3})
		if d != nil {
			b.Fatal(d.Message)
		}
		r.Settle(u, 3)
	}
}

// BenchmarkAdmitRingLessee: admission on a node that leases every counter from its owner (ring mode) and holds
// units for all of them — the common case: the lease is one CAS, the view still makes the Status.
func BenchmarkAdmitRingLessee(b *testing.B) {
	s := benchGov(b)
	p := s.Authenticate(benchSecret)
	ctx := context.Background()
	r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3})
	if d != nil {
		b.Fatal(d.Message)
	}
	r.Settle(schema.Usage{PromptTokens: 1, CompletionTokens: 1}, 3)
	withRemoteState(b, s, 9)
	lease := func() {
		now := time.Now().UnixNano()
		for _, ref := range s.Counters() {
			lc := ref.Counter.(governance.Leasable)
			lc.SetLeased(true)
			lc.AddLease(lc.LeaseWindow(now), 1<<38)
		}
	}
	lease()
	u := schema.Usage{PromptTokens: 1, CompletionTokens: 1}
	b.ReportAllocs()
	for b.Loop() {
		r, d := s.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3})
		if d != nil { // a minute ended: leases are per window
			lease()
			if r, d = s.Admit(ctx, p, "openai/gpt-4o-mini", governance.Estimate{Tokens: 2, Cost: 3}); d != nil {
				b.Fatal(d.Message)
			}
		}
		r.Settle(u, 3)
	}
}

// BenchmarkAdmitCluster1: the same check-and-reserve + settle with no remote state (a node alone) — the baseline.
func BenchmarkAdmitCluster1(b *testing.B) { benchAdmit(b, 1) }

// BenchmarkAdmitCluster3: admission with two other nodes' counts present for every counter and window.
func BenchmarkAdmitCluster3(b *testing.B) { benchAdmit(b, 3) }

// BenchmarkAdmitCluster10: admission with nine other nodes' counts present.
func BenchmarkAdmitCluster10(b *testing.B) { benchAdmit(b, 10) }

// TestGossipBandwidthAt5000RPS runs 3 in-process nodes on loopback, each with a real governance service, and
// admits 5,000 requests a second round-robin across them (7 counters each: key rpm/tpm/rpd/budget, team
// tpm/budget, customer rpm/budget, …). It reports the counter gossip each node sends and receives (the Stats
// figures: delta batches and push/pull state; memberlist's own probes and encryption overhead come on top).
func TestGossipBandwidthAt5000RPS(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for a few seconds")
	}
	const nNodes, rps = 3, 5000
	ports := make([]int, nNodes)
	var join []string
	for i := range ports {
		ports[i] = freePort(t)
		join = append(join, "127.0.0.1:"+itoa(ports[i]))
	}
	govs := make([]*governance.Service, nNodes)
	nodes := make([]*Node, nNodes)
	for i := range nodes {
		govs[i] = benchGov(t)
		nd, err := Start(context.Background(), Config{Enabled: true, Name: "n" + itoa(i), Bind: "127.0.0.1:" + itoa(ports[i]),
			Join: join, GossipInterval: 100 * time.Millisecond}, govs[i],
			Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Key: testKey()})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = nd
		t.Cleanup(nd.Stop)
	}
	waitFor(t, "3 members everywhere", 10*time.Second, func() bool {
		for _, n := range nodes {
			if n.NumAlive() != nNodes {
				return false
			}
		}
		return true
	})
	ps := make([]*governance.Principal, nNodes)
	for i, g := range govs {
		if ps[i] = g.Authenticate(benchSecret); ps[i] == nil {
			t.Fatal("no principal")
		}
	}
	ctx := context.Background()
	u := schema.Usage{PromptTokens: 100, CompletionTokens: 50}
	// run admits at rps for d, paced in 1 ms steps, and returns how many it admitted.
	run := func(d time.Duration) int {
		start := time.Now()
		done := 0
		for time.Since(start) < d {
			due := int(time.Since(start).Seconds() * rps)
			for ; done < due; done++ {
				i := done % nNodes
				r, den := govs[i].Admit(ctx, ps[i], "openai/gpt-4o-mini", governance.Estimate{Tokens: 150, Cost: 100})
				if den != nil {
					t.Fatalf("refused: %s", den.Message)
				}
				r.Settle(u, 90)
			}
			time.Sleep(time.Millisecond)
		}
		return done
	}
	run(500 * time.Millisecond) // warm up: counters created and first state exchanged
	before := make([]Stats, nNodes)
	for i, n := range nodes {
		before[i] = n.Stats()
	}
	const measure = 3 * time.Second
	t0 := time.Now()
	admitted := run(measure)
	el := time.Since(t0).Seconds()
	var sumOut float64
	for i, n := range nodes {
		st := n.Stats()
		out := float64(st.GossipBytesOut-before[i].GossipBytesOut) / el
		in := float64(st.GossipBytesIn-before[i].GossipBytesIn) / el
		sumOut += out
		t.Logf("node n%d: gossip out %.1f KB/s, in %.1f KB/s, %d state entries, propagation delay max %v",
			i, out/1000, in/1000, st.Entries, st.MaxDelay.Round(time.Microsecond))
	}
	t.Logf("%d nodes, %.0f admitted requests/s in total: %.1f KB/s of counter gossip sent per node on average",
		nNodes, float64(admitted)/el, sumOut/nNodes/1000)
	if sumOut == 0 {
		t.Fatal("no gossip measured")
	}
}
