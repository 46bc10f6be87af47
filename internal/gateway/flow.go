package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/reqbody"
	"github.com/weir-gateway/weir/internal/router"
	"github.com/weir-gateway/weir/internal/upload"
)

// Flow is one request's state as it moves through the stages of pipeline.go. It lives in the pooled Exchange,
// so carrying it costs a request no allocation. A Layer sees it through the methods of layer.go.
type Flow struct {
	ctx context.Context
	e   *Engine
	x   *Exchange
	req Request // a copy, so the caller's Request stays on its stack
	w   relay.Sink
	out Outcome

	ess       reqbody.Essentials
	body      []byte   // the body sent on: the caller's, less Weir's own "fallbacks"
	fallbacks []string // per-request fallbacks, after the plan's own targets
	target    string   // what plan resolves: the model as named, or the account a layer pinned the request to

	// admitModel is the model the allow-list and admission see ("" for a call naming none); admitBody sizes the
	// reservation (nil for an upload).
	admitModel string
	admitBody  []byte

	plan     *router.Plan // nil for a call planned on one account (pinned, Flow.PlanOne)
	pinned   pinnedTarget
	files    fileAccount // the account holding the files the body names (checkBodyRefs); only it may serve
	layer    *Layer      // the operation's layer around the core; nil for none
	pin      Account     // the layer's own: an account it keeps for the attempts (SetPin); the core never reads it
	adm      admission
	answered bool // set by a pre-attempt stage that answered the request itself: no attempt is made

	// rt is the provider set when the request arrived: its attempts go to these upstreams even if a provider is
	// changed or removed meanwhile, so an accepted request is never cut short by an admin edit.
	rt *providerset.Set[*Upstream]

	pipe   *Pipeline // the entry point's stages: chatPipeline, or another package's (Engine.Run)
	state  any       // that pipeline's own (Flow.State)
	try    Try
	altReq Request            // a request a layer sends in place of the caller's (Try.SendAs)
	altEss reqbody.Essentials // and its essentials
}

// pinnedTarget is the one provider (and key) a call goes to when its pipeline plans no targets (Flow.PlanOne).
type pinnedTarget struct {
	up    *Upstream
	key   *provider.Key
	model string
}

// Try is one attempt's state: the target, what is built to call it, and what must be let go when it ends.
type Try struct {
	f       *Flow
	ctx     context.Context // the attempt's, carrying its span
	up      *Upstream
	model   string
	key     *provider.Key // nil until encode picks one by weight
	timeout time.Duration // 0: the provider's own
	dialect dialects.Dialect

	// What the core sends and where the answer goes: the flow's request, body and sink, unless a layer rewrote
	// them (a translated Responses request goes as chat, its answer into a translator).
	req  *Request
	body []byte
	ess  *reqbody.Essentials
	w    relay.Sink

	call provider.Call

	pool   *dispatch.Pool // the worker slot held, nil for none
	cancel context.CancelCauseFunc
	upCtx  context.Context
	timer  *time.Timer
	upload *upload.Clock
	resp   *http.Response
	idle   *relay.IdleReader
}

// start makes the flow of a new request in x.
func (x *Exchange) start(ctx context.Context, e *Engine, req *Request, w relay.Sink) *Flow {
	f := &x.flow
	*f = Flow{ctx: ctx, e: e, x: x, req: *req, w: w, out: Outcome{Attempts: x.attempts[:0]}, rt: e.Routes()}
	f.adm.gov = e.gov
	return f
}

// newTry starts an attempt at model on up.
func (f *Flow) newTry(ctx context.Context, up *Upstream, model string, timeout time.Duration) *Try {
	f.try = Try{f: f, ctx: ctx, up: up, model: model, timeout: timeout, req: &f.req, body: f.body, ess: &f.ess, w: f.w,
		key: f.files.key} // a named file exists only in its key's account
	return &f.try
}

// release lets go of what an attempt holds, in the reverse order it was taken.
// Each is let go once, so a layer's attempt may release after the core stages did.
func (t *Try) release() {
	if t.idle != nil {
		t.idle.Stop()
		t.idle = nil
	}
	if t.resp != nil {
		t.resp.Body.Close()
		t.resp = nil
	}
	if t.upload != nil {
		t.upload.Stop()
		t.upload = nil
	}
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
	if t.cancel != nil {
		t.cancel(nil)
		t.cancel = nil
	}
	if t.pool != nil {
		t.pool.Release()
		t.pool = nil
	}
}
