// Package dispatch bounds the work in flight to each provider: a fixed number of worker slots fed by a bounded
// queue. When the queue is full the pool either sheds the request at once (drop mode) or lets it wait for a slot
// until the caller gives up or the queue timeout passes.
//
// A slot is held for the whole upstream exchange, streams included. Slots are tokens in a buffered channel rather
// than goroutines handing requests across channels: the effect on the upstream is the same (never more than
// Concurrency requests at once, FIFO waiting), without two goroutine switches per request.
package dispatch

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Errors returned by Acquire.
var (
	// ErrQueueFull: the queue was full and the pool drops excess requests.
	ErrQueueFull = errors.New("provider queue is full")
	// ErrQueueTimeout: the request waited QueueTimeout without getting a slot.
	ErrQueueTimeout = errors.New("timed out waiting for a free worker")
)

// Options configure a pool.
type Options struct {
	Concurrency  int           // slots; at least 1
	BufferSize   int           // requests that may wait for a slot
	Drop         bool          // shed requests beyond BufferSize instead of letting them wait
	QueueTimeout time.Duration // longest wait for a slot; 0 means until the context ends
}

// Pool is one provider's workers and queue.
type Pool struct {
	slots        chan struct{}
	buffer       int64
	drop         bool
	queueTimeout time.Duration

	queued   atomic.Int64
	inFlight atomic.Int64
	dropped  atomic.Int64
	timedOut atomic.Int64
	served   atomic.Int64
}

// New makes a pool.
func New(o Options) *Pool {
	return &Pool{
		slots:        make(chan struct{}, max(o.Concurrency, 1)),
		buffer:       int64(o.BufferSize),
		drop:         o.Drop,
		queueTimeout: o.QueueTimeout,
	}
}

// Acquire takes a slot, waiting in the queue if every slot is busy. A nil error must be paired with Release.
func (p *Pool) Acquire(ctx context.Context) error {
	select {
	case p.slots <- struct{}{}:
		p.inFlight.Add(1)
		return nil
	default:
	}
	if n := p.queued.Add(1); n > p.buffer && p.drop {
		p.queued.Add(-1)
		p.dropped.Add(1)
		return ErrQueueFull
	}
	defer p.queued.Add(-1)
	var timeout <-chan time.Time
	if p.queueTimeout > 0 {
		t := time.NewTimer(p.queueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case p.slots <- struct{}{}:
		p.inFlight.Add(1)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		p.timedOut.Add(1)
		return ErrQueueTimeout
	}
}

// Release returns a slot taken by Acquire.
func (p *Pool) Release() {
	p.inFlight.Add(-1)
	p.served.Add(1)
	<-p.slots
}

// Stats is a snapshot of a pool's state.
type Stats struct {
	Concurrency int   `json:"concurrency"`
	BufferSize  int64 `json:"buffer_size"`
	Drop        bool  `json:"drop_excess_requests"`
	InFlight    int64 `json:"in_flight"`
	Queued      int64 `json:"queued"`
	Dropped     int64 `json:"dropped_total"`
	TimedOut    int64 `json:"queue_timeouts_total"`
	Served      int64 `json:"served_total"`
}

// Stats reads the counters; each is exact, the set is not a consistent snapshot.
func (p *Pool) Stats() Stats {
	return Stats{
		Concurrency: cap(p.slots),
		BufferSize:  p.buffer,
		Drop:        p.drop,
		InFlight:    p.inFlight.Load(),
		Queued:      max(p.queued.Load(), 0),
		Dropped:     p.dropped.Load(),
		TimedOut:    p.timedOut.Load(),
		Served:      p.served.Load(),
	}
}
