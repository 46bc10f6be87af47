package cluster

import (
	"fmt"
	"testing"
)

func ringMembers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("weir-%d:7946", i)
	}
	return out
}

func ringKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = counterID(fmt.Sprintf("key:vk-%d", i), "rpm")
	}
	return out
}

// TestRingBalance: every member owns close to 1/N of the counters.
func TestRingBalance(t *testing.T) {
	keys := ringKeys(20000)
	for _, tc := range []struct {
		members int
		maxSkew float64 // largest share / fair share
	}{{3, 1.15}, {20, 1.35}, {50, 1.45}, {100, 1.5}} {
		t.Run(fmt.Sprint(tc.members), func(t *testing.T) {
			r := NewRing(ringMembers(tc.members))
			owned := map[string]int{}
			for _, k := range keys {
				owned[r.Owner(k)]++
			}
			if len(owned) != tc.members {
				t.Fatalf("%d of %d members own counters", len(owned), tc.members)
			}
			fair := float64(len(keys)) / float64(tc.members)
			lo, hi := len(keys), 0
			for _, c := range owned {
				lo, hi = min(lo, c), max(hi, c)
			}
			t.Logf("%d members: fair share %.0f, min %d, max %d", tc.members, fair, lo, hi)
			if float64(hi) > fair*tc.maxSkew || float64(lo) < fair/tc.maxSkew {
				t.Fatalf("unbalanced: min %d max %d for a fair share of %.0f", lo, hi, fair)
			}
		})
	}
}

// TestRingMinimalMovement: a join moves only counters to the new member (about 1/(N+1) of them); a leave moves
// only the leaving member's counters.
func TestRingMinimalMovement(t *testing.T) {
	keys := ringKeys(20000)
	for _, n := range []int{3, 20, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			members := ringMembers(n + 1)
			before, after := NewRing(members[:n]), NewRing(members)
			joined := members[n]
			moved := 0
			for _, k := range keys {
				a, b := before.Owner(k), after.Owner(k)
				if a == b {
					continue
				}
				moved++
				if b != joined {
					t.Fatalf("join of %s moved %q from %s to %s", joined, k, a, b)
				}
			}
			fair := float64(len(keys)) / float64(n+1)
			t.Logf("join %d→%d: %d of %d counters moved (fair share %.0f)", n, n+1, moved, len(keys), fair)
			if moved == 0 || float64(moved) > 1.6*fair {
				t.Fatalf("join moved %d counters, want about %.0f", moved, fair)
			}
			// Leave: drop member 0 from the n+1; only its counters move.
			left := NewRing(members[1:])
			for _, k := range keys {
				if a, b := after.Owner(k), left.Owner(k); a != b && a != members[0] {
					t.Fatalf("leave of %s moved %q from %s to %s", members[0], k, a, b)
				}
			}
		})
	}
}

func TestRingSameOnEveryNode(t *testing.T) {
	m := ringMembers(10)
	rev := make([]string, len(m))
	for i := range m {
		rev[i] = m[len(m)-1-i]
	}
	a, b := NewRing(m), NewRing(rev)
	for _, k := range ringKeys(1000) {
		if a.Owner(k) != b.Owner(k) {
			t.Fatalf("member order changed the owner of %q", k)
		}
	}
	if (&Ring{}).Owner("x") != "" {
		t.Fatal("empty ring has an owner")
	}
}
