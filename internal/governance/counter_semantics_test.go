package governance_test

import (
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/governance/countertest"
)

// TestCounterSemantics runs the counter suite against the in-memory counters (rediscounter runs it on Redis).
func TestCounterSemantics(t *testing.T) {
	countertest.Run(t, countertest.Factory{
		Window: func(_ *testing.T, w time.Duration) governance.Counter { return governance.NewSlidingWindow(w) },
		Period: func(_ *testing.T, r governance.Reset) governance.Counter { return governance.NewPeriodCounter(r) },
	})
}
