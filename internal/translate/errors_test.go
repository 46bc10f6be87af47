package translate

import (
	"testing"

	"github.com/tidwall/gjson"
	"github.com/weir-gateway/weir/internal/dialects"
)

func TestErrorBody(t *testing.T) {
	cases := []struct {
		in, out dialects.Dialect
		status  int
		body    string
		msg     string
		typ     string
	}{
		{dialects.OpenAI, dialects.Anthropic, 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "Overloaded", "server_error"},
		{dialects.Anthropic, dialects.OpenAI, 429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, "Rate limit reached", "rate_limit_error"},
		{dialects.OpenAI, dialects.Gemini, 400, `{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`, "API key not valid.", "invalid_request_error"},
		{dialects.Anthropic, dialects.Gemini, 503, `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`, "The model is overloaded.", "overloaded_error"},
		{dialects.OpenAI, dialects.Bedrock, 403, `{"message":"The security token included in the request is invalid."}`, "The security token included in the request is invalid.", "permission_error"},
		{dialects.Anthropic, dialects.Bedrock, 400, `{"Message":"Malformed input request"}`, "Malformed input request", "invalid_request_error"},
		{dialects.OpenAI, dialects.Cohere, 401, `{"id":"x","message":"invalid api token"}`, "invalid api token", "authentication_error"},
		{dialects.Anthropic, dialects.Cohere, 502, `<html>Bad Gateway</html>`, "<html>Bad Gateway</html>", "api_error"},
		{dialects.OpenAI, dialects.Anthropic, 500, ``, "Internal Server Error", "server_error"},
	}
	for _, c := range cases {
		b := ErrorBody(c.in, c.out, c.status, []byte(c.body))
		var msg, typ string
		if c.in == dialects.Anthropic {
			if gjson.GetBytes(b, "type").Str != "error" {
				t.Errorf("%s: not an anthropic error: %s", c.body, b)
			}
			msg, typ = gjson.GetBytes(b, "error.message").Str, gjson.GetBytes(b, "error.type").Str
		} else {
			msg, typ = gjson.GetBytes(b, "error.message").Str, gjson.GetBytes(b, "error.type").Str
			if !gjson.GetBytes(b, "error.code").Exists() {
				t.Errorf("openai error without code member: %s", b)
			}
		}
		if msg != c.msg || typ != c.typ {
			t.Errorf("%s→%s %d: got (%q, %q) want (%q, %q)", c.out, c.in, c.status, msg, typ, c.msg, c.typ)
		}
	}
}
