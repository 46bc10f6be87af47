package relay

import (
	"io"
	"time"
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
