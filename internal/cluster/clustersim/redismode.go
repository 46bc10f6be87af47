package clustersim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/rediscounter"
)

// RedisMode is cluster.counters: redis: every node's governance keeps its counters in one real redis-server
// (rediscounter, as cmd/weir builds it), and admits with one script call per request. There is no memberlist
// and nothing to converge: every node reads and reserves the same count.
type RedisMode struct {
	// URL is the redis-server every node uses (the tests start one with internal/redistest).
	URL string
}

// Name implements Mode.
func (RedisMode) Name() string { return "redis" }

// Store implements StoreMode: the store cmd/weir builds for counters: redis, under a key prefix of this run's
// own so that runs sharing the server start from zero.
func (m RedisMode) Store(ctx context.Context, env NodeEnv) (governance.CounterStore, func(), error) {
	if m.URL == "" {
		return nil, nil, errors.New("redis mode: no redis-server URL (the test starts one with internal/redistest)")
	}
	// on_error stays open, the default: a call that times out on the starved machine admits on the node's own
	// counters, as in production, and the row says how often (Fallbacks).
	st, err := rediscounter.New(ctx, rediscounter.Config{URL: m.URL, Prefix: "weirsim-" + env.Run}, env.Logger)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { _ = st.Close() }, nil
}

// Start implements Mode: the node's governance already uses the store; there is nothing else to run.
func (m RedisMode) Start(_ context.Context, env NodeEnv) (Member, error) {
	st, ok := env.Store.(*rediscounter.Store)
	if !ok {
		return nil, fmt.Errorf("redis mode: node %d has no Redis store", env.Index)
	}
	return redisMember{n: env.N, st: st}, nil
}

// StoreStats implements StoreMode from the server's INFO: total_net_input_bytes (every byte every client sent
// it: the nodes' scripts and reads, plus these INFO calls) and used_cpu_user + used_cpu_sys.
func (m RedisMode) StoreStats(ctx context.Context) (uint64, time.Duration, error) {
	o, err := redis.ParseURL(m.URL)
	if err != nil {
		return 0, 0, err
	}
	o.DisableIdentity = true
	rdb := redis.NewClient(o)
	defer rdb.Close()
	info, err := rdb.Info(ctx, "stats", "cpu").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redis INFO: %w", err)
	}
	var in uint64
	var cpu float64
	for line := range strings.SplitSeq(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "total_net_input_bytes":
			in, _ = strconv.ParseUint(v, 10, 64)
		case "used_cpu_user", "used_cpu_sys":
			f, _ := strconv.ParseFloat(v, 64)
			cpu += f
		}
	}
	if in == 0 {
		return 0, 0, errors.New("redis INFO: no total_net_input_bytes")
	}
	return in, time.Duration(cpu * float64(time.Second)), nil
}

type redisMember struct {
	n  int
	st *rediscounter.Store
}

func (redisMember) Stop() {}

// Alive is the whole cluster: there is no membership to settle.
func (m redisMember) Alive() int       { return m.n }
func (redisMember) PayloadOut() uint64 { return 0 }
func (redisMember) Queued() int        { return 0 }

// Fallbacks is how many Redis calls failed (each admission among them decided on the node's own counters).
func (m redisMember) Fallbacks() uint64 { return m.st.Stats().Errors }

func init() { Register(RedisMode{}) }

var _ StoreMode = RedisMode{}
