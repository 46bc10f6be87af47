package requestlog

import "testing"

// TestAttemptsJSON: an attempt is a retry (same target) or a fallback (another) of the one before only within
// one model call; agent mode's consecutive model calls are neither.
func TestAttemptsJSON(t *testing.T) {
	cases := []struct {
		name            string
		attempts        []Attempt
		retry, fallback []bool
	}{
		{"retried then fell back", []Attempt{{Provider: "p", Model: "m"}, {Provider: "p", Model: "m"}, {Provider: "q", Model: "m"}},
			[]bool{false, true, false}, []bool{false, false, true}},
		{"agent mode: model calls", []Attempt{{Provider: "p", Model: "m", Call: 1}, {Provider: "p", Model: "m", Call: 2}, {Provider: "p", Model: "m", Call: 2}},
			[]bool{false, false, true}, []bool{false, false, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := attemptsJSON(c.attempts)
			for i, a := range out {
				if a.Retry != c.retry[i] || a.Fallback != c.fallback[i] || a.Call != c.attempts[i].Call {
					t.Fatalf("attempt %d: %+v", i, a)
				}
			}
		})
	}
}
