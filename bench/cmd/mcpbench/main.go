// mcpbench measures what Weir's MCP gateway adds to a tools/call: the official Go SDK client calls a tool on
// an SDK server directly, then through Weir's /mcp, at a constant arrival rate (open loop), in alternating
// rounds; the overhead is Weir's latency minus the direct run's just before it. Results: a table on stdout
// and the "mcp" section of docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type addArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

const benchKey = "wk-mcp-bench-000000000000000001"

func main() {
	rate := flag.Int("rate", 500, "tool calls per second")
	dur := flag.Duration("duration", 10*time.Second, "length of each run")
	rounds := flag.Int("rounds", 3, "rounds (each: a direct run, then a run through weir)")
	warmup := flag.Duration("warmup", 2*time.Second, "calls at the rate on each target before the measured rounds")
	pprofAddr := flag.String("pprof", "", "start weir with -pprof-addr on this address (e.g. 127.0.0.1:6061) to profile it during the rounds")
	doc := flag.String("doc", "", `Markdown file whose "mcp" section is rewritten (default <repo>/docs/benchmarks.md; "-" for none)`)
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		log.Fatal(err)
	}
	tmp, err := os.MkdirTemp("", "mcpbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	upstream := startUpstream()
	weirBin := filepath.Join(tmp, "weir")
	build := exec.Command("go", "build", "-o", weirBin, "./cmd/weir")
	build.Dir, build.Stderr = root, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatal("building weir: ", err)
	}
	weirURL, stop := startWeir(weirBin, tmp, upstream, *pprofAddr)
	defer stop()

	ctx := context.Background()
	direct := connect(ctx, upstream, "")
	via := connect(ctx, weirURL+"/mcp", benchKey)
	warm := func(s *mcp.ClientSession, tool string) { run(s, tool, *rate, *warmup) }
	warm(direct, "add")
	warm(via, "bench__add")

	loadBefore := loadavg()
	var d50, d99, w50, w99, o50, o99 []float64
	errs := [2]int{}
	total := [2]int{}
	for r := range *rounds {
		dl, de := run(direct, "add", *rate, *dur)
		wl, we := run(via, "bench__add", *rate, *dur)
		errs[0], errs[1] = errs[0]+de, errs[1]+we
		total[0], total[1] = total[0]+len(dl)+de, total[1]+len(wl)+we
		dp50, dp99 := pct(dl, 50), pct(dl, 99)
		wp50, wp99 := pct(wl, 50), pct(wl, 99)
		d50, d99, w50, w99 = append(d50, dp50), append(d99, dp99), append(w50, wp50), append(w99, wp99)
		o50, o99 = append(o50, wp50-dp50), append(o99, wp99-dp99)
		log.Printf("round %d: direct p50 %.0fµs p99 %.0fµs; weir p50 %.0fµs p99 %.0fµs", r+1, dp50, dp99, wp50, wp99)
	}
	load := fmt.Sprintf("Load average (1 min) on the machine: %s at the start, %s at the end of the measured runs.", loadBefore, loadavg())
	section := fmt.Sprintf(`### MCP tools/call, %d calls/s

%s · %d CPUs · %s  
Command: `+"`make bench-mcp`"+` (`+"`cd bench && go run ./cmd/mcpbench -rate %d -duration %s -rounds %d -warmup %s`"+`)

The official Go SDK client calls the tool `+"`add`"+` on an SDK server over Streamable HTTP, directly and through Weir's `+"`/mcp`"+` (Bearer virtual key with an MCP allow-list, namespaced name `+"`bench__add`"+`, a governed call with its log record and metrics), at a constant arrival rate (open loop: latency is counted from each call's scheduled time). %d rounds of %s per target after a %s warm-up; medians over the rounds. Overhead = Weir minus the direct run just before it. Client, server and Weir share the machine. %s

| target | p50 µs | p99 µs | overhead p50 µs | overhead p99 µs | errors / calls |
|---|---:|---:|---:|---:|---:|
| direct (SDK server) | %.0f | %.0f | — | — | %d / %d |
| weir /mcp | %.0f | %.0f | **%.0f** | **%.0f** | %d / %d |
`, *rate, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), *rate, *dur, *rounds, *warmup,
		*rounds, *dur, *warmup, load, median(d50), median(d99), errs[0], total[0], median(w50), median(w99), median(o50), median(o99), errs[1], total[1])
	fmt.Println(section)
	if *doc != "-" {
		path := *doc
		if path == "" {
			path = filepath.Join(root, "docs", "benchmarks.md")
		}
		if err := writeSection(path, section); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote the mcp section of %s", path)
	}
}

// startUpstream serves an SDK server with the tool add on a loopback port.
func startUpstream() string {
	s := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Add two integers."},
		func(ctx context.Context, req *mcp.CallToolRequest, a addArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint(a.A + a.B)}}}, nil, nil
		})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(ln, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)) //nolint:errcheck
	return "http://" + ln.Addr().String() + "/mcp"
}

func startWeir(bin, dir, upstream, pprofAddr string) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`mcp:
  servers: [{ name: bench, transport: streamable-http, url: %q }]
governance:
  virtual_keys: [{ id: bench, value: %s, mcp: { servers: [bench] } }]
`, upstream, benchKey)
	path := filepath.Join(dir, "weir.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		log.Fatal(err)
	}
	args := []string{"serve", "-config", path, "-addr", addr, "-log-level", "warn"}
	if pprofAddr != "" {
		args = append(args, "-pprof-addr", pprofAddr)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "WEIR_DATA_DIR="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	url := "http://" + addr
	for range 200 {
		if resp, err := http.Get(url + "/api/mcp/servers"); err == nil {
			b := make([]byte, 4096)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			if strings.Contains(string(b[:n]), `"state":"up"`) {
				return url, func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatal("weir did not connect to the upstream")
	return "", nil
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if b != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+string(b))
	}
	return transport.RoundTrip(r)
}

// transport keeps enough idle connections for the rate.
var transport = &http.Transport{MaxIdleConnsPerHost: 512, MaxIdleConns: 512}

func connect(ctx context.Context, url, key string) *mcp.ClientSession {
	c := mcp.NewClient(&mcp.Implementation{Name: "mcpbench", Version: "1"}, nil)
	s, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer(key)},
		DisableStandaloneSSE: true}, nil)
	if err != nil {
		log.Fatalf("connect %s: %v", url, err)
	}
	return s
}

// run calls tool at rate for d, each call at its scheduled time whatever the previous ones do, and returns
// the latencies (µs, from the scheduled time) of the calls that succeeded and the count of those that failed.
func run(s *mcp.ClientSession, tool string, rate int, d time.Duration) ([]float64, int) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]float64, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	fails := 0
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"a": 2, "b": 3}})
			el := float64(time.Since(at).Microseconds())
			mu.Lock()
			defer mu.Unlock()
			if err != nil || res.IsError {
				if fails == 0 {
					log.Printf("first failed call of %s: %v %v", tool, err, res)
				}
				fails++
				return
			}
			lat = append(lat, el)
		}()
	}
	wg.Wait()
	return lat, fails
}

// loadavg is the machine's 1-minute load average: the benchmark shares it with whatever else runs.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

func median(xs []float64) float64 { return pct(xs, 50) }

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/weir-gateway/weir\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the weir repository")
		}
		dir = parent
	}
}

// writeSection replaces the text between the mcp markers of the Markdown file, or appends it.
func writeSection(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const begin, end = "<!-- mcpbench:begin -->", "<!-- mcpbench:end -->"
	block := begin + "\n" + section + end
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i >= 0 && j > i {
		doc = doc[:i] + block + doc[j+len(end):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
