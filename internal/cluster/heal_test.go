package cluster

import (
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
)

// offlineNode is a Node without memberlist: the test moves its messages by hand — deltas as flush would send
// them, full states as push/pull would swap them — so a partition and its healing are exact and repeatable.
func offlineNode(name string, now func() time.Time) (*Node, governance.Counter) {
	g := &fakeGov{}
	c := g.add("key:k", "rpm", 100, governance.NewSlidingWindow(time.Minute))
	n := &Node{name: name, src: g, st: NewState(), refs: map[string]governance.CounterRef{},
		gens: map[governance.Counter]uint64{}, strictX: map[string]int64{}, peers: map[string]*peer{},
		opt: Options{Now: now}}
	n.startVer = uint64(time.Now().UnixNano())
	n.lastVer = n.startVer
	return n, c
}

// deliver sends from's changed counts to each of to (one delta tick with no loss).
func deliver(from *Node, to ...*Node) {
	for _, b := range encodeDeltas(from.name, from.changes(), maxPacket) {
		for _, t := range to {
			t.receive(b)
		}
	}
}

// pushPull swaps full states between a and b, as memberlist's anti-entropy does.
func pushPull(a, b *Node) {
	a.mu.Lock()
	fa := encodeFull(a.st)
	a.mu.Unlock()
	b.mu.Lock()
	fb := encodeFull(b.st)
	b.mu.Unlock()
	b.receive(fa)
	a.receive(fb)
}

// TestPartitionHealAgreesOnTheSlidingWindow reproduces the partition e2e test's "agree on a count 2 below the
// admissions" exactly. Nothing is lost: after healing, every node holds every node's exact count for the
// window, in the same minute the nodes agree on exactly the admissions made (the overshoot of a side included).
// The shortfall appears only when the count is read after the minute has turned: a rate limit is a sliding
// window, whose previous minute counts ceil(P × (W−e)/W) at e into the current one, so P admissions made in the
// previous minute read floor(P × e/W) short — 2 of 171 at 0.8 s, 85 at 30 s. The e2e test asserts exactly that.
func TestPartitionHealAgreesOnTheSlidingWindow(t *testing.T) {
	minute := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		healAt time.Duration // after the start of the minute the admissions were made in
		want   int64         // what every node reads
	}{
		{"same minute", 50 * time.Second, 171},
		{"0.3 s into the next minute", time.Minute + 300*time.Millisecond, 171}, // ceil(171 × 59.7/60) = 171
		{"0.8 s into the next minute", time.Minute + 800*time.Millisecond, 169}, // ceil(171 × 59.2/60) = 169: 2 short
		{"30 s into the next minute", time.Minute + 30*time.Second, 86},         // ceil(171 / 2)
	} {
		t.Run(tc.name, func(t *testing.T) {
			var at time.Duration = 10 * time.Second
			now := func() time.Time { return minute.Add(at) }
			n0, c0 := offlineNode("node0", now)
			n1, c1 := offlineNode("node1", now)
			n2, c2 := offlineNode("node2", now)
			nodes, cs := []*Node{n0, n1, n2}, []governance.Counter{c0, c1, c2}
			reserve := func(i int) bool {
				ok, _, _ := cs[i].Reserve(now().UnixNano(), 1, 100)
				return ok
			}
			others := func(i int, side []int) []*Node {
				var out []*Node
				for _, j := range side {
					if j != i {
						out = append(out, nodes[j])
					}
				}
				return out
			}
			admitted := 0
			// 30 round-robin with every delta delivered.
			for i := range 30 {
				if reserve(i % 3) {
					admitted++
				}
				deliver(nodes[i%3], others(i%3, []int{0, 1, 2})...)
			}
			// Partition: {node0, node1} | {node2}. Each side serves up to the limit on its own; side A's two nodes
			// both take the last slot before hearing of each other (the overshoot the e2e test allows).
			for side, idx := range [][]int{{0, 1}, {2}} {
				for i := 0; ; i++ {
					k := idx[i%len(idx)]
					if side == 0 && len(idx) == 2 && cs[0].Peek(now().UnixNano(), 100).Used == 99 {
						if reserve(0) {
							admitted++
						}
						if reserve(1) {
							admitted++
						}
						deliver(n0, n1)
						deliver(n1, n0)
						break
					}
					if !reserve(k) {
						break
					}
					admitted++
					deliver(nodes[k], others(k, idx)...)
				}
			}
			if admitted != 171 {
				t.Fatalf("admitted %d, want 30 + 71 + 70", admitted)
			}
			// Heal: push/pull until every node holds every count.
			at = tc.healAt
			pushPull(n2, n0)
			pushPull(n0, n1)
			start := minute.UnixNano()
			for i, n := range nodes {
				if got := n.st.Sum(Key{"key:k", "rpm", start}, ""); got != 171 {
					t.Errorf("node%d holds %d admissions for the minute, want all 171", i, got)
				}
				if got := cs[i].Peek(now().UnixNano(), 100).Used; got != tc.want {
					t.Errorf("node%d reads %d at %v, want %d", i, got, tc.healAt, tc.want)
				}
			}
			if e := tc.healAt - time.Minute; e > 0 {
				if short := 171 - tc.want; short != 171*int64(e)/int64(time.Minute) {
					t.Errorf("shortfall %d, want floor(171 × %v / 1m) = %d", short, e, 171*int64(e)/int64(time.Minute))
				}
			}
		})
	}
}
