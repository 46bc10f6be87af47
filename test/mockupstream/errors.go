package mockupstream

import (
	"encoding/json"
	"net/http"
	"strconv"
)

type obj = map[string]any

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own literals are marshalled
	}
	return b
}

// fail answers with status in the dialect's error format.
func (c *call) fail(status int, msg string) { c.failAs(status, msg, "") }

// failAs is fail with an explicit AWS error type (Bedrock only).
func (c *call) failAs(status int, msg, awsType string) {
	c.s.failed.Add(1)
	h := c.w.Header()
	if status == http.StatusTooManyRequests {
		h.Set("Retry-After", "1")
	}
	var body []byte
	switch c.dialect {
	case dialectAnthropic:
		body = mustJSON(obj{"type": "error", "error": obj{"type": anthropicErrorType(status), "message": msg}})
	case dialectGemini:
		body = mustJSON(obj{"error": obj{"code": status, "message": msg, "status": googleStatus(status)}})
	case dialectBedrock:
		if awsType == "" {
			awsType = bedrockErrorType(status)
		}
		h.Set("X-Amzn-ErrorType", awsType)
		body = mustJSON(obj{"message": msg})
	case dialectCohere:
		body = mustJSON(obj{"id": c.id("err-mock-"), "message": msg})
	default:
		typ, code := openaiErrorType(status)
		body = mustJSON(obj{"error": obj{"message": msg, "type": typ, "param": nil, "code": code}})
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	if _, err := c.w.Write(body); err != nil {
		c.broken = true
		return
	}
	c.done = true
}

func openaiErrorType(status int) (typ string, code any) {
	switch {
	case status == 401:
		return "invalid_request_error", "invalid_api_key"
	case status == 403:
		return "permission_error", nil
	case status == 404:
		return "invalid_request_error", "model_not_found"
	case status == 429:
		return "requests", "rate_limit_exceeded"
	case status >= 500:
		return "server_error", nil
	}
	return "invalid_request_error", nil
}

func anthropicErrorType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

func googleStatus(status int) string {
	switch status {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

func bedrockErrorType(status int) string {
	switch status {
	case 400:
		return "ValidationException"
	case 401, 403:
		return "AccessDeniedException"
	case 404:
		return "ResourceNotFoundException"
	case 408:
		return "ModelTimeoutException"
	case 424:
		return "ModelErrorException"
	case 429:
		return "ThrottlingException"
	case 503:
		return "ServiceUnavailableException"
	}
	if status >= 500 {
		return "InternalServerException"
	}
	return "ValidationException"
}
