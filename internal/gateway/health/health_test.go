package health

import (
	"errors"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/router"
)

func TestWindowPercentiles(t *testing.T) {
	var a Attempts
	for i := 1; i <= Window+100; i++ { // the first 100 fall out of the window
		var err error
		if i%10 == 0 {
			err = errors.New("boom")
		}
		a.Record(time.Duration(i)*time.Millisecond, 500, err)
	}
	r := a.Recent()
	if r.Requests != Window || r.Errors != Window/10 {
		t.Fatalf("recent = %+v", r)
	}
	// The window holds 101..356 ms: the median is 228 ms, the 95th percentile 343 ms.
	if r.P50ms != 228 || r.P95ms != 343 {
		t.Fatalf("p50 %v, p95 %v", r.P50ms, r.P95ms)
	}
	if a.Last() == nil || a.Last().Message != "boom" {
		t.Fatalf("last error = %+v", a.Last())
	}
}

func TestOfTakesTheWorstBreakerState(t *testing.T) {
	tests := []struct {
		name   string
		states []string
		want   string
	}{
		{"no targets", nil, "closed"},
		{"all closed", []string{"closed", "closed"}, "closed"},
		{"one half open", []string{"closed", "half_open"}, "half_open"},
		{"open wins", []string{"half_open", "open", "closed"}, "open"},
	}
	for _, tt := range tests {
		var snaps []router.Snapshot
		for _, s := range tt.states {
			snaps = append(snaps, router.Snapshot{Model: "m", State: s})
		}
		var a Attempts
		h := Of(&a, snaps)
		if h.State != tt.want || len(h.Targets) != len(tt.states) {
			t.Errorf("%s: state %q, %d targets; want %q", tt.name, h.State, len(h.Targets), tt.want)
		}
		if h.Recent.Requests != 0 || h.LastError != nil {
			t.Errorf("%s: an empty window reports %+v, %+v", tt.name, h.Recent, h.LastError)
		}
	}
}

func TestUsageCount(t *testing.T) {
	var u Usage
	u.Count(nil, 10, 5)
	u.Count(nil, 3, 2)
	u.Count(errors.New("boom"), 100, 100) // a failed attempt's tokens are not counted
	got, want := u.Map(), map[string]int64{"requests": 3, "errors": 1, "prompt_tokens": 13, "completion_tokens": 7}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (%v)", k, got[k], v, got)
		}
	}
}
