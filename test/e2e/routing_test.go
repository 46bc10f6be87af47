package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// twoUpstreams starts a failing upstream and a healthy one and a gateway with providers "bad" and "good".
func twoUpstreams(t *testing.T, badOpts mockupstream.Options, models string) (bad, good *mockupstream.Server, g *gateway) {
	bad, badURL := startUpstream(t, badOpts)
	good, goodURL := startUpstream(t, mockupstream.Options{})
	g = startGateway(t, fmt.Sprintf(`
providers:
  - {name: bad, type: openai, base_url: %s/v1, keys: [{value: k}], timeout: 5s}
  - {name: good, type: openai, base_url: %s/v1, keys: [{value: k}], timeout: 5s}
%s`, badURL, goodURL, models))
	return bad, good, g
}

func chatOnce(c openai.Client, model string, opts ...option.RequestOption) (*http.Response, error) {
	var resp *http.Response
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}}, append(opts, option.WithResponseInto(&resp))...)
	return resp, err
}

func TestAliasSurvivesABrokenTarget(t *testing.T) {
	_, _, g := twoUpstreams(t, mockupstream.Options{FailRatio: 1, FailStatus: 500}, `
models:
  - name: smart
    targets:
      - {provider: bad, model: mock-model, weight: 50}
      - {provider: good, model: mock-model, weight: 50}
    retries: {max: 1, backoff: 10ms}
`)
	c := client(g)
	for i := range 40 {
		resp, err := chatOnce(c, "smart")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if resp.Header.Get("X-Weir-Provider") != "good" {
			t.Fatalf("answered by %q", resp.Header.Get("X-Weir-Provider"))
		}
	}
	// /v1/models lists the alias
	_, _, body := get(t, g.URL+"/v1/models")
	if !strings.Contains(body, `"smart"`) {
		t.Fatalf("alias not listed: %s", body)
	}
}

func TestCooldownStopsTrafficUntilProbe(t *testing.T) {
	bad, _, g := twoUpstreams(t, mockupstream.Options{FailRatio: 1, FailStatus: 503}, `
models:
  - name: smart
    strategy: round-robin
    targets:
      - {provider: bad, model: mock-model}
      - {provider: good, model: mock-model}
    retries: {max: 0}
    cooldown: {failures: 3, duration: 1500ms}
`)
	c := client(g)
	for i := range 12 {
		if _, err := chatOnce(c, "smart"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	opened := chatHits(bad)
	if opened != 3 {
		t.Fatalf("the failing target got %d requests before its breaker opened, want 3", opened)
	}
	for i := range 20 {
		if _, err := chatOnce(c, "smart"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := chatHits(bad); n != opened {
		t.Fatalf("a cooled-down target received %d requests", n-opened)
	}
	time.Sleep(1600 * time.Millisecond)
	for i := range 20 {
		if _, err := chatOnce(c, "smart"); err != nil {
			t.Fatalf("request %d after cooldown: %v", i, err)
		}
	}
	if n := chatHits(bad) - opened; n != 1 {
		t.Fatalf("after the cooldown the target got %d requests, want exactly one probe", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, "routing:\n  retries: {max: 1, backoff: 10ms}\n"))
	start := time.Now()
	resp, err := chatOnce(client(g), "up/fail-429")
	if err == nil {
		t.Fatal("want the 429 after retries")
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v, before the upstream's Retry-After: 1", d)
	}
	if resp.Header.Get("X-Weir-Attempts") != "2" {
		t.Fatalf("attempts %q", resp.Header.Get("X-Weir-Attempts"))
	}
}

func TestStreamFallbackBeforeFirstByteAndErrorAfter(t *testing.T) {
	_, _, g := twoUpstreams(t, mockupstream.Options{}, `
models:
  - name: smart
    targets: [{provider: bad, model: fail-502}]
    fallbacks: [good/mock-model]
    retries: {max: 0}
`)
	c := client(g)
	var resp *http.Response
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "smart",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}}, option.WithResponseInto(&resp))
	n := 0
	for stream.Next() {
		n++
	}
	if err := stream.Err(); err != nil || n < 3 {
		t.Fatalf("fallback stream: %d chunks, %v", n, err)
	}
	if resp.Header.Get("X-Weir-Provider") != "good" || resp.Header.Get("X-Weir-Attempts") != "2" {
		t.Fatalf("headers %v", resp.Header)
	}
	// per-request fallbacks, in the body and in the header
	if r, err := chatOnce(c, "bad/fail-500", option.WithJSONSet("fallbacks", []string{"good/mock-model"})); err != nil || r.Header.Get("X-Weir-Provider") != "good" {
		t.Fatalf("body fallbacks: %v", err)
	}
	if r, err := chatOnce(c, "bad/fail-500", option.WithHeader("x-weir-fallbacks", "good/mock-model")); err != nil || r.Header.Get("X-Weir-Provider") != "good" {
		t.Fatalf("header fallbacks: %v", err)
	}
	// a stream that breaks after its first byte cannot be retried: it ends with an error the SDK raises
	stream = c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "good/drop-midstream",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	n = 0
	for stream.Next() {
		n++
	}
	if stream.Err() == nil || n == 0 {
		t.Fatalf("mid-stream drop: %d chunks then err %v", n, stream.Err())
	}
}

// TestChaos is the reliability run of docs/reliability.md: 10,000 requests at 500 RPS to an alias whose first
// target fails 30% of the time. Run with WEIR_CHAOS=1.
func TestChaos(t *testing.T) {
	if os.Getenv("WEIR_CHAOS") == "" {
		t.Skip("set WEIR_CHAOS=1 to run the 20-second chaos run")
	}
	bad, good, g := twoUpstreams(t, mockupstream.Options{FailRatio: 0.3, FailStatus: 503}, `
models:
  - name: smart
    targets:
      - {provider: bad, model: mock-model, weight: 50}
      - {provider: good, model: mock-model, weight: 50}
    retries: {max: 1, backoff: 20ms}
    cooldown: {failures: 5, ratio: 0.2, min_requests: 20, window: 10s, duration: 5s}
`)
	const total, rate = 10_000, 500
	var failed, okCount atomic.Int64
	var wg sync.WaitGroup
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	half := make([]int64, 2) // bad-target hits in the first and second half
	for i := range total {
		<-tick.C
		if i == total/2 {
			half[0] = chatHits(bad)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Post(g.URL+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"smart","messages":[{"role":"user","content":"x"}]}`))
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failed.Add(1)
				return
			}
			okCount.Add(1)
		}()
	}
	wg.Wait()
	half[1] = chatHits(bad) - half[0]
	t.Logf("chaos: %d requests at %d RPS: %d ok, %d failed seen by callers; failing target received %d (first half %d, second half %d), healthy %d",
		total, rate, okCount.Load(), failed.Load(), chatHits(bad), half[0], half[1], chatHits(good))
	if failed.Load() != 0 {
		t.Fatalf("%d failures reached callers", failed.Load())
	}
}

// chatHits counts the chat requests an upstream received (not its model listings).
func chatHits(s *mockupstream.Server) int64 { return s.Stats().ByPath["/v1/chat/completions"] }
