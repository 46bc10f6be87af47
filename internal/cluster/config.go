// Package cluster makes several Weir replicas behave as one gateway: they find each other with
// hashicorp/memberlist (SWIM gossip) and share every governance counter — rate-limit windows and budget spend —
// as per-node grow-only counts, so a key with rpm 100 gets about 100 requests a minute from the whole cluster.
//
// See docs/cluster.md for the design and the overshoot bound.
package cluster

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/rediscounter"
)

// KeyEnv names the environment variable holding the gossip key: base64 of 16, 24 or 32 bytes (AES-128/192/256).
const KeyEnv = "WEIR_CLUSTER_KEY"

// Config is the `cluster:` section.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Counters chooses how replicas share counters: gossip (every node admits on the sum of everyone's gossiped
	// counts), ring (each counter has an owner on a consistent-hash ring that admits and leases batches to the
	// others), auto (default: ring while more than Ring.AutoAbove members are alive, gossip otherwise) or redis
	// (a Redis every replica uses, cluster.redis; no memberlist, and enabled is implied).
	Counters CountersMode `yaml:"counters"`
	// Redis is the counter store of counters: redis.
	Redis rediscounter.Config `yaml:"redis"`
	// Name identifies this node among its peers (unique per node; default hostname:port). Keeping it across a
	// restart lets the node take its own earlier counts back from its peers.
	Name string `yaml:"name"`
	// Bind is the gossip listener, "host:port" (UDP and TCP). Default "0.0.0.0:7946".
	Bind string `yaml:"bind"`
	// Advertise is the address peers should use, when it differs from Bind (NAT, 0.0.0.0).
	Advertise string `yaml:"advertise"`
	// Join lists peers: "host:port", or "dns:name:port" resolved (and re-resolved periodically) to every address
	// of name — a Kubernetes headless Service. A node may list itself.
	Join []string `yaml:"join"`
	// GossipInterval is memberlist's gossip period (default 100ms).
	GossipInterval time.Duration `yaml:"gossip_interval"`
	// DeltaInterval is how often this node's changed counts are sent to its peers (default 5ms).
	DeltaInterval time.Duration `yaml:"delta_interval"`
	// DirectFanout: in clusters of up to this many members, changed counts go straight to every peer (one
	// datagram each, the lowest delay); in larger ones they ride memberlist's gossip (default 64).
	DirectFanout int `yaml:"direct_fanout"`
	// RejoinInterval is how often join addresses are re-resolved and missing peers joined (default 30s; 5s while
	// alone).
	RejoinInterval time.Duration `yaml:"rejoin_interval"`
	// Strict divides the remaining headroom of a limit among the live nodes once it falls below a quarter of the
	// limit, trading a little under-admission for almost no overshoot.
	Strict bool `yaml:"strict"`
	// Insecure allows running without WEIR_CLUSTER_KEY (unencrypted, unauthenticated gossip). Must be explicit.
	Insecure bool `yaml:"insecure"`
	// Ring tunes ring mode.
	Ring RingConfig `yaml:"ring"`
}

// CountersMode is the value of cluster.counters.
type CountersMode string

// Counter sharing modes. Adding one: a constant here, an entry in countersModes, and a case where the mode is
// picked (Node.ringWanted for the memberlist modes, UsesGossip/UsesRedis for the store).
const (
	CountersAuto   CountersMode = "auto"
	CountersGossip CountersMode = "gossip"
	CountersRing   CountersMode = "ring"
	CountersRedis  CountersMode = "redis"
)

var countersModes = []CountersMode{CountersAuto, CountersGossip, CountersRing, CountersRedis}

// defaultAutoAbove is cluster.ring.auto_above's default: below it a gossiped view is milliseconds old.
const defaultAutoAbove = 16

// RingConfig is `cluster.ring:`.
type RingConfig struct {
	// AutoAbove: in auto mode, the ring is used while more than this many members are alive (default 16).
	AutoAbove int `yaml:"auto_above"`
	// LeaseTimeout bounds a request's wait for a lease from a counter's owner (default 50ms). On timeout the
	// node admits on its own gossiped view of that counter for FallbackFor, then asks the owner again.
	LeaseTimeout time.Duration `yaml:"lease_timeout"`
	// FallbackFor is how long, at most, a node admits without an owner that failed to answer (default 1s); the
	// owner's late answer ends it sooner.
	FallbackFor time.Duration `yaml:"fallback_for"`
}

// UsesRedis reports whether the counters live in Redis (counters: redis).
func (c Config) UsesRedis() bool { return c.Counters == CountersRedis }

// UsesGossip reports whether this replica joins a memberlist cluster to share its counters.
func (c Config) UsesGossip() bool { return c.Enabled && !c.UsesRedis() }

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Bind == "" {
		c.Bind = "0.0.0.0:7946"
	}
	if c.GossipInterval <= 0 {
		c.GossipInterval = 100 * time.Millisecond
	}
	if c.DeltaInterval <= 0 {
		c.DeltaInterval = 5 * time.Millisecond
	}
	if c.DirectFanout <= 0 {
		c.DirectFanout = directFanout
	}
	if c.RejoinInterval <= 0 {
		c.RejoinInterval = 30 * time.Second
	}
	if c.Counters == "" {
		c.Counters = CountersAuto
	}
	if c.Ring.AutoAbove <= 0 {
		c.Ring.AutoAbove = defaultAutoAbove
	}
	if c.Ring.LeaseTimeout <= 0 {
		c.Ring.LeaseTimeout = 50 * time.Millisecond
	}
	if c.Ring.FallbackFor <= 0 {
		c.Ring.FallbackFor = time.Second
	}
	return c
}

// Validate checks addresses (it does not read the key; see LoadKey).
func (c Config) Validate() error {
	if c.Counters != "" && !slices.Contains(countersModes, c.Counters) {
		return fmt.Errorf("cluster.counters: %q: want one of %v", c.Counters, countersModes)
	}
	if c.UsesRedis() {
		return c.Redis.Validate()
	}
	if !c.Enabled {
		return nil
	}
	c = c.WithDefaults()
	if _, _, err := splitHostPort(c.Bind); err != nil {
		return fmt.Errorf("cluster.bind: %w", err)
	}
	if c.Advertise != "" {
		if _, _, err := splitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("cluster.advertise: %w", err)
		}
	}
	for i, j := range c.Join {
		if _, _, err := splitHostPort(strings.TrimPrefix(j, "dns:")); err != nil {
			return fmt.Errorf("cluster.join[%d]: %w", i, err)
		}
	}
	return nil
}

func splitHostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("%q: want host:port", s)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", s)
	}
	return h, n, nil
}

// ErrNoKey is returned when cluster mode is enabled without a key and without insecure: true.
var ErrNoKey = errors.New("cluster mode needs " + KeyEnv + " (base64 of a 16-, 24- or 32-byte key); " +
	"set cluster.insecure: true to run with unencrypted gossip")

// LoadKey reads WEIR_CLUSTER_KEY. It returns nil with no error only when the key is unset and insecure is set.
func (c Config) LoadKey() ([]byte, error) {
	return ParseKey(os.Getenv(KeyEnv), c.Insecure)
}

// ParseKey decodes a base64 gossip key (standard or URL alphabet, padded or not).
func ParseKey(s string, insecure bool) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if insecure {
			return nil, nil
		}
		return nil, ErrNoKey
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not base64: %w", KeyEnv, err)
	}
	switch len(key) {
	case 16, 24, 32:
		return key, nil
	}
	return nil, fmt.Errorf("%s: key is %d bytes; want 16, 24 or 32", KeyEnv, len(key))
}
