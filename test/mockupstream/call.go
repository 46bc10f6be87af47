package mockupstream

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// dialect decides the error body format.
type dialect int

const (
	dialectOpenAI dialect = iota
	dialectAnthropic
	dialectGemini
	dialectBedrock
	dialectCohere
)

// call is one request in flight; it carries what the shared steps (auth,
// faults, error bodies, streaming) need to know about it.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	body []byte

	dialect dialect
	native  bool   // Anthropic's own API (requires anthropic-version)
	model   string // from body or path; carries fault controls
	action  string // Gemini/Vertex/Bedrock verb taken from the path
	fault   fault

	done    bool // the complete answer was written
	aborted bool // we cut the connection on purpose
	broken  bool // a write to the client failed
	buf     []byte
}

// finish counts a cancellation when the answer did not complete because the
// client went away (context ended or a write failed).
func (c *call) finish() {
	if c.done || c.aborted {
		return
	}
	if c.broken || c.r.Context().Err() != nil {
		c.s.cancelled.Add(1)
	}
}

// id returns a per-server unique id with the given prefix.
func (c *call) id(prefix string) string {
	return prefix + strconv.FormatInt(c.s.seq.Add(1), 10)
}

// sleep waits d, returning false if the client went away first.
func (c *call) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		return false
	case <-c.s.closed:
		c.release()
		return false
	}
}

// hang blocks until the client goes away or the Server is closed.
func (c *call) hang() {
	select {
	case <-c.r.Context().Done():
	case <-c.s.closed:
		c.release()
	}
}

// release drops the connection of a request cut short by Close; the
// server's abort panic closes it without writing a response.
func (c *call) release() {
	c.aborted = true
	panic(http.ErrAbortHandler)
}

// authorize enforces Options.APIKey, or SigV4 on Bedrock when AWS
// credentials are configured.
func (c *call) authorize() bool {
	o := c.s.o
	if c.dialect == dialectBedrock && o.AWSAccessKeyID != "" {
		if err := c.s.verifySigV4(c.r, c.body); err != nil {
			c.failAs(http.StatusForbidden, err.Error(), awsErrorType(err))
			return false
		}
		return true
	}
	if o.APIKey == "" || presentedKey(c.r) == o.APIKey {
		return true
	}
	c.fail(http.StatusUnauthorized, "mock: invalid or missing API key")
	return false
}

// presentedKey finds a credential in any of the places providers read one.
func presentedKey(r *http.Request) string {
	h := r.Header
	if a := h.Get("Authorization"); len(a) > 7 && (a[:7] == "Bearer " || a[:7] == "bearer ") {
		return a[7:]
	}
	for _, k := range []string{"x-api-key", "api-key", "x-goog-api-key"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return r.URL.Query().Get("key")
}

// validate applies per-dialect request requirements real upstreams enforce.
func (c *call) validate() bool {
	if c.native && c.r.Header.Get("anthropic-version") == "" {
		c.fail(http.StatusBadRequest, "anthropic-version: header is required")
		return false
	}
	if len(c.body) > 0 && !gjson.ValidBytes(c.body) {
		c.fail(http.StatusBadRequest, "mock: request body is not valid JSON")
		return false
	}
	return true
}

// send writes a complete success body; the drop-midstream fault sends half
// of it under the full Content-Length and then cuts the connection.
func (c *call) send(body []byte, contentType string) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(http.StatusOK)
	if c.fault.drop {
		c.w.Write(body[:len(body)/2])
		c.flush()
		c.abort(false)
		return
	}
	if _, err := c.w.Write(body); err != nil {
		c.broken = true
		return
	}
	c.done = true
}

// startStream writes the headers of a streamed answer.
func (c *call) startStream(contentType string) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	c.w.WriteHeader(http.StatusOK)
	c.flush()
}

// sse writes one Server-Sent Event (no "event:" line when name is empty)
// in a single Write and flushes it, so each event is its own TCP push.
func (c *call) sse(name string, data []byte) bool {
	b := c.buf[:0]
	if name != "" {
		b = append(b, "event: "...)
		b = append(b, name...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	c.buf = b
	return c.write(b)
}

// write sends raw stream bytes and flushes; false means stop streaming.
func (c *call) write(b []byte) bool {
	if _, err := c.w.Write(b); err != nil {
		c.broken = true
		return false
	}
	c.flush()
	return c.r.Context().Err() == nil
}

func (c *call) flush() {
	if f, ok := c.w.(http.Flusher); ok {
		f.Flush()
	}
}

// gap runs between content chunks: ChunkDelay, and the drop-midstream fault
// at the stream's midpoint. i is the index of the chunk about to be sent.
func (c *call) gap(i, n int) bool {
	if c.fault.drop && i == n/2 {
		c.abort(false)
		return false
	}
	if i > 0 && c.s.o.ChunkDelay > 0 {
		return c.sleep(c.s.o.ChunkDelay)
	}
	return c.r.Context().Err() == nil
}

// end marks a stream complete.
func (c *call) end() { c.done = true }

// abort closes the connection without finishing the answer. rst sends a TCP
// reset (the "reset" fault); otherwise a plain close, so bytes already sent
// are still readable and the client sees a truncated body.
func (c *call) abort(rst bool) {
	c.aborted = true
	c.s.failed.Add(1)
	if hj, ok := c.w.(http.Hijacker); ok {
		// Hijack flushes what the handler already wrote, but never the
		// terminating chunk, so the body is visibly truncated.
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok && rst {
				tc.SetLinger(0)
			}
			conn.Close()
			return
		}
	}
	// HTTP/2 or wrapped writers: the server resets the stream for us.
	panic(http.ErrAbortHandler)
}
