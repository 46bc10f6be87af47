package agent

import (
	"bytes"
	"context"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/gateway"
)

// answer is one model call's answer, buffered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// pass is one model call: a normal pass through the engine's pipeline (admitted, routed, translated, metered and
// settled like any request of the caller's), its answer buffered for the loop to read.
func (r *run) pass(ctx context.Context, body []byte) (answer, error) {
	x := r.a.eng.AcquireExchange()
	defer r.a.eng.ReleaseExchange(x)
	req := *r.req
	req.Body = body
	buf := &bufferSink{header: http.Header{}}
	o, err := r.a.eng.Serve(ctx, x, &req, buf)
	r.merge(o) // before the exchange, which backs o.Attempts, is reused
	if err != nil {
		return answer{}, err
	}
	st := buf.status
	if st == 0 {
		st = http.StatusOK
	}
	return answer{status: st, header: buf.header, body: buf.b.Bytes()}, nil
}

// merge adds one model call's outcome to the request's: its usage and attempts summed, the provider and model
// of the last.
func (r *run) merge(o gateway.Outcome) {
	if r.out.Alias == "" {
		r.out.Alias = o.Alias
	}
	if o.Provider != "" {
		r.out.Provider, r.out.Model = o.Provider, o.Model
	}
	r.out.Status = o.Status
	if r.out.TTFB == 0 {
		r.out.TTFB = o.TTFB
	}
	r.out.Usage.Add(o.Usage)
	r.calls++
	for _, a := range o.Attempts {
		a.Call = r.calls // one model call of several: its attempts are not retries of the previous call's
		r.out.Attempts = append(r.out.Attempts, a)
	}
}

// bufferSink keeps an answer in memory.
type bufferSink struct {
	header http.Header
	status int
	b      bytes.Buffer
}

func (s *bufferSink) Header() http.Header         { return s.header }
func (s *bufferSink) WriteHeader(status int)      { s.status = status }
func (s *bufferSink) Write(p []byte) (int, error) { return s.b.Write(p) }
func (s *bufferSink) Flush() error                { return nil }

func gjsonBool(body []byte, path string) bool { return gjson.GetBytes(body, path).Bool() }
