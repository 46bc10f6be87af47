package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// Flush intervals the durability bound of docs/reliability.md ("Durability after kill -9") is stated in: the
// governance flusher (governance.flush_interval, set here) and the request-log writer's batch flush (1s, fixed).
const (
	govFlush = 500 * time.Millisecond
	logFlush = time.Second
)

// TestDurabilityAfterKill9: spend and request-log rows older than their flush interval survive SIGKILL. N governed
// requests, a wait a little past both flush intervals, kill -9, a restart on the same SQLite data directory: the
// key's spend is what the killed process reported, and every request has its log row.
func TestDurabilityAfterKill9(t *testing.T) {
	const n = 6
	_, url := startUpstream(t, mockupstream.Options{})
	cfg := govConfig(url, t.TempDir(), fmt.Sprintf(`
governance:
  flush_interval: %s
  virtual_keys:
    - id: crash
      value: %s
      budget: { max_usd: 5, reset: 1d }
`, govFlush, vk(9)))
	g := startGateway(t, cfg)
	c := client(g, option.WithAPIKey(vk(9)))
	for i := range n {
		if _, err := chat(context.Background(), c, "up/mock-model"); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	before := usageOf(t, g, "crash", "")
	spent := before["key:crash spend/1d"]["spent_usd"]
	if spent == nil || spent.(float64) <= 0 {
		t.Fatalf("usage before the kill: %v", before)
	}

	// A little more than the longer flush interval, plus room for the writes themselves.
	time.Sleep(max(govFlush, logFlush) + 500*time.Millisecond)
	if err := g.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown flush
		t.Fatal(err)
	}
	<-g.done

	g2 := startGateway(t, cfg)
	after := usageOf(t, g2, "crash", "")
	if got := after["key:crash spend/1d"]["spent_usd"]; got != spent {
		t.Errorf("spend after kill -9 and restart: %v, before %v", got, spent)
	}
	_, m := adminCall(t, g2, "GET", "/api/logs?key=crash&limit=100", "", "")
	rows := nativeList(m["data"])
	if len(rows) != n {
		t.Fatalf("%d request-log rows after kill -9 and restart, want %d: %v", len(rows), n, m)
	}
	for _, r := range rows {
		if r["status"] != 200.0 || r["cost_usd"].(float64) <= 0 {
			t.Errorf("log row: %v", r)
		}
	}
}
