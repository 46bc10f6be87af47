package telemetry

import (
	"context"
	"fmt"
	"net/http"
	neturl "net/url"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config is the `telemetry:` section of the configuration.
type Config struct {
	Tracing TracingConfig  `yaml:"tracing"`
	Metrics MetricsOptions `yaml:"metrics"`
}

// TracingConfig is `telemetry.tracing`. Tracing is off by default.
type TracingConfig struct {
	Enabled bool `yaml:"enabled"`
	// Exporter is "otlp-http" (default) or "otlp-grpc".
	Exporter string `yaml:"exporter"`
	// Endpoint is host:port (e.g. "localhost:4318") or a URL ("https://collector:4318/v1/traces"); empty uses
	// the OTEL_EXPORTER_OTLP_* environment or the exporter's default (localhost:4318 / localhost:4317).
	Endpoint string `yaml:"endpoint"`
	// Insecure uses plain HTTP / gRPC without TLS.
	Insecure bool              `yaml:"insecure"`
	Headers  map[string]string `yaml:"headers"`
	// SampleRatio is the fraction of new traces sampled, in (0,1]; 0 (unset) means 1. A caller's sampled flag
	// in traceparent is honoured (parent-based sampling).
	SampleRatio float64 `yaml:"sample_ratio"`
	// ServiceName is the resource's service.name; default "weir".
	ServiceName string `yaml:"service_name"`
}

// GenAI semantic-convention attribute keys.
const (
	AttrGenAISystem        = attribute.Key("gen_ai.system")
	AttrGenAIOperation     = attribute.Key("gen_ai.operation.name")
	AttrGenAIRequestModel  = attribute.Key("gen_ai.request.model")
	AttrGenAIResponseModel = attribute.Key("gen_ai.response.model")
	AttrGenAIInputTokens   = attribute.Key("gen_ai.usage.input_tokens")
	AttrGenAIOutputTokens  = attribute.Key("gen_ai.usage.output_tokens")
	AttrHTTPRoute          = attribute.Key("http.route")
	AttrHTTPStatus         = attribute.Key("http.response.status_code")
	AttrWeirProvider       = attribute.Key("weir.provider")
	AttrWeirAttempts       = attribute.Key("weir.attempts")
)

const instrumentationName = "github.com/weir-gateway/weir"

// tracingState is swapped atomically by SetupTracing and its shutdown.
type tracingState struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

var state atomic.Pointer[tracingState] // nil: tracing off

// TracingEnabled reports whether SetupTracing installed a tracer.
func TracingEnabled() bool { return state.Load() != nil }

// SetupTracing starts the OTLP exporter and installs the tracer used by StartRequest and StartAttempt (and, for
// other instrumentation, the global OpenTelemetry tracer provider and a W3C trace-context propagator). When
// cfg.Enabled is false it installs nothing and returns a no-op shutdown. Call shutdown on exit to flush spans.
func SetupTracing(ctx context.Context, cfg TracingConfig) (shutdown func(context.Context) error, err error) {
	if !cfg.Enabled {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := newExporter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return install(cfg, sdktrace.WithBatcher(exp))
}

func newExporter(ctx context.Context, cfg TracingConfig) (sdktrace.SpanExporter, error) {
	url := strings.Contains(cfg.Endpoint, "://")
	switch cfg.Exporter {
	case "", "otlp-http", "otlphttp", "http":
		var opts []otlptracehttp.Option
		if cfg.Endpoint != "" {
			if url {
				// A collector URL without a path means its standard traces path.
				ep := cfg.Endpoint
				if u, err := neturl.Parse(ep); err == nil && (u.Path == "" || u.Path == "/") {
					u.Path = "/v1/traces"
					ep = u.String()
				}
				opts = append(opts, otlptracehttp.WithEndpointURL(ep))
			} else {
				opts = append(opts, otlptracehttp.WithEndpoint(cfg.Endpoint))
			}
		}
		if cfg.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		if len(cfg.Headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(cfg.Headers))
		}
		return otlptracehttp.New(ctx, opts...)
	case "otlp-grpc", "otlpgrpc", "grpc":
		var opts []otlptracegrpc.Option
		if cfg.Endpoint != "" {
			if url {
				opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
			} else {
				opts = append(opts, otlptracegrpc.WithEndpoint(cfg.Endpoint))
			}
		}
		if cfg.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		if len(cfg.Headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(cfg.Headers))
		}
		return otlptracegrpc.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("telemetry.tracing.exporter: unknown %q (want otlp-http or otlp-grpc)", cfg.Exporter)
	}
}

// install builds the provider around a span processor option and makes it current.
func install(cfg TracingConfig, proc sdktrace.TracerProviderOption) (func(context.Context) error, error) {
	ratio := cfg.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	name := cfg.ServiceName
	if name == "" {
		name = "weir"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", name)))
	if err != nil {
		res = resource.NewSchemaless(attribute.String("service.name", name))
	}
	tp := sdktrace.NewTracerProvider(proc, sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	st := &tracingState{tracer: tp.Tracer(instrumentationName), prop: prop}
	state.Store(st)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(prop)
	return func(ctx context.Context) error {
		if state.CompareAndSwap(st, nil) {
			otel.SetTracerProvider(noop.NewTracerProvider())
		}
		return tp.Shutdown(ctx)
	}, nil
}

// ExtractHeaders returns ctx carrying the caller's W3C trace context (traceparent, tracestate, baggage) from
// h, so StartRequest continues the caller's trace. A no-op when tracing is off.
func ExtractHeaders(ctx context.Context, h http.Header) context.Context {
	st := state.Load()
	if st == nil {
		return ctx
	}
	return st.prop.Extract(ctx, propagation.HeaderCarrier(h))
}

// InjectHeaders writes the current span's trace context into h (an upstream request's headers). A no-op when
// tracing is off.
func InjectHeaders(ctx context.Context, h http.Header) {
	st := state.Load()
	if st == nil {
		return
	}
	st.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// StartRequest starts the server span of one inbound request. route is the inbound route pattern, model the
// model (or alias) the caller named. End it with EndRequest (or span.End). When tracing is off it returns ctx
// unchanged and a non-recording span, without allocating.
func StartRequest(ctx context.Context, route, model string) (context.Context, trace.Span) {
	st := state.Load()
	if st == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	op := Operation(route)
	ctx = context.WithValue(ctx, opKey{}, op)
	return st.tracer.Start(ctx, spanName(op, model), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			AttrGenAIOperation.String(op),
			AttrGenAIRequestModel.String(model),
			AttrHTTPRoute.String(route),
		))
}

type opKey struct{}

// StartAttempt starts the client span of one upstream call under the request span. provider is the provider
// (its type, e.g. "openai", "anthropic", "aws.bedrock", is the gen_ai.system value the conventions expect; the
// lead may pass the configured name, also recorded as weir.provider).
func StartAttempt(ctx context.Context, provider, model string) (context.Context, trace.Span) {
	st := state.Load()
	if st == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	op, _ := ctx.Value(opKey{}).(string)
	if op == "" {
		op = "chat"
	}
	return st.tracer.Start(ctx, spanName(op, model), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			AttrGenAIOperation.String(op),
			AttrGenAISystem.String(provider),
			AttrWeirProvider.String(provider),
			AttrGenAIRequestModel.String(model),
		))
}

// SpanResult is what EndRequest and EndAttempt record before ending a span.
type SpanResult struct {
	Provider      string // final provider (request spans: sets gen_ai.system)
	ResponseModel string
	InputTokens   int64
	OutputTokens  int64
	Status        int
	Attempts      int // request spans
	Err           error
}

// EndRequest records the request's outcome on its span and ends it.
func EndRequest(span trace.Span, r SpanResult) { endSpan(span, r) }

// EndAttempt records an upstream call's outcome on its span and ends it.
func EndAttempt(span trace.Span, r SpanResult) { endSpan(span, r) }

func endSpan(span trace.Span, r SpanResult) {
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 7)
	if r.Provider != "" {
		attrs = append(attrs, AttrGenAISystem.String(r.Provider), AttrWeirProvider.String(r.Provider))
	}
	if r.ResponseModel != "" {
		attrs = append(attrs, AttrGenAIResponseModel.String(r.ResponseModel))
	}
	if r.InputTokens > 0 || r.OutputTokens > 0 {
		attrs = append(attrs, AttrGenAIInputTokens.Int64(r.InputTokens), AttrGenAIOutputTokens.Int64(r.OutputTokens))
	}
	if r.Status != 0 {
		attrs = append(attrs, AttrHTTPStatus.Int(r.Status))
	}
	if r.Attempts > 0 {
		attrs = append(attrs, AttrWeirAttempts.Int(r.Attempts))
	}
	span.SetAttributes(attrs...)
	switch {
	case r.Err != nil:
		span.RecordError(r.Err)
		span.SetStatus(codes.Error, r.Err.Error())
	case r.Status >= 500:
		span.SetStatus(codes.Error, http.StatusText(r.Status))
	}
	span.End()
}

// Operation maps an inbound route to gen_ai.operation.name.
func Operation(route string) string {
	switch {
	case strings.HasSuffix(route, "/chat/completions"), strings.HasSuffix(route, "/messages"), strings.HasSuffix(route, "/responses"):
		return "chat"
	case strings.HasSuffix(route, "/completions"):
		return "text_completion"
	case strings.HasSuffix(route, "/embeddings"):
		return "embeddings"
	case strings.Contains(route, "generateContent"):
		return "generate_content"
	}
	return "chat"
}

func spanName(op, model string) string {
	if model == "" {
		return op
	}
	return op + " " + model
}
