package mockupstream

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/tidwall/gjson"
)

// Helpers for the non-chat surface tests.

// formPart is one multipart field; a non-empty filename makes it a file.
type formPart struct{ field, filename, content string }

// form encodes parts as multipart/form-data and returns the body and the
// "Content-Type: ..." header line for do/post.
func form(t *testing.T, parts ...formPart) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		var err error
		var pw io.Writer
		if p.filename != "" {
			pw, err = w.CreateFormFile(p.field, p.filename)
		} else {
			pw, err = w.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p.content))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String(), "Content-Type: " + w.FormDataContentType()
}

// send does any method and returns status, body and headers.
func send(t *testing.T, method, url, body string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	res := do(t, method, url, body, hdr...)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res.StatusCode, b, res.Header
}

// okDo is send that requires 200 and a JSON body.
func okDo(t *testing.T, method, url, body string, hdr ...string) gjson.Result {
	t.Helper()
	st, b, _ := send(t, method, url, body, hdr...)
	if st != 200 || !gjson.ValidBytes(b) {
		t.Fatalf("%s %s: status %d body %s", method, url, st, b)
	}
	return gjson.ParseBytes(b)
}

// wantError requires status and an OpenAI-format error naming param.
func wantError(t *testing.T, st int, b []byte, status int, param string) {
	t.Helper()
	e := gjson.GetBytes(b, "error")
	if st != status || !e.Get("message").Exists() || e.Get("param").String() != param {
		t.Fatalf("want %d param %q, got %d %s", status, param, st, b)
	}
}
