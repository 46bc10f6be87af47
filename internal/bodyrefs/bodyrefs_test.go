package bodyrefs

import (
	"slices"
	"strings"
	"testing"
)

func TestFileIDsShapes(t *testing.T) {
	for _, c := range []struct {
		body string
		want []string
	}{
		{`{"model":"m","messages":[{"role":"user","content":"file_id"}]}`, nil},
		{`{"messages":[{"content":[{"type":"file","file":{"file_id":"f1"}},{"type":"text","text":"file_id"}]}]}`, []string{"f1"}},
		{`{"messages":[{"content":[{"type":"file","file":{"file_id":"f1","file_id":"f2"}}]},{"content":[{"file":{"file\u005fid":"f3"}}]}]}`, []string{"f1", "f2", "f3"}},
		{`{"input":[{"type":"input_file","file_id":"f1"},{"role":"user","content":[{"type":"input_image","file_id":"f2"}]}]}`, []string{"f1", "f2"}},
		{`{"input":[{"type":"function_call_output","output":[{"type":"input_file","file_id":"f1"}]}]}`, []string{"f1"}},
		{`{"input":"file_id","tools":[{"type":"code_interpreter","container":{"file_ids":["f1","f2"]}}]}`, []string{"f1", "f2"}},
		{`{"model":"gpt-image-1","images":[{"file_id":"f1"},{"image_url":"u"}],"mask":{"file_id":"f2"}}`, []string{"f1", "f2"}},
		// A tool's parameter schema may name "file_id": it is not a reference.
		{`{"tools":[{"type":"function","function":{"parameters":{"properties":{"file_id":{"type":"string"}}}}}]}`, nil},
		{`{"messages":[{"content":[{"file":{"file_id":7}}]}]}`, nil},
	} {
		got, ok := FileIDs([]byte(c.body), nil)
		if !ok || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q %v, want %q", c.body, got, ok, c.want)
		}
	}
	many := `{"input":[` + strings.Repeat(`{"file_id":"f"},`, Max) + `{"file_id":"f"}]}`
	if _, ok := FileIDs([]byte(many), nil); ok {
		t.Error("more than Max ids accepted")
	}
}

// FuzzFileIDs feeds the scanner untrusted bodies: it must not panic, must return at most Max ids,
// and must find none in a body the pre-check lets skip.
func FuzzFileIDs(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"content":[{"type":"file","file":{"file_id":"f1"}}]}]}`,
		`{"input":[{"type":"input_file","file_id":"f1"},{"content":[{"file_id":"f2"}]}]}`,
		`{"tools":[{"container":{"file_ids":["a","b"]}}]}`,
		`{"messages":[{"content":[{"file":{"file\u005fid":"x"}}]}]}`,
		`{"input":[{"output":[{"file_id":"\ud800"}]}]}`,
		`{"messages":[`, `[]`, `"file_id"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ids, ok := FileIDs(body, nil)
		if len(ids) > Max || (!ok && len(ids) != Max) {
			t.Fatalf("%d ids, ok %v", len(ids), ok)
		}
		if len(ids) > 0 && !MayNameFiles(body) {
			t.Fatalf("the pre-check skips a body naming %q", ids)
		}
	})
}
