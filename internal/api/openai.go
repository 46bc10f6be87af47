package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// openAI serves an OpenAI-dialect inference route.
func (s *Server) openAI(op provider.Op) http.Handler {
	return s.inference(op, dialects.OpenAI, httpx.WriteOpenAIError)
}

// anthropic serves an Anthropic-dialect inference route.
func (s *Server) anthropic(op provider.Op) http.Handler {
	return s.inference(op, dialects.Anthropic, writeAnthropicError)
}

// inference serves one inference route of a dialect: authenticate, read the body, run the pipeline, and
// answer errors in the dialect's own format.
func (s *Server) inference(op provider.Op, dialect dialects.Dialect, writeError func(http.ResponseWriter, *gateway.Error)) http.Handler {
	return s.governed(writeError, func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, sink *sink) (gateway.Outcome, error) {
		body, gerr := readBody(r, x.In[:0], s.eng.MaxBody())
		x.In = body
		if gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if s.obs.LogContent {
			f.body = body
		}
		req := gateway.Request{Op: op, Dialect: dialect, Body: body, Header: r.Header, Principal: p}
		return s.serve(ctx, x, &req, sink)
	})
}

// serveFunc runs one governed request's work after authentication.
type serveFunc func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal, f *finished,
	w *sink) (gateway.Outcome, error)

// governed wraps every governed route: trace, authenticate, serve, answer a failure in the dialect's format
// (unless the answer had begun), and record the request in metrics and the log.
func (s *Server) governed(writeError func(http.ResponseWriter, *gateway.Error), serve serveFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := finished{r: r, start: time.Now()}
		s.setRequestID(w, &f)
		var x *gateway.Exchange
		defer func() {
			// Record before the buffers are reused: the record may view the request body.
			s.observe(&f)
			if x != nil {
				s.eng.ReleaseExchange(x)
			}
		}()
		ctx := telemetry.ExtractHeaders(r.Context(), r.Header)
		ctx, span := telemetry.StartRequest(ctx, r.Pattern, "")
		if sc := span.SpanContext(); sc.HasTraceID() {
			f.traceID = sc.TraceID().String()
		}
		telemetry.InjectHeaders(ctx, r.Header) // upstream calls continue this trace
		defer func() {
			telemetry.EndRequest(span, telemetry.SpanResult{Provider: f.out.Provider, ResponseModel: f.out.Model,
				InputTokens: f.out.Usage.PromptTokens, OutputTokens: f.out.Usage.CompletionTokens, Status: f.status,
				Attempts: len(f.out.Attempts), Err: f.err})
		}()
		p, gerr := s.principal(r)
		f.principal = p
		if gerr != nil {
			f.status, f.err = gerr.Status, gerr
			if r.ContentLength != 0 {
				w.Header().Set("Connection", "close") // don't read a refused caller's body
			}
			writeError(w, gerr)
			return
		}
		x = s.eng.AcquireExchange()
		sk := newSink(w)
		if s.obs.LogContent && s.obs.Log != nil {
			sk.captureMax = max(s.obs.LogContentBytes, 1)
			f.answer = sk
		}
		out, err := serve(ctx, r, x, p, &f, sk)
		f.out = out
		if err != nil {
			var ge *gateway.Error
			if errors.As(err, &ge) && !out.Committed {
				f.status, f.err = ge.Status, ge
				if ge.Status != 499 {
					writeError(w, ge)
				}
				return
			}
			// The answer had begun and was cut: by the caller leaving (499), or by the upstream (502).
			f.status, f.err = http.StatusBadGateway, err
			if sk.gone || r.Context().Err() != nil {
				f.status = 499
			} else if errors.Is(err, gateway.ErrAnswerCut) {
				// A body with no in-band error: abort it so the caller sees the failure rather than a complete-looking
				// answer. The deferred functions record the request first.
				panic(http.ErrAbortHandler)
			}
			return
		}
		f.status = http.StatusOK
		if out.Status > 200 && out.Status < 400 {
			f.status = out.Status // a pass-through answer's own success status (201, 204)
		}
	})
}

// readBody reads the request body into buf, refusing more than limit bytes with 413.
func readBody(r *http.Request, buf []byte, limit int64) ([]byte, *gateway.Error) {
	if r.ContentLength > limit {
		return buf, tooLarge(limit)
	}
	if r.ContentLength > 0 && int64(cap(buf)) < r.ContentLength {
		buf = make([]byte, 0, r.ContentLength)
	}
	lr := io.LimitedReader{R: r.Body, N: limit + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, tooLarge(limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, httpx.BodyReadError(err, "server.read_timeout")
		}
	}
}

func tooLarge(limit int64) *gateway.Error {
	return &gateway.Error{Status: http.StatusRequestEntityTooLarge, Type: gateway.TypeInvalidRequest, Code: "request_too_large",
		Header: httpx.CloseConn, Message: "the request body is larger than the gateway's limit of " + itoa(limit) + " bytes (server.max_body_bytes)"}
}

func uploadTooLarge(limit int64) *gateway.Error {
	return &gateway.Error{Status: http.StatusRequestEntityTooLarge, Type: gateway.TypeInvalidRequest, Code: "request_too_large",
		Header: httpx.CloseConn, Message: "the upload is larger than the gateway's limit of " + itoa(limit) + " bytes (server.max_upload_bytes)"}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
