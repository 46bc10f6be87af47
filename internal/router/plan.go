package router

import (
	"fmt"
	"time"
)

// Outcome is what the caller learned from the previous attempt, fed to Plan.Next.
type Outcome struct {
	Decision   Decision      // usually Classify(status, err, body)
	RetryAfter time.Duration // ParseRetryAfter of the response, 0 if none
}

// Attempt is one upstream call to make.
type Attempt struct {
	Target *TargetState
	// Alias is the configured model whose settings produced this attempt; "" for a plain "provider/model".
	Alias string
	// Try is 0 for the first call to this target, n for its n-th retry.
	Try int
	// Delay is the backoff to wait before sending (see Wait); 0 for a new target.
	Delay time.Duration
	// Timeout bounds this call (the alias's timeout); 0: the provider's own.
	Timeout time.Duration
	// Probe means this call decides a half-open breaker (or is the forced probe when every candidate's
	// breaker is open): report it through this Attempt's End or Cancel, not the TargetState's.
	Probe bool
	// Forced means every candidate's breaker was open and this one, cooling down the soonest, is tried anyway.
	Forced bool
}

// Begin marks the attempt in flight.
func (a Attempt) Begin() { a.Target.Begin() }

// End reports the attempt's outcome (see TargetState.End).
func (a Attempt) End(ttfb time.Duration, ok bool, status int, retryAfter time.Duration) {
	a.Target.end(a.Probe, ttfb, ok, status, retryAfter)
}

// Cancel ends an attempt the client abandoned, without judging the target.
func (a Attempt) Cancel() { a.Target.cancel(a.Probe && !a.Forced) } // a forced probe holds no lease

type candidate struct {
	t *TargetState
	g *group // nil: a plain "provider/model" with router defaults
}

// inline sizes cover ordinary aliases (a few targets plus a fallback or two) so a Plan is one allocation.
const inlineCandidates = 8

// Plan is the ordered list of candidates for one request and the cursor through it. Not safe for
// concurrent use: one request owns it. Breakers are consulted lazily in Next, at the moment of each
// attempt, so a target that opens mid-request is skipped and a half-open probe is only claimed when used.
type Plan struct {
	r        *Router
	cands    []candidate
	cur      int // index into cands of the current target, -1 before the first attempt
	try      int
	yielded  int
	forced   bool
	done     bool
	deadline time.Time

	buf     [inlineCandidates]candidate
	scratch [inlineCandidates]*TargetState
}

// Plan resolves model (an alias or "provider/model") and the per-request fallbacks into a plan: the
// alias's targets in strategy order, then its configured fallbacks (recursively), then perRequestFallbacks
// (each an alias or "provider/model"). A target appears at most once. An unknown name yields an error
// wrapping ErrUnknownModel.
func (r *Router) Plan(model string, perRequestFallbacks []string) (*Plan, error) {
	p := &Plan{r: r, cur: -1}
	p.cands = p.buf[:0]
	if err := p.add(model); err != nil {
		return nil, err
	}
	for _, f := range perRequestFallbacks {
		if err := p.add(f); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *Plan) add(name string) error {
	if a, ok := p.r.aliases[name]; ok {
		for _, g := range a.chain {
			p.addGroup(g)
		}
		return nil
	}
	if t, ok := p.r.direct(name); ok {
		p.push(candidate{t: t})
		return nil
	}
	return fmt.Errorf("%w: %q", ErrUnknownModel, name)
}

func (p *Plan) addGroup(g *group) {
	if g.strategy == nil {
		for _, t := range g.targets {
			p.push(candidate{t: t, g: g})
		}
		return
	}
	for _, t := range g.strategy.Order(p.scratch[:0], g.targets, p.r.rnd) {
		p.push(candidate{t: t, g: g})
	}
}

// push appends unless the target is already planned: trying a failed target again under another
// alias's name only wastes the request's time (its retries were already spent).
func (p *Plan) push(c candidate) {
	for _, x := range p.cands {
		if x.t == c.t {
			return
		}
	}
	p.cands = append(p.cands, c)
}

// WithDeadline bounds the plan by the request's deadline (ctx.Deadline()): no backoff wait that would end
// past it, and no attempt once it has passed.
func (p *Plan) WithDeadline(d time.Time) *Plan {
	p.deadline = d
	return p
}

// Len is the number of distinct candidate targets.
func (p *Plan) Len() int { return len(p.cands) }

// Targets lists the candidates' "provider/model" in plan order (for logs and debugging).
func (p *Plan) Targets() []string {
	out := make([]string, len(p.cands))
	for i, c := range p.cands {
		out[i] = c.t.key
	}
	return out
}

func (p *Plan) retries(c candidate) Retries {
	if c.g == nil {
		return p.r.retries
	}
	return c.g.retries
}

func (p *Plan) attempt(c candidate, delay time.Duration, probe bool) Attempt {
	a := Attempt{Target: c.t, Try: p.try, Delay: delay, Probe: probe}
	if c.g != nil {
		a.Alias, a.Timeout = c.g.alias, c.g.timeout
	}
	return a
}

// Next returns the next attempt given the previous one's outcome (Outcome{} for the first call), or
// false when the request should stop: success, a non-retryable failure, candidates exhausted, or the
// deadline reached. Order: retry the current target while its retries last, the backoff fits before the
// deadline and its breaker allows; then the next candidate whose breaker allows; and if no attempt at all
// could be made because every breaker is open, one forced probe of the target whose cooldown ends soonest.
func (p *Plan) Next(o Outcome) (Attempt, bool) {
	if p.done {
		return Attempt{}, false
	}
	now := p.r.now()
	if !p.deadline.IsZero() && !now.Before(p.deadline) {
		return p.stop()
	}
	switch o.Decision {
	case Success, Fail:
		return p.stop()
	case RetrySame:
		if p.cur >= 0 {
			c := p.cands[p.cur]
			if rt := p.retries(c); p.try < rt.Max {
				delay := Backoff(p.try, rt, o.RetryAfter, p.r.rnd)
				if p.fits(now, delay) {
					// Ask the breaker about the moment the retry will be sent: a 429 that opened it for
					// Retry-After is closed again by then; a breaker tripped by failures is not.
					if ok, probe := c.t.breaker.allow(nanos(now.Add(delay))); ok {
						p.try++
						return p.attempt(c, delay, probe), true
					}
				}
			}
		}
	}
	for p.cur+1 < len(p.cands) {
		p.cur++
		p.try = 0
		c := p.cands[p.cur]
		if ok, probe := c.t.breaker.allow(nanos(now)); ok {
			p.yielded++
			return p.attempt(c, 0, probe), true
		}
	}
	if p.yielded == 0 && !p.forced && len(p.cands) > 0 {
		// Every breaker is open. Failing outright would turn a provider blip into a total outage for
		// the whole cooldown; instead try the target that expects to recover first.
		p.forced = true
		best := 0
		for i, c := range p.cands {
			if c.t.breaker.openUntil() < p.cands[best].t.breaker.openUntil() {
				best = i
			}
		}
		p.cur, p.try = best, 0
		p.yielded++
		a := p.attempt(p.cands[best], 0, true)
		a.Forced = true
		return a, true
	}
	return p.stop()
}

func (p *Plan) stop() (Attempt, bool) {
	p.done = true
	return Attempt{}, false
}

// fits reports whether waiting delay still leaves the request inside its deadline (or, without one,
// whether the wait is reasonable at all).
func (p *Plan) fits(now time.Time, delay time.Duration) bool {
	if p.deadline.IsZero() {
		return delay <= p.r.maxWait
	}
	return now.Add(delay).Before(p.deadline)
}
