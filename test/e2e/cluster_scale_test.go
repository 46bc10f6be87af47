package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/redistest"
)

// scaleConfig is how one mode of the scale test configures a node: a counter-sharing mode (cluster.counters)
// and extra lines for the cluster: section.
type scaleConfig struct {
	counters string // "": the default (auto)
	yaml     string
}

// clusterModeYAML is what each counter-sharing mode adds to a node's config. WEIR_CLUSTER_MODE picks one;
// WEIR_E2E_CLUSTER_YAML gives the cluster: lines (indented for `cluster:`) for a mode not listed here.
var clusterModeYAML = map[string]scaleConfig{
	"gossip":        {counters: "gossip"},
	"gossip-direct": {counters: "gossip", yaml: "  direct_fanout: 1000\n"}, // deltas straight to every peer at any size
	"gossip-16":     {counters: "gossip", yaml: "  direct_fanout: 16\n"},   // the design before direct_fanout: gossip above 16 members
	"ring":          {counters: "ring"},                                    // per-counter owners on a consistent-hash ring lease batches
	"auto":          {},                                                    // the default: ring above cluster.ring.auto_above members
	"redis":         {counters: "redis"},                                   // a redis-server the test starts
}

// scaleMode returns the mode under test and its configuration.
func scaleMode(t *testing.T) (string, scaleConfig) {
	t.Helper()
	mode := os.Getenv("WEIR_CLUSTER_MODE")
	if mode == "" {
		mode = "auto" // what a deployment gets: gossip up to ring.auto_above members, the ring above
	}
	if y := os.Getenv("WEIR_E2E_CLUSTER_YAML"); y != "" {
		return mode, scaleConfig{yaml: y}
	}
	c, ok := clusterModeYAML[mode]
	if !ok {
		t.Fatalf("WEIR_CLUSTER_MODE=%s: no config known for it; set WEIR_E2E_CLUSTER_YAML to its cluster: lines", mode)
	}
	return mode, c
}

// clusterSizes is WEIR_E2E_CLUSTER_N (comma-separated; `make cluster-e2e` sets 20,50), or def.
func clusterSizes(t *testing.T, def ...int) []int {
	t.Helper()
	s := os.Getenv("WEIR_E2E_CLUSTER_N")
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			t.Fatalf("WEIR_E2E_CLUSTER_N=%q: want sizes of 2 or more", s)
		}
		out = append(out, n)
	}
	return out
}

// TestClusterBurstBound starts N real weir processes on loopback sharing one key with rpm: 100 and sends a burst
// of 1,000 requests round-robin at concurrency 50: the cluster must admit at least 100 and at most 110, and
// every node must then count what was admitted. The normal suite runs 5 processes at 150 requests/s (gossip's
// overshoot is the arrival rate × the propagation delay, and this is a shared 2-core machine);
// `make cluster-e2e` runs 20 and 50 (WEIR_E2E_CLUSTER_N) as fast as 50 clients go (WEIR_E2E_CLUSTER_RATE=0),
// per mode (WEIR_CLUSTER_MODE).
func TestClusterBurstBound(t *testing.T) {
	mode, sc := scaleMode(t)
	rate := 150
	if s := os.Getenv("WEIR_E2E_CLUSTER_RATE"); s != "" {
		var err error
		if rate, err = strconv.Atoi(s); err != nil || rate < 0 {
			t.Fatalf("WEIR_E2E_CLUSTER_RATE=%q: want requests/s, 0 for unpaced", s)
		}
	}
	for _, n := range clusterSizes(t, 5) {
		t.Run(fmt.Sprintf("%s/%d", mode, n), func(t *testing.T) { clusterBurst(t, n, rate, mode, sc) })
	}
}

// clusterBurst runs one size; rate paces the burst (requests/s; 0: as fast as the clients go).
func clusterBurst(t *testing.T, n, rate int, mode string, sc scaleConfig) {
	const limit, total, concurrency, bound = 100, 1000, 50, int64(110)
	key := vk(40 + n%50)
	keys := `    - {id: k, value: ` + key + `, rate_limits: {rpm: 100}}`
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeGossipAddr(t)
	}
	join := addrs[:min(3, n)] // the rest is learnt through gossip, as behind a headless Service
	cm := clusterMode{name: sc.counters}
	if cm.redis() {
		cm.redisURL = redistest.Start(t).URL()
	}
	gs := make([]*gateway, n)
	start := time.Now()
	for i := range gs {
		cfg := clusterNodeConfig(cm, fmt.Sprintf("node%d", i), addrs[i], join, t.TempDir(), keys) + sc.yaml
		gs[i] = startGateway(t, cfg, "WEIR_CLUSTER_KEY="+clusterKey)
	}
	deadline := time.Now().Add(60*time.Second + time.Duration(n)*time.Second)
	for i := 0; i < n && !cm.redis(); { // redis: no membership to wait for
		if getClusterView(t, gs[i]).Alive == n {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("node%d sees %d of %d members alive", i, getClusterView(t, gs[i]).Alive, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d processes up and all alive in %v", n, time.Since(start).Round(time.Millisecond))

	// The burst and the convergence check below must stay in one minute: a read after it turns sees the sliding
	// window's decaying share, not the count. Small clusters converge in milliseconds; large ones may need
	// push/pull rounds.
	room := 15 * time.Second
	if n > 10 {
		room = 50 * time.Second
	}
	waitForWindowRoom(t, room)
	minuteEnd := time.Now().Truncate(time.Minute).Add(time.Minute - 500*time.Millisecond)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * concurrency, MaxIdleConnsPerHost: concurrency}}
	body := `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`
	var next, admitted atomic.Int64
	perNode := make([]atomic.Int64, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(t0.Add(time.Duration(i) * time.Second / time.Duration(rate))))
				}
				req, _ := http.NewRequest("POST", gs[i%n].URL+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					admitted.Add(1)
					perNode[i%n].Add(1)
				case 429:
				default:
					t.Errorf("request %d: status %d", i, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	got := admitted.Load()
	var per []int64
	for i := range perNode {
		per = append(per, perNode[i].Load())
	}
	t.Logf("%d processes admitted %d of %d requests for rpm %d in %v (%.0f requests/s, concurrency %d, paced at %d/s); "+
		"per node %v", n, got, total, limit, el.Round(time.Millisecond), total/el.Seconds(), concurrency, rate, per)
	// The bound: 110. Gossip's documented one is the limit + the arrival rate × the propagation delay d; on a
	// shared CI machine d can reach hundreds of milliseconds, so its small default run (5 processes, no
	// WEIR_E2E_CLUSTER_N) is held to 110 plus rate × the largest d the nodes measured. Explicit sizes are held
	// to 110 in every mode.
	var dmax float64 // seconds
	var asks, fallbacks uint64
	for _, g := range gs {
		v := getClusterView(t, g)
		dmax = max(dmax, v.DelayMaxMS/1000)
		asks += v.LeaseRequests
		fallbacks += v.LeaseFallbacks
	}
	if sc.counters == "ring" || sc.counters == "" {
		t.Logf("lease requests %d, lease fallbacks %d (an unanswered lease request puts its lessee on the fallback)", asks, fallbacks)
	}
	allowed := bound
	gossips := strings.HasPrefix(mode, "gossip") || mode == "auto" && n <= 16 // auto's ring.auto_above
	if gossips && os.Getenv("WEIR_E2E_CLUSTER_N") == "" {
		allowed += int64(math.Ceil(total / el.Seconds() * dmax))
	}
	t.Logf("largest propagation delay measured by a node: %.1f ms; bound %d", dmax*1000, allowed)
	if got < limit || got > allowed {
		t.Errorf("admitted %d; want %d..%d", got, limit, allowed)
	}
	// Every node converges on the admissions (push/pull anti-entropy may be needed: up to ~10 s per round).
	var views []int64
	convDeadline := time.Now().Add(45 * time.Second)
	if convDeadline.After(minuteEnd) {
		convDeadline = minuteEnd
	}
	for ; ; time.Sleep(200 * time.Millisecond) {
		views = views[:0]
		same := true
		for _, g := range gs {
			v := rpmUsed(t, g)
			views = append(views, v)
			same = same && v == got
		}
		if same {
			t.Logf("every node counts %d after %v", got, time.Since(t0.Add(el)).Round(time.Millisecond))
			return
		}
		if time.Now().After(convDeadline) {
			t.Fatalf("nodes count %v, want all %d", views, got)
		}
	}
}

// rpmUsed is a node's view of key k's rpm usage (GET /api/usage).
func rpmUsed(t *testing.T, g *gateway) int64 {
	t.Helper()
	var m struct {
		Usage []struct {
			Subject, Metric string
			Used            *int64
		}
	}
	resp, err := http.Get(g.URL + "/api/usage?key=k")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/usage: %d %v", resp.StatusCode, err)
	}
	for _, u := range m.Usage {
		if u.Subject == "key:k" && u.Metric == "rpm" && u.Used != nil {
			return *u.Used
		}
	}
	return -1
}
