package relay

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/schema"
)

type memSink struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (m *memSink) Header() http.Header         { return m.h }
func (m *memSink) WriteHeader(s int)           { m.status = s }
func (m *memSink) Write(p []byte) (int, error) { return m.body.Write(p) }
func (m *memSink) Flush() error                { return nil }

// brokenReader yields s, then fails.
type brokenReader struct{ s *strings.Reader }

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.s.Len() == 0 {
		return 0, errors.New("connection reset")
	}
	return b.s.Read(p)
}

// TestJSON: an answer within the bound is read whole and metered; a larger one goes through as it arrives and is
// metered from its tail; a read failure before anything was written is reported unbegun, one after as a cut.
func TestJSON(t *testing.T) {
	answer := `{"id":"x","pad":"` + strings.Repeat("a", 100) + `","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`
	for _, tc := range []struct {
		name      string
		body      io.Reader
		ct        string
		limit     int
		wantUsage schema.Usage
		begun     bool
		wantErr   error
		wantCT    string
	}{
		{"whole", strings.NewReader(answer), "application/json; charset=utf-8", 1 << 20,
			schema.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}, true, nil, "application/json; charset=utf-8"},
		{"larger than the bound: metered from its tail", strings.NewReader(answer), "", 16,
			schema.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}, true, nil, "application/json"},
		{"unreadable: nothing written", &brokenReader{strings.NewReader("")}, "", 1 << 20, schema.Usage{}, false, nil, ""},
		{"cut after the first bytes", &brokenReader{strings.NewReader(answer[:40])}, "", 16, schema.Usage{}, true, ErrCut, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(tc.body)}
			if tc.ct != "" {
				resp.Header.Set("Content-Type", tc.ct)
			}
			w := &memSink{h: http.Header{}}
			u, _, begun, err := JSON(w, resp, nil, tc.limit, OpenAIUsage)
			if begun != tc.begun || u != tc.wantUsage {
				t.Fatalf("begun %v usage %+v, want %v %+v (err %v)", begun, u, tc.begun, tc.wantUsage, err)
			}
			switch {
			case !tc.begun && err == nil:
				t.Fatal("an unreadable answer reported no error")
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			case tc.begun && tc.wantErr == nil && (err != nil || w.body.String() != answer || w.status != 200):
				t.Fatalf("err %v, status %d, body %q", err, w.status, w.body.String())
			}
			if got := w.h.Get("Content-Type"); tc.begun && got != tc.wantCT {
				t.Fatalf("Content-Type %q, want %q", got, tc.wantCT)
			}
		})
	}
}
