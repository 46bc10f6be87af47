package upload

import (
	"io"
	"sync"
	"time"
)

// Clock is the upstream timeout of an upload, which may take longer than the timeout to send: it starts once
// the body has been read to its end (Body), and never after Stop (the answer came, or the attempt ended).
type Clock struct {
	mu      sync.Mutex
	t       *time.Timer
	d       time.Duration
	stopped bool
}

// NewClock makes a clock that calls expire d after the upload was sent.
func NewClock(d time.Duration, expire func()) *Clock {
	c := &Clock{d: d, t: time.AfterFunc(time.Hour, expire)}
	c.t.Stop()
	return c
}

// Body wraps an upload's body so that reading it to its end starts the clock.
func (c *Clock) Body(r io.Reader) io.Reader { return &eofReader{r: r, eof: c.start} }

func (c *Clock) start() {
	c.mu.Lock()
	if !c.stopped {
		c.t.Reset(c.d)
	}
	c.mu.Unlock()
}

// Stop stops the clock for good, started or not.
func (c *Clock) Stop() {
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
