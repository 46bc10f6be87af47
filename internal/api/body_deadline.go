package api

import (
	"net/http"
	"time"

	"github.com/weir-gateway/weir/internal/upload"
)

// A request body that never finishes (a Content-Length never met, a chunked body dribbled a byte at a time)
// would hold its connection and handler for ever: http.Server's ReadHeaderTimeout ends at the headers, and its
// ReadTimeout cannot tell an upload from a JSON body. So each request with a body gets a read deadline of its
// own here. net/http lifts it when the body has been read (before it starts its background read that notices
// a client going away), so it never cuts a long answer.

// SetReadTimeouts bounds reading a request body (server.read_timeout) and a multipart upload
// (server.upload_read_timeout); zero leaves it unbounded.
func (s *Server) SetReadTimeouts(body, upload time.Duration) {
	s.readTimeout, s.uploadTimeout = body, upload
}

// limitBodyRead gives r's body its read deadline.
func (s *Server) limitBodyRead(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	d := s.readTimeout
	if _, ok := upload.IsMultipart(r.Header.Get("Content-Type")); ok {
		d = s.uploadTimeout
	}
	if d <= 0 {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d)) // unsupported only by test recorders
}

// dropUnread keeps the server from reading the rest of a body the handler refused (it answered Connection:
// close): net/http would otherwise read up to 256 KiB of it, for as long as the caller cares to dribble it.
func dropUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 && w.Header().Get("Connection") == "close" {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}
