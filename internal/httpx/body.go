package httpx

import (
	"errors"
	"net/http"
	"os"

	"github.com/weir-gateway/weir/internal/gateway"
)

// CloseConn asks the server to close the connection after the answer instead of reading the rest of a body
// the handler refused unread (a 401, 413 or 408); otherwise it would first drain up to 256 KiB of it.
var CloseConn = http.Header{"Connection": {"close"}}

// BodyReadError is the error for a failed body read: 408 when the read deadline passed. what names the setting
// that bounds the read.
func BodyReadError(err error, what string) *gateway.Error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &gateway.Error{Status: http.StatusRequestTimeout, Type: gateway.TypeInvalidRequest, Code: "request_timeout",
			Header: CloseConn, Message: "the request body was not received within " + what}
	}
	return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "body_read_error", Header: CloseConn,
		Message: "could not read the request body: " + err.Error()}
}
