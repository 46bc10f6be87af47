package cluster

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/weir-gateway/weir/internal/governance"
)

// Ring mode's lease protocol. A counter's owner (Ring.Owner of its id among the alive members) admits on its
// own view, in which every other node counts as the larger of its gossiped count and what the owner has charged
// it (ledger). Other nodes (lessees) admit only from a lease: units the owner granted them for the current
// window. A lessee asks for more over one encrypted UDP datagram through memberlist (SendBestEffort): the same
// keyring authenticates it as the gossip, it needs no other port or listener, and a request and its answer are
// ~60 bytes each. A lost datagram is a timeout, which is safe: every request carries the lessee's whole charge
// for the window (its local count plus its unused lease), and the owner sets its ledger to it, ignoring requests
// older than the last one seen from that lessee (request ids only grow, also across restarts).

// Lease message kinds (after magic, like the counter messages).
const (
	kindLeaseReq  byte = 3
	kindLeaseResp byte = 4
)

// Lease answer statuses.
const (
	leaseOK       byte = 0
	leaseNotOwner byte = 1 // the receiver does not own this counter (views differ, or ring mode is off there)
	leaseTimeout  byte = 2 // no answer within cluster.ring.lease_timeout (set locally)
)

// exhaustedFor: after an owner answered that no room is left, a lessee refuses at once for this long instead of
// asking again for every refused request.
const exhaustedFor = 100 * time.Millisecond

// leaseHorizon is how many delta ticks of this node's recent use a batch covers (≈100ms at the default 5ms):
// enough that a node with steady traffic asks its owner about ten times a second, not once per request, while
// the units it holds unused — what could be spent twice if the owner died before hearing of them — stay small.
const leaseHorizon = 20

// idleReturn: a lessee returns unused units it has not touched for this long, so the owner can grant them to
// nodes that have traffic.
const idleReturn = time.Second

type leaseReq struct {
	id              uint64
	from            string
	subject, metric string
	start           int64 // window or period start (Unix ns) the charge and the grant are for
	charge          int64 // the lessee's local count for the window plus its unused lease
	want            int64 // units wanted; 0 reports (or returns units) only
	need            int64 // units the waiting request needs (0 for a top-up ahead of need): granted whole or not at all
}

type leaseResp struct {
	id      uint64
	from    string // the answering owner
	start   int64
	granted int64
	room    int64 // what the owner's view has left after this grant
	status  byte
}

func encodeLeaseReq(q leaseReq) []byte {
	b := make([]byte, 0, 48+len(q.from)+len(q.subject)+len(q.metric))
	b = append(b, magic, kindLeaseReq)
	b = binary.AppendUvarint(b, q.id)
	b = appendStr(b, q.from)
	b = appendStr(b, q.subject)
	b = appendStr(b, q.metric)
	b = binary.AppendVarint(b, q.start)
	b = binary.AppendVarint(b, q.charge)
	b = binary.AppendVarint(b, q.want)
	return binary.AppendVarint(b, q.need)
}

func encodeLeaseResp(p leaseResp) []byte {
	b := make([]byte, 0, 40)
	b = append(b, magic, kindLeaseResp)
	b = binary.AppendUvarint(b, p.id)
	b = appendStr(b, p.from)
	b = binary.AppendVarint(b, p.start)
	b = binary.AppendVarint(b, p.granted)
	b = binary.AppendVarint(b, p.room)
	return append(b, p.status)
}

var errBadLease = errors.New("cluster: malformed lease message")

func decodeLeaseReq(b []byte) (leaseReq, error) {
	r := &reader{b: b[2:]}
	q := leaseReq{id: r.uvarint(), from: r.str(), subject: r.str(), metric: r.str(), start: r.varint(),
		charge: r.varint(), want: r.varint(), need: r.varint()}
	if r.err != nil || len(r.b) != 0 || q.charge < 0 || q.want < 0 || q.need < 0 || q.from == "" {
		return leaseReq{}, errBadLease
	}
	return q, nil
}

func decodeLeaseResp(b []byte) (leaseResp, error) {
	r := &reader{b: b[2:]}
	p := leaseResp{id: r.uvarint(), from: r.str(), start: r.varint(), granted: r.varint(), room: r.varint()}
	if r.err != nil || len(r.b) != 1 || p.granted < 0 {
		return leaseResp{}, errBadLease
	}
	p.status = r.b[0]
	return p, nil
}

// ledger is an owner's record of what it charged each lessee, per window of one counter.
type ledger struct {
	windows map[int64]map[string]int64  // window start → node → charge
	seq     map[int64]map[string]uint64 // window start → node → last request id applied (ordered per window)
}

// lessee is this node's side of one counter it does not own.
type lessee struct {
	id, subject, metric string
	c                   governance.Leasable
	limit               int64 // guarded by mu

	mu            sync.Mutex
	owner         memberlist.Address // zero while this node owns the counter or ring mode is off
	ownerName     string
	call          *leaseCall // the one request in flight
	want          int64      // batch size: the units this node used in about leaseHorizon ticks, at least 1
	rate          float64    // units used per delta tick, smoothed
	lastLocal     int64      // local count at the last tick, for rate
	lastStart     int64      // its window
	exhaustedTill time.Time
	fallbackTill  time.Time // admitting on the local view until then (the owner did not answer)
	idleSince     time.Time // when the lease was last seen unchanged with units left
	lastLeft      int64
	charged       int64 // the window of the last request to the owner: reported again once it has ended
	resync        bool  // a request went unanswered: report the charge once no fallback runs
	roomSeen      int64 // the room the owner reported in its last answer, for the window roomStart
	roomStart     int64
}

type leaseCall struct {
	id    uint64
	l     *lessee
	owner string
	start int64
	want  int64
	need  int64
	done  chan struct{}
	resp  leaseResp
	// timedOut: finished by its timeout, and kept (callsMu) so that a late answer ends the fallback.
	timedOut bool
}

// ask queues a lease request (want 0: a report or a return) to l's owner (sendQueued sends it); l.mu held. It
// returns the call in flight (an earlier one if there is one) or nil when there is no owner to ask.
func (n *Node) ask(l *lessee, now, want, need int64) *leaseCall {
	if l.call != nil {
		return l.call
	}
	if l.owner.Addr == "" {
		return nil
	}
	start := l.c.LeaseWindow(now)
	// The lease before the local count: an admission takes from the lease, then counts locally, so read in this
	// order the charge can only count a concurrent admission twice, never miss it (read the other way round it
	// missed one, and the owner granted that unit again).
	left := l.c.LeaseLeft(start)
	local := localCount(l, now, start)
	q := leaseReq{id: n.reqSeq.Add(1), from: n.name, subject: l.subject, metric: l.metric, start: start,
		charge: local + left, want: max(want, need), need: max(need, 0)}
	call := &leaseCall{id: q.id, l: l, owner: l.ownerName, start: start, want: want, need: q.need, done: make(chan struct{})}
	l.call = call
	if l.charged != 0 && l.charged != start {
		n.reportEnded(l, now, l.charged)
	}
	l.charged = start
	n.callsMu.Lock()
	n.calls[q.id] = call
	n.callsMu.Unlock()
	n.leaseAsks.Add(1)
	n.queueLease(l.owner, encodeLeaseReq(q), q.id)
	time.AfterFunc(n.cfg.Ring.LeaseTimeout, func() { n.finish(q.id, leaseResp{id: q.id, status: leaseTimeout}) })
	return call
}

// leaseOut is a lease message waiting to be sent, and the call it starts (0 for a report).
type leaseOut struct {
	to   memberlist.Address
	b    []byte
	call uint64
}

// queueLease queues a lease message for sendQueued. Lease messages are never sent with mu or a lessee's lock
// held: memberlist calls the event delegate (which takes mu) with its node lock held, and SendToAddress waits
// for that lock, so sending under mu — or under a lessee's lock, which the delta tick takes under mu — could
// deadlock the node.
func (n *Node) queueLease(to memberlist.Address, b []byte, call uint64) {
	n.outMu.Lock()
	n.outbox = append(n.outbox, leaseOut{to, b, call})
	n.outMu.Unlock()
}

// sendQueued sends the queued lease messages; called with no lock held. A request that cannot be sent is
// finished as a timeout at once (its lessee falls back, see finish).
func (n *Node) sendQueued() {
	n.outMu.Lock()
	out := n.outbox
	n.outbox = nil
	n.outMu.Unlock()
	for _, m := range out {
		if err := n.sendLease(m.to, m.b); err != nil {
			n.log.Debug("cluster: lease message", "to", m.to.Name, "err", err)
			if m.call != 0 {
				n.finish(m.call, leaseResp{id: m.call, status: leaseTimeout})
			}
			continue
		}
		n.bytesOut.Add(uint64(len(m.b)))
	}
}

// reportEnded tells l's owner its final charge for an ended window or period: its local count there, since the
// units of a lease for it can no longer be spent. Without it the owner would keep counting them in the previous
// window's share of a sliding window after every rollover. A report is not a call (its answer is ignored); a lost
// one leaves the owner counting the units, which errs towards refusing. l.mu held.
func (n *Node) reportEnded(l *lessee, now, start int64) {
	if l.owner.Addr == "" {
		return
	}
	n.queueLease(l.owner, encodeLeaseReq(leaseReq{id: n.reqSeq.Add(1), from: n.name, subject: l.subject,
		metric: l.metric, start: start, charge: localCount(l, now, start)}), 0)
	n.leaseAsks.Add(1)
}

// localCount is what this node itself admitted on l's counter in the window or period starting at start.
func localCount(l *lessee, now, start int64) int64 {
	for _, sl := range l.c.Local(now) {
		if sl.Start.UnixNano() == start {
			return sl.Count
		}
	}
	return 0
}

// finish applies an answer (or a timeout) to its call, once.
func (n *Node) finish(id uint64, p leaseResp) {
	n.callsMu.Lock()
	call := n.calls[id]
	late := call != nil && call.timedOut
	if call != nil && !late && p.status == leaseTimeout {
		// Kept for fallback_for: an answer arriving after the timeout ends the fallback (lateAnswer).
		call.timedOut = true
		time.AfterFunc(n.cfg.Ring.FallbackFor, func() { n.callsMu.Lock(); delete(n.calls, id); n.callsMu.Unlock() })
	} else {
		delete(n.calls, id)
	}
	n.callsMu.Unlock()
	if call == nil || late {
		if late && p.status == leaseOK {
			n.lateAnswer(call, p)
		}
		return
	}
	l, wall := call.l, time.Now()
	l.mu.Lock()
	if l.call == call {
		l.call = nil
	}
	switch p.status {
	case leaseOK:
		l.roomSeen, l.roomStart = p.room, p.start
		// Units granted by a node that is no longer the owner here (the ring moved while the call was in flight)
		// are not known to the new owner: not taken (see ringCounter); nor are units for a window that has ended.
		if p.granted > 0 && p.start == call.start && call.owner == l.ownerName &&
			p.start == l.c.LeaseWindow(n.opt.Now().UnixNano()) {
			l.c.AddLease(p.start, p.granted)
		}
		if p.granted == 0 && call.want > 0 && p.room < max(call.need, 1) {
			// Refused for want of room (not for a window that turned while the request was on its way).
			l.exhaustedTill = wall.Add(exhaustedFor)
		}
	default:
		// The owner did not answer in time (dead, cut off, or overloaded), or the node asked does not own the
		// counter (membership views differ for a moment: a join or a death not yet seen everywhere): fall back
		// for fallback_for rather than refuse (see fallback for the bound), and ask again after it. The owner
		// may have applied the request (a lost answer): it is told the actual charge once the fallback is over.
		l.resync = l.resync || call.want > 0
		if p.status == leaseNotOwner {
			n.log.Debug("cluster: lease asked of a node that does not own the counter", "node", p.from, "counter", l.id)
		}
		if call.want > 0 {
			n.leaseFallbacks.Add(1)
			l.fallbackTill = wall.Add(n.cfg.Ring.FallbackFor)
			n.fallback(l, call.start)
		}
	}
	l.mu.Unlock()
	call.resp = p
	close(call.done)
}

// lateAnswer: the owner answered a call after its timeout. It is alive, only slow (an overloaded node, a long
// pause), so the fallback that the timeout started ends now rather than after fallback_for: the counter goes back
// to leases at the next tick, and the fallback's own units are dropped, as after a fallback that runs its course.
// Units the late answer granted are not taken (the fallback may have admitted on the view meanwhile) but handed
// back at once: the owner charged them, and would count them until this node's next request.
func (n *Node) lateAnswer(call *leaseCall, p leaseResp) {
	l := call.l
	l.mu.Lock()
	if call.owner != l.ownerName {
		l.mu.Unlock()
		return
	}
	if p.start == call.start {
		l.roomSeen, l.roomStart = p.room, p.start
	}
	if call.want > 0 && time.Now().Before(l.fallbackTill) {
		l.fallbackTill = time.Time{}
		l.c.DrainLease(call.start)
	}
	if p.granted > 0 {
		n.ask(l, n.opt.Now().UnixNano(), 0, 0) // our charge, without the late units
	}
	l.mu.Unlock()
	n.sendQueued()
}

// fallback lets a lessee whose owner is silent admit without it until fallbackTill; l.mu held. Up to
// cluster.ring.auto_above members (where auto would share counters by gossip) the counter simply admits on its
// local view (gossip mode, with its bound). Above, the views lag too much for that, so the node grants itself only
// 1/alive of the headroom it sees, once per fallback_for: the lessees together take at most the largest headroom
// any of them sees per period, instead of each taking all of it.
func (n *Node) fallback(l *lessee, start int64) {
	// Units left from the silent owner are dropped: it counted them, but this node's view does not, and using
	// them after the fallback would spend them on top of it.
	l.c.DrainLease(start)
	alive := max(n.alive.Load(), 1)
	if alive <= int64(n.cfg.Ring.AutoAbove) {
		l.c.SetLeased(false)
		return
	}
	// The headroom is the smaller of this node's view's and what the owner last said it had left: the view
	// counts only units spent, not the units the owner has leased out and not yet seen spent, so early in a
	// burst it shows nearly the whole limit free while most of it is held by other lessees (50 processes on a
	// starved machine admitted 116 of rpm 100 when only the view was used).
	now := n.opt.Now().UnixNano()
	room := l.limit - l.c.Peek(now, l.limit).Used
	if l.roomStart == start {
		room = min(room, l.roomSeen)
	}
	if room >= alive {
		l.c.AddLease(start, room/alive)
	}
}

// Borrow implements governance.Lender: a leased counter refused n units, so ask its owner for a batch and wait
// for the answer, at most cluster.ring.lease_timeout. It reports whether admission should retry: units arrived,
// or the owner did not answer and the counter now admits on this node's view.
func (n *Node) Borrow(c governance.Counter, now, amount, limit int64) bool {
	v, ok := n.lessees.Load(c)
	if !ok {
		return false
	}
	l := v.(*lessee)
	win := l.c.LeaseWindow(now)
	for attempt := 0; ; attempt++ {
		l.mu.Lock()
		if wall := time.Now(); !l.c.Leased() || wall.Before(l.exhaustedTill) || wall.Before(l.fallbackTill) {
			l.mu.Unlock()
			return false
		}
		if l.call == nil {
			// Hand the remainder that is too short for this request back with the request: the owner then grants
			// the whole amount from the room it pools. Kept instead, remainders stranded at every lessee add up to
			// more than a request near the limit, and each lessee's ask for the difference is refused (a $1 budget
			// admitted 97–99 requests of $0.01 in the simulation's one-second burst).
			l.c.DrainLease(win)
		}
		call := n.ask(l, now, l.want, amount-l.c.LeaseLeft(win))
		l.mu.Unlock()
		n.sendQueued()
		if call == nil {
			return false
		}
		<-call.done // finished by the answer or by the timeout timer
		if call.start != win && call.resp.status == leaseOK && attempt == 0 {
			continue // the call this request waited on was a top-up for a window that has ended: ask for its own
		}
		return call.resp.granted > 0 || call.resp.status != leaseOK // units arrived, or the fallback took over
	}
}

// serveLease answers a lessee as the counter's owner; mu held. It sets the lessee's charge in the ledger, then
// grants up to want units that the owner's view has room for, at most max(1, room / (2 × other members)), so
// the units outstanding across all lessees stay below about half the room (see docs/cluster.md).
func (n *Node) serveLease(q leaseReq, now int64) leaseResp {
	p := leaseResp{id: q.id, from: n.name, start: q.start, status: leaseNotOwner}
	id := counterID(q.subject, q.metric)
	r, ok := n.refs[id]
	lc, leasable := r.Counter.(governance.Leasable)
	if !ok || !leasable || !n.ringOn || n.ownerLocked(id) != n.name {
		return p
	}
	p.status = leaseOK
	lc.SetLeased(false) // we own it: admission here is on the view
	led := n.ledgers[id]
	if led == nil {
		led = &ledger{windows: map[int64]map[string]int64{}, seq: map[int64]map[string]uint64{}}
		n.ledgers[id] = led
	}
	cur := lc.LeaseWindow(now)
	if q.start > cur {
		return p // a window that has not started here (clock skew)
	}
	seq := led.seq[q.start]
	if seq == nil {
		seq = map[string]uint64{}
		led.seq[q.start] = seq
	}
	if q.id <= seq[q.from] {
		return p // an older request for this window overtaken by a newer one: its charge is stale
	}
	seq[q.from] = q.id
	w := led.windows[q.start]
	if w == nil {
		w = map[string]int64{}
		led.windows[q.start] = w
	}
	w[q.from] = q.charge
	n.applyLocked(id, now)
	room := r.Limit - lc.Peek(now, r.Limit).Used
	if q.want > 0 && q.start == cur && room >= q.need {
		// A batch is at most max(1, room / (2 × other members)), but never less than what the waiting request
		// needs (a budget request costs more than a small batch).
		peers := int64(max(len(n.ring.points)/ringVnodes-1, 1))
		k := min(max(min(q.want, max(room/(2*peers), 1)), q.need), room)
		// Reserve is the atomic check against this node's own concurrent admissions; the units then move from
		// our local count to the lessee's charge (counted twice for a moment, never zero times).
		if ok, win, _ := lc.Reserve(now, k, r.Limit); ok {
			w[q.from] += k
			n.applyLocked(id, now)
			lc.Adjust(now, win, -k)
			p.granted = k
			room -= k
		}
	}
	p.room = room
	return p
}

// sendLease sends one lease message: over memberlist, or by the test's hand (leaseWire) where nodes run
// without it.
func (n *Node) sendLease(to memberlist.Address, b []byte) error {
	if n.leaseWire != nil {
		return n.leaseWire(to, b)
	}
	return n.ml.SendToAddress(to, b)
}

// receiveLease handles a lease request or answer.
func (n *Node) receiveLease(b []byte) {
	n.bytesIn.Add(uint64(len(b)))
	switch b[1] {
	case kindLeaseReq:
		q, err := decodeLeaseReq(b)
		if err != nil {
			n.log.Debug("cluster: bad lease request", "err", err)
			return
		}
		n.mu.Lock()
		p := n.serveLease(q, n.opt.Now().UnixNano())
		to, ok := n.peerAddr(q.from)
		n.mu.Unlock()
		if !ok {
			return
		}
		out := encodeLeaseResp(p)
		if err := n.sendLease(to, out); err != nil {
			n.log.Debug("cluster: lease answer", "to", q.from, "err", err)
			return
		}
		n.bytesOut.Add(uint64(len(out)))
	case kindLeaseResp:
		p, err := decodeLeaseResp(b)
		if err != nil {
			n.log.Debug("cluster: bad lease answer", "err", err)
			return
		}
		n.finish(p.id, p)
	}
}
