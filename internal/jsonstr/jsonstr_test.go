package jsonstr

import (
	"encoding/json"
	"testing"
)

// Append must produce what encoding/json produces (which also escapes <, >, & — those are valid either way, so
// the comparison decodes both sides).
func TestAppendRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "nl\n\r\t", "\x00\x1f", "é漢字", "\u2028\u2029", "bad\xffutf8", "<&>"} {
		var back string
		if err := json.Unmarshal(Append(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		var want string
		enc, _ := json.Marshal(s)
		_ = json.Unmarshal(enc, &want)
		if back != want {
			t.Errorf("%q: got %q, want %q", s, back, want)
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00", "\xff", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Append([]byte("x"), s)
		var back string
		if err := json.Unmarshal(out[1:], &back); err != nil {
			t.Fatalf("%q → %s: %v", s, out, err)
		}
		var want string
		enc, _ := json.Marshal(s)
		_ = json.Unmarshal(enc, &want)
		if back != want {
			t.Fatalf("%q: got %q, want %q", s, back, want)
		}
	})
}
