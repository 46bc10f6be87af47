package governance

import (
	"sync"

	"github.com/weir-gateway/weir/internal/store"
)

// registry owns every counter by (subject, metric), independent of snapshots, so rebuilding a snapshot after an
// admin edit keeps the counts. Counters loaded from the store before their subject exists wait in pending.
type registry struct {
	mu      sync.Mutex
	m       map[string]*regEntry
	pending map[string][]store.Counter
}

type regEntry struct {
	subject, metric string
	c               Counter
	limit           int64 // the limit checked against this counter (for the cluster layer's strict mode)
	used            bool  // touched by the current rebuild sweep
}

func (r *registry) init() {
	r.m = map[string]*regEntry{}
	r.pending = map[string][]store.Counter{}
}

func regKey(subject, metric string) string { return subject + "\x00" + metric }

// get returns the counter for (subject, metric), creating it (and restoring persisted counts) if needed.
func (r *registry) get(subject, metric string, limit int64, mk func() Counter, now int64) Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := regKey(subject, metric)
	if e, ok := r.m[k]; ok {
		e.used, e.limit = true, limit
		return e.c
	}
	c := mk()
	for _, row := range r.pending[k] {
		c.Restore(now, Slot{Start: row.WindowStart, Count: row.Value})
	}
	delete(r.pending, k)
	r.m[k] = &regEntry{subject: subject, metric: metric, c: c, limit: limit, used: true}
	return c
}

func (r *registry) beginSweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.m {
		e.used = false
	}
}

// endSweep drops counters no subject uses any more (deleted keys, removed limits).
func (r *registry) endSweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, e := range r.m {
		if !e.used {
			delete(r.m, k)
		}
	}
}

// addPending queues persisted rows for counters created later.
func (r *registry) addPending(rows []store.Counter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, row := range rows {
		k := regKey(row.Subject, row.Metric)
		r.pending[k] = append(r.pending[k], row)
	}
}

// dirty collects the rows of every counter changed since the last call.
func (r *registry) dirty(now int64) []store.Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rows []store.Counter
	for _, e := range r.m {
		if !e.c.TakeDirty() {
			continue
		}
		for _, sl := range e.c.Local(now) {
			rows = append(rows, store.Counter{Subject: e.subject, Metric: e.metric, WindowStart: sl.Start, Value: sl.Count})
		}
	}
	return rows
}

// Counters lists every live counter with its subject and metric — the cluster layer's hook to gossip Local slots
// and apply SetRemote.
func (s *Service) Counters() []CounterRef {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	out := make([]CounterRef, 0, len(s.reg.m))
	for _, e := range s.reg.m {
		out = append(out, CounterRef{Subject: e.subject, Metric: e.metric, Limit: e.limit, Counter: e.c})
	}
	return out
}

// CounterRef names a counter.
type CounterRef struct {
	Subject string // "key:ci-bot", "team:platform", "customer:acme"
	Metric  string // "rpm", "tpd@openai", "spend/1d"
	Limit   int64  // the limit admission checks it against (requests, tokens, or micro-USD for spend)
	Counter Counter
}
