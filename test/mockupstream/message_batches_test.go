package mockupstream

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func msgReqs(models ...string) string {
	var parts []string
	for i, m := range models {
		parts = append(parts, fmt.Sprintf(`{"custom_id":"req-%d","params":{"model":%q,"max_tokens":64,"messages":[{"role":"user","content":"hello %d"}]}}`, i, m, i))
	}
	return `{"requests":[` + strings.Join(parts, ",") + `]}`
}

func TestMessageBatchLifecycle(t *testing.T) {
	ts, _ := start(t, Options{})
	base := ts.URL + "/v1/messages/batches"
	b := okJSON(t, base, msgReqs("claude-sonnet-4-5", "echo", "fail-529"), antVersion)
	id := b.Get("id").String()
	if !strings.HasPrefix(id, "msgbatch_") || b.Get("type").String() != "message_batch" || b.Get("processing_status").String() != "in_progress" ||
		b.Get("request_counts.processing").Int() != 3 || b.Get("results_url").Type != gjson.Null || b.Get("ended_at").Type != gjson.Null ||
		b.Get("created_at").String() == "" || b.Get("expires_at").String() == "" {
		t.Fatalf("created %s", b.Raw)
	}
	get := func() gjson.Result { return okDo(t, http.MethodGet, base+"/"+id, "", antVersion) }
	if g := get(); g.Get("processing_status").String() != "in_progress" {
		t.Fatalf("1st GET %s", g.Raw)
	}
	st, body, _ := send(t, http.MethodGet, base+"/"+id+"/results", "", antVersion)
	if st != 400 || gjson.GetBytes(body, "type").String() != "error" {
		t.Fatalf("early results %d %s", st, body)
	}
	g := get()
	if g.Get("processing_status").String() != "ended" || g.Get("ended_at").String() == "" ||
		g.Get("request_counts.succeeded").Int() != 2 || g.Get("request_counts.errored").Int() != 1 || g.Get("request_counts.processing").Int() != 0 ||
		g.Get("results_url").String() != base+"/"+id+"/results" {
		t.Fatalf("2nd GET %s", g.Raw)
	}
	st, body, h := send(t, http.MethodGet, g.Get("results_url").String(), "", antVersion)
	lines := jsonl(t, body)
	if st != 200 || h.Get("Content-Type") != "application/x-jsonl" || len(lines) != 3 {
		t.Fatalf("results %d %s", st, body)
	}
	for i, l := range lines[:2] {
		m := l.Get("result.message")
		if l.Get("custom_id").String() != fmt.Sprintf("req-%d", i) || l.Get("result.type").String() != "succeeded" ||
			m.Get("type").String() != "message" || m.Get("role").String() != "assistant" || m.Get("stop_reason").String() != "end_turn" ||
			m.Get("usage.input_tokens").Int() != batchIn || m.Get("usage.output_tokens").Int() != batchOut {
			t.Fatalf("line %d %s", i, l.Raw)
		}
	}
	if got := lines[1].Get("result.message.content.0.text").String(); got != "hello 1" {
		t.Fatalf("echo %q", got)
	}
	if e := lines[2].Get("result"); e.Get("type").String() != "errored" || e.Get("error.type").String() != "error" ||
		e.Get("error.error.type").String() != "overloaded_error" {
		t.Fatalf("errored %s", lines[2].Raw)
	}

	l := okDo(t, http.MethodGet, base, "", antVersion)
	if l.Get("data.#").Int() != 1 || l.Get("data.0.id").String() != id || l.Get("has_more").Bool() || l.Get("first_id").String() != id || l.Get("object").Exists() {
		t.Fatalf("list %s", l.Raw)
	}
	st, body, _ = post(t, base+"/"+id+"/cancel", "", antVersion)
	if st != 409 || gjson.GetBytes(body, "error.type").String() == "" {
		t.Fatalf("cancel ended: %d %s", st, body)
	}
	if d := okDo(t, http.MethodDelete, base+"/"+id, "", antVersion); d.Get("id").String() != id || d.Get("type").String() != "message_batch_deleted" {
		t.Fatalf("delete %s", d.Raw)
	}
	st, body, _ = send(t, http.MethodGet, base+"/"+id, "", antVersion)
	if st != 404 || gjson.GetBytes(body, "error.type").String() != "not_found_error" {
		t.Fatalf("after delete %d %s", st, body)
	}
}

func TestMessageBatchInstantCancelAndKeys(t *testing.T) {
	ts, _ := start(t, Options{})
	base := ts.URL + "/v1/messages/batches"
	if b := okJSON(t, base, msgReqs("claude-instant", "claude"), antVersion); b.Get("processing_status").String() != "ended" ||
		b.Get("request_counts.succeeded").Int() != 2 || !strings.HasSuffix(b.Get("results_url").String(), "/results") {
		t.Fatalf("instant %s", b.Raw)
	}

	keyA, keyB := "x-api-key: sk-ant-a", "x-api-key: sk-ant-b"
	b := okJSON(t, base, msgReqs("claude", "claude"), antVersion, keyA)
	id := b.Get("id").String()
	for _, op := range []struct{ method, path string }{{"GET", ""}, {"POST", "/cancel"}, {"GET", "/results"}, {"DELETE", ""}} {
		st, body, _ := send(t, op.method, base+"/"+id+op.path, "", antVersion, keyB)
		if st != 404 || gjson.GetBytes(body, "error.type").String() != "not_found_error" {
			t.Fatalf("key B %s %s: %d %s", op.method, op.path, st, body)
		}
	}
	st, body, _ := send(t, http.MethodDelete, base+"/"+id, "", antVersion, keyA)
	if st != 409 {
		t.Fatalf("delete in progress: %d %s", st, body)
	}
	c := okJSON(t, base+"/"+id+"/cancel", "", antVersion, keyA)
	if c.Get("processing_status").String() != "canceling" || c.Get("cancel_initiated_at").String() == "" {
		t.Fatalf("cancel %s", c.Raw)
	}
	g := okDo(t, http.MethodGet, base+"/"+id, "", antVersion, keyA)
	if g.Get("processing_status").String() != "ended" || g.Get("request_counts.canceled").Int() != 2 || g.Get("request_counts.succeeded").Int() != 0 {
		t.Fatalf("after cancel %s", g.Raw)
	}
	_, body, _ = send(t, http.MethodGet, base+"/"+id+"/results", "", antVersion, keyA)
	if lines := jsonl(t, body); len(lines) != 2 || lines[0].Get("result.type").String() != "canceled" {
		t.Fatalf("canceled results %s", body)
	}
}

func TestMessageBatchValidation(t *testing.T) {
	ts, _ := start(t, Options{})
	base := ts.URL + "/v1/messages/batches"
	for _, body := range []string{
		`{"requests":[]}`,
		`{"requests":[{"custom_id":"a","params":{}},{"custom_id":"a","params":{}}]}`,
		`{"requests":[{"custom_id":"has space","params":{}}]}`,
		`{"requests":[{"custom_id":"a"}]}`,
	} {
		st, b, _ := post(t, base, body, antVersion)
		if st != 400 || gjson.GetBytes(b, "error.type").String() != "invalid_request_error" {
			t.Fatalf("%s: %d %s", body, st, b)
		}
	}
	if st, b, _ := post(t, base, msgReqs("claude")); st != 400 || !strings.Contains(string(b), "anthropic-version") {
		t.Fatalf("no version: %d %s", st, b)
	}
	// Params problems do not reject the batch; they become errored results.
	b := okJSON(t, base, `{"requests":[{"custom_id":"a","params":{"model":"claude-instant","messages":[]}}]}`, antVersion)
	if b.Get("request_counts.errored").Int() != 1 {
		t.Fatalf("%s", b.Raw)
	}
	// The batch routes leave /v1/messages and count_tokens alone.
	if r := okJSON(t, ts.URL+"/v1/messages/count_tokens", `{"model":"m",`+userMsgs+`}`, antVersion); !r.Get("input_tokens").Exists() {
		t.Fatalf("count_tokens %s", r.Raw)
	}
	if r := okJSON(t, ts.URL+"/v1/messages", `{"model":"m","max_tokens":5,`+userMsgs+`}`, antVersion); r.Get("type").String() != "message" {
		t.Fatalf("messages %s", r.Raw)
	}
}
