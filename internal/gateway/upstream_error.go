package gateway

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
	"github.com/weir-gateway/weir/internal/translate"
)

// upstreamError turns an upstream error answer into an *Error that keeps its status, message and Retry-After.
func (e *Engine) upstreamError(up *Upstream, caller, dialect dialects.Dialect, key *provider.Key, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ge := &Error{Status: resp.StatusCode, Type: typeForStatus(resp.StatusCode), RetryAfter: router.ParseRetryAfter(resp.Header, time.Now()), upstream: true}
	msg := gjson.GetBytes(body, "error.message")
	if !msg.Exists() {
		msg = gjson.GetBytes(body, "message") // Bedrock, Cohere
	}
	if msg.Exists() {
		ge.Message = msg.String()
		ge.Code = gjson.GetBytes(body, "error.code").String()
		if t := gjson.GetBytes(body, "error.type").String(); t != "" && caller == dialects.OpenAI {
			ge.Type = t
		}
		if dialect == caller {
			ge.Raw = body // already an error in the caller's dialect: pass it through as the provider wrote it
		} else {
			ge.Raw = translate.ErrorBody(caller, dialect, resp.StatusCode, body)
		}
	} else {
		text := strings.TrimSpace(string(body))
		if len(text) > 300 {
			text = text[:300] + "…"
		}
		ge.Message = fmt.Sprintf("provider %s answered %d: %s", up.Config.Name, resp.StatusCode, text)
	}
	for k, v := range resp.Header {
		if strings.HasPrefix(k, "X-Ratelimit-") {
			if ge.Header == nil {
				ge.Header = http.Header{}
			}
			ge.Header[k] = v
		}
	}
	if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && key != nil {
		e.log.Error("provider rejected an API key", "provider", up.Config.Name, "status", resp.StatusCode,
			"key", key.Hint, "message", ge.Message)
	} else {
		e.log.Debug("upstream error", "provider", up.Config.Name, "status", resp.StatusCode, "message", ge.Message)
	}
	return ge
}

func typeForStatus(s int) string {
	switch {
	case s == http.StatusUnauthorized:
		return TypeAuthentication
	case s == http.StatusForbidden:
		return TypePermission
	case s == http.StatusNotFound:
		return TypeNotFound
	case s == http.StatusTooManyRequests:
		return TypeRateLimit
	case s == http.StatusRequestTimeout || s == http.StatusGatewayTimeout:
		return TypeTimeout
	case s < 500:
		return TypeInvalidRequest
	default:
		return TypeAPI
	}
}
