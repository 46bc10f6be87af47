package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	_ "github.com/weir-gateway/weir/internal/provider/mock"
	"github.com/weir-gateway/weir/internal/requestlog"
)

// memSink keeps the records the writer inserts.
type memSink struct {
	mu   sync.Mutex
	recs []requestlog.Record
}

func (m *memSink) InsertLogs(_ context.Context, recs []requestlog.Record) error {
	m.mu.Lock()
	m.recs = append(m.recs, recs...)
	m.mu.Unlock()
	return nil
}

func newLoggedServer(tb testing.TB, sink requestlog.Sink) (*Server, *requestlog.Writer) {
	tb.Helper()
	cfg, err := config.Parse([]byte("providers:\n  - {name: mock, type: mock, models: [echo]}\n"), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	eng, err := gateway.New(cfg, log)
	if err != nil {
		tb.Fatal(err)
	}
	w := requestlog.NewWriter(sink, requestlog.Options{FlushInterval: 10 * time.Millisecond})
	return New(eng, Governance{}, Observability{Log: w}, log), w
}

// TestRequestIDHeader: every answer of a logged inference route, success or refusal, carries the id its log
// record is written under; without a request log there is no header.
func TestRequestIDHeader(t *testing.T) {
	sink := &memSink{}
	s, w := newLoggedServer(t, sink)
	ids := map[string]int{}
	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"model":"echo","messages":[{"role":"user","content":"hi"}]}`, 200},
		{`{"model":"echo","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 200},
		{`{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, 404},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(c.body)))
		id := rec.Header().Get(RequestIDHeader)
		if rec.Code != c.status || id == "" {
			t.Fatalf("%s: status %d (want %d), %s %q", c.body, rec.Code, c.status, RequestIDHeader, id)
		}
		if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
			t.Errorf("%s %q is not a UUIDv7: %v", RequestIDHeader, id, err)
		}
		ids[id] = rec.Code
	}
	w.Close(context.Background())
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.recs) != len(ids) {
		t.Fatalf("%d records for %d distinct ids", len(sink.recs), len(ids))
	}
	for _, r := range sink.recs {
		if code, ok := ids[r.ID]; !ok || code != r.Status {
			t.Errorf("record %s (status %d) was not announced by a header (ids %v)", r.ID, r.Status, ids)
		}
	}

	unlogged, _ := newLoggedServer(t, sink)
	unlogged.obs.Log = nil
	rec := httptest.NewRecorder()
	unlogged.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"echo","messages":[{"role":"user","content":"hi"}]}`)))
	if v := rec.Header().Get(RequestIDHeader); v != "" {
		t.Errorf("without a request log: %s %q", RequestIDHeader, v)
	}
}

type discardSink struct{}

func (discardSink) InsertLogs(context.Context, []requestlog.Record) error { return nil }

// BenchmarkLoggedChat is one logged, non-streamed chat through the API layer (the request id's cost shows here).
func BenchmarkLoggedChat(b *testing.B) {
	s, w := newLoggedServer(b, discardSink{})
	defer w.Close(context.Background())
	body := `{"model":"echo","messages":[{"role":"user","content":"hi"}]}`
	rw := &discardWriter{h: http.Header{}}
	req := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	rd := strings.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		clear(rw.h)
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		s.ServeHTTP(rw, req)
		if rw.code != http.StatusOK {
			b.Fatal(rw.code)
		}
	}
}

// discardWriter is a ResponseWriter that keeps only the headers and status, as a server's writer would send them.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
