package api

import (
	"net"
	"net/http"
	"time"
	"unsafe"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// Observability is what the API records about each inference request. Every field is optional.
type Observability struct {
	Metrics *telemetry.Metrics
	Log     *requestlog.Writer
	// Prices values usage for metrics and the log.
	Prices *pricing.Registry
	// LogHeaders are the request headers copied into each record; LogContent adds the bodies, truncated.
	LogHeaders      []string
	LogContent      bool
	LogContentBytes int
}

// finished is one inference request's end, as the handler saw it.
type finished struct {
	r         *http.Request
	start     time.Time
	out       gateway.Outcome
	status    int
	err       error
	principal *governance.Principal
	body      []byte
	traceID   string // the request span's trace, when tracing is on
	answer    *sink  // with content logging on: the answer's first bytes
	// id is the request-log record's id, sent as X-Weir-Request-Id before the answer begins ("" without a log).
	id string
}

// requestID is one allocation holding a request id's text and the header value viewing it: the record's id
// string would be allocated anyway, so the header costs nothing more.
type requestID struct {
	header [1]string
	text   [requestlog.IDLen]byte
}

// RequestIDHeader carries the request's log-record id on every answer of a logged inference route, so a caller
// can fetch its own entry (GET /api/logs/{id}) exactly.
const RequestIDHeader = "X-Weir-Request-Id"

// setRequestID gives the request its log-record id now, so the answer's headers can carry it.
func (s *Server) setRequestID(w http.ResponseWriter, f *finished) {
	if s.obs.Log == nil {
		return
	}
	id := new(requestID)
	requestlog.PutID(&id.text)
	id.header[0] = unsafe.String(&id.text[0], len(id.text)) // text is never written again
	f.id = id.header[0]
	w.Header()[RequestIDHeader] = id.header[:]
}

// observe records a finished request in metrics and the request log. It never blocks: the log writer queues.
func (s *Server) observe(f *finished) {
	o := &s.obs
	if o.Metrics == nil && o.Log == nil {
		return
	}
	dur := time.Since(f.start)
	var upstream time.Duration
	for _, a := range f.out.Attempts {
		upstream += a.Latency
	}
	calls, retries, fallbacks := attemptCounts(f.out.Attempts)
	var cost pricing.Money
	if o.Prices != nil && !f.out.Usage.IsZero() {
		cost = o.Prices.Cost(f.out.Provider+"/"+f.out.Model, f.out.Usage)
	}
	var keyID, teamID, customerID string
	if f.principal != nil {
		keyID, teamID, customerID = f.principal.ID(), f.principal.TeamID(), f.principal.CustomerID()
	}
	if o.Metrics != nil {
		o.Metrics.Observe(&telemetry.Record{
			Route: f.r.Pattern, Alias: f.out.Alias, Provider: f.out.Provider, Model: f.out.Model, Status: f.status,
			Stream: f.out.Stream, Duration: dur, TTFB: f.out.TTFB, Upstream: upstream,
			InputTokens: f.out.Usage.PromptTokens, OutputTokens: f.out.Usage.CompletionTokens, CostNanoUSD: int64(cost),
			Attempts: len(f.out.Attempts), ModelCalls: calls, Retries: retries, Fallbacks: fallbacks, KeyID: keyID, TeamID: teamID,
		})
		if f.status == http.StatusTooManyRequests {
			if ge, ok := f.err.(*gateway.Error); ok {
				o.Metrics.RateLimited(ge.Code)
			}
		}
	}
	if o.Log == nil {
		return
	}
	rec := requestlog.Record{
		ID: f.id, Time: f.start, KeyID: keyID, TeamID: teamID, CustomerID: customerID, Route: f.r.Pattern, Alias: f.out.Alias,
		Provider: f.out.Provider, Model: f.out.Model, Status: f.status,
		InputTokens: f.out.Usage.PromptTokens, OutputTokens: f.out.Usage.CompletionTokens, CostNanoUSD: int64(cost),
		TTFB: f.out.TTFB, Duration: dur, Stream: f.out.Stream, CallerIP: callerIP(f.r), TraceID: f.traceID,
		Overhead: max(dur-upstream, 0),
	}
	if f.err != nil {
		rec.Error = f.err.Error()
	}
	if len(f.out.Attempts) > 0 {
		rec.Attempts = make([]requestlog.Attempt, len(f.out.Attempts))
		for i, a := range f.out.Attempts {
			rec.Attempts[i] = requestlog.Attempt{Provider: a.Provider, Model: a.Model, Status: a.Status, Latency: a.Latency,
				Error: a.Err, KeyHint: a.KeyHint, Call: a.Call}
		}
		rec.ProviderKey = f.out.Attempts[len(f.out.Attempts)-1].KeyHint
	}
	if len(o.LogHeaders) > 0 {
		rec.Headers = requestlog.SelectHeaders(f.r.Header, o.LogHeaders)
	}
	if o.LogContent {
		rec.Request = requestlog.TruncateContent(f.body, o.LogContentBytes)
		if f.answer != nil {
			rec.Response = requestlog.TruncatedContent(f.answer.capture, f.answer.written)
		}
	}
	o.Log.Enqueue(rec)
}

// attemptCounts reads a request's upstream calls: the first attempt of each model call starts it (a request
// makes one; agent mode numbers several by AttemptInfo.Call), and a later attempt of the same model call is a
// retry on the same target or a fallback to another.
func attemptCounts(as []gateway.AttemptInfo) (calls, retries, fallbacks int) {
	for i, a := range as {
		switch prev := &as[max(i-1, 0)]; {
		case i == 0 || a.Call != prev.Call:
			calls++
		case a.Provider == prev.Provider && a.Model == prev.Model:
			retries++
		default:
			fallbacks++
		}
	}
	return calls, retries, fallbacks
}

func callerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
