// Package router holds Weir's pure routing and reliability logic: which upstream target serves a
// request, in what order the others are tried, when to retry, how long to back off, and when a target
// is taken out of rotation by its circuit breaker. It does no I/O and imports no provider code; the
// gateway asks it for a Plan and reports every attempt's outcome back.
package router

import "time"

// ModelConfig is one entry of the top-level `models:` list: an alias callers send as "model".
type ModelConfig struct {
	Name string `yaml:"name"`
	// Strategy orders Targets: weighted (default), least-busy, lowest-latency or round-robin.
	Strategy string   `yaml:"strategy"`
	Targets  []Target `yaml:"targets"`
	// Fallbacks are tried in order after every target: other aliases (expanded recursively) or
	// "provider/model".
	Fallbacks []string `yaml:"fallbacks"`
	// Retries is per target; nil means the router-wide default. A pointer, so `max: 0` is expressible.
	Retries *Retries `yaml:"retries"`
	// Timeout bounds one attempt (one upstream call); 0 leaves it to the provider's own timeout.
	Timeout time.Duration `yaml:"timeout"`
	// Cooldown overrides the router-wide circuit breaker settings for this alias's targets.
	Cooldown *BreakerConfig `yaml:"cooldown"`
}

// Target is one upstream deployment of an alias.
type Target struct {
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	// Weight is used by the weighted strategy. 0 (or unset) while others are positive makes the target a
	// standby, tried only after the weighted ones; when all are 0 they share equally.
	Weight int `yaml:"weight"`
}

// Key is the registry key of a target, "provider/model".
func (t Target) Key() string { return t.Provider + "/" + t.Model }

// Retries configures retries of the same target.
type Retries struct {
	// Max is the number of retries after the first attempt on one target.
	Max int `yaml:"max"`
	// Backoff is the base of the exponential backoff: attempt n waits up to Backoff*2^n.
	Backoff time.Duration `yaml:"backoff"`
	// MaxBackoff caps the exponential part (not a provider's Retry-After, which is honoured as given).
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// BreakerConfig is the `cooldown:` block, per alias or global.
type BreakerConfig struct {
	// Failures consecutive provider failures open the breaker.
	Failures int `yaml:"failures"`
	// Ratio of failures over the sliding Window opens it too, once MinRequests were seen in the window.
	Ratio       float64       `yaml:"ratio"`
	MinRequests int           `yaml:"min_requests"`
	Window      time.Duration `yaml:"window"`
	// Duration is how long the breaker stays open before letting one probe through.
	Duration time.Duration `yaml:"duration"`
}

// Defaults. Retries default to 2 (not 0 as in Bifrost, a known complaint: a single 503 should not
// fail a request that a second try would have served).
var (
	DefaultRetries = Retries{Max: 2, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}
	DefaultBreaker = BreakerConfig{Failures: 5, Ratio: 0.5, MinRequests: 20, Window: 30 * time.Second, Duration: 30 * time.Second}
)

// DefaultMaxRetryWait bounds a single backoff wait when the request has no deadline.
const DefaultMaxRetryWait = 30 * time.Second

// withDefaults fills unset backoff fields so `retries: {max: 3}` gets sensible waits.
func (r Retries) withDefaults() Retries {
	if r.Backoff <= 0 {
		r.Backoff = DefaultRetries.Backoff
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = DefaultRetries.MaxBackoff
	}
	if r.MaxBackoff < r.Backoff {
		r.MaxBackoff = r.Backoff
	}
	return r
}

// withDefaults fills every zero field from DefaultBreaker, so a partial `cooldown:` block works.
func (c BreakerConfig) withDefaults() BreakerConfig {
	d := DefaultBreaker
	if c.Failures <= 0 {
		c.Failures = d.Failures
	}
	if c.Ratio <= 0 {
		c.Ratio = d.Ratio
	}
	if c.MinRequests <= 0 {
		c.MinRequests = d.MinRequests
	}
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.Duration <= 0 {
		c.Duration = d.Duration
	}
	return c
}
