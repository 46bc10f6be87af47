package mockupstream

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// FaultHeader selects a fault per request with the same vocabulary as model
// names; it wins over the model. The gateway does not forward it by default,
// which is why the model name is the primary control.
const FaultHeader = "X-Mock-Fault"

// fault is a parsed fault control. Vocabulary (model name, last "/" segment,
// case-insensitive):
//
//	fail-<status>   answer <status> in the dialect's error format (429 adds Retry-After: 1)
//	hang            never answer; wait until the client goes away
//	slow-<ms>       extra latency before the first byte
//	reset           hijack the connection and reset it without answering
//	drop-midstream  send half the answer, then close without the final event
//	flaky-<pct>     that percent of requests (deterministically spread) fail with 500
//
// Anything else (e.g. mock-model, echo) answers normally.
type fault struct {
	status int
	hang   bool
	slow   time.Duration
	reset  bool
	drop   bool
	flaky  int
}

// controlName reduces a model id to the part that carries controls, so
// "models/fail-500", "openai/hang" and Bedrock/Vertex ids all work.
func controlName(model string) string {
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
	}
	return strings.ToLower(model)
}

func parseFault(model string) fault {
	n := controlName(model)
	var f fault
	switch {
	case n == "hang":
		f.hang = true
	case n == "reset":
		f.reset = true
	case n == "drop-midstream":
		f.drop = true
	case strings.HasPrefix(n, "fail-"):
		if v, err := strconv.Atoi(n[5:]); err == nil && v >= 400 && v <= 599 {
			f.status = v
		}
	case strings.HasPrefix(n, "slow-"):
		if v, err := strconv.Atoi(n[5:]); err == nil && v > 0 {
			f.slow = time.Duration(v) * time.Millisecond
		}
	case strings.HasPrefix(n, "flaky-"):
		if v, err := strconv.Atoi(n[6:]); err == nil && v > 0 {
			f.flaky = min(v, 100)
		}
	}
	return f
}

// preflight applies faults and latency; false means the request is over.
func (c *call) preflight() bool {
	c.fault = parseFault(c.model)
	if h := c.r.Header.Get(FaultHeader); h != "" {
		c.fault = parseFault(h)
	}
	f := c.fault
	if f.reset {
		c.abort(true)
		return false
	}
	if d := c.s.o.Latency + f.slow; d > 0 && !c.sleep(d) {
		return false
	}
	switch {
	case f.hang:
		c.hang()
		return false
	case f.status != 0:
		c.fail(f.status, "mock: injected failure "+strconv.Itoa(f.status))
		return false
	case f.flaky > 0 && spread(&c.s.flakyN, float64(f.flaky)/100):
		c.fail(http.StatusInternalServerError, "mock: flaky failure")
		return false
	case c.s.o.FailRatio > 0 && spread(&c.s.ratioN, c.s.o.FailRatio):
		c.fail(c.s.o.FailStatus, "mock: injected failure ratio")
		return false
	}
	return true
}

type counter interface{ Add(int64) int64 }

// spread reports whether this request is one of the failing share. It is
// deterministic (exactly floor(n*ratio) of the first n requests fail, evenly
// spaced) so tests can assert counts instead of probabilities.
func spread(n counter, ratio float64) bool {
	k := float64(n.Add(1))
	return math.Floor(k*ratio) > math.Floor((k-1)*ratio)
}
