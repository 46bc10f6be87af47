package e2e

import (
	"encoding/base64"
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

func clusterConfig(name, bind string, join []string, key string) string {
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
`, key, name, bind, `"`+strings.Join(join, `", "`)+`"`)
}

// waitForWindowRoom avoids starting a rate test in the last seconds of a minute: the sliding window would
// start to forgive the first window's count during the test.
func waitForWindowRoom(t *testing.T, need time.Duration) {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < need {
		t.Logf("waiting %v for a fresh minute", left.Round(time.Millisecond))
		time.Sleep(left + 200*time.Millisecond)
	}
}

func TestClusterSharesRateLimitAcrossThreeProcesses(t *testing.T) {
	addrs := []string{freeGossipAddr(t), freeGossipAddr(t), freeGossipAddr(t)}
	var gs []*gateway
	for i, a := range addrs {
		gs = append(gs, startGateway(t, clusterConfig(fmt.Sprintf("node%d", i), a, addrs, vk(1)), "WEIR_CLUSTER_KEY="+clusterKey))
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
	g4 := startGateway(t, clusterConfig("intruder", freeGossipAddr(t), addrs, vk(1)), "WEIR_CLUSTER_KEY="+bad)
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
	cfg := clusterConfig("lonely", a, []string{a}, vk(2))
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
