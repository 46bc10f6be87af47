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

func clusterConfig(name, bind string, join []string, key, mode string) string {
	return fmt.Sprintf(`
providers:
  - {name: mock, type: mock}
client:
  enforce_governance_header: true
governance:
  store: {dsn: ":memory:"}
  virtual_keys:
    - {id: k, value: %s, rate_limits: {rpm: 100}}
cluster:
  enabled: true
  name: %s
  bind: %q
  join: [%s]
  gossip_interval: 100ms
%s`, key, name, bind, `"`+strings.Join(join, `", "`)+`"`, countersLine(mode))
}

// clusterModes are the cluster.counters modes every multi-process cluster test runs in: the bound, node loss
// and partition must hold in each.
var clusterModes = []string{"gossip", "ring"}

func forEachClusterMode(t *testing.T, test func(t *testing.T, mode string)) {
	for _, mode := range clusterModes {
		t.Run(mode, func(t *testing.T) { test(t, mode) })
	}
}

// countersLine is the cluster.counters line for mode ("" leaves the default, auto).
func countersLine(mode string) string {
	if mode == "" {
		return ""
	}
	return "  counters: " + mode + "\n"
}

// waitForWindowRoom avoids starting a rate test in the last seconds of a minute: the sliding window would
// start to forgive the first window's count during the test.
func waitForWindowRoom(t *testing.T, need time.Duration) {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < need {
		t.Logf("waiting %v for a fresh minute", left.Round(time.Millisecond))
		time.Sleep(left + 200*time.Millisecond)
	}
}

// TestClusterSharesRateLimitAcrossThreeProcesses runs testClusterSharesRateLimitAcrossThreeProcesses in every counters mode.
func TestClusterSharesRateLimitAcrossThreeProcesses(t *testing.T) {
	forEachClusterMode(t, testClusterSharesRateLimitAcrossThreeProcesses)
}

func testClusterSharesRateLimitAcrossThreeProcesses(t *testing.T, mode string) {
	addrs := []string{freeGossipAddr(t), freeGossipAddr(t), freeGossipAddr(t)}
	var gs []*gateway
	for i, a := range addrs {
		gs = append(gs, startGateway(t, clusterConfig(fmt.Sprintf("node%d", i), a, addrs, vk(1), mode), "WEIR_CLUSTER_KEY="+clusterKey))
	}
	for i, g := range gs {
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
	t.Logf("cluster of 3 admitted %d of %d requests for rpm 100 in %v (per node %v; refused %d; without cluster mode: 300)",
		admitted, total, time.Since(start).Round(time.Millisecond), perNode, refused)
	if admitted < 95 || admitted > 110 {
		t.Fatalf("admitted %d, want 95..110", admitted)
	}

	// A node with another key does not join, and says why.
	bad := base64.StdEncoding.EncodeToString([]byte("another-key-16by"))
	g4 := startGateway(t, clusterConfig("intruder", freeGossipAddr(t), addrs, vk(1), mode), "WEIR_CLUSTER_KEY="+bad)
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
	cfg := clusterConfig("lonely", a, []string{a}, vk(2), "")
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
func clusterNodeConfig(name, bind string, join []string, dataDir, keys, mode string) string {
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
cluster:
  enabled: true
  name: %s
  bind: %q
  join: [%s]
  gossip_interval: 100ms
%s`, dataDir, keys, name, bind, `"`+strings.Join(join, `", "`)+`"`, countersLine(mode))
}

// gossipNode is one weir process of a test cluster, with what it takes to restart it under the same identity.
type gossipNode struct {
	*gateway
	name, bind, dataDir, mode string
}

// startGossipCluster starts n weir processes on loopback forming one cluster and waits until every node sees
// every other.
func startGossipCluster(t *testing.T, mode string, n int, keys string) ([]*gossipNode, []string) {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = freeGossipAddr(t)
	}
	nodes := make([]*gossipNode, n)
	for i := range nodes {
		nodes[i] = &gossipNode{name: fmt.Sprintf("node%d", i), bind: addrs[i], dataDir: t.TempDir(), mode: mode}
		nodes[i].start(t, addrs, keys)
	}
	for _, nd := range nodes {
		waitUntil(t, nd.name+" to see every peer alive", func() bool { return aliveMembers(t, nd.gateway) == n })
	}
	return nodes, addrs
}

func (nd *gossipNode) start(t *testing.T, join []string, keys string) {
	t.Helper()
	nd.gateway = startGateway(t, clusterNodeConfig(nd.name, nd.bind, join, nd.dataDir, keys, nd.mode), "WEIR_CLUSTER_KEY="+clusterKey)
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

// TestClusterBudgetAcrossThreeProcesses runs testClusterBudgetAcrossThreeProcesses in every counters mode.
func TestClusterBudgetAcrossThreeProcesses(t *testing.T) {
	forEachClusterMode(t, testClusterBudgetAcrossThreeProcesses)
}

func testClusterBudgetAcrossThreeProcesses(t *testing.T, mode string) {
	nodes, _ := startGossipCluster(t, mode, 3, `    - {id: payer, value: `+vk(3)+`, budget: {max_usd: 1, reset: 1d}}`)
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
	t.Logf("budget $1 across 3 nodes: admitted %d requests at $%.6f each = $%.4f (per node %v) in %v",
		admitted, cost, total, perNode, time.Since(start).Round(time.Millisecond))
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
	// Refused on every node.
	for _, nd := range nodes {
		if code := clusterChat(t, hc, nd.gateway, vk(3), body); code != 429 {
			t.Fatalf("%s admitted a request past the budget: %d", nd.name, code)
		}
	}
}

// TestClusterNodeLossAndRestartKeepCounts runs testClusterNodeLossAndRestartKeepCounts in every counters mode.
func TestClusterNodeLossAndRestartKeepCounts(t *testing.T) {
	forEachClusterMode(t, testClusterNodeLossAndRestartKeepCounts)
}

func testClusterNodeLossAndRestartKeepCounts(t *testing.T, mode string) {
	const n = 3
	keys := `    - {id: k, value: ` + vk(4) + `, rate_limits: {rpm: 100}}`
	nodes, addrs := startGossipCluster(t, mode, n, keys)
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
	t.Logf("after kill -9 of node2: the other two admitted %d more (60 before; rpm 100)", after)
	if after < 35 || after > 50 {
		t.Fatalf("survivors admitted %d after the kill; want about 40 (they must keep counting node2's 20)", after)
	}
	waitUntil(t, "node0 to see node2 gone", func() bool {
		s := memberState(getClusterView(t, nodes[0].gateway), "node2")
		return s == "dead" || s == "suspect"
	})

	// Phase 3: restart node2 under the same name and gossip port: it learns the current counts at once.
	nodes[2].start(t, addrs, keys)
	waitUntil(t, "the restarted node2 to see its peers", func() bool { return aliveMembers(t, nodes[2].gateway) == n })
	waitUntil(t, "node0 to see node2 alive again", func() bool {
		return memberState(getClusterView(t, nodes[0].gateway), "node2") == "alive"
	})
	time.Sleep(200 * time.Millisecond)
	fresh := send(nodes[2].gateway, 50)
	t.Logf("restarted node2 admitted %d of 50 (a node with a fresh window would admit 50)", fresh)
	if fresh > 10 {
		t.Fatalf("restarted node2 admitted %d: it did not learn the current counts", fresh)
	}
	if total := before + after + fresh; total > 110 {
		t.Fatalf("cluster admitted %d for rpm 100", total)
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
