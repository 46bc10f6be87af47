package router

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	cfg := Retries{Max: 10, Backoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second}
	rnd := seeded(11)
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{0, 200 * time.Millisecond},
		{1, 400 * time.Millisecond},
		{3, 1600 * time.Millisecond},
		{5, 5 * time.Second}, // 6.4s capped
		{62, 5 * time.Second},
		{1000, 5 * time.Second}, // no overflow
		{-1, 200 * time.Millisecond},
	}
	for _, tt := range tests {
		var maxSeen, sum time.Duration
		const n = 20_000
		for range n {
			d := Backoff(tt.attempt, cfg, 0, rnd)
			if d < 0 || d > tt.ceiling {
				t.Fatalf("attempt %d: %v outside [0, %v]", tt.attempt, d, tt.ceiling)
			}
			maxSeen = max(maxSeen, d)
			sum += d
		}
		// Full jitter is uniform: the mean sits near half the ceiling and the range is used.
		near(t, "mean/ceiling", float64(sum/n)/float64(tt.ceiling), 0.5, 0.02)
		if maxSeen < tt.ceiling*9/10 {
			t.Errorf("attempt %d: max %v never near ceiling %v", tt.attempt, maxSeen, tt.ceiling)
		}
	}
}

func TestBackoffHonoursRetryAfter(t *testing.T) {
	cfg := Retries{Max: 2, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	rnd := seeded(12)
	for range 1000 {
		if d := Backoff(0, cfg, 3*time.Second, rnd); d != 3*time.Second {
			t.Fatalf("Retry-After above the cap must be waited exactly: %v", d)
		}
		if d := Backoff(3, cfg, 50*time.Millisecond, rnd); d < 50*time.Millisecond || d > time.Second {
			t.Fatalf("Retry-After is a floor: %v", d)
		}
	}
}

func TestBackoffZeroConfigUsesDefaults(t *testing.T) {
	rnd := seeded(13)
	for range 1000 {
		if d := Backoff(0, Retries{Max: 1}, 0, rnd); d > DefaultRetries.Backoff {
			t.Fatalf("%v above default base", d)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"absent", nil, 0},
		{"seconds", map[string]string{"Retry-After": "12"}, 12 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "1.5"}, 1500 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"negative", map[string]string{"Retry-After": "-3"}, 0},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"ms wins", map[string]string{"Retry-After": "2", "retry-after-ms": "250"}, 250 * time.Millisecond},
		{"bad ms falls back", map[string]string{"Retry-After": "2", "retry-after-ms": "x"}, 2 * time.Second},
		{"huge", map[string]string{"Retry-After": "1e300"}, time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			if got := ParseRetryAfter(h, now); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Wait(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("cancelled wait: %v", err)
	}
	if err := Wait(context.Background(), 0); err != nil {
		t.Fatalf("zero wait: %v", err)
	}
}
