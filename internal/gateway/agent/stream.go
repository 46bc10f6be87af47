package agent

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/translate"
)

// relayer streams a streamed agent-mode request's model calls to the caller in the route's dialect: each model
// call is made streamed, its text relayed as it arrives, its tool calls accumulated; the caller's one stream
// stays open across the loop's turns and is closed once the loop ends.
type relayer interface {
	// turn starts a model call's stream.
	turn()
	// event is one event of the model call's stream (already in the caller's dialect).
	event(name, data []byte) error
	// answer is the model call's answer accumulated as the dialect's unstreamed answer.
	answer() []byte
	// broken reports the model call's stream ended with an error event (already relayed to the caller).
	broken() bool
	// opened reports bytes were sent to the caller.
	opened() bool
	// end closes the caller's stream with the loop's last answer, the request's usage and its calls.
	end(r *run, ans answer) (gateway.Outcome, error)
}

// streamSink is a streamed model call's sink: an event stream goes to the relayer as it arrives, anything else
// (the model call's error answer) is kept whole.
type streamSink struct {
	rel    relayer
	header http.Header
	status int
	events bool
	rd     translate.EventReader
	b      bytes.Buffer
}

func (s *streamSink) Header() http.Header { return s.header }
func (s *streamSink) WriteHeader(status int) {
	s.status = status
	s.events = (status == 0 || status == http.StatusOK) && strings.HasPrefix(s.header.Get("Content-Type"), "text/event-stream")
}
func (s *streamSink) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if !s.events {
		return s.b.Write(p)
	}
	return len(p), s.rd.Feed(p, s.rel.event)
}
func (s *streamSink) Flush() error { return nil }

// passStream is one streamed model call through the engine, relayed as it goes.
func (r *run) passStream(ctx context.Context, body []byte) (answer, error) {
	x := r.a.eng.AcquireExchange()
	defer r.a.eng.ReleaseExchange(x)
	req := *r.req
	req.Body = body
	s := &streamSink{rel: r.rel, header: http.Header{}}
	r.rel.turn()
	o, err := r.a.eng.Serve(ctx, x, &req, s)
	r.merge(o)
	if err != nil {
		return answer{}, err
	}
	if !s.events {
		st := s.status
		if st == 0 {
			st = http.StatusOK
		}
		return answer{status: st, header: s.header, body: s.b.Bytes()}, nil
	}
	if err := s.rd.Finish(r.rel.event); err != nil {
		return answer{}, err
	}
	if r.rel.broken() {
		return answer{status: http.StatusBadGateway, header: s.header}, nil
	}
	return answer{status: http.StatusOK, header: s.header, body: r.rel.answer()}, nil
}

// callerStream is the caller's event stream, its headers sent with the first event.
type callerStream struct {
	w    relay.Sink
	out  *gateway.Outcome
	open bool
	err  error // the first failed write: the caller is gone
}

func (c *callerStream) write(b []byte) error {
	if c.err != nil {
		return c.err
	}
	if !c.open {
		h := c.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Del("Content-Length")
		c.w.WriteHeader(http.StatusOK)
		c.open = true
		c.out.Committed, c.out.Stream, c.out.Status = true, true, http.StatusOK
	}
	if _, c.err = c.w.Write(b); c.err == nil {
		c.err = c.w.Flush()
	}
	return c.err
}

func (c *callerStream) opened() bool { return c.open }
