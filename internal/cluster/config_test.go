package cluster

import (
	"strings"
	"testing"
)

// TestCountersModes: cluster.counters takes gossip, ring, auto and redis (and "" for the default, auto); only the
// memberlist modes start gossip, and only ring and auto (above auto_above members) use the ring.
func TestCountersModes(t *testing.T) {
	for _, tc := range []struct {
		counters   CountersMode
		enabled    bool
		err        string
		gossip     bool
		ringAt3    bool // ringWanted with 3 alive members
		ringAt20   bool // ... and with 20
		redisStore bool
	}{
		{counters: "", enabled: true, gossip: true, ringAt20: true},
		{counters: CountersAuto, enabled: true, gossip: true, ringAt20: true},
		{counters: CountersGossip, enabled: true, gossip: true},
		{counters: CountersRing, enabled: true, gossip: true, ringAt3: true, ringAt20: true},
		{counters: CountersGossip},
		{counters: CountersRedis, err: "cluster.redis.url"},
		{counters: CountersRedis, enabled: true, err: "cluster.redis.url"},
		{counters: "memcached", enabled: true, err: `cluster.counters: "memcached": want one of [auto gossip ring redis]`},
	} {
		t.Run(string(tc.counters), func(t *testing.T) {
			c := Config{Enabled: tc.enabled, Counters: tc.counters, Insecure: true}
			err := c.Validate()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Validate() = %v, want %q", err, tc.err)
				}
				if tc.counters == "memcached" {
					return // refused: nothing else to check
				}
			} else if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got := c.UsesGossip(); got != tc.gossip {
				t.Errorf("UsesGossip() = %v, want %v", got, tc.gossip)
			}
			if got := c.UsesRedis(); got != (tc.counters == CountersRedis) {
				t.Errorf("UsesRedis() = %v", got)
			}
			n := &Node{cfg: c.WithDefaults()}
			for _, a := range []struct {
				alive int64
				want  bool
			}{{3, tc.ringAt3}, {20, tc.ringAt20}} {
				n.alive.Store(a.alive)
				if got := n.ringWanted(); got != a.want {
					t.Errorf("ringWanted() with %d alive = %v, want %v", a.alive, got, a.want)
				}
			}
		})
	}
}
