package router

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
)

// Rand is the randomness strategies and backoff draw from. *rand.Rand (math/rand/v2) satisfies it;
// tests pass a seeded one, production uses the goroutine-safe global source (GlobalRand).
type Rand interface {
	IntN(n int) int
	Int64N(n int64) int64
	Float64() float64
}

// GlobalRand uses math/rand/v2's top-level functions: safe for concurrent use, no lock, no allocation.
type GlobalRand struct{}

func (GlobalRand) IntN(n int) int       { return rand.IntN(n) }
func (GlobalRand) Int64N(n int64) int64 { return rand.Int64N(n) }
func (GlobalRand) Float64() float64     { return rand.Float64() }

// Strategy orders an alias's targets for one request: the first is tried first, the rest are the
// in-alias fallbacks. Order appends a permutation of ts to dst[:0] and returns it; it must not keep ts
// or dst. One Strategy value belongs to one alias (it may hold the alias's weights or counter).
type Strategy interface {
	Order(dst, ts []*TargetState, rnd Rand) []*TargetState
}

// Strategy names accepted in config.
const (
	StrategyWeighted      = "weighted"
	StrategyRoundRobin    = "round-robin"
	StrategyLeastBusy     = "least-busy"
	StrategyLowestLatency = "lowest-latency"
)

// ExploreProbability is how often lowest-latency puts a random target first, so a target that was slow
// and has recovered gets measured again instead of being starved forever.
const ExploreProbability = 0.05

// NewStrategy builds the named strategy ("" means weighted). weights align with the alias's targets.
func NewStrategy(name string, weights []int) (Strategy, error) {
	switch name {
	case "", StrategyWeighted:
		return newWeighted(weights), nil
	case StrategyRoundRobin:
		return &RoundRobin{}, nil
	case StrategyLeastBusy:
		return LeastBusy{}, nil
	case StrategyLowestLatency:
		return LowestLatency{Explore: ExploreProbability}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (want weighted, least-busy, lowest-latency or round-robin)", name)
}

// stackN is the target count handled without heap scratch space; aliases rarely have more.
const stackN = 16

// Weighted orders by weighted random sampling without replacement: the first pick follows the weights
// exactly, the next is drawn from the rest, and so on. Zero-weight targets are standbys appended after
// the weighted ones in random order; if every weight is zero all are drawn equally.
type Weighted struct{ weights []int }

func newWeighted(weights []int) *Weighted {
	w := make([]int, len(weights))
	all0 := true
	for i, x := range weights {
		w[i] = max(x, 0)
		all0 = all0 && w[i] == 0
	}
	if all0 {
		for i := range w {
			w[i] = 1
		}
	}
	return &Weighted{weights: w}
}

func (s *Weighted) Order(dst, ts []*TargetState, rnd Rand) []*TargetState {
	dst = append(dst[:0], ts...)
	var buf [stackN]int
	w := buf[:0]
	if len(ts) > stackN {
		w = make([]int, 0, len(ts))
	}
	total := 0
	for i := range ts {
		x := 1
		if i < len(s.weights) {
			x = s.weights[i]
		}
		w = append(w, x)
		total += x
	}
	// Draw position i from dst[i:], swapping the pick into place (selection without replacement).
	i := 0
	for ; i < len(dst) && total > 0; i++ {
		r := rnd.IntN(total)
		j := i
		for ; j < len(dst)-1; j++ {
			if r < w[j] {
				break
			}
			r -= w[j]
		}
		dst[i], dst[j] = dst[j], dst[i]
		w[i], w[j] = w[j], w[i]
		total -= w[i]
	}
	shuffle(dst[i:], rnd) // standbys
	return dst
}

// RoundRobin rotates the starting target with one atomic counter: exact, lock-free.
type RoundRobin struct{ next atomic.Uint64 }

func (s *RoundRobin) Order(dst, ts []*TargetState, _ Rand) []*TargetState {
	dst = dst[:0]
	n := uint64(len(ts))
	if n == 0 {
		return dst
	}
	start := (s.next.Add(1) - 1) % n
	dst = append(dst, ts[start:]...)
	return append(dst, ts[:start]...)
}

// LeastBusy orders by fewest requests in flight; ties are broken at random so idle targets share load.
type LeastBusy struct{}

func (LeastBusy) Order(dst, ts []*TargetState, rnd Rand) []*TargetState {
	return orderByKey(dst, ts, rnd, func(t *TargetState) float64 { return float64(t.InFlight()) })
}

// LowestLatency orders by the moving average time to first byte. Untried targets come first (so each is
// measured), targets tried but never successful come last, and with probability Explore a random
// target is moved to the front so a recovered target is found again.
type LowestLatency struct{ Explore float64 }

func (s LowestLatency) Order(dst, ts []*TargetState, rnd Rand) []*TargetState {
	dst = orderByKey(dst, ts, rnd, latencyKey)
	if len(dst) > 1 && rnd.Float64() < s.Explore {
		j := rnd.IntN(len(dst))
		pick := dst[j]
		copy(dst[1:j+1], dst[:j])
		dst[0] = pick
	}
	return dst
}

func latencyKey(t *TargetState) float64 {
	if t.samples.Load() == 0 {
		return -1
	}
	if e := math.Float64frombits(t.ewma.Load()); e > 0 {
		return e
	}
	return math.Inf(1)
}

// orderByKey shuffles (random tie-break) then stable-sorts ascending by a key read once per target, so
// concurrent updates cannot make the comparison inconsistent. Insertion sort: n is tiny.
func orderByKey(dst, ts []*TargetState, rnd Rand, key func(*TargetState) float64) []*TargetState {
	dst = append(dst[:0], ts...)
	shuffle(dst, rnd)
	var buf [stackN]float64
	k := buf[:0]
	if len(dst) > stackN {
		k = make([]float64, 0, len(dst))
	}
	for _, t := range dst {
		k = append(k, key(t))
	}
	for i := 1; i < len(dst); i++ {
		for j := i; j > 0 && k[j] < k[j-1]; j-- {
			k[j], k[j-1] = k[j-1], k[j]
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

func shuffle(ts []*TargetState, rnd Rand) {
	for i := len(ts) - 1; i > 0; i-- {
		j := rnd.IntN(i + 1)
		ts[i], ts[j] = ts[j], ts[i]
	}
}
