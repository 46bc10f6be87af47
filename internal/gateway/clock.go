package gateway

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
)

// An attempt's clocks: the total timeout of the upstream call (the attempt's, else the provider's), which for an
// upload starts once it is sent, and the idle timeout that bounds an answer read as it arrives.

// startClock derives the upstream call's context, cancelled when the attempt's timeout (or else the provider's)
// runs out. It sets t.upCtx, t.cancel and t.timer.
func (t *Try) startClock() {
	upCtx, cancel := context.WithCancelCause(t.ctx)
	t.upCtx, t.cancel = upCtx, cancel
	timeout := t.timeout
	if timeout <= 0 {
		timeout = t.up.Config.Timeout.D()
	}
	if timeout > 0 {
		t.timer = time.AfterFunc(timeout, func() { cancel(errUpstreamTimeout) })
	}
}

// startUploadClock is startClock for an upload, which may take longer than the timeout to send: the clock
// starts when its last byte is sent. It sets t.upCtx, t.cancel, t.upload and wraps call.Body.
func (t *Try) startUploadClock(call *provider.RawCall) {
	upCtx, cancel := context.WithCancelCause(t.ctx)
	t.upCtx, t.cancel = upCtx, cancel
	timeout := t.timeout
	if timeout <= 0 {
		timeout = t.up.Config.Timeout.D()
	}
	if timeout <= 0 {
		return
	}
	t.upload = &uploadClock{d: timeout, t: time.AfterFunc(time.Hour, func() { cancel(errUpstreamTimeout) })}
	t.upload.t.Stop()
	call.Body = &eofReader{r: call.Body, eof: t.upload.start}
}

// uploadClock is an upstream timeout that starts once an upload has been sent, and never after the answer came.
type uploadClock struct {
	mu      sync.Mutex
	t       *time.Timer
	d       time.Duration
	stopped bool
}

func (c *uploadClock) start() {
	c.mu.Lock()
	if !c.stopped {
		c.t.Reset(c.d)
	}
	c.mu.Unlock()
}

func (c *uploadClock) stop() {
	c.mu.Lock()
	c.stopped = true
	c.t.Stop()
	c.mu.Unlock()
}

// eofReader calls eof once, when r is read to its end.
type eofReader struct {
	r    io.Reader
	eof  func()
	done bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF && !e.done {
		e.done = true
		e.eof()
	}
	return n, err
}

// Answer is the answer's body as it arrives: from here the total timeout no longer applies (a stream, audio or
// a file may last as long as it keeps moving) and the provider's idle timeout does.
func (t *Try) Answer() io.Reader {
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.upload != nil {
		t.upload.stop()
	}
	src := io.Reader(t.resp.Body)
	if idle := t.up.Config.StreamIdleTimeout.D(); idle > 0 {
		cancel := t.cancel
		t.idle = newIdleReader(t.resp.Body, idle, func() { cancel(errStreamIdle) })
		src = t.idle
	}
	return src
}

// idleReader cancels the upstream request when no byte arrives for the idle period.
type idleReader struct {
	r     io.Reader
	idle  time.Duration
	timer *time.Timer
}

func newIdleReader(r io.Reader, idle time.Duration, onIdle func()) *idleReader {
	return &idleReader{r: r, idle: idle, timer: time.AfterFunc(idle, onIdle)}
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.idle)
	}
	return n, err
}

func (ir *idleReader) stop() { ir.timer.Stop() }
