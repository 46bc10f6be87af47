package rediscounter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/governance/countertest"
	"github.com/weir-gateway/weir/internal/redistest"
)

func newStore(t testing.TB, srv *redistest.Server, mod func(*Config)) *Store {
	t.Helper()
	cfg := Config{URL: srv.URL(), RetryInterval: 50 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRedisCounterSemantics runs governance's counter suite — the one the in-memory counters pass — on Redis.
func TestRedisCounterSemantics(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, nil)
	var seq atomic.Int64
	subject := func() string { return fmt.Sprintf("key:t%d", seq.Add(1)) }
	countertest.Run(t, countertest.Factory{
		Window: func(_ *testing.T, w time.Duration) governance.Counter { return s.Window(subject(), "rpm", w) },
		Period: func(_ *testing.T, r governance.Reset) governance.Counter { return s.Period(subject(), "spend", r) },
	})
}

// TestRedisReserveAllIsAllOrNothing: a refusal by one limit reserves nothing on the others, and says which.
func TestRedisReserveAllIsAllOrNothing(t *testing.T) {
	s := newStore(t, redistest.Start(t), nil)
	now := time.Now().UnixNano()
	key, team := s.Window("key:a", "rpm", time.Minute), s.Period("team:t", "spend/1d", governance.ResetDay)
	items := []governance.BatchItem{{Counter: key, N: 1, Limit: 10}, {Counter: team, N: 60, Limit: 100}}
	if refused, err := s.ReserveAll(now, items); err != nil || refused != -1 {
		t.Fatalf("first: refused %d, err %v", refused, err)
	}
	items = []governance.BatchItem{{Counter: key, N: 1, Limit: 10}, {Counter: team, N: 60, Limit: 100}}
	refused, err := s.ReserveAll(now, items)
	if err != nil || refused != 1 {
		t.Fatalf("second: refused %d, err %v; want the team budget (1)", refused, err)
	}
	if st := items[1].Status; st.Used != 60 || st.Remaining != 40 || st.RetryAfter <= 0 {
		t.Fatalf("refusing status %+v", st)
	}
	if st := key.Peek(now, 10); st.Used != 1 {
		t.Fatalf("the key's rpm counts %d after a refused admission; want 1 (nothing reserved)", st.Used)
	}
}

// TestRedisConcurrentReserveNeverExceeds: many goroutines on several stores (several replicas) never admit past
// the limit, and admit exactly up to it.
func TestRedisConcurrentReserveNeverExceeds(t *testing.T) {
	srv := redistest.Start(t)
	stores := []*Store{newStore(t, srv, nil), newStore(t, srv, nil), newStore(t, srv, nil)}
	const limit, workers, each = 500, 48, 40 // 1,920 attempts for 500
	now := time.Now().UnixNano()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range workers {
		st := stores[g%len(stores)]
		rpm, budget := st.Window("key:c", "rpm", time.Minute), st.Period("key:c", "spend/1d", governance.ResetDay)
		wg.Go(func() {
			for range each {
				items := []governance.BatchItem{{Counter: rpm, N: 1, Limit: limit}, {Counter: budget, N: 3, Limit: 3 * limit}}
				refused, err := st.ReserveAll(now, items)
				if err != nil {
					t.Error(err)
					return
				}
				if refused < 0 {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != limit {
		t.Fatalf("admitted %d for a limit of %d", got, limit)
	}
	if st := stores[0].Window("key:c", "rpm", time.Minute).Peek(now, limit); st.Used != limit {
		t.Fatalf("rpm counts %d", st.Used)
	}
	if st := stores[1].Period("key:c", "spend/1d", governance.ResetDay).Peek(now, 3*limit); st.Used != 3*limit {
		t.Fatalf("budget counts %d", st.Used)
	}
}

// TestRedisKeysExpire: every key carries the hash tag and a TTL, so Redis does not grow without bound.
func TestRedisKeysExpire(t *testing.T) {
	s := newStore(t, redistest.Start(t), nil)
	now := time.Now().UnixNano()
	items := []governance.BatchItem{
		{Counter: s.Window("key:x", "rpm", time.Minute), N: 1, Limit: 10},
		{Counter: s.Period("key:x", "spend/1d", governance.ResetDay), N: 1, Limit: 10},
		{Counter: s.Period("key:x", "spend/never", governance.ResetNever), N: 1, Limit: 10},
	}
	if refused, err := s.ReserveAll(now, items); err != nil || refused != -1 {
		t.Fatalf("refused %d, err %v", refused, err)
	}
	s.AdjustAll(now, []governance.BatchItem{{Counter: items[0].Counter, N: 2, Window: items[0].Window}})
	ctx := context.Background()
	keys, err := s.rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys %v", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "{weir}key:x|") {
			t.Errorf("key %q lacks the {weir} hash tag", k)
		}
		ttl, err := s.rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(k, "|rpm|"):
			if ttl <= time.Minute || ttl > 3*time.Minute+time.Second {
				t.Errorf("%s: ttl %v; want up to two windows and a minute's slack", k, ttl)
			}
		case strings.Contains(k, "spend/1d"):
			if ttl <= time.Minute || ttl > 24*time.Hour+time.Minute+time.Second {
				t.Errorf("%s: ttl %v; want the rest of the day and a minute", k, ttl)
			}
		case strings.Contains(k, "spend/never"):
			if ttl != -1 {
				t.Errorf("%s: ttl %v; a never-resetting budget must not expire", k, ttl)
			}
		}
	}
}

// TestRedisUnreachableFailsOpen stops the real redis-server: admissions continue on the replica's own counters,
// seeded with the last counts Redis reported (so only the headroom left is admitted), and when Redis is back
// the counts made meanwhile are moved into it.
func TestRedisUnreachableFailsOpen(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, nil)
	rpm := s.Window("key:o", "rpm", time.Minute)
	budget := s.Period("key:o", "spend/1d", governance.ResetDay)
	reserve := func() (int, error) {
		return s.ReserveAll(time.Now().UnixNano(), []governance.BatchItem{{Counter: rpm, N: 1, Limit: 1000}, {Counter: budget, N: 10, Limit: 100}})
	}
	for range 6 {
		if refused, err := reserve(); err != nil || refused != -1 {
			t.Fatalf("with Redis up: refused %d, err %v", refused, err)
		}
	}
	srv.Stop()
	admitted := 0
	for range 10 {
		refused, err := reserve()
		if err != nil {
			t.Fatalf("fail open returned %v", err)
		}
		if refused < 0 {
			admitted++
		}
	}
	if admitted != 4 {
		t.Fatalf("with Redis down the replica admitted %d; want the 4 the $100 budget had left (60 spent)", admitted)
	}
	if st := s.Stats(); st.Up || st.Errors == 0 || st.LocalReservations == 0 {
		t.Fatalf("stats while down: %+v", st)
	}
	// Settle one of the local reservations up: the extra is kept and moved too.
	items := []governance.BatchItem{{Counter: rpm, N: 1, Limit: 1000}}
	srv.Restart(t) // empty: no persistence
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Moved < 4+40 {
		if time.Now().After(deadline) {
			t.Fatalf("counts not moved into Redis after it came back: %+v", s.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	now := time.Now().UnixNano()
	if st := budget.Peek(now, 100); st.Used != 40 {
		t.Fatalf("Redis holds %d of the budget after recovery; want the 40 spent while it was down", st.Used)
	}
	if st := rpm.Peek(now, 1000); st.Used != 4 {
		t.Fatalf("Redis holds %d requests after recovery; want 4", st.Used)
	}
	if refused, err := s.ReserveAll(now, items); err != nil || refused != -1 {
		t.Fatalf("after recovery: refused %d, err %v", refused, err)
	}
	if !s.Stats().Up {
		t.Fatal("still down after recovery")
	}
}

// TestRedisUnreachableFailsClosed: with on_error: closed, a stopped Redis refuses admission (governance answers
// 503), and admission resumes when it is back.
func TestRedisUnreachableFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv, func(c *Config) { c.OnError = FailClosed })
	rpm := s.Window("key:f", "rpm", time.Minute)
	reserve := func() (int, error) {
		return s.ReserveAll(time.Now().UnixNano(), []governance.BatchItem{{Counter: rpm, N: 1, Limit: 10}})
	}
	if refused, err := reserve(); err != nil || refused != -1 {
		t.Fatalf("up: refused %d, err %v", refused, err)
	}
	srv.Stop()
	if _, err := reserve(); err == nil {
		t.Fatal("fail closed admitted with Redis down")
	}
	srv.Restart(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		refused, err := reserve()
		if err == nil && refused == -1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admission did not resume after Redis came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisClusterMode runs the semantics suite and a key + team + customer admission on a real three-node
// Redis Cluster: the {weir} hash tag keeps one admission's keys in one slot (without it the script would fail
// with CROSSSLOT).
func TestRedisClusterMode(t *testing.T) {
	rc := redistest.StartCluster(t, 3)
	s, err := New(context.Background(), Config{URL: rc.URL(), Cluster: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var seq atomic.Int64
	subject := func() string { return fmt.Sprintf("key:t%d", seq.Add(1)) }
	countertest.Run(t, countertest.Factory{
		Window: func(_ *testing.T, w time.Duration) governance.Counter { return s.Window(subject(), "rpm", w) },
		Period: func(_ *testing.T, r governance.Reset) governance.Counter { return s.Period(subject(), "spend", r) },
	})
	now := time.Now().UnixNano()
	items := func() []governance.BatchItem {
		return []governance.BatchItem{
			{Counter: s.Window("key:a", "rpm", time.Minute), N: 1, Limit: 2},
			{Counter: s.Period("team:t", "spend/1d", governance.ResetDay), N: 5, Limit: 100},
			{Counter: s.Window("customer:c", "tpd", 24*time.Hour), N: 50, Limit: 1000},
		}
	}
	for i := range 3 {
		refused, err := s.ReserveAll(now, items())
		if err != nil {
			t.Fatalf("admission %d on a Redis Cluster: %v", i, err)
		}
		if want := map[bool]int{true: -1, false: 0}[i < 2]; refused != want {
			t.Fatalf("admission %d: refused %d, want %d", i, refused, want)
		}
	}
	if !s.Stats().Up || s.Stats().Errors != 0 {
		t.Fatalf("stats %+v", s.Stats())
	}
	// The same keys without the hash tag spread over slots, and the cluster refuses the script.
	var logs lockedBuffer
	bare, err := New(context.Background(), Config{URL: rc.URL(), Cluster: true, OnError: FailClosed}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	bare.tag = "weir:"
	_, err = bare.ReserveAll(now, []governance.BatchItem{
		{Counter: bare.Window("key:a", "rpm", time.Minute), N: 1, Limit: 2},
		{Counter: bare.Period("team:t", "spend/1d", governance.ResetDay), N: 5, Limit: 100},
		{Counter: bare.Window("customer:c", "tpd", 24*time.Hour), N: 50, Limit: 1000},
	})
	if err == nil || !strings.Contains(logs.String(), "CROSSSLOT") {
		t.Fatalf("keys without a hash tag in one script: err %v, logs %s", err, logs.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
