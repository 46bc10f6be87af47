package mockupstream

import (
	"net/http"
	"testing"

	"github.com/tidwall/gjson"
)

func TestModelGet(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name, path string
		hdr        []string
		status     int
		check      string // gjson path that must equal want
		want       string
	}{
		{"openai", "/v1/models/gpt-4o-mini", nil, 200, "id", "gpt-4o-mini"},
		{"object", "/v1/models/gpt-4o-mini", nil, 200, "object", "model"},
		{"fine-tuned id", "/v1/models/ft:gpt-4o-mini:acme::abc123", nil, 200, "id", "ft:gpt-4o-mini:acme::abc123"},
		{"slashed id", "/v1/models/meta-llama/Llama-3.1-8B", nil, 200, "id", "meta-llama/Llama-3.1-8B"},
		{"azure", "/openai/models/gpt-4o?api-version=2024-10-21", nil, 200, "id", "gpt-4o"},
		{"missing", "/v1/models/gpt-missing", nil, 404, "error.code", "model_not_found"},
		{"fault id", "/v1/models/fail-503", nil, 503, "error.type", "server_error"},
		{"anthropic", "/v1/models/claude-sonnet-4-5", []string{antVersion}, 200, "type", "model"},
		{"anthropic missing", "/v1/models/claude-missing", []string{antVersion}, 404, "error.type", "not_found_error"},
		{"list unchanged", "/v1/models", nil, 200, "object", "list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, b, _ := send(t, http.MethodGet, ts.URL+tc.path, "", tc.hdr...)
			if st != tc.status || gjson.GetBytes(b, tc.check).String() != tc.want {
				t.Fatalf("%d %s", st, b)
			}
		})
	}
	r := okDo(t, http.MethodGet, ts.URL+"/v1/models/gpt-4o", "")
	if r.Get("created").Int() == 0 || r.Get("owned_by").String() == "" {
		t.Fatalf("%s", r.Raw)
	}
}
