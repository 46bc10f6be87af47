package router

import (
	"math"
	"testing"
	"time"
)

const picks = 100_000

// firstShares runs Order picks times and returns how often each target came first.
func firstShares(s Strategy, ts []*TargetState, rnd Rand) map[string]float64 {
	counts := map[string]int{}
	var dst []*TargetState
	for range picks {
		dst = s.Order(dst, ts, rnd)
		if len(dst) != len(ts) {
			panic("order lost targets")
		}
		counts[dst[0].Key()]++
	}
	out := map[string]float64{}
	for k, n := range counts {
		out[k] = float64(n) / picks
	}
	return out
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f ± %.4f", what, got, want, tol)
	}
}

func TestWeightedDistribution(t *testing.T) {
	c := newClock()
	tests := []struct {
		name    string
		weights []int
		want    []float64 // share of first picks
	}{
		{"70/30", []int{70, 30}, []float64{0.7, 0.3}},
		{"50/30/20", []int{50, 30, 20}, []float64{0.5, 0.3, 0.2}},
		{"all unset share equally", []int{0, 0, 0, 0}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"zero weight is standby", []int{1, 0, 3}, []float64{0.25, 0, 0.75}},
		{"single", []int{5}, []float64{1}},
	}
	keys := []string{"a/m", "b/m", "c/m", "d/m"}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := targets(c, keys[:len(tt.weights)]...)
			s, err := NewStrategy(StrategyWeighted, tt.weights)
			if err != nil {
				t.Fatal(err)
			}
			got := firstShares(s, ts, seeded(uint64(i)))
			for j, w := range tt.want {
				near(t, ts[j].Key(), got[ts[j].Key()], w, 0.015)
			}
		})
	}
}

func TestWeightedWithoutReplacement(t *testing.T) {
	// 70/20/10: the second position follows the remaining weights. P(B second) =
	// P(A first)·20/30 + P(C first)·20/90; standbys always trail.
	c := newClock()
	ts := targets(c, "a/m", "b/m", "c/m", "s/m")
	s, _ := NewStrategy("", []int{70, 20, 10, 0})
	rnd := seeded(7)
	second := 0
	var dst []*TargetState
	for range picks {
		dst = s.Order(dst, ts, rnd)
		if dst[3] != ts[3] {
			t.Fatalf("standby not last: %v", keysOf(dst))
		}
		seen := map[*TargetState]bool{}
		for _, x := range dst {
			seen[x] = true
		}
		if len(seen) != 4 {
			t.Fatalf("not a permutation: %v", keysOf(dst))
		}
		if dst[1] == ts[1] {
			second++
		}
	}
	near(t, "B second", float64(second)/picks, 0.7*20/30+0.1*20/90, 0.015)
}

func TestRoundRobinExact(t *testing.T) {
	c := newClock()
	ts := targets(c, "a/m", "b/m", "c/m")
	s, _ := NewStrategy(StrategyRoundRobin, nil)
	var dst []*TargetState
	for i := range 300 {
		dst = s.Order(dst, ts, nil)
		for j := range ts {
			if want := ts[(i+j)%3]; dst[j] != want {
				t.Fatalf("call %d pos %d = %s, want %s", i, j, dst[j].Key(), want.Key())
			}
		}
	}
}

func TestLeastBusy(t *testing.T) {
	c := newClock()
	ts := targets(c, "a/m", "b/m", "c/m")
	for range 3 {
		ts[0].Begin()
	}
	ts[2].Begin()
	s, _ := NewStrategy(StrategyLeastBusy, nil)
	dst := s.Order(nil, ts, seeded(1))
	if got := keysOf(dst); got[0] != "b/m" || got[1] != "c/m" || got[2] != "a/m" {
		t.Fatalf("order = %v, want idle b, then c, then busy a", got)
	}
	// Ties are broken at random: with b and c equally idle, each leads about half the time.
	ts[0].Begin()
	ts[1].Begin()
	got := firstShares(s, ts, seeded(2))
	near(t, "b first", got["b/m"], 0.5, 0.015)
	near(t, "c first", got["c/m"], 0.5, 0.015)
	if got["a/m"] != 0 {
		t.Errorf("busiest target led %.4f of picks", got["a/m"])
	}
}

func TestLowestLatencyPrefersFastAndExplores(t *testing.T) {
	c := newClock()
	ts := targets(c, "fast/m", "slow/m")
	succeed(ts[0], 50*time.Millisecond)
	succeed(ts[1], 500*time.Millisecond)
	s, _ := NewStrategy(StrategyLowestLatency, nil)
	got := firstShares(s, ts, seeded(3))
	// Exploration moves a random one of the two first 5% of the time: slow leads 2.5%.
	near(t, "slow first (exploration)", got["slow/m"], ExploreProbability/2, 0.005)
	near(t, "fast first", got["fast/m"], 1-ExploreProbability/2, 0.005)
}

func TestLowestLatencyUntriedFirstFailedLast(t *testing.T) {
	c := newClock()
	ts := targets(c, "tried/m", "new/m", "broken/m")
	succeed(ts[0], 50*time.Millisecond)
	fail(ts[2], 503)
	s := LowestLatency{} // no exploration: the order is deterministic
	if got := keysOf(s.Order(nil, ts, seeded(4))); got[0] != "new/m" || got[1] != "tried/m" || got[2] != "broken/m" {
		t.Fatalf("order = %v, want untried, measured, never-successful", got)
	}
}

func TestLowestLatencyRefindsRecoveredTarget(t *testing.T) {
	c := newClock()
	ts := targets(c, "a/m", "b/m")
	succeed(ts[0], 100*time.Millisecond)
	succeed(ts[1], 2*time.Second) // b is slow for now
	latency := map[string]time.Duration{"a/m": 100 * time.Millisecond, "b/m": 2 * time.Second}
	s, _ := NewStrategy(StrategyLowestLatency, nil)
	rnd := seeded(5)
	run := func(n int) (bFirst int) {
		var dst []*TargetState
		for range n {
			dst = s.Order(dst, ts, rnd)
			succeed(dst[0], latency[dst[0].Key()])
			if dst[0] == ts[1] {
				bFirst++
			}
		}
		return bFirst
	}
	if n := run(2000); n > 150 {
		t.Fatalf("slow b led %d of 2000 picks; want only exploration (~50)", n)
	}
	latency["b/m"] = 20 * time.Millisecond // b recovers; only exploration can notice
	run(3000)
	if n := run(1000); n < 950 {
		t.Fatalf("recovered b led %d of the last 1000 picks; want ≥ 950", n)
	}
}

func TestUnknownStrategy(t *testing.T) {
	if _, err := NewStrategy("fastest", nil); err == nil {
		t.Fatal("want error")
	}
}

func keysOf(ts []*TargetState) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Key()
	}
	return out
}
