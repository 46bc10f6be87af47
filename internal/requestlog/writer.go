package requestlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options tunes a Writer; the zero value is usable.
type Options struct {
	// QueueSize bounds the records waiting to be written; beyond it Enqueue drops. Default 10,000.
	QueueSize int
	// BatchSize is the most records per insert; a batch is written when full or FlushInterval after its first
	// record, whichever comes first. Defaults 500 and 1s.
	BatchSize     int
	FlushInterval time.Duration
	// InsertTimeout bounds one insert. Default 30s.
	InsertTimeout time.Duration
	// Retries is how many times a failed batch is retried (with backoff) before it is dropped. Default 3.
	Retries int
	// MaxContentBytes truncates Record.Request and Record.Response (0: no limit here — truncate at the source
	// with TruncateContent to avoid copying large bodies at all).
	MaxContentBytes int

	// Retention deletes rows older than this (0: keep forever), every RetentionInterval (default 10 min), in
	// batches of RetentionBatch rows (default 1,000). The Sink must implement Retainer.
	Retention         time.Duration
	RetentionInterval time.Duration
	RetentionBatch    int

	// Tail, if set, gets every batch once it is stored, for the live tail.
	Tail *Hub

	// OnDrop, if set, is called with the number of records dropped (queue full, writer closed, or a batch the
	// store kept refusing). It may be called from the request path: keep it cheap (a counter Add).
	OnDrop func(n int)
	// Logger receives the rate-limited drop warnings and store errors. Default slog.Default().
	Logger *slog.Logger
	// WarnEvery is the least time between two drop warnings. Default 10s.
	WarnEvery time.Duration
}

// Writer is the asynchronous request-log writer.
type Writer struct {
	sink Sink
	opts Options
	log  *slog.Logger

	mu     sync.RWMutex // held shared by Enqueue, exclusively by Close: after Close holds it, nothing more enters
	closed bool
	queue  chan Record

	closing  chan struct{}
	done     chan struct{}
	closeCtx atomic.Pointer[context.Context]
	stopRet  chan struct{}
	retDone  chan struct{}

	enqueued  atomic.Uint64
	dropped   atomic.Uint64 // queue full or closed
	failed    atomic.Uint64 // accepted, but the store refused them
	written   atomic.Uint64
	lastWarn  atomic.Int64
	warnCount atomic.Uint64 // drops since the last warning
}

// WriterStats are a Writer's counters.
type WriterStats struct {
	Enqueued uint64 `json:"enqueued"`
	Written  uint64 `json:"written"`
	Dropped  uint64 `json:"dropped"` // queue full or writer closed
	Failed   uint64 `json:"failed"`  // accepted but not stored (store error after retries, or Close deadline)
	Queued   int    `json:"queued"`
}

// NewWriter starts a writer draining into sink. Call Close to flush and stop it.
func NewWriter(sink Sink, opts Options) *Writer {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10_000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	if opts.InsertTimeout <= 0 {
		opts.InsertTimeout = 30 * time.Second
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 3
	}
	if opts.RetentionInterval <= 0 {
		opts.RetentionInterval = 10 * time.Minute
	}
	if opts.RetentionBatch <= 0 {
		opts.RetentionBatch = 1000
	}
	if opts.WarnEvery <= 0 {
		opts.WarnEvery = 10 * time.Second
	}
	w := &Writer{sink: sink, opts: opts, log: opts.Logger,
		queue: make(chan Record, opts.QueueSize), closing: make(chan struct{}), done: make(chan struct{}),
		stopRet: make(chan struct{}), retDone: make(chan struct{})}
	if w.log == nil {
		w.log = slog.Default()
	}
	go w.run()
	ret, canDelete := sink.(Retainer)
	pruner, _ := sink.(RollupPruner)
	switch {
	case canDelete && opts.Retention > 0 || pruner != nil:
		if opts.Retention <= 0 {
			ret = nil
		}
		go w.retain(ret, pruner)
	default:
		if opts.Retention > 0 {
			w.log.Warn("requestlog: retention configured but the sink cannot delete; rows are kept")
		}
		close(w.retDone)
	}
	return w
}

// Enqueue hands a record to the writer and returns at once: true if accepted, false if dropped (queue full or
// writer closed), in which case the drop is counted. An empty ID or zero Time is filled in.
func (w *Writer) Enqueue(r Record) bool {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	if max := w.opts.MaxContentBytes; max > 0 {
		r.Request = truncateString(r.Request, max)
		r.Response = truncateString(r.Response, max)
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		w.drop(1, "writer closed")
		return false
	}
	select {
	case w.queue <- r:
		w.mu.RUnlock()
		w.enqueued.Add(1)
		return true
	default:
		w.mu.RUnlock()
		w.drop(1, "queue full")
		return false
	}
}

// drop counts dropped records and warns at most once per WarnEvery.
func (w *Writer) drop(n int, why string) {
	w.dropped.Add(uint64(n))
	w.note(n, why)
}

func (w *Writer) note(n int, why string) {
	if w.opts.OnDrop != nil {
		w.opts.OnDrop(n)
	}
	w.warnCount.Add(uint64(n))
	now := time.Now().UnixNano()
	last := w.lastWarn.Load()
	if now-last < int64(w.opts.WarnEvery) || !w.lastWarn.CompareAndSwap(last, now) {
		return
	}
	w.log.Warn("requestlog: records dropped", "count", w.warnCount.Swap(0), "reason", why,
		"queue_size", w.opts.QueueSize, "dropped_total", w.dropped.Load()+w.failed.Load())
}

// QueueDepth is how many records wait to be written (for weir_requestlog_queue_depth).
func (w *Writer) QueueDepth() int { return len(w.queue) }

// Dropped is how many records were lost in total: refused by Enqueue, or accepted but not stored (for
// weir_requestlog_dropped_total).
func (w *Writer) Dropped() uint64 { return w.dropped.Load() + w.failed.Load() }

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Enqueued: w.enqueued.Load(), Written: w.written.Load(), Dropped: w.dropped.Load(),
		Failed: w.failed.Load(), Queued: len(w.queue)}
}

// Close stops accepting records, writes everything already accepted and stops the background goroutines.
// If ctx ends first, Close returns its error and what was still queued is counted as failed.
func (w *Writer) Close(ctx context.Context) error {
	failedBefore := w.failed.Load()
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		w.closeCtx.Store(&ctx)
		close(w.closing)
		close(w.stopRet)
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w.retDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := w.failed.Load() - failedBefore; n > 0 {
		return fmt.Errorf("requestlog: %d records could not be stored while closing", n)
	}
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]Record, 0, w.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		w.write(ctx, batch)
		clear(batch) // let the records' strings go
		batch = batch[:0]
		if armed {
			timer.Stop()
			armed = false
		}
	}
	for {
		select {
		case r := <-w.queue:
			batch = append(batch, r)
			// Take what else is already waiting, without blocking, up to a full batch.
		fill:
			for len(batch) < w.opts.BatchSize {
				select {
				case r := <-w.queue:
					batch = append(batch, r)
				default:
					break fill
				}
			}
			if len(batch) >= w.opts.BatchSize {
				flush(context.Background())
			} else if !armed {
				timer.Reset(w.opts.FlushInterval)
				armed = true
			}
		case <-timer.C:
			armed = false
			flush(context.Background())
		case <-w.closing:
			// Enqueue can no longer add (Close holds the lock before closing this channel): drain what is left.
			ctx := *w.closeCtx.Load()
			for {
				select {
				case r := <-w.queue:
					batch = append(batch, r)
					if len(batch) >= w.opts.BatchSize {
						flush(ctx)
					}
					continue
				default:
				}
				break
			}
			flush(ctx)
			timer.Stop()
			return
		}
	}
}

// write inserts one batch, retrying with backoff; on giving up the batch is counted as failed.
func (w *Writer) write(parent context.Context, batch []Record) {
	backoff := 100 * time.Millisecond
	var err error
	for try := 0; try <= w.opts.Retries; try++ {
		if parent.Err() != nil {
			err = parent.Err()
			break
		}
		ctx, cancel := context.WithTimeout(parent, w.opts.InsertTimeout)
		err = w.sink.InsertLogs(ctx, batch)
		cancel()
		if err == nil {
			w.written.Add(uint64(len(batch)))
			if w.opts.Tail != nil {
				w.opts.Tail.Publish(batch)
			}
			return
		}
		if try == w.opts.Retries {
			break
		}
		w.log.Warn("requestlog: insert failed, retrying", "records", len(batch), "attempt", try+1, "error", err)
		select {
		case <-time.After(backoff):
		case <-parent.Done():
		}
		backoff *= 4
	}
	w.failed.Add(uint64(len(batch)))
	w.log.Error("requestlog: batch dropped after store errors", "records", len(batch), "error", err)
	w.note(len(batch), "store error")
}

// RollupPruner deletes rollup buckets past keeping; a Sink implementing it is pruned every RetentionInterval.
type RollupPruner interface {
	// PruneRollups deletes buckets that ended by logCutoff (zero: none) or are past their grain's keeping at now.
	PruneRollups(ctx context.Context, logCutoff, now time.Time) error
}

// retain deletes expired rows (ret, when set) every RetentionInterval, a batch at a time so no statement holds
// locks long, and prunes the rollups (pruner, when set).
func (w *Writer) retain(ret Retainer, pruner RollupPruner) {
	defer close(w.retDone)
	tick := time.NewTicker(w.opts.RetentionInterval)
	defer tick.Stop()
	for {
		if ret != nil {
			w.retainOnce(ret)
		}
		if pruner != nil {
			var cutoff time.Time
			if w.opts.Retention > 0 {
				cutoff = time.Now().Add(-w.opts.Retention)
			}
			ctx, cancel := context.WithTimeout(context.Background(), w.opts.InsertTimeout)
			if err := pruner.PruneRollups(ctx, cutoff, time.Now()); err != nil {
				w.log.Warn("requestlog: pruning rollups failed", "error", err)
			}
			cancel()
		}
		select {
		case <-tick.C:
		case <-w.stopRet:
			return
		}
	}
}

func (w *Writer) retainOnce(ret Retainer) {
	cutoff := time.Now().Add(-w.opts.Retention)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), w.opts.InsertTimeout)
		n, err := ret.DeleteLogsBefore(ctx, cutoff, w.opts.RetentionBatch)
		cancel()
		if err != nil {
			w.log.Warn("requestlog: retention delete failed", "error", err)
			return
		}
		if n < int64(w.opts.RetentionBatch) {
			return
		}
		select { // yield between batches
		case <-time.After(50 * time.Millisecond):
		case <-w.stopRet:
			return
		}
	}
}
