// Package clustersim measures cluster mode as it grows: N real memberlist nodes in one process, connected by
// memberlist's in-memory network (or loopback sockets, WEIR_SIM_TRANSPORT=udp), each with a real governance
// service (SQLite in memory), admitting a synthetic load spread round-robin; or N governance services sharing
// one real redis-server (mode redis). It reports
// per N the bytes each node sends, how long a counter takes to converge after a burst, and the overshoot of a
// rate limit and of a budget under a burst of ten times the limit. `make cluster-sim` prints the table
// (docs/cluster.md, "Scaling"); a small version runs in the normal test suite.
package clustersim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

// Params shape one run.
type Params struct {
	Mode Mode
	N    int
	// Rates are the cluster-wide admitted requests per second the bandwidth is measured at.
	Rates []int
	// Measure is how long each rate runs (after a warm-up of a sixth of it).
	Measure time.Duration
	// Burst is how many requests the overshoot bursts send (10× the limit of 100), over BurstSpan.
	Burst     int
	BurstSpan time.Duration
	// ConvergeBurst is how many admissions the convergence burst makes, as fast as they go.
	ConvergeBurst int
	// ConvergeTimeout caps the wait for every node to see the burst.
	ConvergeTimeout time.Duration
	// Transport connects the memberlist nodes: TransportMem (the default) or TransportUDP.
	Transport string
	Logger    *slog.Logger
}

// Transports (Params.Transport, WEIR_SIM_TRANSPORT).
const (
	// TransportMem is memberlist's in-memory MockNetwork (memtransport.go): no sockets, so 100 nodes fit on
	// 2 cores.
	TransportMem = "mem"
	// TransportUDP gives every node memberlist's own UDP/TCP transport on a loopback port.
	TransportUDP = "udp"
)

// Rate is the bandwidth at one load.
type Rate struct {
	Target   int     // requests/s asked for
	Achieved float64 // requests/s admitted
	// WireOut is the bytes/s one node sends on average: every memberlist packet and stream (probes, gossip,
	// deltas, push/pull; encrypted). PayloadOut is the counter payload within it.
	WireOut, PayloadOut float64
	// QueuedMax is the longest broadcast queue of any node at the end (deltas waiting for gossip).
	QueuedMax int
	// CPU is the process's CPU time per node per second of load (every node shares the one process).
	CPU time.Duration
}

// Row is one line of the table.
type Row struct {
	Mode      string
	N         int
	Transport string // "" for a store mode
	Rates     []Rate
	// Converge is how long after a burst every node saw all of it; 0 with Converged false: not within the timeout.
	Converge  time.Duration
	Converged bool
	// DelayP50 and DelayMax are how long one admission takes to show on another node while the cluster is idle
	// (3 s stands for "longer").
	DelayP50, DelayMax time.Duration
	// RPMAdmitted of Burst requests for a key with rpm: 100; BudgetAdmitted of Burst requests costing $0.01 each
	// against a $1 budget (the limit is 100 of them).
	RPMAdmitted, BudgetAdmitted int
	// MaxDelay is the largest propagation delay any node measured up to the end of the bursts (0: not measured).
	MaxDelay time.Duration
	// MinAlive is the fewest members any node saw alive when measuring began (N unless membership never settled).
	MinAlive int
	// Settle is how long after the last node started every node saw every other alive.
	Settle time.Duration
	// Store is true for a StoreMode; Immediate then says every read after an admission (the delay and the
	// convergence measurements) already counted it, as one shared count must.
	Store, Immediate bool
	// Dropped is how many memberlist packets the in-memory network dropped on a full receive queue (as a full
	// socket buffer drops UDP datagrams); Fallbacks how many calls to a store failed (admitted on the node's own
	// counters, on_error: open).
	Dropped, Fallbacks uint64
}

// RPMOvershoot is admitted / limit for rpm: 100.
func (r Row) RPMOvershoot() float64 { return float64(r.RPMAdmitted) / rpmLimit }

// BudgetOvershoot is spent / budget for the $1 budget.
func (r Row) BudgetOvershoot() float64 { return float64(r.BudgetAdmitted) * requestUSD / budgetUSD }

const (
	rpmLimit   = 100
	budgetUSD  = 1.0
	requestUSD = 0.01
)

// The simulated virtual keys: bw carries the bandwidth load through the same eight counters a governed request
// touches in production (key rpm/tpm/rpd/budget, team tpm/budget, customer rpm/budget); conv is counted for
// convergence; rl has rpm: 100; usd a $1 budget.
var (
	secretBW    = "wk-SimBW00123456789abcdefghijABCDEFGHIJ012345"
	secretConv  = "wk-SimConv123456789abcdefghijABCDEFGHIJ012345"
	secretRL    = "wk-SimRL00123456789abcdefghijABCDEFGHIJ012345"
	secretUSD   = "wk-SimUSD0123456789abcdefghijABCDEFGHIJ012345"
	secretDelay = "wk-SimDelay23456789abcdefghijABCDEFGHIJ012345"
)

func govConfig() *governance.Config {
	huge := &governance.RateLimits{RPM: 1 << 38, TPM: 1 << 39, RPD: 1 << 38}
	return &governance.Config{
		Customers: []governance.CustomerConfig{{ID: "acme", Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1M"},
			RateLimits: &governance.RateLimits{RPM: 1 << 38}}},
		Teams: []governance.TeamConfig{{ID: "platform", Customer: "acme", Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1d"},
			RateLimits: &governance.RateLimits{TPM: 1 << 39}}},
		VirtualKeys: []governance.VirtualKeyConfig{
			{ID: "bw", Value: secretBW, Team: "platform", RateLimits: huge, Budget: &governance.BudgetConfig{MaxUSD: 1e6, Reset: "1d"}},
			{ID: "conv", Value: secretConv, RateLimits: &governance.RateLimits{RPM: 1 << 38}},
			{ID: "delay", Value: secretDelay, RateLimits: &governance.RateLimits{RPM: 1 << 38}},
			{ID: "rl", Value: secretRL, RateLimits: &governance.RateLimits{RPM: rpmLimit}},
			{ID: "usd", Value: secretUSD, Budget: &governance.BudgetConfig{MaxUSD: budgetUSD, Reset: "1d"}},
		},
	}
}

// clock is the virtual clock every node shares: real time from a fixed point, which can jump to a fresh minute
// so a rate burst never straddles a window boundary.
type clock struct {
	base  time.Time
	start time.Time
	skip  atomic.Int64
}

func newClock() *clock {
	return &clock{base: time.Date(2030, 1, 1, 12, 0, 1, 0, time.UTC), start: time.Now()}
}

func (c *clock) Now() time.Time {
	return c.base.Add(time.Since(c.start) + time.Duration(c.skip.Load()))
}

// roomFor jumps to the start of the next minute (plus a second) unless d fits in the current one.
func (c *clock) roomFor(d time.Duration) {
	now := c.Now()
	next := now.Truncate(time.Minute).Add(time.Minute)
	if next.Sub(now) < d {
		c.skip.Add(int64(next.Sub(now) + time.Second))
	}
}

// simTransport is a memberlist transport that counts what its node sends.
type simTransport interface {
	memberlist.NodeAwareTransport
	Addr() string
	Sent() uint64
	Dropped() uint64
}

type node struct {
	gov *governance.Service
	tr  simTransport // nil in a store mode
	m   Member
	p   map[string]*governance.Principal
}

type simCluster struct {
	p        Params
	minAlive int // the fewest members any node saw alive when the measurements began
	settle   time.Duration
	store    StoreMode // the mode, when it is one
	clk      *clock
	nodes    []*node
	stops    []func()
}

// Run starts p.N nodes, measures, stops them and returns the row.
func Run(ctx context.Context, p Params) (Row, error) {
	if p.Logger == nil {
		p.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if p.Transport == "" {
		p.Transport = TransportMem
	}
	if p.Transport != TransportMem && p.Transport != TransportUDP {
		return Row{}, fmt.Errorf("transport %q: want %s or %s", p.Transport, TransportMem, TransportUDP)
	}
	c := &simCluster{p: p, clk: newClock()}
	c.store, _ = p.Mode.(StoreMode)
	defer c.stop()
	if err := c.start(ctx); err != nil {
		return Row{}, err
	}
	row := Row{Mode: p.Mode.Name(), N: p.N, Transport: p.Transport, MinAlive: c.minAlive, Settle: c.settle,
		Store: c.store != nil}
	if row.Store {
		row.Transport = ""
	}
	var firstDelay, firstConv bool
	row.DelayP50, row.DelayMax, firstDelay = c.delay()
	row.Converge, row.Converged, firstConv = c.converge()
	row.Immediate = firstDelay && firstConv
	row.RPMAdmitted = c.burst(secretRL, governance.Estimate{Tokens: 1, Cost: 0}, 0)
	row.BudgetAdmitted = c.burst(secretUSD, governance.Estimate{Tokens: 1, Cost: pricing.FromUSD(requestUSD)}, pricing.FromUSD(requestUSD))
	for _, nd := range c.nodes {
		if d, ok := nd.m.(Delayer); ok {
			row.MaxDelay = max(row.MaxDelay, d.MaxDelay())
		}
	}
	for _, r := range p.Rates {
		x, err := c.bandwidth(ctx, r)
		if err != nil {
			return row, err
		}
		row.Rates = append(row.Rates, x)
	}
	for _, nd := range c.nodes {
		if nd.tr != nil {
			row.Dropped += nd.tr.Dropped()
		}
		if f, ok := nd.m.(interface{ Fallbacks() uint64 }); ok {
			row.Fallbacks += f.Fallbacks()
		}
	}
	return row, nil
}

var runs atomic.Int64

// nodeName is node i's member name (and, in memory, its transport's).
func nodeName(i int) string { return fmt.Sprintf("sim%03d", i) }

var simKey = []byte("weir-cluster-simulation-key-32b!")

func (c *simCluster) start(ctx context.Context) error {
	run := fmt.Sprintf("%d-%d", time.Now().UnixNano(), runs.Add(1))
	var mem []*memTransport
	if c.store == nil && c.p.Transport == TransportMem {
		names := make([]string, c.p.N)
		for i := range names {
			names[i] = nodeName(i)
		}
		var mn *memNetwork
		mn, mem = newMemNetwork(names)
		c.stops = append(c.stops, mn.close) // runs after every node has stopped
	}
	var join []string
	for i := range c.p.N {
		env := NodeEnv{Index: i, Name: nodeName(i), Join: join, Key: simKey, Logger: c.p.Logger, Now: c.clk.Now,
			N: c.p.N, Run: run}
		opt := governance.Options{Logger: c.p.Logger, Now: c.clk.Now, FlushInterval: time.Hour}
		if c.store != nil {
			cs, closeStore, err := c.store.Store(ctx, env)
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			c.stops = append(c.stops, closeStore) // after governance's close (stops run last first)
			opt.Counters, env.Store = cs, cs
		}
		st, err := sqlite.Open(ctx, ":memory:")
		if err != nil {
			return err
		}
		c.stops = append(c.stops, func() { st.Close() })
		gov, err := governance.New(ctx, st, opt)
		if err != nil {
			return err
		}
		c.stops = append(c.stops, func() { gov.Close(context.Background()) })
		if _, err := gov.Seed(ctx, govConfig()); err != nil {
			return err
		}
		nd := &node{gov: gov, p: map[string]*governance.Principal{}}
		for _, s := range []string{secretBW, secretConv, secretDelay, secretRL, secretUSD} {
			if nd.p[s] = gov.Authenticate(s); nd.p[s] == nil {
				return fmt.Errorf("node %d: key %s not seeded", i, s[:9])
			}
		}
		switch {
		case c.store != nil:
		case mem != nil:
			nd.tr = mem[i]
		default:
			if nd.tr, err = newCountingTransport(); err != nil {
				return err
			}
		}
		env.Gov = gov
		if nd.tr != nil {
			env.Transport, env.Addr = nd.tr, nd.tr.Addr()
		}
		if nd.m, err = c.p.Mode.Start(ctx, env); err != nil {
			if nd.tr != nil {
				nd.tr.Shutdown()
			}
			return fmt.Errorf("node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, nd)
		if len(join) < 3 && env.Addr != "" { // later nodes join through the first three; gossip spreads the rest
			join = append(join, env.Addr)
		}
	}
	started := time.Now()
	deadline := started.Add(30*time.Second + time.Duration(c.p.N)*time.Second)
	for {
		least := c.p.N
		for _, nd := range c.nodes {
			least = min(least, nd.m.Alive())
		}
		c.minAlive = least
		c.settle = time.Since(started)
		if least == c.p.N {
			return nil
		}
		if time.Now().After(deadline) {
			// A starved machine keeps failing memberlist's probes at large N: measure anyway, and say so.
			if least*10 >= c.p.N*8 {
				return nil
			}
			return fmt.Errorf("%d nodes did not all see each other (one sees %d alive)", c.p.N, least)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *simCluster) stop() {
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); nd.m.Stop() }() // each leave waits for its broadcast: in parallel
	}
	wg.Wait()
	for i := len(c.stops) - 1; i >= 0; i-- {
		c.stops[i]()
	}
}

// admit sends request i (round-robin) with est and settles it at cost; it reports whether it was admitted.
func (c *simCluster) admit(ctx context.Context, secret string, i int, est governance.Estimate, cost pricing.Money) bool {
	nd := c.nodes[i%len(c.nodes)]
	r, d := nd.gov.Admit(ctx, nd.p[secret], "openai/gpt-4o-mini", est)
	if d != nil {
		return false
	}
	r.Settle(schema.Usage{PromptTokens: est.Tokens}, cost)
	return true
}

// paced calls fn for requests 0, 1, … at rate per second for d, in 1 ms steps, and returns how many it made.
func paced(rate int, d time.Duration, fn func(i int)) int {
	start := time.Now()
	done := 0
	for {
		el := time.Since(start)
		if el >= d {
			return done
		}
		for due := int(el.Seconds() * float64(rate)); done < due; done++ {
			fn(done)
		}
		time.Sleep(time.Millisecond)
	}
}

// loadWorkers is how many requests the bandwidth load has in flight at most: a gateway serves many at once, and
// a mode whose admission waits (a Redis round trip, a lease from an owner) reaches the rate only with several
// in flight.
const loadWorkers = 32

// pacedParallel is paced with up to loadWorkers calls of fn in flight; it returns how many calls finished
// within d (those still in flight then are waited for, and not counted).
func pacedParallel(rate int, d time.Duration, fn func(i int)) int {
	work := make(chan int, loadWorkers)
	var finished atomic.Int64
	var open atomic.Bool
	open.Store(true)
	var wg sync.WaitGroup
	for range loadWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
				if open.Load() {
					finished.Add(1)
				}
			}
		}()
	}
	paced(rate, d, func(i int) { work <- i }) // blocks while every worker is busy: the rate is not reached
	open.Store(false)
	close(work)
	wg.Wait()
	return int(finished.Load())
}

// burst sends Burst requests round-robin over BurstSpan for secret and returns how many were admitted.
func (c *simCluster) burst(secret string, est governance.Estimate, cost pricing.Money) int {
	ctx := context.Background()
	c.clk.roomFor(c.p.BurstSpan + 5*time.Second)
	admitted := 0
	rate := int(float64(c.p.Burst) / c.p.BurstSpan.Seconds())
	sent := paced(rate, c.p.BurstSpan, func(i int) {
		if c.admit(ctx, secret, i, est, cost) {
			admitted++
		}
	})
	for ; sent < c.p.Burst; sent++ { // the pacing's last step
		if c.admit(ctx, secret, sent, est, cost) {
			admitted++
		}
	}
	return admitted
}

// used is node i's view of secret's first limit (rpm for conv).
func (c *simCluster) used(i int, secret string) int64 {
	nd := c.nodes[i]
	for _, l := range nd.gov.Peek(nd.p[secret]) {
		if l.Metric == "rpm" {
			return l.Status.Used
		}
	}
	return -1
}

// delay admits one request at a time on node 0 and times how long node N-1 takes to count it (the propagation
// delay d of the overshoot bound), over 20 admissions spaced out on an idle cluster (each given up to 3 s; five
// in a row not seen within 3 s end it).
// first reports whether every first read after an admission already counted it.
func (c *simCluster) delay() (p50, worst time.Duration, first bool) {
	ctx := context.Background()
	c.clk.roomFor(time.Minute / 2)
	last := len(c.nodes) - 1
	var ds []time.Duration
	capped := 0 // admissions in a row not seen within 3 s
	first = true
	for i := range 20 {
		c.admit(ctx, secretDelay, 0, governance.Estimate{Tokens: 1}, 0)
		t0 := time.Now()
		for reads := 0; c.used(last, secretDelay) < int64(i+1) && time.Since(t0) < 3*time.Second; reads++ {
			if reads == 0 {
				first = false
			}
			time.Sleep(200 * time.Microsecond)
		}
		ds = append(ds, time.Since(t0))
		capped++
		if ds[len(ds)-1] < 3*time.Second {
			capped = 0
		}
		if capped == 5 {
			break // five in a row not seen within 3 s: the rest would not be either
		}
		time.Sleep(20 * time.Millisecond)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1], first
}

// converge admits ConvergeBurst requests round-robin as fast as they go, then waits until every node counts
// all of them; first reports whether the first round of reads already did.
func (c *simCluster) converge() (time.Duration, bool, bool) {
	ctx := context.Background()
	c.clk.roomFor(c.p.ConvergeTimeout + 5*time.Second)
	for i := range c.p.ConvergeBurst {
		c.admit(ctx, secretConv, i, governance.Estimate{Tokens: 1}, 0)
	}
	end := time.Now()
	want := int64(c.p.ConvergeBurst)
	for round := 0; time.Since(end) < c.p.ConvergeTimeout; round++ {
		all := true
		for i := range c.nodes {
			if c.used(i, secretConv) != want {
				all = false
				break
			}
		}
		if all {
			return time.Since(end), true, round == 0
		}
		time.Sleep(time.Millisecond)
	}
	return 0, false, false
}

// bandwidth runs rate admitted requests/s of the bw key round-robin and reports what each node sends.
func (c *simCluster) bandwidth(ctx context.Context, rate int) (Rate, error) {
	load := func(d time.Duration) int {
		return pacedParallel(rate, d, func(i int) {
			c.admit(ctx, secretBW, i, governance.Estimate{Tokens: 150, Cost: 100}, 90)
		})
	}
	load(c.p.Measure / 6) // warm up: counters created and first state exchanged
	wire0, pay0, scpu0, err := c.sent(ctx)
	if err != nil {
		return Rate{}, err
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	n := load(c.p.Measure)
	el := time.Since(t0).Seconds()
	cpu1 := cpuTime()
	wire1, pay1, scpu1, err := c.sent(ctx)
	if err != nil {
		return Rate{}, err
	}
	nodes := float64(len(c.nodes))
	r := Rate{Target: rate, Achieved: float64(n) / el,
		WireOut: float64(wire1-wire0) / el / nodes, PayloadOut: float64(pay1-pay0) / el / nodes,
		CPU: time.Duration(float64(cpu1-cpu0+scpu1-scpu0) / el / nodes)}
	for _, nd := range c.nodes {
		r.QueuedMax = max(r.QueuedMax, nd.m.Queued())
	}
	return r, nil
}

// sent is what every node together has sent: on the wire and as counter payload; for a store mode both are
// what the store received, and storeCPU the store's own CPU time.
func (c *simCluster) sent(ctx context.Context) (wire, payload uint64, storeCPU time.Duration, err error) {
	if c.store != nil {
		in, cpu, err := c.store.StoreStats(ctx)
		return in, in, cpu, err
	}
	for _, nd := range c.nodes {
		wire += nd.tr.Sent()
		payload += nd.m.PayloadOut()
	}
	return wire, payload, 0, nil
}

// Table renders rows as the Markdown table of docs/cluster.md.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| mode | N | one admission seen on another node, p50 / max | every node sees a burst of 100 after | " +
		"rpm: 100, 1,000 requests in 1 s | $1 budget, 1,000 × $0.01 in 1 s |")
	for _, r := range rateHeads(rows) {
		fmt.Fprintf(&b, " sent per node at %s req/s (counter payload) | CPU per node |", group(r))
	}
	b.WriteString(" deltas queued at the end | transport; membership settled after |\n|---|---:|---:|---:|---:|---:|")
	for range rateHeads(rows) {
		b.WriteString("---:|---:|")
	}
	b.WriteString("---:|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d", r.Mode, r.N)
		if r.MinAlive < r.N {
			fmt.Fprintf(&b, " (a node saw %d alive)", r.MinAlive)
		}
		fmt.Fprintf(&b, " | %s |", propagation(r))
		fmt.Fprintf(&b, " %d admitted (%.2f×) | $%.2f spent (%.2f×) |", r.RPMAdmitted, r.RPMOvershoot(),
			float64(r.BudgetAdmitted)*requestUSD, r.BudgetOvershoot())
		q := 0
		for _, x := range r.Rates {
			if r.Store {
				fmt.Fprintf(&b, " %s to Redis", kb(x.WireOut))
			} else {
				fmt.Fprintf(&b, " %s (%s)", kb(x.WireOut), kb(x.PayloadOut))
			}
			if x.Achieved < 0.9*float64(x.Target) {
				fmt.Fprintf(&b, ", only %.0f req/s driven", x.Achieved)
			}
			fmt.Fprintf(&b, " | %v/s |", ms(x.CPU))
			q = x.QueuedMax
		}
		fmt.Fprintf(&b, " %d | %s |\n", q, notes(r))
	}
	return b.String()
}

// propagation is the two columns of how soon other nodes count an admission.
func propagation(r Row) string {
	if r.Store && r.Immediate {
		return "immediate: one count, every read after an admission saw it | immediate: every node's first read saw all"
	}
	conv := "not within the timeout"
	if r.Converged {
		conv = ms(r.Converge)
	}
	return fmt.Sprintf("%v / %v | %s", ms(r.DelayP50), ms(r.DelayMax), conv)
}

// notes is the last column: how the nodes were connected and anything lost on the way.
func notes(r Row) string {
	if r.Store {
		if r.Fallbacks > 0 {
			return fmt.Sprintf("one redis-server; %d calls failed (admitted on the node's own counters)", r.Fallbacks)
		}
		return "one redis-server; no call failed"
	}
	s := fmt.Sprintf("%s; %v", r.Transport, r.Settle.Round(100*time.Millisecond))
	if r.MinAlive < r.N {
		s = fmt.Sprintf("%s; never settled (a node saw %d alive)", r.Transport, r.MinAlive)
	}
	if r.Dropped > 0 {
		s += fmt.Sprintf("; %d packets dropped on full queues", r.Dropped)
	}
	return s
}

func rateHeads(rows []Row) []int {
	var out []int
	for _, r := range rows {
		if len(r.Rates) > len(out) {
			out = out[:0]
			for _, x := range r.Rates {
				out = append(out, x.Target)
			}
		}
	}
	return out
}

func group(n int) string {
	if n >= 1000 {
		return fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	return fmt.Sprint(n)
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}

func kb(bps float64) string {
	if bps >= 1e6 {
		return fmt.Sprintf("%.1f MB/s", bps/1e6)
	}
	return fmt.Sprintf("%.1f KB/s", bps/1e3)
}
