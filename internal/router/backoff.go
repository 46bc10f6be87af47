package router

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff returns how long to wait before retry number attempt (0 = the first retry) on the same
// target: full jitter, uniform in [0, min(MaxBackoff, Backoff*2^attempt)], so synchronized clients
// spread out instead of retrying in waves; but never less than the provider's Retry-After.
func Backoff(attempt int, cfg Retries, retryAfter time.Duration, rnd Rand) time.Duration {
	cfg = cfg.withDefaults()
	ceiling := cfg.MaxBackoff
	if attempt < 0 {
		attempt = 0
	}
	// Backoff*2^attempt without overflow: stop doubling once past the cap.
	if attempt < 63 && cfg.Backoff <= cfg.MaxBackoff>>attempt {
		ceiling = cfg.Backoff << attempt
	}
	d := time.Duration(rnd.Int64N(int64(ceiling) + 1))
	return max(d, retryAfter)
}

// ParseRetryAfter reads how long the provider asks us to wait: retry-after-ms (OpenAI, Azure; float
// milliseconds), then Retry-After as delta-seconds or an HTTP date relative to now. 0 when absent,
// unparseable or in the past.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			return clampDuration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return 0
		}
		return clampDuration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func clampDuration(ns float64) time.Duration {
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// Wait sleeps for d or until ctx ends, whichever is first; it returns ctx.Err() if ctx ended.
func Wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
