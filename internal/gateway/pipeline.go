package gateway

import (
	"context"

	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
)

// The request pipeline, stage by stage. Before it, internal/api authenticates the caller (auth.go: the virtual
// key becomes Request.Principal); after it, internal/api records the Outcome it returns (metrics, the trace's
// request span, the request log). In between, read top to bottom:
//
//	chatPipeline.Request  parse → layer → plan → authorize → bodyrefs → admit
//	preAttemptStages      (empty: a response cache lookup, pre-request guardrails)
//	dispatchTargets       per target of the plan, until one answers:
//	                        authorizeTarget (and the named files' provider) → admission.reserveTarget →
//	                        attempt: chatPipeline.Attempt route → acquire → encode → send → relay (which
//	                          meters), or the op layer around them
//	                        → meter → admission.settleTarget
//	postResponseStages    (empty: post-response guardrails, a response cache store)
//	settle                admission.settle: the request's reservation charged or released
//
// An operation that needs more than the core adds a Layer (layer.go; the Responses API's is in
// internal/gateway/responses, enabled with Engine.Use): a prepare step (the "layer" stage), a wrapper around each
// attempt and a finish step; the core stages never ask which operation they serve. A request the core does not
// read as a chat runs a Pipeline of its own through the same dispatch, meter and settle (Engine.Run; the
// provider pass-through's is internal/gateway/passthrough). Adding a stage means adding one entry to one list.

// Stage is one named request-level step. It may change only what its doc comment says; a non-nil *Error ends
// the request with that error before anything was written.
type Stage struct {
	Name string
	Run  func(e *Engine, f *Flow) *Error
}

// AttemptStage is one named step of an attempt at one target. An error ends the attempt; dispatch then decides
// between a retry, the next target, or failing.
type AttemptStage struct {
	Name string
	Run  func(e *Engine, f *Flow, t *Try) error
}

// Pipeline is what one entry point runs: its request stages, then per attempt its attempt stages. Serve runs
// chatPipeline; a package around the core (internal/gateway/passthrough) lists its own stages with the core's
// exported ones and runs them with Engine.Run.
type Pipeline struct {
	Request []Stage
	Attempt []AttemptStage
	// CutUsage is what an answer cut after it began is charged; nil: a chat's (cutUsage).
	CutUsage func(f *Flow) schema.Usage
}

// The core stages another pipeline may list.
var (
	// Plan resolves the model to the ordered targets to try (planTargets).
	Plan = Stage{"plan", planTargets}
	// Authorize applies the key's model allow-list (authorize).
	Authorize = Stage{"authorize", authorize}
	// BodyRefs holds the request to the files its body names (checkBodyRefs).
	BodyRefs = Stage{"bodyrefs", checkBodyRefs}
	// Admit reserves the request on every limit and budget (admit).
	Admit = Stage{"admit", admit}
	// Acquire takes a worker slot of the attempt's provider (acquireWorker).
	Acquire = AttemptStage{"acquire", acquireWorker}
)

// chatPipeline is every request Serve reads (chat, completions, embeddings, messages, responses, input_tokens).
var chatPipeline = Pipeline{
	Request: []Stage{{"parse", parseRequest}, {"layer", prepareLayer}, Plan, Authorize, BodyRefs, Admit},
	Attempt: []AttemptStage{{"route", routeCall}, Acquire, {"encode", encodeCall}, {"send", sendCall}, {"relay", relayAnswer}},
}

// preAttemptStages run after admission and before the first attempt. A stage that answers the request itself
// (a cache hit) sets flow.answered and no attempt is made. Empty today.
var preAttemptStages []Stage

// postResponseStages run after an answer was served, before the request is settled; they see flow.out. Empty
// today.
var postResponseStages []Stage

// Run runs one request through p, writing the answer to w. state is the pipeline's own (Flow.State). A
// returned *Error means nothing was written yet and the caller should be sent that error; any other error
// happened after the answer began.
func (e *Engine) Run(ctx context.Context, x *Exchange, req *Request, w relay.Sink, p *Pipeline, state any) (Outcome, error) {
	f := x.start(ctx, e, req, w)
	f.pipe, f.state = p, state
	return e.run(f)
}

// run takes a flow through its request stages, its attempts and settlement. The Outcome goes back to
// internal/api, which records it.
func (e *Engine) run(f *Flow) (Outcome, error) {
	stages := f.pipe.Request
	for i := range stages {
		if gerr := stages[i].Run(e, f); gerr != nil {
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
		if gerr := preAttemptStages[i].Run(e, f); gerr != nil {
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
		if gerr := postResponseStages[i].Run(e, f); gerr != nil {
			return gerr
		}
	}
	return nil
}

// runAttempt runs the pipeline's attempt stages on t, then lets go of what they took.
func (e *Engine) runAttempt(f *Flow, t *Try) error {
	defer t.release()
	stages := f.pipe.Attempt
	for i := range stages {
		if err := stages[i].Run(e, f, t); err != nil {
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
