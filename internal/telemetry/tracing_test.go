package telemetry

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

const (
	callerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID  = "00f067aa0ba902b7"
	callerParent  = "00-" + callerTraceID + "-" + callerSpanID + "-01"
)

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestTracingInMemory(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := install(TracingConfig{Enabled: true}, sdktrace.WithSyncer(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())

	in := http.Header{}
	in.Set("traceparent", callerParent)
	ctx := ExtractHeaders(context.Background(), in)
	ctx, req := StartRequest(ctx, "/v1/chat/completions", "smart")
	actx, att := StartAttempt(ctx, "openai", "gpt-4o")
	up := http.Header{}
	InjectHeaders(actx, up)
	wantParent := "00-" + callerTraceID + "-" + att.SpanContext().SpanID().String() + "-01"
	if got := up.Get("traceparent"); got != wantParent {
		t.Errorf("upstream traceparent = %q, want %q", got, wantParent)
	}
	EndAttempt(att, SpanResult{ResponseModel: "gpt-4o-2024-08-06", InputTokens: 11, OutputTokens: 22, Status: 200})
	EndRequest(req, SpanResult{Provider: "openai", ResponseModel: "gpt-4o-2024-08-06", InputTokens: 11, OutputTokens: 22, Status: 200, Attempts: 1})

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("spans = %d, want 2", len(spans))
	}
	a, r := spans[0], spans[1]
	if r.SpanContext.TraceID().String() != callerTraceID || a.SpanContext.TraceID().String() != callerTraceID {
		t.Errorf("trace ids %s / %s, want the caller's %s", r.SpanContext.TraceID(), a.SpanContext.TraceID(), callerTraceID)
	}
	if r.Parent.SpanID().String() != callerSpanID || !r.Parent.IsRemote() {
		t.Errorf("request parent = %s (remote %v), want caller span %s", r.Parent.SpanID(), r.Parent.IsRemote(), callerSpanID)
	}
	if a.Parent.SpanID() != r.SpanContext.SpanID() {
		t.Errorf("attempt parent = %s, want request span %s", a.Parent.SpanID(), r.SpanContext.SpanID())
	}
	if r.Name != "chat smart" || a.Name != "chat gpt-4o" {
		t.Errorf("names %q, %q", r.Name, a.Name)
	}
	if r.SpanKind != trace.SpanKindServer || a.SpanKind != trace.SpanKindClient {
		t.Errorf("kinds %v, %v", r.SpanKind, a.SpanKind)
	}
	ra, aa := attrs(r.Attributes), attrs(a.Attributes)
	for k, want := range map[attribute.Key]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.request.model":       "smart",
		"gen_ai.response.model":      "gpt-4o-2024-08-06",
		"gen_ai.system":              "openai",
		"gen_ai.usage.input_tokens":  int64(11),
		"gen_ai.usage.output_tokens": int64(22),
		"http.route":                 "/v1/chat/completions",
		"http.response.status_code":  int64(200),
	} {
		if got := ra[k].AsInterface(); got != want {
			t.Errorf("request %s = %v, want %v", k, got, want)
		}
	}
	for k, want := range map[attribute.Key]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.system":              "openai",
		"gen_ai.request.model":       "gpt-4o",
		"gen_ai.response.model":      "gpt-4o-2024-08-06",
		"gen_ai.usage.input_tokens":  int64(11),
		"gen_ai.usage.output_tokens": int64(22),
	} {
		if got := aa[k].AsInterface(); got != want {
			t.Errorf("attempt %s = %v, want %v", k, got, want)
		}
	}

	// An erroring attempt is marked as such; embeddings route maps to its operation.
	exp.Reset()
	ctx, req = StartRequest(context.Background(), "/v1/embeddings", "e5")
	_, att = StartAttempt(ctx, "openai", "e5")
	EndAttempt(att, SpanResult{Status: 502, Err: errors.New("connection refused")})
	EndRequest(req, SpanResult{Status: 502})
	spans = exp.GetSpans()
	if len(spans) != 2 || spans[0].Status.Code.String() != "Error" || spans[1].Status.Code.String() != "Error" {
		t.Fatalf("error spans: %+v", spans)
	}
	if op := attrs(spans[0].Attributes)["gen_ai.operation.name"].AsString(); op != "embeddings" {
		t.Errorf("attempt operation = %q", op)
	}
}

func TestTracingSampleRatioHonoursCaller(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	shutdown, err := install(TracingConfig{Enabled: true, SampleRatio: 0.000001}, sdktrace.WithSyncer(exp))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	in := http.Header{}
	in.Set("traceparent", callerParent) // sampled by the caller: kept despite the tiny ratio
	_, span := StartRequest(ExtractHeaders(context.Background(), in), "/v1/chat/completions", "m")
	span.End()
	if n := len(exp.GetSpans()); n != 1 {
		t.Fatalf("sampled caller: spans = %d, want 1", n)
	}
}

func TestTracingDisabledIsFree(t *testing.T) {
	shutdown, err := SetupTracing(context.Background(), TracingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	if TracingEnabled() {
		t.Fatal("enabled")
	}
	ctx := context.Background()
	h := http.Header{}
	h.Set("traceparent", callerParent)
	allocs := testing.AllocsPerRun(1000, func() {
		c := ExtractHeaders(ctx, h)
		c, s := StartRequest(c, "/v1/chat/completions", "m")
		c2, a := StartAttempt(c, "openai", "m")
		InjectHeaders(c2, h)
		EndAttempt(a, SpanResult{Status: 200})
		EndRequest(s, SpanResult{Status: 200})
	})
	if allocs != 0 {
		t.Fatalf("disabled tracing allocates %v per request", allocs)
	}
}

func TestTracingOTLPHTTPEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got []*collectortrace.ExportTraceServiceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if r.Header.Get("X-Test-Auth") != "secret" {
			http.Error(w, "no header", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	defer srv.Close()

	ctx := context.Background()
	shutdown, err := SetupTracing(ctx, TracingConfig{Enabled: true, Exporter: "otlp-http", Endpoint: srv.URL,
		Insecure: true, Headers: map[string]string{"X-Test-Auth": "secret"}, ServiceName: "weir-test"})
	if err != nil {
		t.Fatal(err)
	}
	in := http.Header{}
	in.Set("traceparent", callerParent)
	rctx, req := StartRequest(ExtractHeaders(ctx, in), "/v1/chat/completions", "gpt-4o")
	_, att := StartAttempt(rctx, "openai", "gpt-4o")
	EndAttempt(att, SpanResult{ResponseModel: "gpt-4o", InputTokens: 3, OutputTokens: 4, Status: 200})
	EndRequest(req, SpanResult{Provider: "openai", ResponseModel: "gpt-4o", InputTokens: 3, OutputTokens: 4, Status: 200})
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	names := map[string]bool{}
	var service string
	for _, req := range got {
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					if tid := trace.TraceID(sp.TraceId); tid.String() != callerTraceID {
						t.Errorf("span %q trace id %s, want %s", sp.Name, tid, callerTraceID)
					}
					names[sp.Name] = true
					var sys, in string
					for _, kv := range sp.Attributes {
						switch kv.Key {
						case "gen_ai.system":
							sys = kv.GetValue().GetStringValue()
						case "gen_ai.usage.input_tokens":
							in = kv.GetValue().String()
						}
					}
					if sys != "openai" || in == "" {
						t.Errorf("span %q: gen_ai.system %q, input tokens %q", sp.Name, sys, in)
					}
				}
			}
		}
	}
	if len(names) != 1 || !names["chat gpt-4o"] {
		t.Errorf("span names %v", names)
	}
	if n := countSpans(got); n != 2 {
		t.Errorf("received %d spans, want 2", n)
	}
	if service != "weir-test" {
		t.Errorf("service.name = %q", service)
	}
}

func countSpans(reqs []*collectortrace.ExportTraceServiceRequest) int {
	n := 0
	for _, r := range reqs {
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				n += len(ss.Spans)
			}
		}
	}
	return n
}

func BenchmarkTracingDisabled(b *testing.B) {
	ctx := context.Background()
	h := http.Header{}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c, s := StartRequest(ctx, "/v1/chat/completions", "m")
		c2, a := StartAttempt(c, "openai", "m")
		InjectHeaders(c2, h)
		EndAttempt(a, SpanResult{Status: 200})
		EndRequest(s, SpanResult{Status: 200})
	}
}
