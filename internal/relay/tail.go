package relay

import (
	"bytes"
	"io"

	"github.com/tidwall/gjson"
)

// TailWriter forwards everything to W and keeps the last bytes (at least Keep of them), where a large JSON
// answer's usage, or a native stream's last report, is.
type TailWriter struct {
	W    io.Writer
	Keep int
	tail []byte
}

func (t *TailWriter) Write(p []byte) (int, error) {
	t.Remember(p)
	return t.W.Write(p)
}

// Remember keeps p as if it had been written.
func (t *TailWriter) Remember(p []byte) {
	t.tail = append(t.tail, p...)
	if len(t.tail) > 2*t.Keep {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-t.Keep:]...)
	}
}

// Tail is the last bytes written: at least Keep of them, when that many were.
func (t *TailWriter) Tail() []byte { return t.tail }

// UsageObject finds the last "usage" member in the tail and returns it wrapped as {"usage":...}.
func (t *TailWriter) UsageObject() []byte {
	i := bytes.LastIndex(t.tail, []byte(`"usage"`))
	if i < 0 {
		return nil
	}
	frag := append([]byte("{"), t.tail[i:]...)
	r := gjson.GetBytes(frag, "usage")
	if !r.Exists() {
		return nil
	}
	return append(append([]byte(`{"usage":`), r.Raw...), '}')
}
