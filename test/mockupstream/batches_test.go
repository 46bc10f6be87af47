package mockupstream

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// chatLine is one Batch API input line for /v1/chat/completions.
func chatLine(id, model, text string) string {
	return fmt.Sprintf(`{"custom_id":%q,"method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":%q}]}}`, id, model, text)
}

// createBatch uploads lines and creates a batch, returning its object.
func createBatch(t *testing.T, base, q, endpoint string, lines []string, hdr ...string) gjson.Result {
	t.Helper()
	fid := upload(t, base+"/files"+q, "in.jsonl", strings.Join(lines, "\n")+"\n", "batch", hdr...)
	return okJSON(t, base+"/batches"+q, `{"input_file_id":"`+fid+`","endpoint":"`+endpoint+`","completion_window":"24h","metadata":{"job":"t"}}`, hdr...)
}

func jsonl(t *testing.T, b []byte) []gjson.Result {
	t.Helper()
	var out []gjson.Result
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !gjson.Valid(l) {
			t.Fatalf("bad JSONL line %q", l)
		}
		out = append(out, gjson.Parse(l))
	}
	return out
}

func TestBatchLifecycle(t *testing.T) {
	ts, _ := start(t, Options{})
	for _, tc := range []struct{ name, base, q string }{
		{"openai", ts.URL + "/v1", ""},
		{"azure", ts.URL + "/openai", "?api-version=2024-10-21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "Authorization: Bearer " + tc.name
			b := createBatch(t, tc.base, tc.q, "/v1/chat/completions",
				[]string{chatLine("r1", "gpt-4o-mini", "hi"), chatLine("r2", "echo", "say this"), chatLine("r3", "fail-500", "x")}, key)
			id := b.Get("id").String()
			if b.Get("object").String() != "batch" || b.Get("status").String() != "validating" || b.Get("output_file_id").Type != gjson.Null ||
				b.Get("metadata.job").String() != "t" || b.Get("completion_window").String() != "24h" || b.Get("model").String() != "gpt-4o-mini" {
				t.Fatalf("created %s", b.Raw)
			}
			get := func() gjson.Result { return okDo(t, http.MethodGet, tc.base+"/batches/"+id+tc.q, "", key) }
			if b = get(); b.Get("status").String() != "in_progress" || b.Get("request_counts.total").Int() != 3 || b.Get("in_progress_at").Int() == 0 {
				t.Fatalf("1st GET %s", b.Raw)
			}
			b = get()
			if b.Get("status").String() != "completed" || b.Get("completed_at").Int() == 0 ||
				b.Get("request_counts.completed").Int() != 2 || b.Get("request_counts.failed").Int() != 1 ||
				b.Get("usage.input_tokens").Int() != 2*batchIn || b.Get("usage.output_tokens").Int() != 2*batchOut ||
				b.Get("usage.total_tokens").Int() != 2*(batchIn+batchOut) {
				t.Fatalf("2nd GET %s", b.Raw)
			}
			if again := get(); again.Get("status").String() != "completed" || again.Get("output_file_id").String() != b.Get("output_file_id").String() {
				t.Fatalf("3rd GET %s", again.Raw)
			}

			out := okDo(t, http.MethodGet, tc.base+"/files/"+b.Get("output_file_id").String()+tc.q, "", key)
			if out.Get("purpose").String() != "batch_output" {
				t.Fatalf("output file %s", out.Raw)
			}
			st, content, _ := send(t, http.MethodGet, tc.base+"/files/"+b.Get("output_file_id").String()+"/content"+tc.q, "", key)
			lines := jsonl(t, content)
			if st != 200 || len(lines) != 2 {
				t.Fatalf("output %d %s", st, content)
			}
			for i, l := range lines {
				body := l.Get("response.body")
				if l.Get("custom_id").String() != []string{"r1", "r2"}[i] || l.Get("response.status_code").Int() != 200 ||
					!strings.HasPrefix(l.Get("id").String(), "batch_req_") || l.Get("response.request_id").String() == "" || l.Get("error").Type != gjson.Null ||
					body.Get("object").String() != "chat.completion" || body.Get("model").String() != []string{"gpt-4o-mini", "echo"}[i] ||
					body.Get("usage.prompt_tokens").Int() != batchIn || body.Get("usage.completion_tokens").Int() != batchOut || body.Get("usage.total_tokens").Int() != batchIn+batchOut {
					t.Fatalf("line %d: %s", i, l.Raw)
				}
			}
			if got := lines[1].Get("response.body.choices.0.message.content").String(); got != "say this" {
				t.Fatalf("echo line: %q", got)
			}
			_, errs, _ := send(t, http.MethodGet, tc.base+"/files/"+b.Get("error_file_id").String()+"/content"+tc.q, "", key)
			if e := jsonl(t, errs); len(e) != 1 || e[0].Get("custom_id").String() != "r3" || e[0].Get("response.status_code").Int() != 500 ||
				!e[0].Get("response.body.error.message").Exists() {
				t.Fatalf("error file %s", errs)
			}

			l := okDo(t, http.MethodGet, tc.base+"/batches"+tc.q, "", key)
			if l.Get("object").String() != "list" || l.Get("data.#").Int() != 1 || l.Get("data.0.id").String() != id || l.Get("has_more").Bool() {
				t.Fatalf("list %s", l.Raw)
			}
		})
	}
}

func TestBatchInstantAndEmbeddings(t *testing.T) {
	ts, _ := start(t, Options{})
	b := createBatch(t, ts.URL+"/v1", "", "/v1/embeddings", []string{
		`{"custom_id":"e1","method":"POST","url":"/v1/embeddings","body":{"model":"embed-instant","input":"a"}}`,
		`{"custom_id":"e2","method":"POST","url":"/v1/embeddings","body":{"model":"embed-instant","input":["b","c"],"dimensions":4}}`,
	})
	if b.Get("status").String() != "completed" || b.Get("request_counts.completed").Int() != 2 || b.Get("usage.input_tokens").Int() != 2*batchIn ||
		b.Get("usage.output_tokens").Int() != 0 || b.Get("error_file_id").Type != gjson.Null {
		t.Fatalf("instant %s", b.Raw)
	}
	_, content, _ := send(t, http.MethodGet, ts.URL+"/v1/files/"+b.Get("output_file_id").String()+"/content", "")
	lines := jsonl(t, content)
	if len(lines) != 2 || lines[1].Get("response.body.data.#").Int() != 2 || lines[1].Get("response.body.data.0.embedding.#").Int() != 4 ||
		lines[0].Get("response.body.usage.prompt_tokens").Int() != batchIn || lines[0].Get("response.body.object").String() != "list" {
		t.Fatalf("output %s", content)
	}
}

func TestBatchCancel(t *testing.T) {
	ts, _ := start(t, Options{})
	for _, base := range []string{ts.URL + "/v1", ts.URL + "/openai"} {
		b := createBatch(t, base, "", "/v1/chat/completions", []string{chatLine("a", "gpt-4o", "x")})
		id := b.Get("id").String()
		c := okJSON(t, base+"/batches/"+id+"/cancel", "")
		if c.Get("status").String() != "cancelling" || c.Get("cancelling_at").Int() == 0 {
			t.Fatalf("cancel %s", c.Raw)
		}
		if c = okJSON(t, base+"/batches/"+id+"/cancel", ""); c.Get("status").String() != "cancelling" {
			t.Fatalf("cancel again %s", c.Raw)
		}
		g := okDo(t, http.MethodGet, base+"/batches/"+id, "")
		if g.Get("status").String() != "cancelled" || g.Get("cancelled_at").Int() == 0 || g.Get("output_file_id").Type != gjson.Null {
			t.Fatalf("after cancel %s", g.Raw)
		}
		st, body, _ := post(t, base+"/batches/"+id+"/cancel", "")
		if st != 409 || !gjson.GetBytes(body, "error.message").Exists() {
			t.Fatalf("cancel cancelled: %d %s", st, body)
		}
	}
}

func TestBatchValidation(t *testing.T) {
	ts, _ := start(t, Options{})
	// Input that does not validate fails on the first GET, with line errors.
	b := createBatch(t, ts.URL+"/v1", "", "/v1/chat/completions", []string{
		chatLine("a", "gpt-4o", "x"), chatLine("a", "gpt-4o", "dup"),
		`{"custom_id":"c","method":"POST","url":"/v1/embeddings","body":{"model":"gpt-4o"}}`,
	})
	g := okDo(t, http.MethodGet, ts.URL+"/v1/batches/"+b.Get("id").String(), "")
	if g.Get("status").String() != "failed" || g.Get("failed_at").Int() == 0 || g.Get("errors.data.#").Int() != 2 ||
		g.Get("errors.data.0.line").Int() != 2 || g.Get("errors.data.1.param").String() != "url" {
		t.Fatalf("failed batch %s", g.Raw)
	}

	txt := upload(t, ts.URL+"/v1/files", "a.txt", "x", "assistants")
	in := upload(t, ts.URL+"/v1/files", "in.jsonl", chatLine("a", "m", "x"), "batch")
	cases := []struct {
		name, body string
		status     int
		param      string
	}{
		{"no file id", `{"endpoint":"/v1/chat/completions","completion_window":"24h"}`, 400, "input_file_id"},
		{"unknown file", `{"input_file_id":"file-nope","endpoint":"/v1/chat/completions","completion_window":"24h"}`, 404, "id"},
		{"wrong purpose", `{"input_file_id":"` + txt + `","endpoint":"/v1/chat/completions","completion_window":"24h"}`, 400, "input_file_id"},
		{"bad endpoint", `{"input_file_id":"` + in + `","endpoint":"/v1/audio/speech","completion_window":"24h"}`, 400, "endpoint"},
		{"bad window", `{"input_file_id":"` + in + `","endpoint":"/v1/chat/completions","completion_window":"1h"}`, 400, "completion_window"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, b, _ := post(t, ts.URL+"/v1/batches", tc.body)
			wantError(t, st, b, tc.status, tc.param)
		})
	}
	st, body, _ := send(t, http.MethodGet, ts.URL+"/v1/batches/batch_nope", "")
	wantError(t, st, body, 404, "id")
}

func TestBatchPerKey(t *testing.T) {
	ts, _ := start(t, Options{})
	a, bKey := "Authorization: Bearer sk-a", "Authorization: Bearer sk-b"
	b := createBatch(t, ts.URL+"/v1", "", "/v1/chat/completions", []string{chatLine("a", "gpt-4o", "x")}, a)
	id := b.Get("id").String()
	st, body, _ := send(t, http.MethodGet, ts.URL+"/v1/batches/"+id, "", bKey)
	wantError(t, st, body, 404, "id")
	st, body, _ = post(t, ts.URL+"/v1/batches/"+id+"/cancel", "", bKey)
	wantError(t, st, body, 404, "id")
	// Key B cannot start a batch from key A's file either.
	st, body, _ = post(t, ts.URL+"/v1/batches", `{"input_file_id":"`+b.Get("input_file_id").String()+`","endpoint":"/v1/chat/completions","completion_window":"24h"}`, bKey)
	wantError(t, st, body, 404, "id")
	if l := okDo(t, http.MethodGet, ts.URL+"/v1/batches", "", bKey); l.Get("data.#").Int() != 0 {
		t.Fatalf("key B lists %s", l.Raw)
	}
	okDo(t, http.MethodGet, ts.URL+"/v1/batches/"+id, "", a)
	done := okDo(t, http.MethodGet, ts.URL+"/v1/batches/"+id, "", a)
	st, _, _ = send(t, http.MethodGet, ts.URL+"/v1/files/"+done.Get("output_file_id").String()+"/content", "", bKey)
	if done.Get("status").String() != "completed" || st != 404 {
		t.Fatalf("output visible to key B: %d %s", st, done.Raw)
	}
}
