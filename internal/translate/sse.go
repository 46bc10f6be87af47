package translate

import (
	"bytes"
	"errors"
)

// maxPending bounds what an upstream may send without a line break, so a broken upstream cannot grow memory
// without limit.
const maxPending = 16 << 20

var errTooLarge = errors.New("translate: upstream event exceeds 16 MiB")

// sseReader splits Server-Sent Events incrementally: Feed may receive any fragment of the stream, and complete
// events are dispatched as (event name, data) with multi-line data joined by '\n'. The data slice is reused;
// handlers must copy what they keep.
type sseReader struct {
	buf   []byte
	event []byte
	data  []byte
	has   bool // a data line has been seen for the pending event
}

func (r *sseReader) feed(p []byte, fn func(event, data []byte) error) error {
	r.buf = append(r.buf, p...)
	start := 0
	for {
		i := bytes.IndexByte(r.buf[start:], '\n')
		if i < 0 {
			break
		}
		line := r.buf[start : start+i]
		start += i + 1
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if err := r.line(line, fn); err != nil {
			r.compact(start)
			return err
		}
	}
	r.compact(start)
	if len(r.buf) > maxPending || len(r.data) > maxPending {
		return errTooLarge
	}
	return nil
}

func (r *sseReader) compact(start int) {
	n := copy(r.buf, r.buf[start:])
	r.buf = r.buf[:n]
}

func (r *sseReader) line(line []byte, fn func(event, data []byte) error) error {
	if len(line) == 0 {
		return r.dispatch(fn)
	}
	if line[0] == ':' { // comment / keep-alive
		return nil
	}
	field, value, _ := bytes.Cut(line, []byte{':'})
	if len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(field) {
	case "event":
		r.event = append(r.event[:0], value...)
	case "data":
		if r.has {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.has = true
	}
	return nil
}

func (r *sseReader) dispatch(fn func(event, data []byte) error) error {
	if !r.has && len(r.event) == 0 {
		return nil
	}
	err := fn(r.event, r.data)
	r.event, r.data, r.has = r.event[:0], r.data[:0], false
	return err
}

// finish dispatches an event left unterminated at EOF (a last line without the blank line after it).
func (r *sseReader) finish(fn func(event, data []byte) error) error {
	if len(r.buf) > 0 {
		line := bytes.TrimSuffix(r.buf, []byte{'\r'})
		r.buf = r.buf[:0]
		if err := r.line(line, fn); err != nil {
			return err
		}
	}
	return r.dispatch(fn)
}
