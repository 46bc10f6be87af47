package api

import (
	"net/http"
	"testing"
)

func TestNativeHeaders(t *testing.T) {
	in := http.Header{
		"Content-Type": {"application/json"}, "Anthropic-Beta": {"tools-2024"},
		"X-Amzn-Bedrock-Guardrailidentifier": {"g1"}, "X-Amzn-Bedrock-Trace": {"ENABLED"},
		"Authorization": {"Bearer wk-caller"}, "X-Api-Key": {"wk-caller"}, "Cookie": {"c=1"}, "X-Other": {"x"},
	}
	got := nativeHeaders(in, http.Header{"Accept": {"text/event-stream"}})
	for _, k := range []string{"Content-Type", "Anthropic-Beta", "X-Amzn-Bedrock-Guardrailidentifier", "X-Amzn-Bedrock-Trace", "Accept"} {
		if got.Get(k) == "" {
			t.Errorf("%s dropped", k)
		}
	}
	for _, k := range []string{"Authorization", "X-Api-Key", "Cookie", "X-Other"} {
		if got.Get(k) != "" {
			t.Errorf("%s forwarded", k)
		}
	}
}
