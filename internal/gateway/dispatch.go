package gateway

import (
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// dispatchTargets walks the plan: each target in order, with retries and backoff, until one answers. Per target it
// authorizes the provider, reserves on the target's own limits, runs the attempt, meters it and settles the
// target's reservation. It sets f.out (provider, model, status, usage, attempts). A call pinned to one account
// (no plan) has one attempt there.
func dispatchTargets(e *Engine, f *Flow) error {
	if f.plan == nil {
		return e.attemptPinned(f)
	}
	h := f.w.Header()
	var last error
	a, ok := f.plan.Next(router.Outcome{})
	for ok {
		if a.Delay > 0 {
			if err := router.Wait(f.ctx, a.Delay); err != nil {
				return clientGone(err)
			}
		}
		up := f.rt.Get(a.Target.Provider)
		if up == nil { // a "provider/model" fallback naming no provider
			last = errorf(http.StatusNotFound, TypeNotFound, "model_not_found", "no provider named %q is configured", a.Target.Provider)
			a, ok = f.plan.Next(router.Outcome{Decision: router.NextTarget})
			continue
		}
		model := a.Target.Model
		f.out.Provider, f.out.Model = up.Config.Name, model
		h["X-Weir-Provider"] = up.nameHeader
		setModelHeader(h, model)
		h["X-Weir-Attempts"] = attemptsHeader(len(f.out.Attempts) + 1)
		start := time.Now()
		a.Begin()
		gerr := authorizeTarget(f, up)
		if gerr == nil {
			gerr = f.files.onTarget(up, model)
		}
		if gerr != nil {
			last = gerr
			a.Cancel() // not the target's fault; also gives back a half-open probe's lease
			a, ok = f.plan.Next(router.Outcome{Decision: router.NextTarget})
			continue
		}
		// Over one of the target's own limits, it is skipped and the 429 kept in case no other target serves.
		if gerr := f.adm.reserveTarget(&f.req, f.body, f.ess.Model.Str, up, model); gerr != nil {
			last = gerr
			a.Cancel()
			a, ok = f.plan.Next(router.Outcome{Decision: router.NextTarget})
			continue
		}
		actx, span := telemetry.StartAttempt(f.ctx, up.Config.Type, model)
		err := e.attempt(f, f.newTry(actx, up, model, a.Timeout))
		meter(f, up, err)
		f.adm.settleTarget(up.Config.Name, model, &f.out, err)
		telemetry.EndAttempt(span, telemetry.SpanResult{Provider: up.Config.Type, ResponseModel: model,
			InputTokens: f.out.Usage.PromptTokens, OutputTokens: f.out.Usage.CompletionTokens, Status: f.out.Status, Err: err})
		info := AttemptInfo{Provider: up.Config.Name, Model: model, Status: f.out.Status, Latency: time.Since(start),
			KeyHint: provider.HintOf(f.try.key)}
		up.health.Record(info.Latency, f.out.Status, err)
		if err == nil {
			a.End(f.out.TTFB, true, f.out.Status, 0)
			f.out.Attempts = append(f.out.Attempts, info)
			return nil
		}
		info.Err = err.Error()
		f.out.Attempts = append(f.out.Attempts, info)
		if f.out.Committed {
			a.End(f.out.TTFB, false, f.out.Status, 0)
			return err
		}
		last = err
		ge, _ := err.(*Error)
		if ge == nil {
			a.End(0, false, 0, 0)
			return err
		}
		if ge.Status == 499 || f.ctx.Err() != nil {
			a.Cancel()
			return ge
		}
		a.End(0, false, ge.Status, ge.RetryAfter)
		a, ok = f.plan.Next(router.Outcome{Decision: nextDecision(ge), RetryAfter: ge.RetryAfter})
	}
	if last == nil {
		last = errorf(http.StatusServiceUnavailable, TypeAPI, "no_target", "no target of model %q could be tried", f.ess.Model.Str)
	}
	return last
}

// nextDecision is what a failed attempt that wrote nothing means for the plan: retry, next target, or fail.
func nextDecision(ge *Error) router.Decision {
	status, cause := ge.Status, error(nil)
	if !ge.upstream && (ge.Status == http.StatusBadGateway || ge.Status == http.StatusGatewayTimeout) {
		status, cause = 0, ge // no upstream answer: a connection error or a timeout
	}
	if ge.Code == "queue_full" || ge.Code == "queue_timeout" {
		status, cause = 0, ge
	}
	dec := router.Classify(status, cause, errorBodyForClassify(ge))
	if !ge.upstream && ge.Status < 500 && ge.Status != http.StatusTooManyRequests {
		dec = router.NextTarget // the gateway's own refusal for this target (unsupported endpoint, no key)
	}
	return dec
}

// meter completes an attempt's usage (meterCut) and counts it in the provider's traffic.
func meter(f *Flow, up *Upstream, err error) {
	meterCut(f, err)
	up.usage.Count(err, f.out.Usage.PromptTokens, f.out.Usage.CompletionTokens)
}

// meterCut charges an answer cut after it began what it consumed (the pipeline's CutUsage, else cutUsage):
// never nothing.
func meterCut(f *Flow, err error) {
	switch {
	case err == nil || !f.out.Committed:
	case f.pipe.CutUsage != nil:
		f.out.Usage = f.pipe.CutUsage(f)
	default:
		f.out.Usage = cutUsage(f.body, &f.out)
	}
}

// attemptPinned is the one attempt of a call pinned to an account (Flow.PlanOne): no plan, no retry.
func (e *Engine) attemptPinned(f *Flow) error {
	p := f.pinned
	f.out.Provider, f.out.Model = p.up.Config.Name, p.model
	f.w.Header()["X-Weir-Provider"] = p.up.nameHeader
	start := time.Now()
	if gerr := f.files.onTarget(p.up, p.model); gerr != nil {
		return gerr
	}
	t := f.newTry(f.ctx, p.up, p.model, 0)
	if t.key == nil { // the key holding a named file, else the pin's
		t.key = p.key
	}
	err := e.attempt(f, t)
	meter(f, p.up, err)
	info := AttemptInfo{Provider: p.up.Config.Name, Model: p.model, Status: f.out.Status, Latency: time.Since(start),
		KeyHint: provider.HintOf(t.key)}
	p.up.health.Record(info.Latency, f.out.Status, err)
	if err != nil {
		info.Err = err.Error()
	}
	f.out.Attempts = append(f.out.Attempts, info)
	return err
}
