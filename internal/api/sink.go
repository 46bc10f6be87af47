package api

import "net/http"

// sink adapts an http.ResponseWriter to the gateway's relay.Sink.
type sink struct {
	http.ResponseWriter
	rc *http.ResponseController
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
