package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// environment describes where and how a run was made.
type environment struct {
	date, cpu, goVer, commit, command string
	nproc                             int
}

func numCPU() int       { return runtime.NumCPU() }
func goVersion() string { return runtime.Version() }
func title(o options) string {
	kind := "Non-streaming"
	if o.stream {
		kind = "Streaming (`stream: true`, latency to the last byte)"
	}
	if o.findMax {
		return "Highest zero-error rate — " + strings.ToLower(kind[:1]) + kind[1:]
	}
	return fmt.Sprintf("%s, %d RPS", kind, o.rate)
}

func header(b *strings.Builder, o options, env environment) {
	fmt.Fprintf(b, "### %s\n\n", title(o))
	fmt.Fprintf(b, "%s · %d CPUs (%s) · %s · weir `%s`  \n", env.date, env.nproc, env.cpu, env.goVer, env.commit)
	fmt.Fprintf(b, "Command: `%s`\n\n", env.command)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func usf(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func quietNote() string {
	if quiet.cores <= 0 || quiet.wait <= 0 {
		return ""
	}
	return fmt.Sprintf(" (each run first waited up to %s for other processes to use under %.2f cores)", quiet.wait, quiet.cores)
}

// row is the summary of one target over the rounds.
type row struct {
	name                   string
	p50, p99               float64 // µs, medians over rounds
	over50, over99         float64 // µs, medians of gateway minus the direct run before it
	errors, requests       uint64
	cpuPer1k, mockPer1k    float64 // medians
	hwm, peak              int64   // KiB
	otherCores, otherCoreX float64 // median and max
}

func summarize(name string, ms []measurement, pairs []pair) row {
	r := row{name: name}
	var p50, p99, cpu, mock, other []float64
	for _, m := range ms {
		p50, p99 = append(p50, usf(m.p50)), append(p99, usf(m.p99))
		cpu, mock, other = append(cpu, m.cpuPer1k), append(mock, m.mockPer1k), append(other, m.otherCores)
		r.errors += m.errors
		r.requests += m.requests
		r.hwm, r.peak = max(r.hwm, m.hwm), max(r.peak, m.peakRSS)
		r.otherCoreX = max(r.otherCoreX, m.otherCores)
	}
	r.p50, r.p99, r.cpuPer1k, r.mockPer1k, r.otherCores = median(p50), median(p99), median(cpu), median(mock), median(other)
	var o50, o99 []float64
	for _, p := range pairs {
		o50 = append(o50, usf(p.gateway.p50)-usf(p.direct.p50))
		o99 = append(o99, usf(p.gateway.p99)-usf(p.direct.p99))
	}
	r.over50, r.over99 = median(o50), median(o99)
	return r
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func renderFixed(o options, env environment, directs []measurement, gws []target, pairs map[string][]pair, log []measurement) string {
	var b strings.Builder
	header(&b, o, env)
	fmt.Fprintf(&b, "%d rounds of %s at %d/s per target after a %s warm-up; medians over the rounds. Overhead = gateway minus the direct run just before it. "+
		"CPU and peak RSS (VmHWM) are the gateway process's own (for `direct`, the mock's).\n\n", o.rounds, o.duration, o.rate, o.warmup)
	b.WriteString("| target | p50 µs | p99 µs | overhead p50 µs | overhead p99 µs | errors / requests | CPU ms / 1k req | peak RSS MiB |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	d := summarize("direct", directs, nil)
	fmt.Fprintf(&b, "| direct (mock) | %.0f | %.0f | — | — | %d / %d | %.1f | %.1f |\n", d.p50, d.p99, d.errors, d.requests, d.cpuPer1k, mib(d.hwm))
	rows := map[string]row{}
	var other, otherMax float64
	for _, g := range gws {
		var ms []measurement
		for _, p := range pairs[g.name] {
			ms = append(ms, p.gateway)
		}
		r := summarize(g.name, ms, pairs[g.name])
		rows[g.name] = r
		other, otherMax = max(other, r.otherCores), max(otherMax, r.otherCoreX)
		name := g.name
		if name == "revproxy" {
			name = "revproxy (floor)"
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %d / %d | %.1f | %.1f |\n", name, r.p50, r.p99, r.over50, r.over99, r.errors, r.requests, r.cpuPer1k, mib(r.hwm))
	}
	w, okW := rows["weir"]
	f, okF := rows["revproxy"]
	if okW && okF {
		fmt.Fprintf(&b, "| **weir / floor** | | | **%s** | **%s** | | **%s** | **%s** |\n",
			ratio(w.over50, f.over50), ratio(w.over99, f.over99), ratio(w.cpuPer1k, f.cpuPer1k), ratio(float64(w.hwm), float64(f.hwm)))
	}
	other = max(other, d.otherCores)
	otherMax = max(otherMax, d.otherCoreX)
	fmt.Fprintf(&b, "\nOther processes on the machine (not this benchmark) used %.2f cores (median over runs, max %.2f) of %d during the measured runs%s.\n",
		other, otherMax, env.nproc, quietNote())
	if okW && d.mockPer1k > 0 && w.mockPer1k < d.mockPer1k/4 {
		fmt.Fprintf(&b, "\n**Warning:** the mock used %.1f ms/1k during weir's runs against %.1f direct: requests may not be reaching the upstream.\n", w.mockPer1k, d.mockPer1k)
	}
	b.WriteString("\n<details><summary>Per-run figures</summary>\n\n")
	b.WriteString("| round | target | p50 µs | p99 µs | sent/s | errors | CPU ms / 1k | mock CPU ms / 1k | RSS MiB (sampled max) | other load (cores) | waited for quiet s |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range log {
		fmt.Fprintf(&b, "| %d | %s | %.0f | %.0f | %.0f | %d | %.1f | %.1f | %.1f | %.2f | %.1f |\n", m.round, m.target, usf(m.p50), usf(m.p99), m.achieved, m.errors, m.cpuPer1k, m.mockPer1k, mib(m.peakRSS), m.otherCores, m.waited.Seconds())
	}
	var samples []string
	for _, m := range log {
		for _, e := range m.errSamples {
			samples = append(samples, fmt.Sprintf("round %d %s: %s", m.round, m.target, e))
		}
	}
	if len(samples) > 0 {
		b.WriteString("\nErrors:\n\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(s, "\n", " "))
		}
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

func renderMax(o options, env environment, results []maxResult) string {
	var b strings.Builder
	header(&b, o, env)
	fmt.Fprintf(&b, "Per target, the rate starts at %d/s and rises by %d/s (steps of %s, after a %s warm-up) until a step fails twice in a row: "+
		"any error, p99 above %s, or the load generator unable to send %.0f%% of the rate (the 2 cores are saturated: it, the mock and "+
		"the gateway share them). The reported rate is the highest step that held%s.\n\n", o.fmStart, o.fmStep, o.fmDuration, o.warmup, o.fmMaxP99, o.fmMinAchieved*100, quietNote())
	b.WriteString("| target | max rate held (req/s) | p50 µs | p99 µs | CPU ms / 1k req | peak RSS MiB | next step |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|\n")
	best := map[string]int{}
	for _, r := range results {
		name := r.target
		switch name {
		case "direct":
			name = "direct (mock)"
		case "revproxy":
			name = "revproxy (floor)"
		}
		var hwm int64
		for _, s := range r.steps {
			hwm = max(hwm, s.hwm)
		}
		next := "limit reached"
		if r.fail != nil {
			next = fmt.Sprintf("%d/s: %s", r.fail.rate, strings.ReplaceAll(r.fail.failure, "|", "\\|"))
		}
		if r.best == nil {
			fmt.Fprintf(&b, "| %s | < %d | | | | %.1f | %s |\n", name, o.fmStart, mib(hwm), next)
			continue
		}
		best[r.target] = r.best.rate
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.1f | %.1f | %s |\n", name, r.best.rate, usf(r.best.p50), usf(r.best.p99), r.best.cpuPer1k, mib(hwm), next)
	}
	if w, f := best["weir"], best["revproxy"]; w > 0 && f > 0 {
		fmt.Fprintf(&b, "| **weir / floor** | **%s** | | | | | |\n", ratio(float64(w), float64(f)))
	}
	b.WriteString("\n<details><summary>Every step</summary>\n\n")
	b.WriteString("| target | rate | sent/s | p50 µs | p99 µs | errors | CPU ms / 1k | RSS MiB | other load (cores) | verdict |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		for _, s := range r.steps {
			v := "ok"
			if s.failure != "" {
				v = strings.ReplaceAll(strings.ReplaceAll(s.failure, "|", "\\|"), "\n", " ")
			}
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.0f | %d | %.1f | %.1f | %.2f | %s |\n", s.target, s.rate, s.achieved, usf(s.p50), usf(s.p99), s.errors, s.cpuPer1k, mib(s.peakRSS), s.otherCores, v)
		}
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

// docSkeleton is docs/benchmarks.md when loadbench first writes it; the placeholders fix the sections' order.
const docSkeleton = `# Benchmarks

Two kinds: ` + "`make bench-go`" + ` runs the hot path's micro-benchmarks (` + "`go test -bench`" + `), and ` + "`make bench`" + ` runs the load
test described here, which measures the whole binary over loopback HTTP.

## The load test (` + "`make bench`" + `)

` + "`make bench`" + ` runs ` + "`bench/cmd/loadbench`" + ` (a separate Go module, so the load generator's dependencies stay out of Weir's) twice:
non-streaming, then streaming. It builds ` + "`weir`" + `, the in-repo mock upstream (` + "`test/mockupstream`" + `) and a bare
` + "`httputil.ReverseProxy`" + ` (` + "`bench/cmd/revproxy`" + `, the floor for any Go gateway), starts the mock on a free loopback port and
both gateways in front of it, warms each up and then attacks at a constant arrival rate with
[vegeta](https://github.com/tsenart/vegeta) as a library (open loop: a slow answer does not slow the sender down, so queueing
delay counts). Rounds alternate a direct run against the mock with a run through each gateway (the gateways' order flips
every round); a gateway's overhead is its latency minus that of the direct run just before it. CPU is the process's
user+system time from ` + "`/proc/PID/stat`" + ` over the run, per 1,000 requests; peak RSS is its ` + "`VmHWM`" + `. Every run also records how
many cores other processes used meanwhile, since the machine is shared.

Reading the numbers: the load generator, the mock and the gateway share the machine's cores, so absolute figures are
low and noisy, and only figures from one run compare. The ratios to the floor measured in the same run are what
carries over; CPU per 1,000 requests is the steadiest figure. ` + "`-find-max`" + ` steps the rate up to find the highest
rate each target holds with zero errors.

Each section below is rewritten by the run that produced it (` + "`-doc -`" + ` writes none).

`

func markers(key string) (begin, end string) {
	return "<!-- loadbench:" + key + ":begin -->", "<!-- loadbench:" + key + ":end -->"
}

// writeSection replaces the section key of the Markdown file at path (creating the file from docSkeleton), or
// appends it when the file has no such section.
func writeSection(path, key, content string) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		var s strings.Builder
		s.WriteString(docSkeleton)
		for _, k := range []string{"nonstream", "stream", "findmax-nonstream", "findmax-stream"} {
			begin, end := markers(k)
			s.WriteString(begin + "\n" + end + "\n\n")
		}
		b, err = []byte(s.String()), nil
	}
	if err != nil {
		return err
	}
	doc := string(b)
	begin, end := markers(key)
	block := begin + "\n" + strings.TrimRight(content, "\n") + "\n" + end
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i >= 0 && j > i {
		doc = doc[:i] + block + doc[j+len(end):]
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
