package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestTracesReachAnOTLPEndpoint: a caller's traceparent is continued; the request span and its attempt span reach
// a real OTLP/HTTP endpoint with GenAI attributes, and the upstream sees the same trace id.
func TestTracesReachAnOTLPEndpoint(t *testing.T) {
	collectorURL, collected := startCollector(t)
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, fmt.Sprintf(`
telemetry:
  tracing: {enabled: true, exporter: otlp-http, endpoint: "%s/v1/traces", insecure: true}
`, collectorURL)))
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	status, _, body := post(t, g.URL+"/v1/chat/completions", `{"model":"up/mock-model","messages":[{"role":"user","content":"x"}]}`,
		"traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if tp := up.LastRequest().Header.Get("Traceparent"); !strings.Contains(tp, traceID) {
		t.Fatalf("upstream traceparent %q does not continue the caller's trace", tp)
	}
	g.stop() // flushes the exporter
	spans := collected()
	var request, attempt bool
	for _, s := range spans {
		if !strings.HasPrefix(s, traceID) {
			continue
		}
		request = request || strings.Contains(s, "gen_ai.request.model")
		attempt = attempt || (strings.Contains(s, "gen_ai.system") && strings.Contains(s, "gen_ai.usage.input_tokens"))
	}
	if !request || !attempt {
		t.Fatalf("spans in the caller's trace lack GenAI attributes (request %v, attempt %v):\n%s", request, attempt, strings.Join(spans, "\n"))
	}
}

// startCollector serves OTLP/HTTP trace exports; collected lists the spans received so far, each as
// "traceid name key=value,…".
func startCollector(t *testing.T) (url string, collected func() []string) {
	t.Helper()
	var mu sync.Mutex
	var spans []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					var attrs []string
					for _, a := range sp.Attributes {
						attrs = append(attrs, a.Key+"="+a.Value.String())
					}
					spans = append(spans, fmt.Sprintf("%x %s %s", sp.TraceId, sp.Name, strings.Join(attrs, ",")))
				}
			}
		}
		mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(collector.Close)
	return collector.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), spans...)
	}
}
