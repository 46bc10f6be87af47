package gateway

import (
	"fmt"
	"net/http"
	"time"
)

// Error is a failure to serve a request, before any byte of an answer reached the caller. The api layer writes
// it in the caller's dialect. Raw, when set, is an upstream error body already in the caller's dialect, passed
// through unchanged so the caller sees the provider's own message and code.
type Error struct {
	Status     int
	Type       string // OpenAI error type: invalid_request_error, rate_limit_error, overloaded, api_error, ...
	Code       string
	Param      string
	Message    string
	RetryAfter time.Duration
	Raw        []byte
	Header     http.Header // extra response headers (upstream rate-limit headers)
	upstream   bool        // the upstream answered with this error (as opposed to the gateway or the network)
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

func errorf(status int, typ, code, format string, a ...any) *Error {
	return &Error{Status: status, Type: typ, Code: code, Message: fmt.Sprintf(format, a...)}
}

// Error types, as OpenAI names them where it has a name.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeOverloaded     = "overloaded" // the gateway's own queue is full: not a provider rate limit
	TypeAPI            = "api_error"
	TypeTimeout        = "timeout_error"
)
