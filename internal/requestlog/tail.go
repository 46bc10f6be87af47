package requestlog

import (
	"sync"
	"sync/atomic"
)

// TailBuffer is how many rows a live-tail subscriber may fall behind before it loses rows.
const TailBuffer = 256

// Hub fans the rows the Writer stored out to live-tail subscribers. Publishing never blocks: a subscriber whose
// buffer is full loses the row (and is told how many it lost), so a slow reader never slows the log writer.
type Hub struct {
	mu     sync.RWMutex
	subs   map[*Subscription]struct{}
	closed chan struct{} // closed by Close: every tail ends
	once   sync.Once
}

// NewHub returns a hub without subscribers.
func NewHub() *Hub { return &Hub{subs: map[*Subscription]struct{}{}, closed: make(chan struct{})} }

// Close ends every tail (their Done channel closes), e.g. when the server shuts down: http.Server.Shutdown waits
// for open connections, and a tail would otherwise stay open until the client leaves.
func (h *Hub) Close() { h.once.Do(func() { close(h.closed) }) }

// Done is closed when the hub is.
func (h *Hub) Done() <-chan struct{} { return h.closed }

// Subscription is one live-tail subscriber: rows matching its filter arrive on C. Close it when done.
type Subscription struct {
	C       <-chan *Record
	c       chan *Record
	f       Filter
	hub     *Hub
	dropped atomic.Int64
	once    sync.Once
}

// Subscribe adds a subscriber to the rows matching f (paging fields ignored).
func (h *Hub) Subscribe(f Filter) *Subscription {
	c := make(chan *Record, TailBuffer)
	s := &Subscription{C: c, c: c, f: f, hub: h}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Close removes the subscriber; the hub sends it nothing more. Safe to call more than once.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.hub.mu.Lock()
		delete(s.hub.subs, s)
		s.hub.mu.Unlock()
	})
}

// TakeDropped returns how many rows the subscriber lost since the last call.
func (s *Subscription) TakeDropped() int64 { return s.dropped.Swap(0) }

// Subscribers is the number of subscribers.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Publish offers stored rows to every subscriber whose filter they match. The rows are copied once (the
// caller may reuse recs); subscribers share the copies and must not modify them.
func (h *Hub) Publish(recs []Record) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.subs) == 0 {
		return
	}
	for i := range recs {
		var cp *Record
		for s := range h.subs {
			if !s.f.Match(&recs[i]) {
				continue
			}
			if cp == nil {
				r := recs[i]
				cp = &r
			}
			select {
			case s.c <- cp:
			default:
				s.dropped.Add(1)
			}
		}
	}
}
