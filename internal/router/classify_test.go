package router

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "https://x", Err: err} }
	tests := []struct {
		name   string
		status int
		err    error
		body   string
		want   Decision
	}{
		{"200", 200, nil, "", Success},
		{"204", 204, nil, "", Success},
		{"connection refused", 0, urlErr(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "", RetrySame},
		{"connection reset", 0, fmt.Errorf("read: %w", syscall.ECONNRESET), "", RetrySame},
		{"unexpected EOF", 0, io.ErrUnexpectedEOF, "", RetrySame},
		{"timeout", 0, urlErr(timeoutErr{}), "", RetrySame},
		{"attempt deadline", 0, urlErr(context.DeadlineExceeded), "", RetrySame},
		{"client cancelled", 0, urlErr(context.Canceled), "", Fail},
		{"dns not found", 0, urlErr(&net.DNSError{Err: "no such host", IsNotFound: true}), "", NextTarget},
		{"dns temporary", 0, urlErr(&net.DNSError{Err: "server misbehaving", IsTemporary: true}), "", RetrySame},
		{"bad certificate", 0, urlErr(x509.UnknownAuthorityError{}), "", NextTarget},
		{"unknown error", 0, errors.New("boom"), "", NextTarget},
		{"error beats status", 200, io.ErrUnexpectedEOF, "", RetrySame},
		{"429", 429, nil, `{"error":{"type":"rate_limit_error"}}`, RetrySame},
		{"429 quota", 429, nil, `{"error":{"code":"insufficient_quota"}}`, NextTarget},
		{"408", 408, nil, "", RetrySame},
		{"500", 500, nil, "", RetrySame},
		{"502", 502, nil, "", RetrySame},
		{"503", 503, nil, "", RetrySame},
		{"504", 504, nil, "", RetrySame},
		{"529", 529, nil, "", RetrySame},
		{"522 cdn", 522, nil, "", RetrySame},
		{"501", 501, nil, "", NextTarget},
		{"anthropic overloaded", 529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, RetrySame},
		{"overloaded behind 400", 400, nil, `{"error":{"type":"Overloaded_Error"}}`, RetrySame},
		{"400", 400, nil, `{"error":{"message":"invalid temperature"}}`, Fail},
		{"openai context length", 400, nil, `{"error":{"code":"context_length_exceeded","message":"This model's maximum context length is 128000 tokens"}}`, NextTarget},
		{"anthropic prompt too long", 400, nil, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`, NextTarget},
		{"gemini token count", 400, nil, `{"error":{"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."}}`, NextTarget},
		{"401", 401, nil, "", NextTarget},
		{"403", 403, nil, "", NextTarget},
		{"404", 404, nil, "", Fail},
		{"413", 413, nil, "", Fail},
		{"422", 422, nil, "", Fail},
		{"409", 409, nil, "", Fail},
		{"302", 302, nil, "", NextTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.status, tt.err, []byte(tt.body)); got != tt.want {
				t.Fatalf("Classify(%d, %v, %q) = %s, want %s", tt.status, tt.err, tt.body, got, tt.want)
			}
		})
	}
}

func TestContainsFold(t *testing.T) {
	for _, tt := range []struct {
		s, sub string
		want   bool
	}{
		{"Prompt Is Too Long", "prompt is too long", true},
		{"prompt is too lon", "prompt is too long", false},
		{"", "x", false},
		{"abc", "", true},
	} {
		if got := containsFold([]byte(tt.s), tt.sub); got != tt.want {
			t.Errorf("containsFold(%q, %q) = %v", tt.s, tt.sub, got)
		}
	}
}
