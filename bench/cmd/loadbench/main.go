// loadbench is Weir's reproducible load benchmark (`make bench`).
//
// It builds weir, the in-repo mock upstream (test/mockupstream) and a bare httputil.ReverseProxy (the floor any
// Go gateway is measured against), starts the mock on a free loopback port and both gateways in front of it,
// warms each up, then attacks at a constant arrival rate with vegeta (open loop: queueing delay counts, no
// coordinated omission), alternating a direct run against the mock with a run through each gateway. The
// overhead of a gateway is its latency minus the direct latency of the run just before it; the report gives
// medians over the rounds, each process's peak RSS and its CPU milliseconds per 1,000 requests, as a Markdown
// table on stdout and as a section of docs/benchmarks.md.
//
//	cd bench && go run ./cmd/loadbench -rate 1000 -duration 10s -rounds 3 [-stream]
//	cd bench && go run ./cmd/loadbench -find-max [-stream]   # highest zero-error rate of each target
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	rate, rounds   int
	duration       time.Duration
	warmup         time.Duration
	stream         bool
	model          string
	mockLatency    time.Duration
	doc            string
	findMax        bool
	fmStart        int
	fmStep         int
	fmLimit        int
	fmDuration     time.Duration
	fmMaxP99       time.Duration
	fmMinAchieved  float64
	gatewayTargets []string
	weirBin        string
}

func main() {
	var o options
	var targets string
	flag.IntVar(&o.rate, "rate", 1000, "requests per second (constant arrival rate)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each attack")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; each runs direct then gateway, for each gateway")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "warm-up attack per target at the same rate, not counted")
	flag.BoolVar(&o.stream, "stream", false, "stream:true requests (SSE); latency is to the last byte")
	flag.StringVar(&o.model, "model", "mock/mock-model", "model sent through weir (the direct and floor runs send the part after the first /)")
	flag.DurationVar(&o.mockLatency, "mock-latency", 0, "upstream latency before the first byte (mock -latency)")
	flag.StringVar(&o.doc, "doc", "", `Markdown file whose section for this mode is rewritten (default <repo>/docs/benchmarks.md; "-" for none)`)
	flag.StringVar(&o.weirBin, "weir-bin", "", "benchmark this weir binary instead of building ../cmd/weir")
	flag.StringVar(&targets, "targets", "revproxy,weir", "gateways to measure, comma-separated: revproxy, weir")
	flag.Float64Var(&quiet.cores, "quiet", 0.3, "before each run, wait until other processes use fewer cores than this (0: never wait)")
	flag.DurationVar(&quiet.wait, "quiet-wait", 10*time.Second, "longest wait for -quiet before a run starts anyway")
	flag.BoolVar(&o.findMax, "find-max", false, "instead of fixed-rate rounds, step the rate up per target until it fails")
	flag.IntVar(&o.fmStart, "find-max-start", 500, "find-max: first rate")
	flag.IntVar(&o.fmStep, "find-max-step", 250, "find-max: rate increment")
	flag.IntVar(&o.fmLimit, "find-max-limit", 8000, "find-max: highest rate tried")
	flag.DurationVar(&o.fmDuration, "find-max-duration", 5*time.Second, "find-max: length of each step")
	flag.DurationVar(&o.fmMaxP99, "max-p99", 50*time.Millisecond, "find-max: a step fails when p99 exceeds this")
	flag.Float64Var(&o.fmMinAchieved, "min-achieved", 0.95, "find-max: a step fails when vegeta sends less than this share of the rate")
	flag.Parse()
	for _, t := range strings.Split(targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.gatewayTargets = append(o.gatewayTargets, t)
		}
	}
	code := run(o)
	stopAll()
	os.Exit(code)
}

func run(o options) int {
	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stopAll()
		os.RemoveAll(tmp)
		os.Exit(130)
	}()

	logf("building the binaries into %s", tmp)
	weirBin, mockBin, revBin, err := buildAll(root, filepath.Join(root, "bench"), tmp, o.weirBin == "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		return 1
	}
	if o.weirBin != "" {
		weirBin = o.weirBin
	}

	direct, gateways, err := startTargets(o, tmp, weirBin, mockBin, revBin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		return 1
	}

	env := environment{
		date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		nproc:   numCPU(),
		cpu:     cpuModel(),
		goVer:   goVersion(),
		commit:  gitDescribe(root),
		command: "cd bench && go run ./cmd/loadbench " + strings.Join(os.Args[1:], " "),
	}
	env.command = strings.TrimSpace(env.command)

	var section, key string
	if o.findMax {
		key = "findmax-" + mode(o.stream)
		section = findMax(o, env, direct, gateways)
	} else {
		key = mode(o.stream)
		section = fixedRate(o, env, direct, gateways)
	}
	fmt.Println()
	fmt.Println(section)

	doc := o.doc
	if doc == "" {
		doc = filepath.Join(root, "docs", "benchmarks.md")
	}
	if doc != "-" {
		if err := writeSection(doc, key, section); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			return 1
		}
		logf("wrote section %q of %s", key, doc)
	}
	return 0
}

func mode(stream bool) string {
	if stream {
		return "stream"
	}
	return "nonstream"
}

// startTargets starts the mock and the gateways on free loopback ports and waits until each answers a complete
// response.
func startTargets(o options, tmp, weirBin, mockBin, revBin string) (direct target, gateways []target, err error) {
	mockPort, err := freePort()
	if err != nil {
		return direct, nil, err
	}
	mockURL := "http://127.0.0.1:" + strconv.Itoa(mockPort)
	mock, err := start("mock", tmp, mockBin, "-addr", "127.0.0.1:"+strconv.Itoa(mockPort), "-latency", o.mockLatency.String())
	if err != nil {
		return direct, nil, err
	}
	directModel := o.model
	if _, after, ok := strings.Cut(o.model, "/"); ok {
		directModel = after
	}
	direct = target{name: "direct", url: mockURL + "/v1/chat/completions", body: requestBody(directModel, o.stream), proc: mock, mock: mock}
	if err := waitReady(direct, o.stream); err != nil {
		return direct, nil, err
	}

	for _, name := range o.gatewayTargets {
		port, err := freePort()
		if err != nil {
			return direct, nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		t := target{name: name, url: "http://" + addr + "/v1/chat/completions", mock: mock}
		switch name {
		case "revproxy":
			t.body = direct.body
			t.proc, err = start(name, tmp, revBin, "-addr", addr, "-upstream", mockURL)
		case "weir":
			cfg := filepath.Join(tmp, "weir.yaml")
			provider, _, _ := strings.Cut(o.model, "/")
			yaml := fmt.Sprintf("providers:\n  - name: %s\n    type: openai\n    base_url: %s/v1\n    keys: [{value: sk-test}]\n", provider, mockURL)
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				return direct, nil, err
			}
			t.body = requestBody(o.model, o.stream)
			t.proc, err = start(name, tmp, weirBin, "serve", "-config", cfg, "-addr", addr)
		default:
			return direct, nil, fmt.Errorf("unknown target %q (want revproxy or weir)", name)
		}
		if err != nil {
			return direct, nil, err
		}
		if err := waitReady(t, o.stream); err != nil {
			return direct, nil, err
		}
		gateways = append(gateways, t)
	}
	return direct, gateways, nil
}

// requestBody is a small chat request, the same one ../shared/bench/compare sends; streams also ask for usage,
// as a client that accounts for tokens does.
func requestBody(model string, stream bool) []byte {
	extra := ""
	if stream {
		extra = `,"stream_options":{"include_usage":true}`
	}
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"Say hello in one short sentence."}],"max_tokens":32,"stream":%t%s}`, model, stream, extra)
}

// findRoot walks up from the working directory to the main module's root.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module github.com/weir-gateway/weir\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run me inside the weir repository (no go.mod of github.com/weir-gateway/weir above the working directory)")
		}
		dir = parent
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
