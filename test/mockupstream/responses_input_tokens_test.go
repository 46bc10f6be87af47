package mockupstream

import (
	"io"
	"net/http"
	"testing"

	"github.com/tidwall/gjson"
)

func TestResponsesInputTokensAndObjects(t *testing.T) {
	ts, _ := start(t, Options{APIKey: "sk-a"})
	auth := "Authorization: Bearer sk-a"
	r := okJSON(t, ts.URL+"/v1/responses/input_tokens", `{"model":"m","instructions":"be brief","input":"hello there"}`, auth)
	if r.Get("object").Str != "response.input_tokens" || r.Get("input_tokens").Int() != int64(tokens(len("be brief")+len("hello there"))) {
		t.Fatalf("input_tokens %s", r.Raw)
	}
	if st, _, _ := post(t, ts.URL+"/v1/responses/input_tokens", `{"model":"m","input":"x"}`, "Authorization: Bearer sk-b"); st != 401 {
		t.Fatalf("input_tokens with another key: %d", st)
	}
	get := func(method, path string) (int, gjson.Result) {
		res := do(t, method, ts.URL+path, "", auth)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, gjson.ParseBytes(b)
	}
	if st, r := get(http.MethodGet, "/v1/responses/resp_7"); st != 200 || r.Get("id").Str != "resp_7" || r.Get("object").Str != "response" ||
		r.Get("output.0.content.0.text").Str == "" {
		t.Fatalf("GET %d %s", st, r.Raw)
	}
	if st, r := get(http.MethodDelete, "/v1/responses/resp_7"); st != 200 || !r.Get("deleted").Bool() || r.Get("id").Str != "resp_7" {
		t.Fatalf("DELETE %d %s", st, r.Raw)
	}
	if st, r := get(http.MethodGet, "/v1/responses/resp_7/input_items?limit=2&order=asc"); st != 200 || r.Get("object").Str != "list" ||
		r.Get("data.0.content.0.text").Str != "query: limit=2&order=asc" {
		t.Fatalf("input_items %d %s", st, r.Raw)
	}
	if st, r := get(http.MethodGet, "/v1/responses/resp_gone_1"); st != 404 || r.Get("error.message").Str == "" {
		t.Fatalf("gone %d %s", st, r.Raw)
	}
	if st, _ := get(http.MethodPost, "/v1/responses/resp_7"); st != 404 {
		t.Fatalf("POST to a response: %d", st)
	}
}
