package main

import (
	"fmt"
	"slices"
	"time"
)

// pair is a direct run and the gateway run right after it.
type pair struct{ direct, gateway measurement }

// fixedRate warms every target up, then runs the rounds: in each, for each gateway (in alternating order from
// round to round), a direct attack and then an attack through the gateway.
func fixedRate(o options, env environment, direct target, gws []target) string {
	for _, t := range append([]target{direct}, gws...) {
		w := warmUp(t, o.rate, o.warmup, o.stream)
		logf("warm-up %-8s %d/s for %s: p50 %s p99 %s, %d errors", t.name, o.rate, o.warmup, us(w.p50), us(w.p99), w.errors)
	}
	var directs []measurement
	pairs := map[string][]pair{}
	var log []measurement
	for i := 1; i <= o.rounds; i++ {
		order := slices.Clone(gws)
		if i%2 == 0 {
			slices.Reverse(order)
		}
		for _, g := range order {
			d := attack(direct, o.rate, o.duration, o.stream)
			progress(i, d)
			m := attack(g, o.rate, o.duration, o.stream)
			progress(i, m)
			directs = append(directs, d)
			pairs[g.name] = append(pairs[g.name], pair{d, m})
			log = append(log, withRound(d, i), withRound(m, i))
		}
	}
	return renderFixed(o, env, directs, gws, pairs, log)
}

func withRound(m measurement, round int) measurement { m.round = round; return m }

func progress(round int, m measurement) {
	logf("round %d %-8s %d/s: p50 %s p99 %s, %d/%d errors, CPU %.1f ms/1k, RSS %.1f MiB, mock %.1f ms/1k, other load %.2f cores",
		round, m.target, m.rate, us(m.p50), us(m.p99), m.errors, m.requests, m.cpuPer1k, mib(m.peakRSS), m.mockPer1k, m.otherCores)
	if m.waited > time.Second {
		logf("    (waited %.0fs for the machine to be quiet first)", m.waited.Seconds())
	}
	for _, e := range m.errSamples {
		logf("    %s", e)
	}
}

// step is one rate of a find-max search.
type step struct {
	measurement
	failure string // why the step failed; empty if it held
}

// maxResult is the outcome of a find-max search on one target.
type maxResult struct {
	target string
	best   *step // the highest rate that held (nil: not even the first)
	fail   *step // the step that ended the search (nil: the limit was reached)
	steps  []step
}

// findMax steps the rate up on each target until a step fails twice in a row: an error, p99 above the bound, or
// the load generator unable to send the rate (the machine is saturated).
func findMax(o options, env environment, direct target, gws []target) string {
	var results []maxResult
	for _, t := range append([]target{direct}, gws...) {
		w := warmUp(t, o.fmStart, o.warmup, o.stream)
		logf("warm-up %-8s %d/s for %s: p50 %s p99 %s, %d errors", t.name, o.fmStart, o.warmup, us(w.p50), us(w.p99), w.errors)
		r := maxResult{target: t.name}
		for rate := o.fmStart; rate <= o.fmLimit; rate += o.fmStep {
			s := judge(o, attack(t, rate, o.fmDuration, o.stream))
			logStep(s)
			if s.failure != "" { // a disturbed step is retried once before it counts
				time.Sleep(2 * time.Second)
				s = judge(o, attack(t, rate, o.fmDuration, o.stream))
				logStep(s)
			}
			r.steps = append(r.steps, s)
			if s.failure != "" {
				r.fail = &r.steps[len(r.steps)-1]
				break
			}
			r.best = &r.steps[len(r.steps)-1]
			time.Sleep(time.Second) // let queues drain between steps
		}
		results = append(results, r)
		time.Sleep(2 * time.Second)
	}
	return renderMax(o, env, results)
}

func judge(o options, m measurement) step {
	s := step{measurement: m}
	switch {
	case m.errors > 0:
		s.failure = fmt.Sprintf("%d errors", m.errors)
		if len(m.errSamples) > 0 {
			s.failure += " (" + m.errSamples[0] + ")"
		}
	case m.p99 > o.fmMaxP99:
		s.failure = fmt.Sprintf("p99 %s > %s", us(m.p99), o.fmMaxP99)
	case m.achieved < o.fmMinAchieved*float64(m.rate):
		s.failure = fmt.Sprintf("load generator sent only %.0f/s", m.achieved)
	}
	return s
}

func logStep(s step) {
	verdict := "ok"
	if s.failure != "" {
		verdict = "FAIL " + s.failure
	}
	logf("find-max %-8s %5d/s: p50 %s p99 %s, sent %.0f/s, %d errors, CPU %.1f ms/1k, RSS %.1f MiB, other load %.2f cores (waited %.0fs): %s",
		s.target, s.rate, us(s.p50), us(s.p99), s.achieved, s.errors, s.cpuPer1k, mib(s.peakRSS), s.otherCores, s.waited.Seconds(), verdict)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }

func mib(kib int64) float64 { return float64(kib) / 1024 }
