package api

import "net/http"

// sink adapts an http.ResponseWriter to the gateway's relay.Sink.
type sink struct {
	http.ResponseWriter
	rc *http.ResponseController
	// gone is set when a write to the caller failed: the caller went away, perhaps before its context says so.
	gone bool
	// With content logging on, the first captureMax bytes of the answer are kept for the request log, and
	// written counts them all.
	captureMax int
	capture    []byte
	written    int64
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	if err != nil {
		s.gone = true
	}
	if s.captureMax > 0 {
		s.written += int64(n)
		if room := s.captureMax - len(s.capture); room > 0 {
			s.capture = append(s.capture, p[:min(n, room)]...)
		}
	}
	return n, err
}

func newSink(w http.ResponseWriter) *sink { return &sink{ResponseWriter: w} }

// Flush pushes buffered bytes to the caller.
func (s *sink) Flush() error {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return nil
	}
	if s.rc == nil {
		s.rc = http.NewResponseController(s.ResponseWriter)
	}
	return s.rc.Flush()
}
