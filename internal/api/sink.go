package api

import "net/http"

// sink adapts an http.ResponseWriter to the gateway's relay.Sink.
type sink struct {
	http.ResponseWriter
	rc *http.ResponseController
	// gone is set when a write to the caller failed: the caller went away, perhaps before its context says so.
	gone bool
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.ResponseWriter.Write(p)
	if err != nil {
		s.gone = true
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
