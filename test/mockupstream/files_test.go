package mockupstream

import (
	"net/http"
	"testing"
)

// upload posts a file and returns its object.
func upload(t *testing.T, url, filename, content, purpose string, hdr ...string) string {
	t.Helper()
	body, ct := form(t, formPart{"purpose", "", purpose}, formPart{"file", filename, content})
	r := okJSON(t, url, body, append(hdr, ct)...)
	if r.Get("object").String() != "file" || r.Get("bytes").Int() != int64(len(content)) || r.Get("filename").String() != filename ||
		r.Get("purpose").String() != purpose || r.Get("status").String() != "processed" || r.Get("created_at").Int() == 0 {
		t.Fatalf("file object %s", r.Raw)
	}
	return r.Get("id").String()
}

func TestFilesLifecycle(t *testing.T) {
	ts, _ := start(t, Options{})
	for _, base := range []string{ts.URL + "/v1/files", ts.URL + "/openai/files"} {
		q := ""
		if base == ts.URL+"/openai/files" {
			q = "?api-version=2024-10-21"
		}
		t.Run(base[len(ts.URL):], func(t *testing.T) {
			key := "Authorization: Bearer " + base // a fresh account per base
			a := upload(t, base+q, "a.jsonl", `{"x":1}`+"\n", "batch", key)
			b := upload(t, base+q, "notes.txt", "hello", "assistants", key)

			if r := okDo(t, http.MethodGet, base+"/"+a+q, "", key); r.Get("id").String() != a || r.Get("bytes").Int() != 8 {
				t.Fatalf("get %s", r.Raw)
			}
			st, content, _ := send(t, http.MethodGet, base+"/"+b+"/content"+q, "", key)
			if st != 200 || string(content) != "hello" {
				t.Fatalf("content %d %q", st, content)
			}
			l := okDo(t, http.MethodGet, base+q, "", key)
			if l.Get("object").String() != "list" || l.Get("has_more").Bool() || l.Get("data.#").Int() != 2 ||
				l.Get("data.0.id").String() != b || l.Get("data.1.id").String() != a { // newest first
				t.Fatalf("list %s", l.Raw)
			}
			sep := "?"
			if q != "" {
				sep = q + "&"
			}
			if l := okDo(t, http.MethodGet, base+sep+"purpose=batch", "", key); l.Get("data.#").Int() != 1 || l.Get("data.0.id").String() != a {
				t.Fatalf("purpose filter %s", l.Raw)
			}
			if l := okDo(t, http.MethodGet, base+sep+"limit=1", "", key); l.Get("data.#").Int() != 1 || !l.Get("has_more").Bool() {
				t.Fatalf("limit %s", l.Raw)
			}
			if r := okDo(t, http.MethodDelete, base+"/"+a+q, "", key); r.Get("id").String() != a || !r.Get("deleted").Bool() || r.Get("object").String() != "file" {
				t.Fatalf("delete %s", r.Raw)
			}
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				st, body, _ := send(t, m, base+"/"+a+q, "", key)
				wantError(t, st, body, 404, "id")
			}
			st, body, _ := send(t, http.MethodGet, base+"/"+a+"/content"+q, "", key)
			wantError(t, st, body, 404, "id")
		})
	}
}

// A file belongs to the key that uploaded it: the gateway must come back
// with the same upstream account.
func TestFilesPerKey(t *testing.T) {
	ts, _ := start(t, Options{})
	keyA, keyB := "Authorization: Bearer sk-a", "api-key: sk-b"
	id := upload(t, ts.URL+"/v1/files", "a.txt", "secret", "user_data", keyA)
	if r := okDo(t, http.MethodGet, ts.URL+"/v1/files/"+id, "", "x-api-key: sk-a"); r.Get("id").String() != id {
		t.Fatalf("same key in another header: %s", r.Raw)
	}
	for _, path := range []string{"/v1/files/" + id, "/v1/files/" + id + "/content"} {
		st, b, _ := send(t, http.MethodGet, ts.URL+path, "", keyB)
		wantError(t, st, b, 404, "id")
	}
	if l := okDo(t, http.MethodGet, ts.URL+"/v1/files", "", keyB); l.Get("data.#").Int() != 0 {
		t.Fatalf("key B sees %s", l.Raw)
	}
	st, b, _ := send(t, http.MethodDelete, ts.URL+"/v1/files/"+id, "", keyB)
	wantError(t, st, b, 404, "id")
}

func TestFilesUploadErrors(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name  string
		parts []formPart
		param string
	}{
		{"no file", []formPart{{"purpose", "", "batch"}}, "file"},
		{"no purpose", []formPart{{"file", "a.jsonl", "{}"}}, "purpose"},
		{"bad purpose", []formPart{{"purpose", "", "nonsense"}, {"file", "a.txt", "x"}}, "purpose"},
		{"batch not jsonl", []formPart{{"purpose", "", "batch"}, {"file", "a.jsonl", "{}\nnot json\n"}}, "file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := form(t, tc.parts...)
			st, b, _ := post(t, ts.URL+"/v1/files", body, ct)
			wantError(t, st, b, 400, tc.param)
		})
	}
	st, b, _ := post(t, ts.URL+"/v1/files", `{"purpose":"batch"}`)
	wantError(t, st, b, 400, "")
}
