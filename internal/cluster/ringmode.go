package cluster

import (
	"math"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/weir-gateway/weir/internal/governance"
)

// Ring mode, run from the delta tick: which counters this node owns, and for the others the lease upkeep —
// switching admission to the lease, telling a new owner what this node holds, topping up ahead of need and
// returning units that sit unused. The gossip of every node's own counts keeps running underneath: it is the
// durable view a new owner takes over from, and what lessees show in usage and headers.

func (n *Node) initRing() {
	n.owners = map[string]string{}
	n.ledgers = map[string]*ledger{}
	n.lesseeByID = map[string]*lessee{}
	n.calls = map[uint64]*leaseCall{}
	n.reqSeq.Store(n.startVer)
}

// RingActive reports whether counters are currently shared in ring mode.
func (n *Node) RingActive() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ringOn
}

// ringWanted is the mode decision: ring, or auto above cluster.ring.auto_above alive members. mu held.
func (n *Node) ringWanted() bool {
	switch n.cfg.Counters {
	case CountersRing:
		return true
	case CountersAuto:
		return n.alive.Load() > int64(n.cfg.Ring.AutoAbove)
	}
	return false // gossip; redis never starts a Node (Config.UsesGossip), but would not use the ring either
}

// updateRing rebuilds the ring when the mode or the alive members changed, and reports whether it did; mu held.
func (n *Node) updateRing() bool {
	on := n.ringWanted()
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	if on == n.ringOn && (!on || !n.ringDirty) {
		return false
	}
	if on != n.ringOn {
		n.log.Info("cluster: counter sharing mode", "mode", map[bool]string{true: "ring", false: "gossip"}[on],
			"members", n.alive.Load())
	}
	n.ringOn, n.ringDirty = on, false
	var alive []string
	for name, p := range n.peers {
		if p.state == "alive" {
			alive = append(alive, name)
		}
	}
	slices.Sort(alive)
	n.ring = NewRing(alive)
	clear(n.owners)
	return true
}

// ownerLocked is the owner of counter id on the current ring ("" with ring mode off); mu held.
func (n *Node) ownerLocked(id string) string {
	if !n.ringOn || n.ring == nil {
		return ""
	}
	o, ok := n.owners[id]
	if !ok {
		o = n.ring.Owner(id)
		n.owners[id] = o
	}
	return o
}

// ringCounter does one tick of ring upkeep for a counter; mu held. changed: the counter's own count moved
// since the last tick (there is traffic).
func (n *Node) ringCounter(id string, r governance.CounterRef, now int64, changed bool) {
	lc, ok := r.Counter.(governance.Leasable)
	if !ok {
		return
	}
	owner := n.ownerLocked(id)
	l := n.lesseeByID[id]
	if owner != n.name && n.ledgers[id] != nil {
		n.dropLedger(id, now)
	}
	if owner == "" || owner == n.name {
		// Ring mode off, or ours: admit on the view (which, for an owner, includes the ledger).
		if l != nil {
			l.mu.Lock()
			l.owner, l.ownerName = memberlist.Address{}, ""
			l.mu.Unlock()
		}
		if lc.Leased() {
			lc.SetLeased(false)
			lc.DrainLease(lc.LeaseWindow(now))
		}
		return
	}
	if l == nil || l.c != lc {
		if l != nil {
			n.lessees.Delete(l.c)
		}
		l = &lessee{id: id, subject: r.Subject, metric: r.Metric, c: lc, want: 1}
		n.lesseeByID[id] = l
		n.lessees.Store(r.Counter, l)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = r.Limit
	wall := time.Now()
	// The owner's address as the event delegate last recorded it (it can change while the owner stays).
	l.owner, _ = n.peerAddr(owner)
	if l.ownerName != owner {
		had := l.ownerName != ""
		l.ownerName = owner
		l.fallbackTill, l.exhaustedTill = time.Time{}, time.Time{}
		// Units left from the former owner are dropped: the new owner does not count them (it starts from the
		// gossiped counts, which hold only units spent, and a report of them can reach it before it has built its
		// ring, and be refused), so spending them would go past the limit. Unspent, they were only ever counted
		// by the former owner, so dropping them takes nothing from the limit.
		l.c.DrainLease(l.c.LeaseWindow(now))
		if had {
			n.ask(l, now, 0, 0) // tell the new owner what we used, so it charges us before its gossip arrives
		}
	}
	if !lc.Leased() && !wall.Before(l.fallbackTill) {
		lc.SetLeased(true)
	}
	if !lc.Leased() {
		return // admitting on the view until fallbackTill
	}
	if l.resync && l.call == nil && !wall.Before(l.fallbackTill) {
		// A request went unanswered, and its owner may have charged units this node never received (a lost
		// answer): without a report it would count them until this node's next request, possibly never.
		n.ask(l, now, 0, 0)
		l.resync = false
	}
	start := lc.LeaseWindow(now)
	if l.charged != 0 && l.charged != start {
		n.reportEnded(l, now, l.charged)
		l.charged = 0
	}
	left := lc.LeaseLeft(start)
	used := l.observe(lc, now, start, changed)
	switch {
	case used > 0 && l.call == nil && !wall.Before(l.exhaustedTill) && left*2 < l.want:
		// Top up ahead of need while there is traffic: units spent since the last tick. Not on a mere change (a
		// counter's first tick, a release), which would lease units to nodes that have no traffic.
		n.ask(l, now, l.want, 0)
		l.idleSince = time.Time{}
	case left > 0 && left == l.lastLeft && !changed:
		if l.idleSince.IsZero() {
			l.idleSince = wall
		} else if wall.Sub(l.idleSince) >= idleReturn && l.call == nil {
			lc.DrainLease(start)
			n.ask(l, now, 0, 0) // return: the charge we report no longer includes the drained units
			l.idleSince = time.Time{}
			left = 0
		}
	default:
		l.idleSince = time.Time{}
	}
	l.lastLeft = left
}

// dropLedger forgets what this node charged lessees of a counter it no longer owns (ring mode turned off, or
// the ring moved the counter): the new owner charges them from their reports and the gossip, and the charges
// must leave this node's remote count, which otherwise kept them — the usage one above the admissions that
// issue 18's runs saw on the first node. mu held.
func (n *Node) dropLedger(id string, now int64) {
	n.applyLocked(id, now) // no longer owned: the ledger's windows are set to the gossiped counts alone
	delete(n.ledgers, id)
}

// dropRingCounter forgets a counter governance no longer has; mu held.
func (n *Node) dropRingCounter(id string, c governance.Counter) {
	delete(n.lesseeByID, id)
	delete(n.ledgers, id)
	delete(n.owners, id)
	n.lessees.Delete(c)
}

// pruneLedgers keeps the latest keep windows of each ledger, like State.Prune; mu held.
func (n *Node) pruneLedgers(keep int) {
	for id, led := range n.ledgers {
		if len(led.windows) <= keep {
			continue
		}
		starts := make([]int64, 0, len(led.windows))
		for s := range led.windows {
			starts = append(starts, s)
		}
		slices.Sort(starts)
		for _, s := range starts[:len(starts)-keep] {
			delete(led.windows, s)
			delete(led.seq, s)
		}
		if len(led.windows) == 0 {
			delete(n.ledgers, id)
		}
	}
}

// returnLeases gives every unused unit back to its owner before a graceful leave.
func (n *Node) returnLeases() {
	now := n.opt.Now().UnixNano()
	n.mu.Lock()
	for _, l := range n.lesseeByID {
		l.mu.Lock()
		if l.owner.Addr != "" && l.c.Leased() && l.call == nil && l.c.DrainLease(l.c.LeaseWindow(now)) > 0 {
			n.ask(l, now, 0, 0)
		}
		l.mu.Unlock()
	}
	n.mu.Unlock()
	n.sendQueued()
}

// ledgerExtra is what an owner's ledger adds to the gossiped counts of one window: per node, the amount by
// which its charge exceeds its gossiped count (so a node counts as the larger of the two), plus nodes known only
// from the ledger.
func ledgerExtra(charges map[string]int64, gossiped map[string]Entry, self string) int64 {
	var extra int64
	for node, c := range charges {
		if node == self {
			continue
		}
		if g := gossiped[node].Count; c > g {
			extra += c - g
		}
	}
	return extra
}

// ownerOf is the owner of counter id on this node's current ring ("" with ring mode off).
func (n *Node) ownerOf(id string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ownerLocked(id)
}

// observe updates the lessee's use rate and batch size from its local count and returns the units used since
// the last tick; l.mu held.
func (l *lessee) observe(lc governance.Leasable, now, start int64, changed bool) int64 {
	var used int64
	if changed {
		var cur int64
		for _, sl := range lc.Local(now) {
			if sl.Start.UnixNano() == start {
				cur = sl.Count
			}
		}
		if start != l.lastStart {
			l.lastStart, l.lastLocal = start, 0
		}
		used, l.lastLocal = max(cur-l.lastLocal, 0), cur
	}
	l.rate = l.rate*0.8 + float64(used)*0.2
	l.want = max(1, min(int64(math.Ceil(l.rate*leaseHorizon)), 1<<30))
	return used
}
