package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// The web UI's data through the real binary: requests through the mock provider with a virtual key from the
// OpenAI SDK show up in the live tail within 2 s, in the log explorer's filters, pages and drill-down (with the
// upstream key's last 4 characters only, attempts and timings), and in the overview from the rollups.
func TestUIData(t *testing.T) {
	const token = "e2e-ui-admin"
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, govConfig(url, t.TempDir(), `
client:
  log_content: true
  log_content_max_bytes: 64
`), "WEIR_ADMIN_TOKEN="+token)
	ctx := context.Background()
	code, k := adminCall(t, g, "POST", "/api/keys", token, `{"id":"ui-bot","name":"UI bot"}`)
	if code != 201 {
		t.Fatalf("create key: %d %v", code, k)
	}
	c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(k["key"].(string)), option.WithMaxRetries(0))

	// The tail needs the token like the rest of /api.
	if resp, err := http.Get(g.URL + "/api/logs/tail"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("tail without the token: %v %v", resp, err)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(tctx, "GET", g.URL+"/api/logs/tail?key=ui-bot&columns=status,model,provider_key", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("tail: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- data
			}
		}
		close(events)
	}()
	if ev := <-events; !strings.Contains(ev, `"buffer"`) {
		t.Fatalf("first tail event %q", ev)
	}

	const n = 4
	for i := range n {
		if i == n-1 {
			stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream")}})
			for stream.Next() {
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
		} else if _, err := chat(ctx, c, "up/mock-model"); err != nil {
			t.Fatal(err)
		}
		done := time.Now()
		select {
		case ev, ok := <-events:
			var row map[string]any
			if !ok || json.Unmarshal([]byte(ev), &row) != nil || row["status"] != 200.0 || row["provider_key"] != "…test" {
				t.Fatalf("tail row %q", ev)
			}
			if d := time.Since(done); d > 2*time.Second {
				t.Fatalf("the tail showed request %d after %s", i, d)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("request %d not in the tail within 2 s", i)
		}
	}
	// One request the gateway refuses, without a key: not in the key's tail, but in the log.
	refused, _, _ := post(t, g.URL+"/v1/chat/completions", `{"model":"nope/none","messages":[{"role":"user","content":"x"}]}`)
	if refused < 400 || refused >= 500 {
		t.Fatalf("keyless request to an unknown model: %d", refused)
	}
	time.Sleep(1500 * time.Millisecond) // the writer's flush interval

	// The explorer: filters, chosen columns, keyset pages.
	_, m := adminCall(t, g, "GET", "/api/logs?key=ui-bot&status=ok&stream=false&columns=status,duration_ms,overhead_ms&limit=2", token, "")
	rows := nativeList(m["data"])
	if len(rows) != 2 || m["total"] != float64(n-1) || m["has_more"] != true || rows[0]["model"] != nil || rows[0]["overhead_ms"] == nil {
		t.Fatalf("filtered page: %v", m)
	}
	_, m2 := adminCall(t, g, "GET", "/api/logs?key=ui-bot&status=ok&stream=false&columns=status&limit=2&cursor="+m["next_cursor"].(string), token, "")
	if rows2 := nativeList(m2["data"]); len(rows2) != 1 || rows2[0]["id"] == rows[0]["id"] || m2["has_more"] != false {
		t.Fatalf("second page: %v", m2)
	}
	_, m = adminCall(t, g, "GET", "/api/logs?key=(none)&status=4xx&total=false", token, "")
	if rows := nativeList(m["data"]); len(rows) != 1 || rows[0]["status"] != float64(refused) || m["total"] != nil {
		t.Fatalf("keyless rows: %v", m)
	}
	if code, m := adminCall(t, g, "GET", "/api/logs?min_cost_usd=cheap", token, ""); code != 400 {
		t.Fatalf("bad filter: %d %v", code, m)
	}

	// The drill-down.
	code, d := adminCall(t, g, "GET", "/api/logs/"+rows[0]["id"].(string), token, "")
	if code != 200 {
		t.Fatalf("drill-down: %d %v", code, d)
	}
	_, d = adminCall(t, g, "GET", "/api/logs/"+nativeList(mustLogs(t, g, token)["data"])[0]["id"].(string), token, "")
	attempts := nativeList(d["attempts"])
	timings, _ := d["timings"].(map[string]any)
	if d["provider_key"] != "…test" || len(attempts) != 1 || attempts[0]["provider_key"] != "…test" ||
		attempts[0]["status"] != 200.0 || timings == nil || timings["total_ms"].(float64) <= 0 ||
		d["key_id"] != "ui-bot" || d["cost_usd"].(float64) <= 0 || strings.Contains(mustJSON(d), "sk-test") {
		t.Fatalf("drill-down: %v", d)
	}
	// Content logging is on: the request and the answer's first 64 bytes, marked as cut.
	if d["content_logged"] != true || !strings.Contains(d["request"].(string), `"stream"`) ||
		!strings.Contains(d["response"].(string), "…[truncated ") || !strings.HasPrefix(d["response"].(string), "data: ") {
		t.Fatalf("content: %q / %q", d["request"], d["response"])
	}

	// The overview, from the rollups.
	code, o := adminCall(t, g, "GET", "/api/stats/overview?range=1h", token, "")
	if code != 200 {
		t.Fatalf("overview: %d %v", code, o)
	}
	tot := o["totals"].(map[string]any)
	if tot["requests"] != float64(n+1) || tot["errors"] != 1.0 || tot["cost_usd"].(float64) <= 0 {
		t.Fatalf("overview totals: %v", tot)
	}
	var keyed map[string]any
	for _, e := range nativeList(o["by_key"]) {
		if e["name"] == "ui-bot" {
			keyed = e
		}
	}
	if keyed == nil || keyed["requests"] != float64(n) || keyed["label"] != "UI bot" {
		t.Fatalf("overview by key: %v", o["by_key"])
	}
	_, o = adminCall(t, g, "GET", "/api/stats/overview?range=24h&key=ui-bot", token, "")
	if tot := o["totals"].(map[string]any); tot["requests"] != float64(n) {
		t.Fatalf("overview of the key: %v", tot)
	}
}

func mustLogs(t *testing.T, g *gateway, token string) map[string]any {
	t.Helper()
	code, m := adminCall(t, g, "GET", "/api/logs?key=ui-bot&limit=1", token, "")
	if code != 200 {
		t.Fatalf("logs: %d %v", code, m)
	}
	return m
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
