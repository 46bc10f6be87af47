package router

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// Decision is what to do after an attempt.
type Decision uint8

const (
	// Start is the zero value: no attempt yet (pass it to the first Plan.Next).
	Start Decision = iota
	// Success: the answer is good; stop.
	Success
	// RetrySame: a transient failure; retry this target after a backoff (if retries remain).
	RetrySame
	// NextTarget: this target cannot serve the request but another may; do not retry it.
	NextTarget
	// Fail: the request itself is wrong (or the client left); no target will do better.
	Fail
)

func (d Decision) String() string {
	switch d {
	case Start:
		return "start"
	case Success:
		return "success"
	case RetrySame:
		return "retry_same"
	case NextTarget:
		return "next_target"
	case Fail:
		return "fail"
	}
	return "unknown"
}

// classifyBodyLimit bounds how much of an error body is searched for provider error codes.
const classifyBodyLimit = 64 << 10

// Classify decides the next step from an attempt's transport error, upstream status and error body.
// err wins over status: a body that broke off mid-read is a transport failure.
func Classify(status int, err error, body []byte) Decision {
	if err != nil {
		return classifyErr(err)
	}
	if status >= 200 && status < 300 {
		return Success
	}
	if len(body) > classifyBodyLimit {
		body = body[:classifyBodyLimit]
	}
	if status >= 400 && isOverloaded(body) {
		return RetrySame // Anthropic sends overloaded_error (529), sometimes behind other statuses
	}
	switch status {
	case 408, 500, 502, 503, 504, 529:
		return RetrySame
	case 429:
		if containsFold(body, "insufficient_quota") {
			return NextTarget // billing, not rate: waiting will not help, another account may
		}
		return RetrySame
	case 401, 403:
		return NextTarget // this target's key or region is refused; another provider may accept
	case 400:
		if isContextLength(body) {
			return NextTarget // too long for this model; a fallback with a larger window may fit
		}
		return Fail
	case 404, 413, 422:
		return Fail
	case 501, 505:
		return NextTarget // the upstream will never support it
	}
	switch {
	case status >= 500:
		return RetrySame // other gateway/CDN errors (520-524 …) are transient
	case status >= 400:
		return Fail
	case status >= 300:
		return NextTarget // a redirect from an API endpoint is a misconfigured base URL
	}
	return NextTarget // status 0 without an error: nothing usable came back
}

func classifyErr(err error) Decision {
	switch {
	case errors.Is(err, context.Canceled):
		return Fail // the client left; nobody is waiting for a retry
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		// Per-attempt timeouts and dropped connections are transient; the Plan's deadline check stops
		// retries once the request itself is out of time.
		return RetrySame
	}
	// Certificate problems will not fix themselves by retrying the same host.
	var uaErr x509.UnknownAuthorityError
	var hnErr x509.HostnameError
	var ciErr x509.CertificateInvalidError
	var cvErr *tls.CertificateVerificationError
	if errors.As(err, &uaErr) || errors.As(err, &hnErr) || errors.As(err, &ciErr) || errors.As(err, &cvErr) {
		return NextTarget
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return NextTarget
		}
		return RetrySame
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return RetrySame
	}
	// *url.Error implements net.Error for any wrapped cause, so only trust Timeout(), not the type.
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return RetrySame
	}
	return NextTarget // unknown failure: do not hammer this target, but another may work
}

func isOverloaded(body []byte) bool {
	return containsFold(body, "overloaded_error") || containsFold(body, `"overloaded"`)
}

// Context-window errors by provider: OpenAI/Azure code, Anthropic, Gemini, Bedrock, and the generic
// OpenAI-compatible message.
var contextLengthMarkers = []string{
	"context_length_exceeded",
	"prompt is too long",
	"maximum context length",
	"exceeds the maximum number of tokens",
	"input is too long",
	"too many input tokens",
}

func isContextLength(body []byte) bool {
	for _, m := range contextLengthMarkers {
		if containsFold(body, m) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains sub (lower-case ASCII), ignoring ASCII case, without allocating.
func containsFold(s []byte, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lower(s[i+j]) == sub[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
