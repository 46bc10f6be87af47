package api

import (
	"testing"

	"github.com/weir-gateway/weir/internal/gateway"
)

// TestAttemptCounts: a request's attempts are read per model call: a retry or fallback only within one.
func TestAttemptCounts(t *testing.T) {
	a := func(provider string, call int) gateway.AttemptInfo {
		return gateway.AttemptInfo{Provider: provider, Model: "m", Call: call}
	}
	cases := []struct {
		name                      string
		attempts                  []gateway.AttemptInfo
		calls, retries, fallbacks int
	}{
		{"none", nil, 0, 0, 0},
		{"one", []gateway.AttemptInfo{a("p", 0)}, 1, 0, 0},
		{"retried", []gateway.AttemptInfo{a("p", 0), a("p", 0)}, 1, 1, 0},
		{"fell back", []gateway.AttemptInfo{a("p", 0), a("q", 0)}, 1, 0, 1},
		{"agent mode: three model calls on one target", []gateway.AttemptInfo{a("p", 1), a("p", 2), a("p", 3)}, 3, 0, 0},
		{"agent mode: the second call retried, then fell back", []gateway.AttemptInfo{a("p", 1), a("p", 2), a("p", 2), a("q", 2)}, 2, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls, retries, fallbacks := attemptCounts(c.attempts)
			if calls != c.calls || retries != c.retries || fallbacks != c.fallbacks {
				t.Fatalf("calls %d, retries %d, fallbacks %d; want %d, %d, %d", calls, retries, fallbacks, c.calls, c.retries, c.fallbacks)
			}
		})
	}
}
