package cluster

import (
	"slices"
	"strconv"
)

// ringVnodes is how many points each member takes on the ring: enough that 20–100 members each own close to
// 1/N of the counters (TestRingBalance) while a lookup stays one binary search over N×128 points.
const ringVnodes = 128

// Ring is a consistent-hash ring over member names: a counter's owner is the member whose point follows the
// counter's hash. Adding or removing a member moves only the counters that member gains or loses (about 1/N).
// Every node builds the same ring from the same alive members, with no coordination.
type Ring struct {
	points []ringPoint // sorted by hash
}

type ringPoint struct {
	h    uint64
	node string
}

// NewRing builds a ring over the given members (order does not matter).
func NewRing(members []string) *Ring {
	r := &Ring{points: make([]ringPoint, 0, len(members)*ringVnodes)}
	for _, m := range members {
		for v := range ringVnodes {
			r.points = append(r.points, ringPoint{h: hash64(m + "#" + strconv.Itoa(v)), node: m})
		}
	}
	slices.SortFunc(r.points, func(a, b ringPoint) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		if a.node < b.node { // equal hashes (astronomically rare): any fixed order, the same on every node
			return -1
		}
		return 1
	})
	return r
}

// Owner is the member owning key ("" for an empty ring).
func (r *Ring) Owner(key string) string {
	if len(r.points) == 0 {
		return ""
	}
	h := hash64(key)
	i, _ := slices.BinarySearchFunc(r.points, h, func(p ringPoint, h uint64) int {
		switch {
		case p.h < h:
			return -1
		case p.h > h:
			return 1
		}
		return 0
	})
	if i == len(r.points) {
		i = 0
	}
	return r.points[i].node
}

// hash64 is FNV-1a followed by a splitmix64 finaliser: stable across processes and Go versions (unlike
// hash/maphash) and well spread even for names differing in one character.
func hash64(s string) uint64 {
	x := uint64(14695981039346656037) // FNV-1a, inline: no allocation per lookup
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
	}
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
