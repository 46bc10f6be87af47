// Package rediscounter keeps governance's counters in Redis (cluster.counters: redis), for teams that already
// run it: every replica admits against one count, checked and reserved for every limit of a request in one Lua
// script — one round trip, atomic, so the limit is exact however many replicas there are.
//
// When Redis cannot be reached the store fails open by default: each replica admits on in-memory counters
// seeded with the last counts Redis reported, and moves what it counted into Redis once it is back
// (on_error: closed refuses with 503 instead). See docs/cluster.md.
package rediscounter

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is cluster.redis.
type Config struct {
	// URL is redis://[user:password@]host:port[/db], rediss:// for TLS, or unix:///path.sock. With Cluster, a
	// Redis Cluster seed node; more as ?addr=host:port.
	URL string `yaml:"url"`
	// Cluster selects the Redis Cluster client. Every Weir key carries the hash tag {Prefix}, so one admission's
	// keys share a slot and its script runs on one shard.
	Cluster bool `yaml:"cluster"`
	// Prefix names Weir's keys and is their hash tag (default "weir"); gateways sharing a Redis but not their
	// limits use different prefixes.
	Prefix string `yaml:"prefix"`
	// Timeout bounds connecting to Redis and each command (default 250ms): an admission waits at most this long
	// before the on_error policy applies.
	Timeout time.Duration `yaml:"timeout"`
	// OnError is what admission does when Redis cannot answer: "open" (default) admits on this replica's
	// in-memory counters, seeded with the last counts Redis reported; "closed" refuses with 503.
	OnError string `yaml:"on_error"`
	// RetryInterval is how long after a failure admissions skip Redis (so they do not each wait Timeout), and
	// how often counts made meanwhile are moved into it (default 1s).
	RetryInterval time.Duration `yaml:"retry_interval"`
}

// On-error policies.
const (
	FailOpen   = "open"
	FailClosed = "closed"
)

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "weir"
	}
	if c.Timeout <= 0 {
		c.Timeout = 250 * time.Millisecond
	}
	if c.OnError == "" {
		c.OnError = FailOpen
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Second
	}
	return c
}

// Validate checks the URL and the policy.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.URL == "" {
		return fmt.Errorf("cluster.redis.url: required with counters: redis")
	}
	var err error
	if c.Cluster {
		_, err = redis.ParseClusterURL(c.URL)
	} else {
		_, err = redis.ParseURL(c.URL)
	}
	if err != nil {
		return fmt.Errorf("cluster.redis.url: %w", err)
	}
	if c.OnError != FailOpen && c.OnError != FailClosed {
		return fmt.Errorf("cluster.redis.on_error: %q: want open or closed", c.OnError)
	}
	return nil
}

// client makes the go-redis client for c (defaults applied).
func (c Config) client() (redis.UniversalClient, error) {
	if c.Cluster {
		o, err := redis.ParseClusterURL(c.URL)
		if err != nil {
			return nil, err
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = c.Timeout, c.Timeout, c.Timeout
		o.MaxRetries = 1 // a pooled connection broken by a Redis restart is retried once on a fresh one
		o.DisableIdentity = true
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, err
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = c.Timeout, c.Timeout, c.Timeout
	o.MaxRetries = 1
	o.DisableIdentity = true
	return redis.NewClient(o), nil
}
