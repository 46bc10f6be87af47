package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/redistest"
)

var clusterKey = base64.StdEncoding.EncodeToString([]byte("weir-e2e-cluster-key-32-bytes!!!"))

// freeGossipAddr finds a loopback port free for both TCP and UDP (memberlist binds both).
func freeGossipAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		a := freeAddr(t)
		if u, err := net.ListenPacket("udp", a); err == nil {
			u.Close()
			return a
		}
	}
	t.Fatal("no free gossip port")
	return ""
}

// clusterMode is how a test cluster shares its counters: its cluster.counters value — gossip or ring (both over
// memberlist) or redis (a real redis-server).
type clusterMode struct {
	name     string
	redisURL string // redis mode
}

// clusterModes are the cluster.counters modes every multi-process cluster test runs in: the bound, node loss
// and partition must hold in each.
var clusterModes = []string{"gossip", "ring", "redis"}

func (m clusterMode) redis() bool { return m.name == "redis" }

// section is the node's cluster: config section.
func (m clusterMode) section(name, bind string, join []string) string {
	if m.redis() {
		return fmt.Sprintf(`
cluster:
  counters: redis
  redis: {url: %q, retry_interval: 200ms}
`, m.redisURL)
	}
	return fmt.Sprintf(`
cluster:
  enabled: true
  name: %s
  bind: %q
  join: [%s]
  gossip_interval: 100ms
`, name, bind, `"`+strings.Join(join, `", "`)+`"`) + m.countersLine()
}

// countersLine is the cluster.counters line of a memberlist mode ("" with no name: the default, auto).
func (m clusterMode) countersLine() string {
	if m.name == "" {
		return ""
	}
	return "  counters: " + m.name + "\n"
}

// forEachClusterMode runs test once per mode of clusterModes; the redis run gets its own redis-server (and skips,
// saying so, where none is installed).
func forEachClusterMode(t *testing.T, test func(t *testing.T, m clusterMode)) {
	for _, name := range clusterModes {
		t.Run(name, func(t *testing.T) {
			m := clusterMode{name: name}
			if m.redis() {
				m.redisURL = redistest.Start(t).URL()
			}
			test(t, m)
		})
	}
}

func clusterConfig(m clusterMode, name, bind string, join []string, key string) string {
	return fmt.Sprintf(`
providers:
  - {name: mock, type: mock}
client:
  enforce_governance_header: true
governance:
  store: {dsn: ":memory:"}
  virtual_keys:
    - {id: k, value: %s, rate_limits: {rpm: 100}}
`, key) + m.section(name, bind, join)
}

// waitForWindowRoom avoids starting a rate test in the last seconds of a minute: the sliding window would
// start to forgive the first window's count during the test.
func waitForWindowRoom(t *testing.T, need time.Duration) {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < need {
		t.Logf("waiting %v for a fresh minute", left.Round(time.Millisecond))
		time.Sleep(left + 200*time.Millisecond)
	}
}

// TestClusterSharesRateLimitAcrossThreeProcesses: three replicas with rpm 100 under 1,000 requests round-robin
// admit about 100 with gossip (95..110) and exactly 100 with redis.
func TestClusterSharesRateLimitAcrossThreeProcesses(t *testing.T) {
	forEachClusterMode(t, testClusterSharesRateLimit)
}

func testClusterSharesRateLimit(t *testing.T, m clusterMode) {
	addrs := []string{freeGossipAddr(t), freeGossipAddr(t), freeGossipAddr(t)}
	var gs []*gateway
	for i, a := range addrs {
		gs = append(gs, startGateway(t, clusterConfig(m, fmt.Sprintf("node%d", i), a, addrs, vk(1)), "WEIR_CLUSTER_KEY="+clusterKey))
	}
	for i, g := range gs {
		if m.redis() {
			break
		}
		waitUntil(t, fmt.Sprintf("node%d to see 2 peers", i), func() bool {
			return strings.Count(g.logs.String(), "cluster: member joined") >= 2
		})
	}

	waitForWindowRoom(t, 10*time.Second)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	const total = 1000
	admitted, refused := 0, 0
	perNode := make([]int, len(gs))
	start := time.Now()
	for i := range total {
		// Paced at ~300 requests/s: 1,000 requests over about 3.3 s.
		if d := time.Until(start.Add(time.Duration(i) * 3300 * time.Microsecond)); d > 0 {
			time.Sleep(d)
		}
		req, _ := http.NewRequest("POST", gs[i%3].URL+"/v1/chat/completions",
			strings.NewReader(`{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+vk(1))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			admitted++
			perNode[i%3]++
		case 429:
			refused++
		default:
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	t.Logf("%s cluster of 3 admitted %d of %d requests for rpm 100 in %v (per node %v; refused %d; without cluster mode: 300)",
		m.name, admitted, total, time.Since(start).Round(time.Millisecond), perNode, refused)
	if m.redis() {
		if admitted != 100 {
			t.Fatalf("admitted %d; the redis counter store is exact: want 100", admitted)
		}
		return
	}
	if admitted < 95 || admitted > 110 {
		t.Fatalf("admitted %d, want 95..110", admitted)
	}

	// A node with another key does not join, and says why.
	bad := base64.StdEncoding.EncodeToString([]byte("another-key-16by"))
	g4 := startGateway(t, clusterConfig(m, "intruder", freeGossipAddr(t), addrs, vk(1)), "WEIR_CLUSTER_KEY="+bad)
	waitUntil(t, "the intruder's key-mismatch log line", func() bool {
		return strings.Contains(g4.logs.String(), "peers use a different cluster key")
	})
	time.Sleep(500 * time.Millisecond)
	for i, g := range gs {
		if strings.Contains(g.logs.String(), `member joined","name":"intruder"`) {
			t.Fatalf("node%d let the intruder join", i)
		}
	}
	if strings.Contains(g4.logs.String(), "cluster: member joined") {
		t.Fatal("the intruder joined")
	}
}

func TestClusterNeedsKey(t *testing.T) {
	a := freeGossipAddr(t)
	cfg := clusterConfig(clusterMode{name: "gossip"}, "lonely", a, []string{a}, vk(2))
	// startGateway fails the test when the process exits; run the binary directly instead.
	out := runWeirExpectFailure(t, cfg)
	if !strings.Contains(out, "WEIR_CLUSTER_KEY") || !strings.Contains(out, "could not start cluster mode") {
		t.Fatalf("no clear error:\n%s", out)
	}
}

// runWeirExpectFailure runs weir serve without WEIR_CLUSTER_KEY and returns its output; it must exit non-zero.
func runWeirExpectFailure(t *testing.T, config string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weir.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(weirBin, "serve", "-addr", freeAddr(t), "-config", path)
	env := []string{"WEIR_DATA_DIR=" + t.TempDir()}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "WEIR_CLUSTER_KEY=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("weir kept running without a cluster key:\n%s", out)
	}
	if err == nil {
		t.Fatalf("weir exited 0 without a cluster key:\n%s", out)
	}
	return string(out)
}

// clusterNodeConfig is one cluster node with its own data dir (its own SQLite store) and the given virtual key
// lines (YAML, indented for governance.virtual_keys).
func clusterNodeConfig(m clusterMode, name, bind string, join []string, dataDir, keys string) string {
	return fmt.Sprintf(`
server:
  data_dir: %s
providers:
  - {name: mock, type: mock}
client:
  enforce_governance_header: true
governance:
  virtual_keys:
%s
`, dataDir, keys) + m.section(name, bind, join)
}

// clusterNode is one weir process of a test cluster, with what it takes to restart it under the same identity.
type clusterNode struct {
	*gateway
	mode                clusterMode
	name, bind, dataDir string
}

// startTestCluster starts n weir processes on loopback forming one cluster and, with gossip, waits until every
// node sees every other.
func startTestCluster(t *testing.T, m clusterMode, n int, keys string) ([]*clusterNode, []string) {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeGossipAddr(t)
	}
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		nodes[i] = &clusterNode{mode: m, name: fmt.Sprintf("node%d", i), bind: addrs[i], dataDir: t.TempDir()}
		nodes[i].start(t, addrs, keys)
	}
	for _, nd := range nodes {
		if m.redis() {
			break
		}
		waitUntil(t, nd.name+" to see every peer alive", func() bool { return aliveMembers(t, nd.gateway) == n })
	}
	return nodes, addrs
}

func (nd *clusterNode) start(t *testing.T, join []string, keys string) {
	t.Helper()
	nd.gateway = startGateway(t, clusterNodeConfig(nd.mode, nd.name, nd.bind, join, nd.dataDir, keys), "WEIR_CLUSTER_KEY="+clusterKey)
}

// kill9 ends the process with SIGKILL: no graceful leave, no final flush.
func (g *gateway) kill9(t *testing.T) {
	t.Helper()
	if err := g.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-g.done
}

// clusterView is GET /api/cluster.
type clusterView struct {
	Self    string `json:"self"`
	Alive   int    `json:"alive"`
	Members []struct {
		Name      string    `json:"name"`
		Addr      string    `json:"addr"`
		State     string    `json:"state"`
		Self      bool      `json:"self"`
		LastState time.Time `json:"last_state"`
	} `json:"members"`
	Entries        int     `json:"entries"`
	GossipBytesOut uint64  `json:"gossip_bytes_out"`
	GossipBytesIn  uint64  `json:"gossip_bytes_in"`
	DelayLastMS    float64 `json:"propagation_delay_last_ms"`
	DelayMaxMS     float64 `json:"propagation_delay_max_ms"`
	Counters       string  `json:"counters"` // gossip or ring: the mode in effect
	LeaseRequests  uint64  `json:"lease_requests"`
	LeaseFallbacks uint64  `json:"lease_fallbacks"`
}

func getClusterView(t *testing.T, g *gateway) clusterView {
	t.Helper()
	resp, err := http.Get(g.URL + "/api/cluster")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/cluster: %d %s", resp.StatusCode, raw)
	}
	var v clusterView
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("GET /api/cluster: %v: %s", err, raw)
	}
	return v
}

func aliveMembers(t *testing.T, g *gateway) int {
	n := 0
	for _, m := range getClusterView(t, g).Members {
		if m.State == "alive" {
			n++
		}
	}
	return n
}

func memberState(v clusterView, name string) string {
	for _, m := range v.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

// clusterChat sends one chat request with the virtual key and returns the status.
func clusterChat(t *testing.T, hc *http.Client, g *gateway, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 429 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.StatusCode
}

func spentUSD(t *testing.T, g *gateway, key string) float64 {
	t.Helper()
	u := usageOf(t, g, key, "")["key:"+key+" spend/1d"]
	if u == nil {
		t.Fatal("no spend counter")
	}
	return u["spent_usd"].(float64)
}

// TestClusterBudgetAcrossThreeProcesses: a $1 budget spent through three replicas stops within a request per
// node of $1, and every replica reports the same spend.
func TestClusterBudgetAcrossThreeProcesses(t *testing.T) {
	forEachClusterMode(t, testClusterBudget)
}

func testClusterBudget(t *testing.T, m clusterMode) {
	nodes, _ := startTestCluster(t, m, 3, `    - {id: payer, value: `+vk(3)+`, budget: {max_usd: 1, reset: 1d}}`)
	// A ~20 KB prompt is ~5,000 mock tokens: about $0.005 a request, so $1 takes about 200 requests.
	body := `{"model":"mock/mock-model","max_tokens":30,"messages":[{"role":"user","content":"` +
		strings.Repeat("spend ", 3400) + `"}]}`
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	if code := clusterChat(t, hc, nodes[0].gateway, vk(3), body); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	cost := spentUSD(t, nodes[0].gateway, "payer") // every request has the same body, hence the same charge
	if cost < 0.003 || cost > 0.01 {
		t.Fatalf("one request charged $%v; want about $0.005", cost)
	}
	admitted, perNode := 1, make([]int, 3)
	perNode[0] = 1
	start := time.Now()
	refusedRun := 0
	for i := 1; refusedRun < 6; i++ {
		if i > 2000 {
			t.Fatalf("still admitting after %d requests ($%v spent)", i, float64(admitted)*cost)
		}
		// Paced at ~200 requests/s across the cluster.
		if d := time.Until(start.Add(time.Duration(i) * 5 * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
		if clusterChat(t, hc, nodes[i%3].gateway, vk(3), body) == 200 {
			admitted++
			perNode[i%3]++
			refusedRun = 0
		} else {
			refusedRun++
		}
	}
	total := float64(admitted) * cost
	t.Logf("%s: budget $1 across 3 nodes: admitted %d requests at $%.6f each = $%.4f (per node %v) in %v",
		m.name, admitted, cost, total, perNode, time.Since(start).Round(time.Millisecond))
	if m.redis() && total > 1 {
		t.Fatalf("total spend $%v: the redis counter store reserves exactly, so the $1 budget may not be passed", total)
	}
	if total > 1+3*cost || total < 1-3*cost {
		t.Fatalf("total spend $%v; want within $%v (one request per node) of the $1 budget", total, 3*cost)
	}
	// Every node's view converges on the same cluster-wide spend.
	for _, nd := range nodes {
		waitUntil(t, nd.name+"'s spend view to converge", func() bool {
			s := spentUSD(t, nd.gateway, "payer")
			return s > total-cost/2 && s < total+cost/2
		})
	}
	// Refused on every node once the budget has no room for another request. In ring mode a lessee may refuse
	// while another node holds units unused; they come back to the owner within a second (idleReturn), so a
	// request the budget still has room for may be admitted here — but none past it.
	for _, nd := range nodes {
		for {
			code := clusterChat(t, hc, nd.gateway, vk(3), body)
			if code == 429 {
				break
			}
			if code != 200 {
				t.Fatalf("%s: status %d", nd.name, code)
			}
			admitted++
			if spent := float64(admitted) * cost; spent > 1 {
				t.Fatalf("%s admitted a request past the budget: $%v spent", nd.name, spent)
			}
			t.Logf("%s admitted a request the budget had room for ($%.4f spent)", nd.name, float64(admitted)*cost)
		}
	}
}

// TestClusterNodeLossAndRestartKeepCounts: kill -9 of one of three replicas loses none of its admissions, and
// the replica restarted under the same name admits only what is left.
func TestClusterNodeLossAndRestartKeepCounts(t *testing.T) {
	forEachClusterMode(t, testClusterNodeLossAndRestart)
}

func testClusterNodeLossAndRestart(t *testing.T, m clusterMode) {
	const n = 3
	keys := `    - {id: k, value: ` + vk(4) + `, rate_limits: {rpm: 100}}`
	nodes, addrs := startTestCluster(t, m, n, keys)
	waitForWindowRoom(t, 30*time.Second)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	body := `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`
	send := func(g *gateway, count int) (admitted int) {
		for range count {
			if clusterChat(t, hc, g, vk(4), body) == 200 {
				admitted++
			}
			time.Sleep(3 * time.Millisecond)
		}
		return admitted
	}
	// Phase 1: 60 requests round-robin over the three nodes; all admitted.
	before := 0
	for i := range 60 {
		before += send(nodes[i%n].gateway, 1)
	}
	if before != 60 {
		t.Fatalf("admitted %d of the first 60 (rpm 100)", before)
	}
	time.Sleep(100 * time.Millisecond) // let node2's last deltas out: kill -9 gives it no chance to flush

	// Phase 2: kill -9 node2; the other two keep serving and keep counting its 20 admissions.
	nodes[2].kill9(t)
	after := 0
	for i := range 200 {
		after += send(nodes[i%2].gateway, 1)
	}
	t.Logf("%s: after kill -9 of node2: the other two admitted %d more (60 before; rpm 100)", m.name, after)
	if m.redis() && after != 40 {
		t.Fatalf("survivors admitted %d after the kill; the counts are in Redis: want exactly 40", after)
	}
	if after < 35 || after > 50 {
		t.Fatalf("survivors admitted %d after the kill; want about 40 (they must keep counting node2's 20)", after)
	}
	if !m.redis() {
		waitUntil(t, "node0 to see node2 gone", func() bool {
			s := memberState(getClusterView(t, nodes[0].gateway), "node2")
			return s == "dead" || s == "suspect"
		})
	}

	// Phase 3: restart node2 under the same name and gossip port: it learns the current counts at once.
	nodes[2].start(t, addrs, keys)
	if !m.redis() {
		waitUntil(t, "the restarted node2 to see its peers", func() bool { return aliveMembers(t, nodes[2].gateway) == n })
		waitUntil(t, "node0 to see node2 alive again", func() bool {
			return memberState(getClusterView(t, nodes[0].gateway), "node2") == "alive"
		})
		time.Sleep(200 * time.Millisecond)
	}
	fresh := send(nodes[2].gateway, 50)
	t.Logf("%s: restarted node2 admitted %d of 50 (a node with a fresh window would admit 50)", m.name, fresh)
	if fresh > 10 || m.redis() && fresh != 0 {
		t.Fatalf("restarted node2 admitted %d: it did not learn the current counts", fresh)
	}
	if total := before + after + fresh; total > 110 || m.redis() && total != 100 {
		t.Fatalf("cluster admitted %d for rpm 100", total)
	}
	if m.redis() {
		checkRedisView(t, nodes)
		return
	}

	// GET /api/cluster on every node: three members, all alive, state received from each peer, gossip figures.
	for _, nd := range nodes {
		v := getClusterView(t, nd.gateway)
		if v.Self != nd.name || len(v.Members) != n || v.Alive != n {
			t.Fatalf("%s: /api/cluster %+v", nd.name, v)
		}
		for _, m := range v.Members {
			if m.State != "alive" || !m.Self && m.LastState.IsZero() || m.Self != (m.Name == nd.name) {
				t.Fatalf("%s: member %+v", nd.name, m)
			}
		}
		if v.GossipBytesIn == 0 || v.GossipBytesOut == 0 || v.Entries == 0 {
			t.Fatalf("%s: no gossip figures: %+v", nd.name, v)
		}
		t.Logf("%s: /api/cluster alive %d, entries %d, gossip out %d B in %d B, propagation delay last %.2f ms max %.2f ms",
			nd.name, v.Alive, v.Entries, v.GossipBytesOut, v.GossipBytesIn, v.DelayLastMS, v.DelayMaxMS)
		_, _, metrics := get(t, nd.gateway.URL+"/metrics")
		for _, want := range []string{fmt.Sprintf("weir_cluster_members_alive %d", n), "weir_cluster_gossip_sent_bytes_total",
			"weir_cluster_gossip_received_bytes_total", "weir_cluster_propagation_delay_seconds"} {
			if !strings.Contains(metrics, want) {
				t.Fatalf("%s: /metrics lacks %s", nd.name, want)
			}
		}
	}
}

// checkRedisView: with counters: redis, GET /api/cluster and /metrics report the store up on every node.
func checkRedisView(t *testing.T, nodes []*clusterNode) {
	t.Helper()
	for _, nd := range nodes {
		code, m := adminCall(t, nd.gateway, "GET", "/api/cluster", "", "")
		if code != 200 || m["counters"] != "redis" || m["up"] != true {
			t.Fatalf("%s: /api/cluster %d %v", nd.name, code, m)
		}
		_, _, metrics := get(t, nd.gateway.URL+"/metrics")
		for _, want := range []string{"weir_counter_store_up 1", "weir_counter_store_errors_total", "weir_counter_store_local_reservations_total"} {
			if !strings.Contains(metrics, want) {
				t.Fatalf("%s: /metrics lacks %s", nd.name, want)
			}
		}
	}
}

// TestRedisCountersUnreachable stops the real redis-server under two gateways: the one with on_error: closed
// answers governed requests 503 in each route's dialect (OpenAI, Anthropic), the default (open) keeps
// admitting on its own counters; both admit through Redis again once it is back.
func TestRedisCountersUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	cfg := func(onError string) string {
		return fmt.Sprintf(`
providers:
  - {name: mock, type: mock}
client:
  enforce_governance_header: true
governance:
  store: {dsn: ":memory:"}
  virtual_keys:
    - {id: k, value: %s, rate_limits: {rpm: 1000}}
cluster:
  counters: redis
  redis: {url: %q, on_error: %s, retry_interval: 100ms}
`, vk(6), srv.URL(), onError)
	}
	closed, open := startGateway(t, cfg("closed")), startGateway(t, cfg("open"))
	chat := `{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`
	messages := `{"model":"mock/echo","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	auth := []string{"Authorization", "Bearer " + vk(6)}
	for _, g := range []*gateway{closed, open} {
		if code, _, body := post(t, g.URL+"/v1/chat/completions", chat, auth...); code != 200 {
			t.Fatalf("with Redis up: %d %s", code, body)
		}
	}
	srv.Stop()
	code, h, body := post(t, closed.URL+"/v1/chat/completions", chat, auth...)
	if code != 503 || !strings.Contains(body, `"code":"counter_store_unavailable"`) || h.Get("Retry-After") == "" {
		t.Fatalf("closed, OpenAI route: %d %v %s", code, h, body)
	}
	code, _, body = post(t, closed.URL+"/v1/messages", messages, "x-api-key", vk(6), "anthropic-version", "2023-06-01")
	if code != 503 || !strings.Contains(body, `"type":"error"`) || !strings.Contains(body, "counter store") {
		t.Fatalf("closed, Anthropic route: %d %s", code, body)
	}
	for range 5 {
		if code, _, body := post(t, open.URL+"/v1/chat/completions", chat, auth...); code != 200 {
			t.Fatalf("open, Redis down: %d %s", code, body)
		}
	}
	waitUntil(t, "the open gateway's warning", func() bool {
		return strings.Contains(open.logs.String(), "redis counters unreachable: admitting on this replica's own counters")
	})
	_, _, metrics := get(t, open.URL+"/metrics")
	if !strings.Contains(metrics, "weir_counter_store_up 0") || !strings.Contains(metrics, "weir_counter_store_local_reservations_total 5") {
		t.Fatalf("open gateway's metrics while Redis is down:\n%s", grepLines(metrics, "weir_counter_store"))
	}
	srv.Restart(t)
	waitUntil(t, "the closed gateway to admit again", func() bool {
		code, _, _ := post(t, closed.URL+"/v1/chat/completions", chat, auth...)
		return code == 200
	})
	// The open gateway's 5 local admissions are moved into the (restarted, empty) Redis.
	waitUntil(t, "the open gateway's counts to reach Redis", func() bool {
		u := usageOf(t, closed, "k", "")["key:k rpm"]
		return u != nil && u["used"].(float64) >= 6
	})
}
