package gateway

import (
	"context"
	"io"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/upload"
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
	t.upload = upload.NewClock(timeout, func() { cancel(errUpstreamTimeout) })
	call.Body = t.upload.Body(call.Body)
}

// Answer is the answer's body as it arrives: from here the total timeout no longer applies (a stream, audio or
// a file may last as long as it keeps moving) and the provider's idle timeout does.
func (t *Try) Answer() io.Reader {
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.upload != nil {
		t.upload.Stop()
	}
	src := io.Reader(t.resp.Body)
	if idle := t.up.Config.StreamIdleTimeout.D(); idle > 0 {
		cancel := t.cancel
		t.idle = relay.NewIdleReader(t.resp.Body, idle, func() { cancel(errStreamIdle) })
		src = t.idle
	}
	return src
}
