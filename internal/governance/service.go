// Package governance enforces who may call the gateway and how much: virtual keys under teams under customers,
// each level with budgets and rate limits, admitted by check-and-reserve so concurrent requests cannot overshoot.
//
// Hot path: Authenticate (SHA-256 + one map read from an immutable snapshot) and Admit (a CAS per limit).
// Everything else — admin edits, seeding, persistence — rebuilds or reads snapshots off the hot path.
package governance

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/store"
)

// Options tune a Service. Zero values take defaults.
type Options struct {
	// Now is the clock (tests inject one). Default time.Now.
	Now func() time.Time
	// Prices converts estimates and usage to money. Default: built-in table.
	Prices *pricing.Registry
	Logger *slog.Logger
	// FlushInterval between background counter flushes (default 5s).
	FlushInterval time.Duration
	// ConcurrencyWait bounds the wait for a max_concurrent slot (default 100ms).
	ConcurrencyWait time.Duration
	// Counters keeps the counters outside the process (Redis: cluster.counters: redis). Default: in memory.
	Counters CounterStore
}

// Service is the governance engine. Safe for concurrent use.
type Service struct {
	st     store.Store
	opt    Options
	prices *pricing.Registry
	log    *slog.Logger

	snap   atomic.Pointer[snapshot]
	lender atomic.Pointer[lenderBox] // cluster ring mode: tops up leased counters after a refusal
	reg    registry

	// mu serialises admin writes and snapshot rebuilds; the hot path never takes it.
	mu        sync.Mutex
	customers map[string]*store.Customer
	teams     map[string]*store.Team
	keys      map[string]*store.VirtualKey
	provs     map[string]ProviderLimit // provider levels, from the config (Seed)

	flushMu   sync.Mutex
	retryRows []store.Counter
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// snapshot is an immutable view of all principals, swapped whole on every change (RCU): readers do one atomic
// load and a plain map read, with no lock shared between requests.
type snapshot struct {
	byHash map[KeyHash]*Principal
	byID   map[string]*Principal
	teams  map[string]*level
	custs  map[string]*level
	provs  map[string]*level // provider levels with at least one limit; nil when there are none
}

// New loads entities and counters from st and returns a ready Service. Call Start for background flushing and
// Close on shutdown.
func New(ctx context.Context, st store.Store, opt Options) (*Service, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Prices == nil {
		opt.Prices = pricing.NewRegistry()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = 5 * time.Second
	}
	if opt.ConcurrencyWait <= 0 {
		opt.ConcurrencyWait = 100 * time.Millisecond
	}
	s := &Service{st: st, opt: opt, prices: opt.Prices, log: opt.Logger,
		customers: map[string]*store.Customer{}, teams: map[string]*store.Team{}, keys: map[string]*store.VirtualKey{}}
	s.reg.init()
	if err := s.loadCounters(ctx); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// reload reads every entity from the store and rebuilds the snapshot.
func (s *Service) reload(ctx context.Context) error {
	cs, err := s.st.Customers().List(ctx)
	if err != nil {
		return fmt.Errorf("governance: load customers: %w", err)
	}
	ts, err := s.st.Teams().List(ctx)
	if err != nil {
		return fmt.Errorf("governance: load teams: %w", err)
	}
	ks, err := s.st.VirtualKeys().List(ctx)
	if err != nil {
		return fmt.Errorf("governance: load virtual keys: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.customers)
	clear(s.teams)
	clear(s.keys)
	for _, c := range cs {
		s.customers[c.ID] = c
	}
	for _, t := range ts {
		s.teams[t.ID] = t
	}
	for _, k := range ks {
		s.keys[k.ID] = k
	}
	s.rebuildLocked()
	return nil
}

// Prices is the price registry in use.
func (s *Service) Prices() *pricing.Registry { return s.prices }

func (s *Service) now() int64 { return s.opt.Now().UnixNano() }

// Authenticate resolves a virtual key secret. It returns nil for an unknown, disabled or expired key; the caller
// answers 401 without saying which (no oracle for key probing).
func (s *Service) Authenticate(secret string) *Principal {
	if len(secret) < len(KeyPrefix) || secret[:len(KeyPrefix)] != KeyPrefix {
		return nil
	}
	p := s.snap.Load().byHash[HashKey(secret)]
	if p == nil || !p.usable(s.now) {
		return nil
	}
	return p
}

// Principal returns the current principal of a key id (admin use, tests), or nil.
func (s *Service) Principal(id string) *Principal { return s.snap.Load().byID[id] }

// rebuildLocked builds a new snapshot from the entity maps and publishes it. Counters are kept in the registry
// by (subject, metric), so a rebuild carries every count over.
func (s *Service) rebuildLocked() {
	now := s.now()
	s.reg.beginSweep()
	sn := &snapshot{byHash: make(map[KeyHash]*Principal, len(s.keys)), byID: make(map[string]*Principal, len(s.keys)),
		teams: map[string]*level{}, custs: map[string]*level{}}
	for id, c := range s.customers {
		sn.custs[id] = s.buildLevel("customer:"+id, "customer "+id, c.Limits, c.Budget, now)
	}
	for id, t := range s.teams {
		sn.teams[id] = s.buildLevel("team:"+id, "team "+id, t.Limits, t.Budget, now)
	}
	sn.provs = s.buildProvidersLocked(now)
	old := s.snap.Load()
	for id, k := range s.keys {
		p := &Principal{rec: k, disabled: k.Disabled, models: k.Models, mcp: mcpAccess{key: newMCPRule(k.MCP)}}
		if !k.ExpiresAt.IsZero() {
			p.expiresAt = k.ExpiresAt.UnixNano()
		}
		label := "virtual key " + id
		p.levels = append(p.levels, s.buildLevel("key:"+id, label, k.Limits, k.Budget, now))
		custID := k.CustomerID
		if k.TeamID != "" {
			if t, ok := s.teams[k.TeamID]; ok {
				p.levels = append(p.levels, sn.teams[k.TeamID])
				p.disabled = p.disabled || t.Disabled
				p.mcp.team = newMCPRule(t.MCP)
				custID = t.CustomerID
			} else {
				p.disabled = true // dangling team reference: refuse rather than bypass the team's limits
			}
		}
		if custID != "" {
			if c, ok := s.customers[custID]; ok {
				p.levels = append(p.levels, sn.custs[custID])
				p.disabled = p.disabled || c.Disabled
			} else {
				p.disabled = true
			}
		}
		p.customerID = custID
		if len(k.Providers) > 0 {
			p.providers = make(map[string]bool, len(k.Providers))
			for _, pr := range k.Providers {
				p.providers[pr] = true
			}
		}
		for prov, l := range k.ProviderLimits {
			if p.provLimits == nil {
				p.provLimits = map[string]*level{}
			}
			p.provLimits[prov] = s.buildProviderLevel("key:"+id, label, prov, l, now)
		}
		if k.MaxConcurrent > 0 {
			// Keep the semaphore of an unchanged key, so in-flight requests still count.
			if o := old.byIDOrNil(id); o != nil && o.sem != nil && cap(o.sem) == k.MaxConcurrent {
				p.sem = o.sem
			} else {
				p.sem = make(chan struct{}, k.MaxConcurrent)
			}
		}
		sn.byID[id] = p
		if len(k.Hash) == len(KeyHash{}) {
			sn.byHash[KeyHash(k.Hash)] = p
		}
	}
	s.reg.endSweep()
	s.snap.Store(sn)
}

func (sn *snapshot) byIDOrNil(id string) *Principal {
	if sn == nil {
		return nil
	}
	return sn.byID[id]
}

var limitDefs = []struct {
	metric string
	kind   amountKind
	get    func(store.Limits) int64
}{
	{"rpm", kindRequests, func(l store.Limits) int64 { return l.RPM }},
	{"tpm", kindTokens, func(l store.Limits) int64 { return l.TPM }},
	{"rph", kindRequests, func(l store.Limits) int64 { return l.RPH }},
	{"tph", kindTokens, func(l store.Limits) int64 { return l.TPH }},
	{"rpd", kindRequests, func(l store.Limits) int64 { return l.RPD }},
	{"tpd", kindTokens, func(l store.Limits) int64 { return l.TPD }},
}

func (s *Service) buildLevel(subject, label string, ls store.Limits, b *store.Budget, now int64) *level {
	lv := &level{label: label}
	s.appendRateLimits(lv, subject, "", "", ls, now)
	if b != nil {
		r, err := ParseReset(b.Reset)
		if err != nil {
			r = ResetNever // validated on write; an old bad row must not crash the gateway
		}
		name := "never"
		if r != ResetNever {
			name = string(r)
		}
		metric := "spend/" + name
		c := s.reg.get(subject, metric, int64(b.MaxUSD), s.newPeriod(subject, metric, r), now)
		lbl := "budget " + b.MaxUSD.String()
		if r != ResetNever {
			lbl += "/" + string(r)
		}
		lv.limits = append(lv.limits, limit{c: c, max: int64(b.MaxUSD), kind: kindCost, metric: metric, label: lbl})
	}
	return lv
}

func (s *Service) buildProviderLevel(subject, label, provider string, ls store.Limits, now int64) *level {
	lv := &level{label: label}
	s.appendRateLimits(lv, subject, "@"+provider, provider+" ", ls, now)
	return lv
}

func (s *Service) appendRateLimits(lv *level, subject, metricSuffix, labelPrefix string, ls store.Limits, now int64) {
	for _, d := range limitDefs {
		v := d.get(ls)
		if v <= 0 {
			continue
		}
		metric := d.metric + metricSuffix
		w := windowOf(d.metric)
		c := s.reg.get(subject, metric, v, s.newWindow(subject, metric, w), now)
		lv.limits = append(lv.limits, limit{c: c, max: v, kind: d.kind, metric: metric,
			label: fmt.Sprintf("%s%s %d", labelPrefix, d.metric, v)})
	}
}
