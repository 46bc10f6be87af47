package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weir-gateway/weir/internal/cluster"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/rediscounter"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// startCluster joins the gossip cluster when cluster.enabled is set, so every replica's admissions count
// against the same limits. It is a no-op otherwise (nil node), and with counters: redis, where the counters are
// shared through Redis (openPersistence). The returned stop leaves the cluster.
func startCluster(ctx context.Context, cfg *config.Config, gov *governance.Service, log *slog.Logger) (node *cluster.Node, stop func(), err error) {
	if !cfg.Cluster.UsesGossip() {
		return nil, func() {}, nil
	}
	if gov == nil {
		return nil, nil, errors.New("cluster mode needs governance (nothing to share)")
	}
	key, err := cfg.Cluster.LoadKey()
	if err != nil {
		return nil, nil, err
	}
	n, err := cluster.Start(ctx, cfg.Cluster, gov, cluster.Options{Logger: log, Key: key})
	if err != nil {
		return nil, nil, err
	}
	// Ring mode: a leased counter that refused asks its owner for a batch through the node.
	gov.SetLender(n)
	return n, func() { gov.SetLender(nil); n.Stop() }, nil
}

// registerClusterMetrics exposes the node's gossip state on /metrics, read on scrape.
func registerClusterMetrics(m *telemetry.Metrics, n *cluster.Node) {
	m.Registry().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weir_cluster_members_alive",
			Help: "Cluster members this node sees alive, itself included."},
			func() float64 { return float64(n.Stats().Alive) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_cluster_gossip_sent_bytes_total",
			Help: "Bytes of counter state this node sent to peers."},
			func() float64 { return float64(n.Stats().GossipBytesOut) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_cluster_gossip_received_bytes_total",
			Help: "Bytes of counter state this node received from peers."},
			func() float64 { return float64(n.Stats().GossipBytesIn) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weir_cluster_propagation_delay_seconds",
			Help: "Delay of the last counter update received from a peer, by the sender's clock."},
			func() float64 { return n.Stats().LastDelay.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weir_cluster_ring_mode",
			Help: "1 while counters are shared in ring mode (owners lease batches), 0 in gossip mode."},
			func() float64 {
				if n.Stats().Ring {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_cluster_lease_requests_total",
			Help: "Lease requests this node sent to counter owners (ring mode)."},
			func() float64 { return float64(n.Stats().LeaseRequests) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_cluster_lease_fallbacks_total",
			Help: "Times a silent owner put a counter on its fallback (ring mode)."},
			func() float64 { return float64(n.Stats().LeaseFallbacks) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weir_cluster_counters",
			Help: "Counter windows held in the cluster state."},
			func() float64 { return float64(n.Stats().Entries) }),
	)
}

// redisView is GET /api/cluster with counters: redis.
type redisView struct {
	Counters          string `json:"counters"` // "redis"
	Up                bool   `json:"up"`
	Errors            uint64 `json:"errors"`
	LocalReservations uint64 `json:"local_reservations"`
	Moved             uint64 `json:"moved"`
}

func redisClusterView(s *rediscounter.Store) func() any {
	return func() any {
		st := s.Stats()
		return redisView{Counters: string(cluster.CountersRedis), Up: st.Up, Errors: st.Errors,
			LocalReservations: st.LocalReservations, Moved: st.Moved}
	}
}

// registerRedisMetrics exposes the Redis counter store's health on /metrics, read on scrape.
func registerRedisMetrics(m *telemetry.Metrics, s *rediscounter.Store) {
	m.Registry().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weir_counter_store_up",
			Help: "1 while the Redis counter store answers, 0 while admission runs on this replica's own counters (or refuses, with on_error: closed)."},
			func() float64 {
				if s.Stats().Up {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_counter_store_errors_total",
			Help: "Redis counter store calls that failed."},
			func() float64 { return float64(s.Stats().Errors) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_counter_store_local_reservations_total",
			Help: "Admissions decided on this replica's own counters because Redis was unreachable (on_error: open)."},
			func() float64 { return float64(s.Stats().LocalReservations) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weir_counter_store_moved_total",
			Help: "Units counted while Redis was unreachable, moved into it once it was back."},
			func() float64 { return float64(s.Stats().Moved) }),
	)
}
