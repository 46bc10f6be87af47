package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// callRecord is one tool call as it is observed.
type callRecord struct {
	start           time.Time
	principal       *governance.Principal
	server          string
	name            string     // as the caller named it
	entry           *toolEntry // nil: unknown tool
	args            json.RawMessage
	result          *sdk.CallToolResult
	relayed         relayAnswer // the result as the server wrote it, when the call was relayed
	err             *Error
	cost            pricing.Money
	upstreamStart   time.Time
	upstreamLatency time.Duration
}

// status is the call's metric label: ok, tool_error (the tool answered isError), or the refusal's kind.
func (r *callRecord) status() string {
	switch {
	case r.err != nil:
		return r.err.Kind
	case r.toolError():
		return "tool_error"
	}
	return "ok"
}

// toolError reports whether the tool answered isError, in a typed or a relayed result.
func (r *callRecord) toolError() bool {
	return r.relayed.isError || r.result != nil && r.result.IsError
}

// observer records tool calls: metrics, the request log and the span.
type observer struct {
	opts     Options
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newObserver(opts Options) *observer {
	o := &observer{opts: opts}
	if opts.Metrics == nil {
		return o
	}
	o.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weir_mcp_tool_calls_total",
		Help: "MCP tool calls through /mcp and agent mode, by server, tool and status (ok, tool_error, or the refusal's kind)."},
		[]string{"server", "tool", "status"})
	o.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "weir_mcp_tool_call_duration_seconds",
		Help:    "Latency of MCP tool calls, from the gateway's receipt to the answer, by server and tool.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}},
		[]string{"server", "tool"})
	for _, c := range []prometheus.Collector{o.calls, o.duration} {
		if err := opts.Metrics.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				continue
			}
			opts.Log.Warn("mcp metrics not registered", "err", err)
		}
	}
	return o
}

var tracer = otel.Tracer("github.com/weir-gateway/weir/internal/mcp")

// startSpan starts a tool call's span (OpenTelemetry's execute_tool) under the caller's. When tracing is off
// it returns ctx and a non-recording span without allocating.
func startSpan(ctx context.Context, server, tool, name string) (context.Context, trace.Span) {
	if !telemetry.TracingEnabled() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracer.Start(ctx, "execute_tool "+name, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("gen_ai.operation.name", "execute_tool"), attribute.String("gen_ai.tool.name", name),
			attribute.String("weir.mcp.server", server), attribute.String("weir.mcp.tool", tool)))
}

func (o *observer) finish(span trace.Span, r *callRecord) {
	d := time.Since(r.start)
	tool := "" // an unknown tool is no label: callers choose its name
	if r.entry != nil {
		tool = r.entry.name
	}
	status := r.status()
	if o.calls != nil {
		o.calls.WithLabelValues(r.server, tool, status).Inc()
		o.duration.WithLabelValues(r.server, tool).Observe(d.Seconds())
	}
	o.endSpan(span, r, status)
	if o.opts.RequestLog == nil {
		return
	}
	result := []byte(r.relayed.result)
	if r.result != nil {
		result, _ = json.Marshal(r.result) // its size is logged; its content only with content logging on
	}
	o.log(r, d, status, result)
}

func (o *observer) endSpan(span trace.Span, r *callRecord, status string) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("weir.mcp.status", status))
	if r.principal != nil {
		span.SetAttributes(attribute.String("weir.virtual_key", r.principal.ID()))
	}
	if r.err != nil {
		span.SetStatus(codes.Error, r.err.Message)
	}
	span.End()
}

func (o *observer) log(r *callRecord, d time.Duration, status string, result []byte) {
	httpStatus := http.StatusOK
	var errMsg string
	if r.err != nil {
		httpStatus, errMsg = r.err.Status, r.err.Message
	} else if r.toolError() {
		errMsg = "the tool answered isError"
	}
	tool := r.name
	if r.entry != nil {
		tool = r.entry.name
	}
	rec := requestlog.Record{Time: r.start, Route: "mcp tools/call", Alias: r.name, Provider: r.server, Model: tool,
		Status: httpStatus, Error: errMsg, CostNanoUSD: int64(r.cost), Duration: d, TTFB: d}
	if p := r.principal; p != nil {
		rec.KeyID, rec.TeamID, rec.CustomerID = p.ID(), p.TeamID(), p.CustomerID()
	}
	if !r.upstreamStart.IsZero() {
		at := requestlog.Attempt{Provider: r.server, Model: tool, Status: httpStatus, Latency: r.upstreamLatency,
			RequestBytes: int64(len(r.args)), ResponseBytes: int64(len(result))}
		if r.err != nil {
			at.Error = r.err.Message
		}
		rec.Attempts = []requestlog.Attempt{at}
	}
	if o.opts.LogContent {
		rec.Request = requestlog.TruncateContent(r.args, o.opts.LogContentBytes)
		rec.Response = requestlog.TruncateContent(result, o.opts.LogContentBytes)
	}
	o.opts.RequestLog.Enqueue(rec)
}
