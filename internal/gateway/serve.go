package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/reqbody"
	"github.com/weir-gateway/weir/internal/router"
	"github.com/weir-gateway/weir/internal/schema"
)

// Outcome describes how a served request went, for logs, metrics and accounting.
type Outcome struct {
	Alias    string // the alias the caller named, if any
	Provider string // the provider that answered (or failed last)
	Model    string // upstream model
	Status   int
	Stream   bool
	Usage    schema.Usage
	// Attempts lists every upstream call made, in order.
	Attempts []AttemptInfo
	// Committed is true once any byte of the answer was written to the caller.
	Committed bool
	TTFB      time.Duration
	// Text counts the bytes of generated text a stream relayed: a stream cut before its usage report is charged
	// for them (see cutUsage).
	Text int64
}

// AttemptInfo is one upstream call of a request.
type AttemptInfo struct {
	Provider string
	Model    string
	Status   int // 0: no answer (connection error, timeout)
	Latency  time.Duration
	Err      string
	KeyHint  string // the last four characters of the upstream key used ("" without one), for the request log
	Call     int    // the model call it served when a request makes several (agent mode: 1, 2, …); 0 otherwise
}

// Serve runs one request to completion, writing the answer to w: the stages of pipeline.go, in order. A returned
// *Error means nothing was written yet and the caller should be sent that error; any other error happened after
// the answer began (the stream was cut) and has already been reported to the caller in-stream where the dialect
// allows.
func (e *Engine) Serve(ctx context.Context, x *Exchange, req *Request, w relay.Sink) (Outcome, error) {
	return e.Run(ctx, x, req, w, &chatPipeline, nil)
}

// parseRequest reads what routing needs of the body (model, stream, fallbacks) and strips Weir's own fields. It
// sets f.ess, f.body, f.fallbacks, f.target, f.admitModel, f.admitBody and f.out.Stream.
func parseRequest(_ *Engine, f *Flow) *Error {
	ess, err := reqbody.Parse(f.req.Body)
	if err != nil {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
	}
	f.out.Stream = ess.Stream
	body := f.req.Body
	f.fallbacks = reqbody.Fallbacks(&ess, f.req.Header)
	if ess.Fallbacks.Exists() {
		// "fallbacks" is Weir's own field: upstreams reject fields they do not know.
		body, _ = sjson.DeleteBytes(body, "fallbacks")
		if ess, err = reqbody.Parse(body); err != nil {
			return errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_request", "%s", err.Error())
		}
	}
	f.ess, f.body = ess, body
	f.target, f.admitModel, f.admitBody = ess.Model.Str, ess.Model.Str, body
	return nil
}

// prepareLayer selects the operation's layer and runs its prepare step, which may pin the request to an account
// (f.target, f.fallbacks, f.pin) or change how it is served (f.ess, f.out.Stream, f.adm).
func prepareLayer(e *Engine, f *Flow) *Error {
	f.layer = e.layers[f.req.Op]
	if f.layer == nil || f.layer.Prepare == nil {
		return nil
	}
	return f.layer.Prepare(e, f)
}

// planTargets resolves f.target to the ordered targets to try (aliases, fallbacks, retries). It sets f.plan and
// f.out.Alias.
func planTargets(e *Engine, f *Flow) *Error {
	plan, gerr := e.plan(f.target, f.fallbacks)
	if gerr != nil {
		return gerr
	}
	f.plan = plan
	if e.router.Has(f.ess.Model.Str) {
		f.out.Alias = strings.Clone(f.ess.Model.Str) // outlives the request buffer (logs, metrics)
	}
	return nil
}

// plan resolves the requested model through the router; a bare model name listed by exactly one provider is
// accepted as that provider's.
func (e *Engine) plan(model string, fallbacks []string) (*router.Plan, *Error) {
	name := model
	if !e.router.Has(name) {
		if prov, m, ok := strings.Cut(name, "/"); !ok || e.Upstream(prov) == nil || m == "" {
			up, bare, gerr := e.Resolve(name)
			if gerr != nil {
				return nil, gerr
			}
			name = up.Config.Name + "/" + bare
		}
	}
	p, err := e.router.Plan(name, fallbacks)
	if err != nil {
		if errors.Is(err, router.ErrUnknownModel) {
			return nil, errorf(http.StatusNotFound, TypeNotFound, "model_not_found", "%s", err.Error())
		}
		return nil, errorf(http.StatusBadRequest, TypeInvalidRequest, "invalid_fallbacks", "%s", err.Error())
	}
	return p, nil
}

func errorBodyForClassify(ge *Error) []byte {
	if ge.Raw != nil {
		return ge.Raw
	}
	return []byte(ge.Type + " " + ge.Code + " " + ge.Message)
}

var attemptHeaders = func() [][]string {
	hs := make([][]string, 16)
	for i := range hs {
		hs[i] = []string{strconv.Itoa(i)}
	}
	return hs
}()

func attemptsHeader(n int) []string {
	if n < len(attemptHeaders) {
		return attemptHeaders[n]
	}
	return []string{strconv.Itoa(n)}
}

var (
	errUpstreamTimeout = errors.New("upstream timed out")
	errStreamIdle      = errors.New("upstream stream stalled")
	sseContentType     = []string{"text/event-stream"}
	noCache            = []string{"no-cache"}
	no                 = []string{"no"}
)

// relayBuffered writes a same-dialect JSON answer, reading its usage (relay.JSON).
func relayBuffered(w relay.Sink, resp *http.Response, x *Exchange, dialect dialects.Dialect, out *Outcome) error {
	usageOf := relay.OpenAIUsage
	if dialect == dialects.Anthropic {
		usageOf = relay.AnthropicUsage
	}
	u, buf, begun, err := relay.JSON(w, resp, x.Resp[:0], maxBufferedAnswer, usageOf)
	x.Resp, out.Usage, out.Committed = buf, u, begun
	if err != nil && !begun {
		return sendError(context.Background(), context.Background(), nil, err)
	}
	return err
}

const maxBufferedAnswer = 4 << 20

var jsonContentType = []string{"application/json"}

func poolError(up *Upstream, err error) *Error {
	switch {
	case errors.Is(err, dispatch.ErrQueueFull):
		return &Error{Status: http.StatusTooManyRequests, Type: TypeOverloaded, Code: "queue_full", RetryAfter: time.Second,
			Message: fmt.Sprintf("the gateway's queue for provider %s is full; retry shortly", up.Config.Name)}
	case errors.Is(err, dispatch.ErrQueueTimeout):
		return &Error{Status: http.StatusServiceUnavailable, Type: TypeOverloaded, Code: "queue_timeout", RetryAfter: time.Second,
			Message: fmt.Sprintf("no worker for provider %s became free in time; retry shortly", up.Config.Name)}
	default:
		return clientGone(err)
	}
}

// ErrAnswerCut marks an answer that broke after its first bytes reached the caller in a body with no in-band
// way to say so (relay.ErrCut): the caller's response must be aborted, not ended.
var ErrAnswerCut = relay.ErrCut

// cutUsage is what a chat answer that had begun and then broke (the caller went away, or the upstream did) is
// charged: the upstream bills the prompt and the output it generated, finished or not. The usage report, when
// it came, is completed with the prompt estimate and with the output counted from the text relayed (about four
// bytes a token). Never zero: a cut stream would otherwise cost nothing.
func cutUsage(body []byte, out *Outcome) schema.Usage {
	u := out.Usage
	if u.PromptTokens == 0 {
		u.PromptTokens, _ = reqbody.TokenEstimate(body)
	}
	if est := (out.Text + 3) / 4; est > u.CompletionTokens {
		u.CompletionTokens = est
	}
	u.TotalTokens = max(u.TotalTokens, u.PromptTokens+u.CompletionTokens)
	return u
}

func clientGone(err error) *Error {
	return &Error{Status: 499, Type: TypeInvalidRequest, Code: "client_closed_request", Message: "the caller went away: " + err.Error()}
}

// sendError maps a failure to get an upstream answer to 499 (caller gone), 504 (timeout) or 502 (unreachable).
func sendError(ctx, upCtx context.Context, up *Upstream, err error) *Error {
	name := "upstream"
	if up != nil {
		name = "provider " + up.Config.Name
	}
	if ctx.Err() != nil {
		return clientGone(ctx.Err())
	}
	var ne net.Error
	if errors.Is(context.Cause(upCtx), errUpstreamTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return errorf(http.StatusGatewayTimeout, TypeTimeout, "upstream_timeout", "%s did not answer in time", name)
	}
	return errorf(http.StatusBadGateway, TypeAPI, "upstream_unreachable", "%s could not be reached: %s", name, provider.RedactURL(err))
}

// Resolve maps "provider/model", or a bare model that one provider lists, to the provider and its model id.
func (e *Engine) Resolve(name string) (*Upstream, string, *Error) {
	up, model, nerr := e.Routes().Resolve(name)
	switch {
	case nerr == nil:
		return up, model, nil
	case nerr.Ambiguous:
		return nil, "", errorf(http.StatusBadRequest, TypeInvalidRequest, "ambiguous_model", "%s", nerr.Msg)
	}
	return nil, "", errorf(http.StatusNotFound, TypeNotFound, "model_not_found", "%s", nerr.Msg)
}
