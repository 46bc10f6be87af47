package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	_ "modernc.org/sqlite"
)

// TestMetricsExactCounts scrapes /metrics after a known sequence of requests.
func TestMetricsExactCounts(t *testing.T) {
	g := startGateway(t, "providers:\n  - {name: mock, type: mock}\n")
	c := client(g)
	for range 3 {
		if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "mock/echo",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("abcd")}}); err != nil {
			t.Fatal(err)
		}
	}
	post(t, g.URL+"/v1/chat/completions", `{"model":"nosuch/x","messages":[]}`)
	_, _, body := get(t, g.URL+"/metrics")
	for _, want := range []string{
		`weir_requests_total{alias="",model="echo",provider="mock",route="POST /v1/chat/completions",status_class="2xx"} 3`,
		`weir_requests_total{alias="",model="",provider="",route="POST /v1/chat/completions",status_class="4xx"} 1`,
		`weir_tokens_total{direction="output",model="echo",provider="mock"} 6`, // "abcd" is 2 tokens, three times
		`weir_pool_in_flight{provider="mock"} 0`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(grepLines(body, "weir_"))
	}
}

// TestRequestLogKeepsEveryRecordThroughShutdown: 10,000 requests under load, then SIGTERM; the request log has
// exactly 10,000 records.
func TestRequestLogKeepsEveryRecordThroughShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	dir := t.TempDir()
	g := startGateway(t, fmt.Sprintf("server:\n  data_dir: %s\nproviders:\n  - {name: mock, type: mock, concurrency: 64}\n", dir))
	const total, workers = 10_000, 32
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	hc := &http.Client{Transport: tr}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= total {
				resp, err := hc.Post(g.URL+"/v1/chat/completions", "application/json",
					strings.NewReader(`{"model":"mock/echo","messages":[{"role":"user","content":"hi"}]}`))
				if err != nil {
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	g.stop()
	if g.err != nil {
		t.Fatalf("exit: %v", g.err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "weir.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM request_logs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("request log rows after SIGTERM: %d of %d", n, total)
	if n != total {
		t.Fatalf("request log has %d rows, want %d", n, total)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
