package relay

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/schema"
)

// ReadUpTo appends from r to buf until EOF or limit bytes; complete reports EOF was reached.
func ReadUpTo(r io.Reader, buf []byte, limit int) ([]byte, bool, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// IdleReader reads r and calls onIdle when no byte arrives for the idle period (to cancel the upstream
// request); Stop ends the watch.
type IdleReader struct {
	r     io.Reader
	idle  time.Duration
	timer *time.Timer
}

func NewIdleReader(r io.Reader, idle time.Duration, onIdle func()) *IdleReader {
	return &IdleReader{r: r, idle: idle, timer: time.AfterFunc(idle, onIdle)}
}

func (ir *IdleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.idle)
	}
	return n, err
}

func (ir *IdleReader) Stop() { ir.timer.Stop() }

// ErrCut marks an answer that broke after its first bytes reached the caller in a body with no in-band way to
// say so (audio, a file's content, a provider-native stream, a large JSON answer): the caller's response must be
// aborted, not ended, or the truncated body would look complete.
var ErrCut = errors.New("the answer was cut")

// Cut wraps err, which broke an answer already begun, as ErrCut.
func Cut(err error) error { return fmt.Errorf("%w: %w", ErrCut, err) }

// JSON writes a same-dialect JSON answer with its status and Content-Type, reading its usage with usageOf: read
// whole into buf (up to limit) and written at once or, when larger, written as it arrives with its usage read
// from its tail. It returns buf, grown, for reuse, and whether the answer was begun; an error before that is a
// failure to read the answer, one after a failed write or a cut (Cut).
func JSON(w Sink, resp *http.Response, buf []byte, limit int, usageOf func([]byte) schema.Usage) (u schema.Usage, grown []byte, begun bool, err error) {
	buf, complete, err := ReadUpTo(resp.Body, buf, limit)
	if err != nil {
		return u, buf, false, err
	}
	h := w.Header()
	if ct := resp.Header["Content-Type"]; len(ct) > 0 {
		h["Content-Type"] = ct
	} else {
		h["Content-Type"] = jsonContentType
	}
	if complete {
		w.WriteHeader(resp.StatusCode)
		_, err = w.Write(buf)
		return usageOf(buf), buf, true, err
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := w.Write(buf); err != nil {
		return u, buf, true, err
	}
	tail := &TailWriter{W: w, Keep: 64 << 10}
	tail.Remember(buf)
	if _, err := io.Copy(tail, resp.Body); err != nil {
		return u, buf, true, Cut(err) // a JSON body has no way to say it was cut
	}
	return usageOf(tail.UsageObject()), buf, true, nil
}

var jsonContentType = []string{"application/json"}

// CopyUpstreamHeaders keeps the upstream headers a caller may rely on: request ids and rate-limit state.
func CopyUpstreamHeaders(dst, src http.Header) {
	for k, v := range src {
		if strings.HasPrefix(k, "X-Ratelimit-") || k == "X-Request-Id" || k == "Openai-Processing-Ms" || k == "Request-Id" {
			dst[k] = v
		}
	}
}
