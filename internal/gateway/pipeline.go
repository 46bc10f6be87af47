package gateway

import "github.com/weir-gateway/weir/internal/schema"

// The request pipeline, stage by stage. Before it, internal/api authenticates the caller (auth.go: the virtual
// key becomes Request.Principal); after it, internal/api records the Outcome it returns (metrics, the trace's
// request span, the request log). In between, read top to bottom:
//
//	requestStages      parse → layer → plan → authorize → bodyrefs → admit
//	preAttemptStages   (empty: a response cache lookup, pre-request guardrails)
//	dispatchTargets    per target of the plan, until one answers:
//	                     authorizeTarget (and the named files' provider) → admission.reserveTarget →
//	                     attempt: coreAttemptStages route → acquire → encode → send → relay (which meters),
//	                       or the op layer around them
//	                     → meter → admission.settleTarget
//	postResponseStages (empty: post-response guardrails, a response cache store)
//	settle             admission.settle: the request's reservation charged or released
//
// An operation that needs more than the core adds a Layer (layer.go; the Responses API's is in
// internal/gateway/responses, enabled with Engine.Use): a prepare step (the "layer" stage), a wrapper around each
// attempt and a finish step; the core stages never ask which operation they serve. Adding a stage means adding
// one entry to one of these lists.

// stage is one named request-level step. It may change only what its doc comment says; a non-nil *Error ends
// the request with that error before anything was written.
type stage struct {
	name string
	run  func(e *Engine, f *Flow) *Error
}

// attemptStage is one named step of an attempt at one target. An error ends the attempt; dispatch then decides
// between a retry, the next target, or failing.
type attemptStage struct {
	name string
	run  func(e *Engine, f *Flow, t *Try) error
}

// requestStages run once per request served by Serve (chat, completions, embeddings, messages, responses,
// input_tokens), in order.
var requestStages = [...]stage{
	{"parse", parseRequest},
	{"layer", prepareLayer},
	{"plan", planTargets},
	{"authorize", authorize},
	{"bodyrefs", checkBodyRefs},
	{"admit", admit},
}

// rawRequestStages run once per pass-through request (ServeRaw): its own parse and plan (the body is not a
// chat; a call about a stored object is pinned to its account), then the same authorize, bodyrefs and admit.
var rawRequestStages = [...]stage{
	{"parse", parseRaw},
	{"plan", planRaw},
	{"authorize", authorize},
	{"bodyrefs", checkBodyRefs}, // a native /openai/chat/completions names files as /v1's does
	{"admit", admit},
}

// preAttemptStages run after admission and before the first attempt. A stage that answers the request itself
// (a cache hit) sets flow.answered and no attempt is made. Empty today.
var preAttemptStages []stage

// coreAttemptStages are one attempt of a request the gateway reads (Serve).
var coreAttemptStages = [...]attemptStage{
	{"route", routeCall},
	{"acquire", acquireWorker},
	{"encode", encodeCall},
	{"send", sendCall},
	{"relay", relayAnswer},
}

// rawAttemptStages are one attempt of a pass-through request (ServeRaw).
var rawAttemptStages = [...]attemptStage{
	{"route", routeRaw},
	{"acquire", acquireWorker},
	{"encode", encodeRaw},
	{"send", sendRaw},
	{"relay", relayRawAnswer},
}

// postResponseStages run after an answer was served, before the request is settled; they see flow.out. Empty
// today.
var postResponseStages []stage

// run takes a flow through its request stages, its attempts and settlement. The Outcome goes back to
// internal/api, which records it.
func (e *Engine) run(f *Flow, stages []stage) (Outcome, error) {
	for i := range stages {
		if gerr := stages[i].run(e, f); gerr != nil {
			f.adm.settle(false, "", "", schema.Usage{}) // gives back what a stage before the failing one reserved
			return f.out, gerr
		}
	}
	err := e.serveAdmitted(f)
	f.adm.settle(err == nil, f.out.Provider, f.out.Model, f.out.Usage)
	return f.out, err
}

// serveAdmitted runs what follows admission: the pre-attempt stages, the attempts, the op layer's finish and
// the post-response stages.
func (e *Engine) serveAdmitted(f *Flow) error {
	for i := range preAttemptStages {
		if gerr := preAttemptStages[i].run(e, f); gerr != nil {
			return gerr
		}
	}
	if !f.answered {
		err := dispatchTargets(e, f)
		if f.layer != nil && f.layer.Finish != nil {
			f.layer.Finish(f)
		}
		if err != nil {
			return err
		}
	}
	for i := range postResponseStages {
		if gerr := postResponseStages[i].run(e, f); gerr != nil {
			return gerr
		}
	}
	return nil
}

// runAttempt runs the flow's attempt stages on t.
func (e *Engine) runAttempt(f *Flow, t *Try) error { return e.runStages(f, t, f.tries) }

// runStages runs attempt stages on t, then lets go of what they took.
func (e *Engine) runStages(f *Flow, t *Try, stages []attemptStage) error {
	defer t.release()
	for i := range stages {
		if err := stages[i].run(e, f, t); err != nil {
			return err
		}
	}
	return nil
}

// attempt is one attempt at t's target: through the operation's layer when it has one, else the stages alone.
func (e *Engine) attempt(f *Flow, t *Try) error {
	f.out.Status, f.out.Text = 0, 0
	if f.layer != nil && f.layer.Attempt != nil {
		err := f.layer.Attempt(e, f, t)
		t.release() // what the layer's own calls (Try.Send) took
		return err
	}
	return e.runAttempt(f, t)
}
