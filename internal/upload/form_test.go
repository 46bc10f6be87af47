package upload

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// encode builds a multipart body: fields in order, then one file part.
func encode(t testing.TB, fields [][2]string, fileField, filename string, content []byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(content)
	}
	_ = mw.Close()
	return &b, mw.Boundary()
}

func TestRoundTrip(t *testing.T) {
	content := bytes.Repeat([]byte("RIFF-audio-"), 10000)
	body, boundary := encode(t, [][2]string{{"model", "oai/whisper-1"}, {"language", "en"}}, "file", `a "quoted".wav`, content)
	f, err := Read(body, boundary, 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Value("model") != "oai/whisper-1" || !f.HasFile("file") || f.FileSize() != int64(len(content)) {
		t.Fatalf("parsed: model %q file %v size %d", f.Value("model"), f.HasFile("file"), f.FileSize())
	}
	f.Set("model", "whisper-1")
	for try := 0; try < 2; try++ { // a retry re-reads the spooled file
		r, ct, n := f.Body()
		all, _ := io.ReadAll(r)
		if int64(len(all)) != n {
			t.Fatalf("length %d, declared %d", len(all), n)
		}
		b2, ok := IsMultipart(ct)
		if !ok {
			t.Fatalf("content type %q", ct)
		}
		g, err := Read(bytes.NewReader(all), b2, 1<<20, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if g.Value("model") != "whisper-1" || g.Value("language") != "en" || g.FileSize() != int64(len(content)) {
			t.Fatalf("re-encoded form: %v size %d", g.Fields(), g.FileSize())
		}
		if g.parts[2].filename != `a "quoted".wav` {
			t.Fatalf("filename %q", g.parts[2].filename)
		}
		g.Close()
	}
}

func TestLimitsAndErrors(t *testing.T) {
	big, boundary := encode(t, [][2]string{{"model", "m"}}, "file", "x.bin", make([]byte, 4096))
	if _, err := Read(big, boundary, 1024, t.TempDir()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	cases := map[string]string{
		"truncated":  "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm",
		"no name":    "--b\r\nContent-Disposition: form-data\r\n\r\nm\r\n--b--\r\n",
		"not a form": "hello",
	}
	for name, body := range cases {
		if _, err := Read(strings.NewReader(body), "b", 1<<20, t.TempDir()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, ok := IsMultipart("application/json"); ok {
		t.Error("json taken for multipart")
	}
}

func FuzzRead(f *testing.F) {
	body, boundary := encode(f, [][2]string{{"model", "m"}}, "file", "a.wav", []byte("data"))
	f.Add(body.Bytes(), boundary)
	f.Add([]byte("--b\r\n\r\n--b--"), "b")
	f.Fuzz(func(t *testing.T, data []byte, boundary string) {
		if boundary == "" {
			return
		}
		form, err := Read(bytes.NewReader(data), boundary, 1<<16, "")
		if err != nil {
			return
		}
		r, _, n := form.Body()
		all, _ := io.ReadAll(r)
		if int64(len(all)) != n {
			t.Fatalf("length %d, declared %d", len(all), n)
		}
		form.Close()
	})
}
