package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// target is one thing under load: the mock itself (direct) or a gateway in front of it.
type target struct {
	name string
	url  string // the chat-completions URL
	body []byte
	proc *proc // the process whose CPU and memory are measured
	mock *proc // the upstream, whose CPU shows that requests really reach it
}

// measurement is one constant-rate attack on one target.
type measurement struct {
	round      int
	target     string
	rate       int
	requests   uint64
	achieved   float64 // requests/s vegeta actually sent
	p50, p99   time.Duration
	errors     uint64 // transport errors, non-2xx answers, streams without [DONE]
	codes      map[string]int
	errSamples []string
	waited     time.Duration // spent waiting for the machine to be quiet before the run
	cpuMs      float64       // the target process's user+system CPU during the attack
	cpuPer1k   float64
	mockPer1k  float64 // the mock upstream's CPU ms per 1,000 requests during the attack
	peakRSS    int64   // KiB, highest VmRSS sampled every 100 ms during the attack
	hwm        int64   // KiB, VmHWM (the process's lifetime peak) after the attack
	otherCores float64 // cores busy with processes this program did not start, averaged over the attack
}

var streamDone = []byte("[DONE]")

// attack sends POST t.url at a constant rate for dur (open loop: vegeta adds workers instead of waiting, so
// queueing delay is part of the latency) and measures the target process meanwhile. Latency is to the last byte
// of the body, which for a stream is the end of the stream.
func attack(t target, rate int, dur time.Duration, stream bool) measurement {
	return attackAfter(waitQuiet(), t, rate, dur, stream)
}

// warmUp is an attack that is not measured, so it does not wait for a quiet machine.
func warmUp(t target, rate int, dur time.Duration, stream bool) measurement {
	return attackAfter(0, t, rate, dur, stream)
}

func attackAfter(waited time.Duration, t target, rate int, dur time.Duration, stream bool) measurement {
	// A fresh client per attack, like a fresh vegeta process: connections of one attack do not leak into the next.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: vegeta.DefaultConnections,
	}
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(
		vegeta.Client(&http.Client{Timeout: 10 * time.Second, Transport: tr}),
		vegeta.MaxWorkers(4000),
		vegeta.MaxBody(1<<20),
	)
	tgt := vegeta.NewStaticTargeter(vegeta.Target{
		Method: http.MethodPost,
		URL:    t.url,
		Body:   t.body,
		Header: http.Header{"Content-Type": {"application/json"}},
	})

	pid := t.proc.pid()
	var (
		peak int64
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss, _ := memKiB(pid); rss > peak {
				peak = rss
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	pidStr, mockPid := fmt.Sprint(pid), fmt.Sprint(t.mock.pid())
	cpu0, mock0, busy0, ours0, t0 := cpuTicks(pidStr), cpuTicks(mockPid), machineBusyTicks(), ourTicks(), time.Now()

	var (
		m       vegeta.Metrics
		errs    uint64
		samples = map[string]int{}
	)
	for r := range atk.Attack(tgt, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, dur, t.name) {
		if stream && r.Error == "" && r.Code == http.StatusOK && !bytes.Contains(r.Body, streamDone) {
			r.Error = "stream ended without data: [DONE]"
		}
		if r.Error != "" || r.Code < 200 || r.Code > 299 {
			errs++
			msg := r.Error
			if msg == "" {
				msg = fmt.Sprintf("status %d", r.Code)
			}
			if r.Code >= 300 && len(r.Body) > 0 {
				msg += ": " + strings.TrimSpace(string(r.Body[:min(len(r.Body), 160)]))
			}
			samples[msg]++
		}
		r.Body = nil
		m.Add(r)
	}
	m.Close()

	elapsed := time.Since(t0).Seconds()
	cpu1, mock1, busy1, ours1 := cpuTicks(pidStr), cpuTicks(mockPid), machineBusyTicks(), ourTicks()
	close(stop)
	wg.Wait()
	_, hwm := memKiB(pid)

	out := measurement{
		target:   t.name,
		rate:     rate,
		requests: m.Requests,
		achieved: m.Rate,
		p50:      m.Latencies.P50,
		p99:      m.Latencies.P99,
		errors:   errs,
		codes:    m.StatusCodes,
		cpuMs:    float64(cpu1-cpu0) * 1000 / clkTck,
		peakRSS:  peak,
		hwm:      hwm,
		waited:   waited,
	}
	if m.Requests > 0 {
		out.cpuPer1k = out.cpuMs / (float64(m.Requests) / 1000)
		out.mockPer1k = float64(mock1-mock0) * 1000 / clkTck / (float64(m.Requests) / 1000)
	}
	if elapsed > 0 {
		out.otherCores = max(0, float64((busy1-busy0)-(ours1-ours0))/clkTck/elapsed)
	}
	for msg, n := range samples {
		out.errSamples = append(out.errSamples, fmt.Sprintf("%d× %s", n, msg))
	}
	sort.Strings(out.errSamples)
	return out
}

// quiet holds the -quiet and -quiet-wait flags.
var quiet struct {
	cores float64
	wait  time.Duration
}

// waitQuiet waits (at most quiet.wait) until processes this program did not start use fewer than quiet.cores
// cores over half a second, so that a measured run does not start in the middle of someone else's build.
// It returns the time waited.
func waitQuiet() time.Duration {
	if quiet.cores <= 0 || quiet.wait <= 0 {
		return 0
	}
	start := time.Now()
	for time.Since(start) < quiet.wait {
		busy0, ours0 := machineBusyTicks(), ourTicks()
		time.Sleep(500 * time.Millisecond)
		if other := float64((machineBusyTicks()-busy0)-(ourTicks()-ours0)) / clkTck / 0.5; other < quiet.cores {
			break
		}
	}
	return time.Since(start)
}

// probe sends one request and checks the answer is a complete chat completion (or stream).
func probe(url string, body []byte, stream bool) error {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	if err != nil {
		return err
	}
	b := buf.Bytes()
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, b)
	case stream && !bytes.Contains(b, streamDone):
		return fmt.Errorf("stream without [DONE]: %.300s", b)
	case !stream && !bytes.Contains(b, []byte(`"choices"`)):
		return fmt.Errorf("no choices in answer: %.300s", b)
	}
	return nil
}

// waitReady probes until the target answers a complete response, or the process dies, or 30 s pass.
func waitReady(t target, stream bool) error {
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = probe(t.url, t.body, stream); err == nil {
			return nil
		}
		if t.proc.exited() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer: %v\n%s", t.name, err, t.proc.tail(20))
}
