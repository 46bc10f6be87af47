package cluster

import (
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
)

// ownerNode is a Node without memberlist that owns one rpm counter on a ring of itself and peers.
func ownerNode(t *testing.T, self string, members []string, limit int64) (*Node, governance.Counter, string) {
	t.Helper()
	n := &Node{name: self, st: NewState(), refs: map[string]governance.CounterRef{},
		gens: map[governance.Counter]uint64{}, strictX: map[string]int64{}, peers: map[string]*peer{},
		opt: Options{Now: time.Now}}
	n.startVer = uint64(time.Now().UnixNano())
	n.initRing()
	n.ringOn, n.ring = true, NewRing(members)
	for i := 0; ; i++ {
		subject := "key:k" + itoa(i)
		if n.ring.Owner(counterID(subject, "rpm")) != self {
			continue
		}
		c := governance.NewSlidingWindow(time.Minute)
		n.refs[counterID(subject, "rpm")] = governance.CounterRef{Subject: subject, Metric: "rpm", Limit: limit, Counter: c}
		return n, c, subject
	}
}

func TestLeaseLedger(t *testing.T) {
	n, c, subject := ownerNode(t, "self", []string{"self", "a", "b"}, 100)
	now := time.Now().UnixNano()
	start := c.(governance.Leasable).LeaseWindow(now)
	used := func() int64 { return c.Peek(time.Now().UnixNano(), 100).Used }
	var id uint64 = 10
	ask := func(from string, charge, want int64) leaseResp {
		id++
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.serveLease(leaseReq{id: id, from: from, subject: subject, metric: "rpm", start: start, charge: charge, want: want}, time.Now().UnixNano())
	}

	// A grant is capped at room / (2 × other members) and charged to the lessee at once.
	if p := ask("a", 0, 10); p.status != leaseOK || p.granted != 10 || p.room != 90 {
		t.Fatalf("first ask: %+v, want 10 granted and 90 room", p)
	}
	if u := used(); u != 10 {
		t.Fatalf("owner's view %d after granting 10, want 10", u)
	}
	// A return: the lessee used 3 and gives the other 7 back.
	if p := ask("a", 3, 0); p.granted != 0 || used() != 3 {
		t.Fatalf("return: %+v, used %d, want 3", p, used())
	}
	// An older request arriving late (its charge is stale) changes nothing.
	n.mu.Lock()
	p := n.serveLease(leaseReq{id: 5, from: "a", subject: subject, metric: "rpm", start: start, charge: 50}, time.Now().UnixNano())
	n.mu.Unlock()
	if p.granted != 0 || used() != 3 {
		t.Fatalf("stale request applied: %+v, used %d", p, used())
	}
	// The owner's own admissions and the grants share the limit: never more than 100 in all, never a negative
	// grant or room.
	for range 60 {
		if ok, _, _ := c.Reserve(time.Now().UnixNano(), 1, 100); !ok {
			t.Fatal("owner refused within the limit")
		}
	}
	var bCharge, total int64
	for range 50 {
		p := ask("b", bCharge, 100)
		if p.granted < 0 || p.room < 0 {
			t.Fatalf("negative grant or room: %+v", p)
		}
		bCharge += p.granted // b uses every unit it gets
		total = used()
		if total > 100 {
			t.Fatalf("owner's view %d exceeds the limit", total)
		}
	}
	if total != 100 || bCharge != 37 {
		t.Fatalf("view %d, b charged %d: want the limit reached with b holding the 37 left", total, bCharge)
	}
	if p := ask("b", bCharge, 1); p.granted != 0 || p.room != 0 {
		t.Fatalf("ask at the limit: %+v", p)
	}
	if ok, _, _ := c.Reserve(time.Now().UnixNano(), 1, 100); ok {
		t.Fatal("owner admitted past the limit after granting the rest")
	}
	// A counter owned by another member: not ours to grant.
	n.mu.Lock()
	other := ""
	for i := 0; other == ""; i++ {
		if s := "key:o" + itoa(i); n.ring.Owner(counterID(s, "rpm")) != "self" {
			other = s
		}
	}
	n.refs[counterID(other, "rpm")] = governance.CounterRef{Subject: other, Metric: "rpm", Limit: 100, Counter: governance.NewSlidingWindow(time.Minute)}
	p = n.serveLease(leaseReq{id: 99, from: "a", subject: other, metric: "rpm", start: start, want: 5}, time.Now().UnixNano())
	n.mu.Unlock()
	if p.status != leaseNotOwner || p.granted != 0 {
		t.Fatalf("non-owner granted: %+v", p)
	}
}

// TestLeaseTakeover: the next owner on the ring starts from the gossiped counts (the dead owner's own
// admissions, the lessees' use) and raises a lessee to its reported charge, unused lease included.
func TestLeaseTakeover(t *testing.T) {
	n, c, subject := ownerNode(t, "a", []string{"a", "b"}, 100) // "self" died; "a" is the next owner
	now := time.Now().UnixNano()
	start := c.(governance.Leasable).LeaseWindow(now)
	k := Key{subject, "rpm", start}
	n.mu.Lock()
	n.st.Merge("self", k, Entry{Ver: n.startVer + 1, Count: 60}) // the dead owner's admissions
	n.st.Merge("b", k, Entry{Ver: n.startVer + 1, Count: 20})    // b's admissions, gossiped
	n.applyLocked(counterID(subject, "rpm"), now)
	n.mu.Unlock()
	if u := c.Peek(now, 100).Used; u != 80 {
		t.Fatalf("new owner's view %d from gossip, want 80", u)
	}
	// b reports 20 used + 5 units still leased from the dead owner.
	n.mu.Lock()
	p := n.serveLease(leaseReq{id: 1, from: "b", subject: subject, metric: "rpm", start: start, charge: 25}, now)
	n.mu.Unlock()
	if p.status != leaseOK || c.Peek(now, 100).Used != 85 {
		t.Fatalf("after b's report: %+v, view %d, want 85", p, c.Peek(now, 100).Used)
	}
	// Gossip moving past the charge (b's fallback admissions) wins: a node counts as the larger of the two.
	n.mu.Lock()
	n.st.Merge("b", k, Entry{Ver: n.startVer + 2, Count: 30})
	n.applyLocked(counterID(subject, "rpm"), now)
	n.mu.Unlock()
	if u := c.Peek(now, 100).Used; u != 90 {
		t.Fatalf("view %d after b's count passed its charge, want 90", u)
	}
}

func FuzzDecodeLease(f *testing.F) {
	f.Add(encodeLeaseReq(leaseReq{id: 7, from: "n1", subject: "key:k", metric: "rpm", start: 60e9, charge: 3, want: 4, need: 2}))
	f.Add(encodeLeaseResp(leaseResp{id: 7, from: "n0", start: 60e9, granted: 4, room: 10}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		if q, err := decodeLeaseReq(b); err == nil {
			if q2, err := decodeLeaseReq(encodeLeaseReq(q)); err != nil || q2 != q {
				t.Fatalf("request round trip: %+v → %+v (%v)", q, q2, err)
			}
		}
		if p, err := decodeLeaseResp(b); err == nil {
			if p2, err := decodeLeaseResp(encodeLeaseResp(p)); err != nil || p2 != p {
				t.Fatalf("answer round trip: %+v → %+v (%v)", p, p2, err)
			}
		}
	})
}
