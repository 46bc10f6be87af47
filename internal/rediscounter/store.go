package rediscounter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weir-gateway/weir/internal/governance"
)

// Store is a governance.CounterStore backed by Redis. Safe for concurrent use.
type Store struct {
	cfg Config
	rdb redis.UniversalClient
	log *slog.Logger
	tag string // "{weir}": every key's hash tag

	downUntil atomic.Int64 // wall-clock ns before which Redis is not tried; 0 while it answers

	pendMu  sync.Mutex
	pending map[counter]struct{} // counters whose fallback holds counts not yet moved into Redis

	errs, localReserves, moved atomic.Uint64

	stop chan struct{}
	done chan struct{}
}

// New connects to Redis (checking it answers, and loading the scripts) and starts the loop that moves counts
// made while it was unreachable back into it. A Redis that is down at start is not an error when on_error is
// open: the store starts on its fallback and keeps trying.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	rdb, err := cfg.client()
	if err != nil {
		return nil, fmt.Errorf("cluster.redis.url: %w", err)
	}
	s := &Store{cfg: cfg, rdb: rdb, log: log, tag: "{" + cfg.Prefix + "}", pending: map[counter]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.load(ctx); err != nil {
		if cfg.OnError == FailClosed {
			_ = rdb.Close()
			return nil, fmt.Errorf("redis at %s: %w", redactURL(cfg.URL), err)
		}
		s.fail(err)
	}
	go s.loop()
	return s, nil
}

// load checks Redis answers and loads both scripts (EVALSHA then finds them; Run reloads after a FLUSH or a
// restart).
func (s *Store) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 4*s.cfg.Timeout)
	defer cancel()
	if err := reserveScript.Load(ctx, s.rdb).Err(); err != nil {
		return err
	}
	return adjustScript.Load(ctx, s.rdb).Err()
}

// Close stops the background loop and closes the client.
func (s *Store) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.done
	s.reconcile() // last counts made on the fallback, if Redis is back
	return s.rdb.Close()
}

// Window implements governance.CounterStore.
func (s *Store) Window(subject, metric string, width time.Duration) governance.Counter {
	return &window{st: s, base: s.tag + subject + "|" + metric + "|", width: int64(width), widthArg: int64(width),
		local: governance.NewSlidingWindow(width)}
}

// Period implements governance.CounterStore.
func (s *Store) Period(subject, metric string, r governance.Reset) governance.Counter {
	return &period{st: s, base: s.tag + subject + "|" + metric + "|", reset: r, local: governance.NewPeriodCounter(r)}
}

// Constant script arguments, boxed once.
var maxWindowArg, maxInt64Arg any = int64(governance.MaxWindowCount), int64(math.MaxInt64)

// errForeign is a programming error: an item whose counter this store did not make.
var errForeign = errors.New("rediscounter: counter not made by this store")

// ReserveAll implements governance.CounterStore: one EVALSHA for every item.
func (s *Store) ReserveAll(now int64, items []governance.BatchItem) (int, error) {
	if !s.up() {
		return s.reserveFallback(now, items, nil)
	}
	keys := make([]string, 0, 2*len(items))
	args := make([]any, 1, 1+7*len(items))
	args[0] = len(items)
	for i := range items {
		it := &items[i]
		switch c := it.Counter.(type) {
		case *window:
			idx := now / c.width
			cur, prev := c.keyPair(idx)
			keys = append(keys, cur, prev)
			args = append(args, "w", it.N, it.Limit, maxWindowArg, c.width-now%c.width, c.widthArg, c.ttl(now, idx))
		case *period:
			start := c.start(now)
			keys = append(keys, c.key(start))
			args = append(args, "p", it.N, it.Limit, maxInt64Arg, 0, 0, c.ttl(now, start))
		default:
			return -1, errForeign
		}
	}
	res, err := reserveScript.Run(context.Background(), s.rdb, keys, args...).Slice()
	if err == nil && len(res) != 1+2*len(items) {
		err = fmt.Errorf("reserve script: %d values for %d items", len(res), len(items))
	}
	if err != nil {
		return s.reserveFallback(now, items, err)
	}
	s.recovered()
	refused := int(asInt(res[0])) - 1
	ok := refused < 0
	for i := range items {
		it := &items[i]
		cur, prev := asInt(res[1+2*i]), asInt(res[2+2*i])
		switch c := it.Counter.(type) {
		case *window:
			idx := now / c.width
			it.Window = idx
			it.Status = governance.WindowStatus(c.width, now, it.N, it.Limit, prev, cur, ok)
			if ok {
				cur += it.N
			}
			// Seed the fallback with Redis's counts: if Redis becomes unreachable, this replica admits only the
			// headroom that was left, not a fresh limit.
			c.local.SetRemote(now, governance.Slot{Start: time.Unix(0, (idx-1)*c.width), Count: prev})
			c.local.SetRemote(now, governance.Slot{Start: time.Unix(0, idx*c.width), Count: cur})
		case *period:
			start := c.start(now)
			it.Window = start
			it.Status = governance.PeriodStatus(c.reset, now, it.N, it.Limit, cur, ok)
			if ok {
				cur += it.N
			}
			c.local.SetRemote(now, governance.Slot{Start: time.Unix(0, start), Count: cur})
		}
	}
	return refused, nil
}

// reserveFallback reserves on the in-memory counters (Redis failed with err, or is known to be down), or,
// when on_error is closed, refuses.
func (s *Store) reserveFallback(now int64, items []governance.BatchItem, err error) (int, error) {
	if err != nil {
		s.fail(err)
	}
	if s.cfg.OnError == FailClosed {
		return -1, errUnavailable
	}
	s.localReserves.Add(1)
	for i := range items {
		c, ok := items[i].Counter.(counter)
		if !ok {
			return -1, errForeign
		}
		got, win, st := c.fallback().Reserve(now, items[i].N, items[i].Limit)
		items[i].Window, items[i].Status = win|localFlag, st
		if !got {
			for j := range i {
				items[j].Counter.(counter).fallback().Adjust(now, items[j].Window&^localFlag, -items[j].N)
			}
			return i, nil
		}
	}
	s.pendMu.Lock()
	for i := range items {
		s.pending[items[i].Counter.(counter)] = struct{}{}
	}
	s.pendMu.Unlock()
	return -1, nil
}

var errUnavailable = errors.New("redis unreachable (cluster.redis.on_error: closed)")

// AdjustAll implements governance.CounterStore: one EVALSHA for the items reserved in Redis; items reserved on
// the fallback are adjusted there.
func (s *Store) AdjustAll(now int64, items []governance.BatchItem) {
	var keys []string
	var args []any
	var inRedis []int
	for i := range items {
		it := &items[i]
		c, ok := it.Counter.(counter)
		if !ok || it.N == 0 {
			continue
		}
		if it.Window&localFlag != 0 {
			c.fallback().Adjust(now, it.Window&^localFlag, it.N)
			s.addPending(c)
			continue
		}
		key, capacity, ttl, onlyIfExists, skip := adjustTarget(c, now, it.Window, it.N)
		if skip {
			continue
		}
		if args == nil {
			args = make([]any, 1, 1+4*len(items))
		}
		keys = append(keys, key)
		args = append(args, it.N, capacity, ttl, onlyIfExists)
		inRedis = append(inRedis, i)
	}
	if len(keys) == 0 {
		return
	}
	args[0] = len(keys)
	var err error
	if s.up() {
		err = adjustScript.Run(context.Background(), s.rdb, keys, args...).Err()
		if err != nil {
			s.fail(err)
		}
	} else {
		err = errUnavailable
	}
	if err != nil {
		// Keep what was spent beyond the estimate: charge it to the fallback, to be moved into Redis later. A
		// release cannot be given back to a count this replica cannot reach; it expires with its window.
		for _, i := range inRedis {
			if it := &items[i]; it.N > 0 {
				c := it.Counter.(counter)
				c.fallback().Adjust(now, fallbackWindow(c, now), it.N)
				s.addPending(c)
			}
		}
	}
}

// adjustTarget is where a delta for a reservation in win lands, with governance's rules: a window or period
// that has rolled away takes no release, and extra actuals go to the current one.
func adjustTarget(c counter, now, win, delta int64) (key string, capacity, ttl int64, onlyIfExists string, skip bool) {
	switch c := c.(type) {
	case *window:
		idx := now / c.width
		if win != idx && win != idx-1 {
			if delta < 0 {
				return "", 0, 0, "", true
			}
			win = idx
		}
		onlyIfExists = "0"
		if win < idx {
			onlyIfExists = "1" // the previous window's key was never written: nothing to correct
		}
		return c.key(win), governance.MaxWindowCount, c.ttl(now, win), onlyIfExists, false
	case *period:
		start := c.start(now)
		if win != start && delta < 0 {
			return "", 0, 0, "", true
		}
		return c.key(start), math.MaxInt64, c.ttl(now, start), "0", false
	}
	return "", 0, 0, "", true
}

// fallbackWindow is the current window or period of c's fallback.
func fallbackWindow(c counter, now int64) int64 {
	switch c := c.(type) {
	case *window:
		return now / c.width
	case *period:
		return c.start(now)
	}
	return 0
}

func (s *Store) addPending(c counter) {
	s.pendMu.Lock()
	s.pending[c] = struct{}{}
	s.pendMu.Unlock()
}

// get reads keys with one MGET; ok is false when Redis cannot answer.
func (s *Store) get(keys ...string) ([]int64, bool) {
	if !s.up() {
		return nil, false
	}
	vs, err := s.rdb.MGet(context.Background(), keys...).Result()
	if err != nil {
		s.fail(err)
		return nil, false
	}
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = asInt(v)
	}
	return out, true
}

// up reports whether Redis is to be tried: it answered last time, or the retry interval since it failed is over.
func (s *Store) up() bool {
	d := s.downUntil.Load()
	return d == 0 || time.Now().UnixNano() >= d
}

// fail records a failed call: Redis is skipped for RetryInterval, and the first failure of an outage is logged.
func (s *Store) fail(err error) {
	s.errs.Add(1)
	if s.downUntil.Swap(time.Now().Add(s.cfg.RetryInterval).UnixNano()) == 0 {
		if s.cfg.OnError == FailClosed {
			s.log.Error("redis counters unreachable: refusing governed requests with 503 (cluster.redis.on_error: closed)",
				"redis", redactURL(s.cfg.URL), "err", err)
		} else {
			s.log.Warn("redis counters unreachable: admitting on this replica's own counters until it is back "+
				"(cluster.redis.on_error: open)", "redis", redactURL(s.cfg.URL), "err", err)
		}
	}
}

// recovered notes a successful call after a failure.
func (s *Store) recovered() {
	if s.downUntil.Load() != 0 && s.downUntil.Swap(0) != 0 {
		s.log.Info("redis counters reachable again", "redis", redactURL(s.cfg.URL))
	}
}

// loop retries Redis after a failure and moves counts made on the fallback into it.
func (s *Store) loop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.RetryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if s.downUntil.Load() != 0 {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
			err := s.rdb.Ping(ctx).Err()
			cancel()
			if err != nil {
				s.fail(err)
				continue
			}
			s.recovered()
		}
		s.reconcile()
	}
}

// reconcile moves every count made on a fallback while Redis was unreachable into Redis (one EVALSHA), then
// takes it off the fallback — so the replicas' counts add up in Redis, and budgets spent meanwhile stay spent.
func (s *Store) reconcile() {
	if !s.up() {
		return
	}
	s.pendMu.Lock()
	if len(s.pending) == 0 {
		s.pendMu.Unlock()
		return
	}
	todo := make([]counter, 0, len(s.pending))
	for c := range s.pending {
		todo = append(todo, c)
	}
	clear(s.pending)
	s.pendMu.Unlock()

	now := time.Now().UnixNano()
	type move struct {
		c      counter
		window int64
		n      int64
	}
	var moves []move
	var keys []string
	args := []any{0}
	for _, c := range todo {
		for _, sl := range c.fallback().Local(now) {
			if sl.Count <= 0 {
				continue
			}
			var win int64
			switch c := c.(type) {
			case *window:
				win = sl.Start.UnixNano() / c.width
			case *period:
				win = sl.Start.UnixNano()
			}
			key, capacity, ttl, _, skip := adjustTarget(c, now, win, sl.Count)
			if skip {
				continue
			}
			keys = append(keys, key)
			args = append(args, sl.Count, capacity, ttl, "0")
			moves = append(moves, move{c, win, sl.Count})
		}
	}
	if len(keys) == 0 {
		return
	}
	args[0] = len(keys)
	if err := adjustScript.Run(context.Background(), s.rdb, keys, args...).Err(); err != nil {
		s.fail(err)
		s.pendMu.Lock()
		for _, c := range todo {
			s.pending[c] = struct{}{}
		}
		s.pendMu.Unlock()
		return
	}
	var total int64
	for _, m := range moves {
		m.c.fallback().Adjust(now, m.window, -m.n)
		total += m.n
	}
	s.moved.Add(uint64(total))
	s.log.Info("redis counters: moved counts made while Redis was unreachable into it", "counters", len(todo), "total", total)
}

// Stats are figures for metrics.
type Stats struct {
	Up bool // Redis answered the last call
	// Errors counts failed Redis calls; LocalReservations admissions decided on a replica's own counters
	// (Redis unreachable, on_error: open); Moved the units later moved into Redis.
	Errors, LocalReservations, Moved uint64
}

// Stats reports the store's figures.
func (s *Store) Stats() Stats {
	return Stats{Up: s.downUntil.Load() == 0, Errors: s.errs.Load(), LocalReservations: s.localReserves.Load(), Moved: s.moved.Load()}
}

// asInt reads an integer reply or a count string (nil: a missing key, 0).
func asInt(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// redactURL drops a password from a Redis URL for logs.
func redactURL(u string) string {
	o, err := redis.ParseURL(u)
	if err != nil || o.Password == "" {
		return u
	}
	return o.Network + "://" + o.Addr
}

var _ governance.CounterStore = (*Store)(nil)
